/*
 * http_reply.h - responses the gateway makes itself: every one carries a
 * JSON body {"error": "<code>", "message": "<why>"} (SPEC section 4).
 */
#ifndef SLUICE_HTTP_REPLY_H
#define SLUICE_HTTP_REPLY_H

#include <stdbool.h>

#include "sluice.h"

struct strbuf;

struct http_reply {
    unsigned status;
    const char *error;             /* machine code, e.g. "bad_request"; NULL: from status */
    const char *message;           /* human text; NULL: none */
    const char *json_extra;        /* more members, each starting with ','; NULL: none */
    struct sl_slice request_id;    /* echoed as X-Request-Id when non-empty */
    struct sl_slice extra_headers; /* whole "Name: value\r\n" lines; a 503 without a
                                      Retry-After among them gets "Retry-After: 1" */
    bool close;                    /* add Connection: close */
    bool chunked;                  /* stored: Transfer-Encoding: chunked, its body (if
                                      any) the first chunk, more to follow */
    bool head_only;                /* a HEAD request: no body bytes */
};

/* Appends the whole response (head and body) to out. */
void http_reply_build(struct strbuf *out, const struct http_reply *r);

/* A response a stage answers with instead of an error: a cache hit, a
 * replay. headers are whole "Name: value\r\n" lines without framing or
 * hop-by-hop fields (Content-Length, Transfer-Encoding, Connection). */
struct http_stored_response {
    unsigned status;
    struct sl_slice headers;
    struct sl_slice body;
};

/* Appends it: the stored fields, then extra_headers, X-Request-Id, a Date
 * when the stored fields have none, Content-Length (r->chunked:
 * Transfer-Encoding: chunked), Connection: close when asked; the body (its
 * first chunk) unless head_only. Only the status, error, message and
 * json_extra of r are not used. */
void http_reply_build_stored(struct strbuf *out, const struct http_reply *r,
                             const struct http_stored_response *stored);
/* One chunk of a chunked body: size line, bytes, CRLF (nothing for len 0,
 * which would end the body). */
void http_reply_append_chunk(struct strbuf *out, const char *p, size_t len);

/* "Not Found" for 404 and so on; "Unknown" when the code has no phrase here. */
const char *http_reply_reason(unsigned status);

/* "not_found" for 404 and so on. */
const char *http_reply_error_code(unsigned status);

#endif
