/*
 * http_parse.h - HTTP/1.1 message heads and body framing (RFC 9112), strict:
 * header names are tokens, no obs-fold, no bare CR, one Host, one
 * Content-Length, never with Transfer-Encoding, chunked framing to the byte.
 *
 * Pure: no I/O and no allocation. Slices in a head borrow the caller's
 * buffer, which must not move until the head is no longer needed.
 *
 *   head bytes --http_parse_head--> struct http_head (slices into buf)
 *   body bytes --http_parse_body--> how many bytes belong to this message
 *
 * The body is never copied or decoded here: the proxy forwards the bytes as
 * they came and only needs to know where the message ends.
 */
#ifndef SLUICE_HTTP_PARSE_H
#define SLUICE_HTTP_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "sluice.h"

#define HTTP_MAX_HEADERS 100
/* Options named by a head's Connection fields, all together: each names a
 * field to remove (RFC 9110 §7.6.1), and each field of the head is compared
 * with each of them, so the count is bounded; a head naming more is
 * refused (400), never forwarded with some left in. */
#define HTTP_MAX_CONNECTION_OPTIONS 32

enum http_parse_result { HTTP_PARSE_OK, HTTP_PARSE_INCOMPLETE, HTTP_PARSE_ERROR };

enum http_msg_kind { HTTP_MSG_REQUEST, HTTP_MSG_RESPONSE };

enum http_body_kind {
    HTTP_BODY_NONE,
    HTTP_BODY_LENGTH, /* Content-Length bytes */
    HTTP_BODY_CHUNKED,
    HTTP_BODY_UNTIL_CLOSE, /* responses only: ends when upstream closes */
};

struct http_header {
    struct sl_slice name;
    struct sl_slice value; /* without surrounding whitespace */
};

struct http_head {
    struct sl_slice method; /* requests */
    struct sl_slice target; /* requests: request-target as sent */
    unsigned status;        /* responses */
    struct sl_slice reason; /* responses */
    unsigned version_minor; /* HTTP/1.x */
    struct http_header headers[HTTP_MAX_HEADERS];
    unsigned nheaders;
    size_t head_len; /* bytes of the head, final empty line included */
    enum http_body_kind body;
    uint64_t content_length; /* HTTP_BODY_LENGTH */
    bool keep_alive;         /* the sender allows another message after this one */
    bool upgrade;            /* request: asks to switch protocols; response: 101 */
};

struct http_msg_parser {
    bool response_;          /* private: parses a response */
    bool chunked_;           /* private: the body is chunked */
    size_t scanned_;         /* private: head bytes already searched for its end */
    uint64_t body_left_;     /* private: Content-Length bytes still to come */
    bool complete_;          /* private */
    bool skip_body_;         /* private: a response to HEAD */
    uint64_t body_bytes;     /* decoded body bytes so far (limits chunked bodies) */
    unsigned error_status;   /* on HTTP_PARSE_ERROR: 400, 414, 431 or 505 */
    const char *error;       /* on HTTP_PARSE_ERROR: static description */
};

/* skip_body: the message is a response to HEAD, so it has no body whatever
 * its headers say (RFC 9110 §9.3.2). */
void http_msg_parser_init(struct http_msg_parser *mp, enum http_msg_kind kind, bool skip_body);

/*
 * Parses the head at buf[0..len). INCOMPLETE: call again with the same buf
 * start and more bytes. ERROR: error_status is 414 when a request line
 * did not end within max_head bytes, 431 when a head did not (or has too
 * many fields), 505 for a well-formed request line of a major version
 * other than 1, else 400. OK: *head is filled (slices borrow buf) and
 * head->head_len bytes were the head.
 */
enum http_parse_result http_parse_head(struct http_msg_parser *mp, struct http_head *head,
                                       const char *buf, size_t len, size_t max_head);

/*
 * Feeds len body bytes that follow the head (or earlier body bytes).
 * *consumed is how many of them belong to this message. OK: the message
 * ended after *consumed bytes. INCOMPLETE: all len belong to it and more
 * are expected. ERROR: bad chunked framing (error_status 400).
 */
enum http_parse_result http_parse_body(struct http_msg_parser *mp, const char *buf, size_t len,
                                       size_t *consumed);

/* Where http_parse_body_payload() shows the payload: the body's bytes
 * with chunk framing removed, as they are framed, in pieces. */
struct http_payload_sink {
    void (*cb)(void *arg, const char *p, size_t len);
    void *arg;
};

/* http_parse_body(), also handing the payload of what it framed to sink
 * (NULL: none). */
enum http_parse_result http_parse_body_payload(struct http_msg_parser *mp, const char *buf,
                                               size_t len, size_t *consumed,
                                               const struct http_payload_sink *sink);

/* True once the message is complete (a body-less message is complete
 * right after its head). */
static inline bool
http_msg_complete(const struct http_msg_parser *mp)
{
    return mp->complete_;
}

/* True when name is lower (len bytes, the lowercase field name) in any
 * case. Exact only for what a parsed head holds: name is a token (tchar
 * bytes, as http_parse_head checks) and lower is made of a-z, 0-9 and
 * '-'; then OR-ing 0x20 into each byte folds case and confuses nothing
 * (the bytes it would confuse with '-' and the digits are not tchars).
 * Compares eight bytes at a time. */
bool http_name_is_(const char *name, const char *lower, size_t len);
static inline bool
http_name_is(struct sl_slice name, const char *lower, size_t len)
{
    return name.len == len && http_name_is_(name.p, lower, len); /* lengths differ most often */
}
#define HTTP_NAME_IS(name, lit) http_name_is((name), (lit), sizeof(lit) - 1)

/* Finds a header by lowercase name (a-z, 0-9, '-'); NULL when absent. */
const struct http_header *http_head_find(const struct http_head *head, const char *lower_name);

/* True when the comma-separated list in value contains token (case-insensitive). */
bool http_list_has_token(struct sl_slice value, const char *lower_token);
/* True for the idempotent methods of RFC 9110 §9.2.2: GET, HEAD, OPTIONS,
 * TRACE, PUT, DELETE (methods are case-sensitive). */
bool http_method_idempotent(struct sl_slice method);

/* True for the safe methods of RFC 9110 §9.2.1: GET, HEAD, OPTIONS, TRACE. */
bool http_method_safe(struct sl_slice method);

/* The same for a name of any length and case. */
bool http_list_has_name(struct sl_slice value, struct sl_slice name);

#endif
