/*
 * response_record.h - a response kept for a replay (the cache, and
 * Idempotency-Key): recorded as it passes the proxy, then encoded into one
 * Redis value, and decoded (checked, never trusted) when read back.
 *
 *   on_response_head -> response_record_head: status, end-to-end fields
 *   on_response_body -> response_record_body: the decoded payload, up to
 *                       max_body (more: the record is dropped, too_big)
 *   on_done          -> response_record_encode -> SET in Redis
 *   a later request  -> GET -> response_record_decode -> stage_reply.stored
 *
 * The value: "SLR1 <stored_at_ms> <status> <meta_len> <headers_len> <body_len>\n"
 * then meta (the caller's: what the entry must match, freshness), the
 * header lines and the body. A value that does not parse, or whose
 * lengths disagree with its size, is not a record (a miss, never a broken
 * response).
 */
#ifndef SLUICE_RESPONSE_RECORD_H
#define SLUICE_RESPONSE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http_reply.h"
#include "util/strbuf.h"

struct http_head;

struct response_record {
    unsigned status;      /* 0 until the head was recorded */
    struct strbuf headers; /* owns: whole "Name: value\r\n" lines */
    struct strbuf body;    /* owns */
    size_t max_body;
    bool too_big;
};

void response_record_init(struct response_record *rec, size_t max_body);
void response_record_deinit(struct response_record *rec);

void response_record_head(struct response_record *rec, const struct http_head *head);
void response_record_body(struct response_record *rec, const char *p, size_t len);

/* rec becomes a stored response freshened by a 304 (RFC 9111 §3.2,
 * §4.3.4): status, header lines and body of stored, each field the 304
 * carries replacing the stored ones of its name (framing, hop-by-hop
 * fields and Age excepted: the 304's Content-Length is not the body's). */
void response_record_freshen(struct response_record *rec, const struct http_stored_response *stored,
                             const struct http_head *not_modified);

/* Parses rec's lines into *head (borrowing buf, which holds the bytes):
 * to judge the freshened response as one from upstream. false when they
 * do not parse (not expected: they were parsed before). */
bool response_record_parse_head(const struct response_record *rec, struct strbuf *buf,
                                struct http_head *head);

/* Appends the encoded value to out. */
void response_record_encode(const struct response_record *rec, int64_t stored_at_ms,
                            struct sl_slice meta, struct strbuf *out);

/* The encoded value as the four pieces it is made of, in order: its first
 * line (written into line), meta, the header lines, the body; every slice
 * borrows line, meta or rec. For a caller that copies the value once,
 * straight into a Redis command. */
#define RESPONSE_RECORD_LINE_MAX 128
#define RESPONSE_RECORD_PARTS 4
size_t response_record_parts(const struct response_record *rec, int64_t stored_at_ms,
                             struct sl_slice meta, char line[RESPONSE_RECORD_LINE_MAX],
                             struct sl_slice parts[RESPONSE_RECORD_PARTS]);

/* A decoded value; every slice borrows the bytes given to decode. */
struct response_record_view {
    int64_t stored_at_ms;
    struct sl_slice meta;
    struct http_stored_response response;
};

bool response_record_decode(const char *p, size_t len, struct response_record_view *out);

#endif
