/*
 * idem_fingerprint.h - what makes two Idempotency-Key requests "the same
 * request" (draft-ietf-httpapi-idempotency-key-header §2.4: the
 * fingerprint is the server's to define). Pure: no I/O, no clock.
 *
 * A fingerprint binds the method and target, the payload's length and
 * BLAKE2b hashes of the payload (chunk framing removed): one of the whole
 * payload, once it has been seen whole, and one of each 4 KiB block of
 * its first 64 KiB. The blocks let two requests be told apart on the
 * bytes both have at hand while one of them has not been seen whole: the
 * first request's marker is written before its body streams upstream,
 * and a retry is judged before its own body has necessarily arrived.
 *
 *   payload pieces -> _builder_feed ... -> _builder_result -> fingerprint
 *   fingerprint -> _encode -> text in Redis -> _decode (checked, never trusted)
 *   _compare(stored, mine) -> SAME | DIFFERENT | UNKNOWN
 *
 * Any hash that differs proves the bodies differ (a block covers the same
 * byte range on both sides); SAME needs both whole hashes; the rest is
 * UNKNOWN: as far as both were seen, they agree.
 */
#ifndef SLUICE_IDEM_FINGERPRINT_H
#define SLUICE_IDEM_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice.h"

#define IDEM_FINGERPRINT_BLOCK_BYTES 4096
#define IDEM_FINGERPRINT_BLOCKS 16 /* the first 64 KiB: about a connection buffer */
#define IDEM_FINGERPRINT_REQUEST_HASH 16
#define IDEM_FINGERPRINT_WHOLE_HASH 32
#define IDEM_FINGERPRINT_BLOCK_HASH 16
/* The longest encoding, its NUL included. */
#define IDEM_FINGERPRINT_TEXT_MAX                                                                  \
    (2 * IDEM_FINGERPRINT_REQUEST_HASH + 1 + 20 + 1 + 2 * IDEM_FINGERPRINT_WHOLE_HASH + 1 +        \
     IDEM_FINGERPRINT_BLOCKS * (2 * IDEM_FINGERPRINT_BLOCK_HASH + 1) + 1)

struct idem_fingerprint {
    uint8_t request[IDEM_FINGERPRINT_REQUEST_HASH]; /* method and target */
    int64_t length;                                 /* payload bytes; -1: not known yet */
    bool whole;                                     /* whole_hash is the whole payload's */
    uint8_t whole_hash[IDEM_FINGERPRINT_WHOLE_HASH];
    unsigned nblocks; /* blocks seen complete (or ending the payload) */
    uint8_t block[IDEM_FINGERPRINT_BLOCKS][IDEM_FINGERPRINT_BLOCK_HASH];
};

enum idem_fingerprint_match {
    IDEM_FINGERPRINT_SAME,
    IDEM_FINGERPRINT_DIFFERENT,
    IDEM_FINGERPRINT_UNKNOWN,
};

/* Hashes a payload as it passes; owns its hash states. */
struct idem_fingerprint_builder;

/* length: the payload's declared length (Content-Length), -1 when it is
 * not known before its end (chunked). method and target are copied into
 * the request hash. */
struct idem_fingerprint_builder *
idem_fingerprint_builder_new(struct sl_slice method, struct sl_slice target, int64_t length);
void idem_fingerprint_builder_free(struct idem_fingerprint_builder *b);

void idem_fingerprint_builder_feed(struct idem_fingerprint_builder *b, const char *p, size_t len);

/* The fingerprint of what was fed so far (b is unchanged: feed may go on).
 * whole: the payload has ended, so the whole hash and the last, short
 * block are included and the length is what was fed. */
void idem_fingerprint_builder_result(const struct idem_fingerprint_builder *b, bool whole,
                                     struct idem_fingerprint *out);

/* Writes fp as text (hex hashes, no spaces inside fields) into out
 * (IDEM_FINGERPRINT_TEXT_MAX bytes), NUL-terminated; returns its length. */
size_t idem_fingerprint_encode(const struct idem_fingerprint *fp, char *out);

/* Parses what _encode wrote; false for anything else. */
bool idem_fingerprint_decode(const char *p, size_t len, struct idem_fingerprint *out);

enum idem_fingerprint_match idem_fingerprint_compare(const struct idem_fingerprint *a,
                                                     const struct idem_fingerprint *b);

#endif
