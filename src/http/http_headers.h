/*
 * http_headers.h - rewrites heads as they cross the gateway (SPEC section 4):
 * hop-by-hop fields removed (RFC 9110 §7.6.1), X-Forwarded-For,
 * X-Forwarded-Proto and X-Request-Id set, client copies of X-Sluice-* and
 * of set_headers dropped, set_headers added. Pure but for the clock read
 * for a missing response Date: no I/O.
 */
#ifndef SLUICE_HTTP_HEADERS_H
#define SLUICE_HTTP_HEADERS_H

#include <stdbool.h>

#include "http/http_credentials.h"
#include "sluice.h"

struct http_head;
struct strbuf;
struct config_upstream;

struct http_forward_request {
    const struct http_head *head; /* the client's request head */
    struct sl_slice target;       /* borrowed: the origin-form target to send, normalised */
    struct sl_slice client_ip;    /* the peer's address as text */
    bool peer_trusted;            /* the peer is one of http.trusted_proxies */
    struct sl_slice request_id;
    const struct config_upstream *upstream; /* its set_headers are applied */
    struct sl_slice extra;                  /* whole "Name: value\r\n" lines added by stages */
    struct http_credentials credentials;    /* the client's token, never forwarded */
};

/* Appends the head to send upstream, ending with the empty line. */
void http_headers_build_request(struct strbuf *out, const struct http_forward_request *fr);

struct http_forward_response {
    const struct http_head *head; /* the upstream's response head */
    struct sl_slice request_id;
    struct sl_slice extra;        /* whole header lines added by stages */
    bool close;                   /* tell the client this connection ends */
    bool client_http10_keepalive; /* an HTTP/1.0 client that asked for keep-alive */
};

/* Appends the head to send to the client; adds a Date (now) when the
 * upstream sent none (RFC 9110 §6.6.1). */
void http_headers_build_response(struct strbuf *out, const struct http_forward_response *fr);

/* Appends the fields of a response head worth storing for a replay (the
 * cache, Idempotency-Key): end-to-end fields only, without Content-Length,
 * Transfer-Encoding or Age. */
void http_headers_build_stored(struct strbuf *out, const struct http_head *head);

/* The origin-form of a request target (RFC 9112 §3.2.1): an absolute-form
 * target "http://host/p?q" becomes "/p?q" ("/" when it has no path);
 * others are returned as they are. Borrows target (or a static "/"). */
struct sl_slice http_headers_origin_form(struct sl_slice target);

/* True when value is a well-formed X-Request-Id: 1-128 of [A-Za-z0-9._-]. */
bool http_headers_request_id_valid(struct sl_slice value);

/* The client IP by the trusted-proxy rule of SPEC section 11: the last
 * X-Forwarded-For entry when the peer is trusted, else the peer itself. */
struct sl_slice http_headers_client_ip(const struct http_head *head, struct sl_slice peer_ip,
                                       bool peer_trusted);

#endif
