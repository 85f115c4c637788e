/*
 * http_credentials.h - where a client's session token travels in a request
 * (SPEC sections 3, 5): "Authorization: Bearer <token>" (RFC 6750 §2.1) or
 * a cookie (RFC 6265 §4.2.1). The auth stage reads the token from here, and
 * the forwarded head is rebuilt without it, so the two cannot disagree.
 * Pure: no I/O, no allocation; slices borrow the head.
 */
#ifndef SLUICE_HTTP_CREDENTIALS_H
#define SLUICE_HTTP_CREDENTIALS_H

#include <stdbool.h>

#include "sluice.h"

struct http_head;
struct strbuf;

/* Where the token may be: the header's lowercase name ("authorization")
 * and the cookie's name ("sluice_session"). Either may be empty. */
struct http_credentials {
    struct sl_slice header;
    struct sl_slice cookie;
};

/* The credential a header field value carries. For Authorization that is
 * the b64token of a Bearer credential (the scheme is case-insensitive,
 * RFC 9110 §11.1); another scheme (Basic) carries no token, so the result
 * is empty. Any other header carries its whole value, or the token of a
 * "Bearer " prefix when there is one. */
struct sl_slice http_credentials_from_header(struct sl_slice name, struct sl_slice value);

/* The first cookie named name in any Cookie field of head; empty when absent. */
struct sl_slice http_credentials_cookie(const struct http_head *head, struct sl_slice name);

/* The request's token: the header's first, else the cookie's; empty when
 * neither carries one. */
struct sl_slice http_credentials_token(const struct http_head *head,
                                       const struct http_credentials *where);

/* True when the field must not be forwarded as it is: it is the token
 * header and carries a token (an Authorization of another scheme is the
 * client's business, and goes on), or it is a Cookie field holding the
 * token cookie. */
bool http_credentials_in_field(const struct http_credentials *where, struct sl_slice name,
                               struct sl_slice value);

/* Appends "Cookie: <value without the token cookie>\r\n", or nothing when
 * no other cookie is left. */
void http_credentials_append_cookie_without(struct strbuf *out, struct sl_slice value,
                                            struct sl_slice cookie);

#endif
