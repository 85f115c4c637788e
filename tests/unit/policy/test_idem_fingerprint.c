/*
 * test_idem_fingerprint.c - fingerprints of Idempotency-Key requests: the
 * same payload in any pieces is SAME, any differing byte seen by both
 * sides is DIFFERENT, what neither can tell yet is UNKNOWN; the text form
 * round-trips and anything else is refused.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "policy/idem_fingerprint.h"
#include "tap.h"

static char body_a[80000], body_b[80000], body_c[80000];

static struct sl_slice
sl(const char *s)
{
    return (struct sl_slice){s, strlen(s)};
}

/* The fingerprint of body[0..seen) fed in pieces of piece bytes; whole
 * when seen is the whole length. */
static void
fp_of(const char *body, size_t len, size_t seen, size_t piece, int64_t declared, const char *target,
      struct idem_fingerprint *out)
{
    struct idem_fingerprint_builder *b =
        idem_fingerprint_builder_new(sl("POST"), sl(target), declared);
    for (size_t off = 0; off < seen; off += piece)
        idem_fingerprint_builder_feed(b, body + off, seen - off < piece ? seen - off : piece);
    idem_fingerprint_builder_result(b, seen == len, out);
    idem_fingerprint_builder_free(b);
}

static enum idem_fingerprint_match
cmp(const struct idem_fingerprint *a, const struct idem_fingerprint *b)
{
    return idem_fingerprint_compare(a, b);
}

static void
test_whole_bodies(void)
{
    struct idem_fingerprint a, b;
    size_t n = 20000;
    fp_of(body_a, n, n, n, (int64_t)n, "/v1/x", &a);
    fp_of(body_a, n, n, 7, (int64_t)n, "/v1/x", &b);
    is_int(cmp(&a, &b), IDEM_FINGERPRINT_SAME, "the same payload in other pieces is SAME");
    is_int(a.nblocks, 5, "20000 bytes: four 4 KiB blocks and a short last one");
    fp_of(body_b, n, n, n, (int64_t)n, "/v1/x", &b);
    is_int(cmp(&a, &b), IDEM_FINGERPRINT_DIFFERENT, "one byte changed (at 15000) is DIFFERENT");
    fp_of(body_a, n, n, n, (int64_t)n, "/v1/y", &b);
    is_int(cmp(&a, &b), IDEM_FINGERPRINT_DIFFERENT, "another target is DIFFERENT");
    fp_of(body_a, n - 1, n - 1, n, (int64_t)n - 1, "/v1/x", &b);
    is_int(cmp(&a, &b), IDEM_FINGERPRINT_DIFFERENT, "a shorter payload is DIFFERENT");
    fp_of(body_a, 0, 0, 1, 0, "/v1/x", &a);
    fp_of(body_a, 0, 0, 1, 0, "/v1/x", &b);
    is_int(cmp(&a, &b), IDEM_FINGERPRINT_SAME, "two empty payloads are SAME");
    is_int(a.nblocks, 0, "an empty payload has no block");
    fp_of(body_a, 40000, 40000, 999, 40000, "/v1/x", &a);
    is_int(a.nblocks, 10, "40000 bytes: ten blocks");
    fp_of(body_a, 80000, 80000, 999, 80000, "/v1/x", &a);
    fp_of(body_c, 80000, 80000, 80000, 80000, "/v1/x", &b);
    is_int(a.nblocks, IDEM_FINGERPRINT_BLOCKS, "blocks stop after the first 64 KiB");
    is_int(cmp(&a, &b), IDEM_FINGERPRINT_DIFFERENT,
           "a difference past them (at 70000) is in the whole hash");
    fp_of(body_c, 80000, 75000, 80000, 80000, "/v1/x", &b);
    is_int(cmp(&a, &b), IDEM_FINGERPRINT_UNKNOWN, "and unknown while one side is partial");
}

static void
test_partial_bodies(void)
{
    struct idem_fingerprint whole, part;
    size_t n = 20000;
    fp_of(body_a, n, n, n, (int64_t)n, "/v1/x", &whole);
    fp_of(body_a, n, 5000, 5000, (int64_t)n, "/v1/x", &part);
    ok(!part.whole && part.nblocks == 1, "5000 bytes of 20000: one complete block, not whole");
    is_int(cmp(&whole, &part), IDEM_FINGERPRINT_UNKNOWN, "agrees as far as seen: UNKNOWN");
    is_int(cmp(&part, &whole), IDEM_FINGERPRINT_UNKNOWN, "either way round");
    fp_of(body_b, n, 12000, 12000, (int64_t)n, "/v1/x", &part);
    is_int(cmp(&whole, &part), IDEM_FINGERPRINT_UNKNOWN,
           "a difference past what one side saw (15000 > 12000) cannot be told");
    fp_of(body_b, n, 16384, 100, (int64_t)n, "/v1/x", &part);
    is_int(cmp(&whole, &part), IDEM_FINGERPRINT_DIFFERENT, "one inside a block both saw can");
    fp_of(body_a, n, 5000, 5000, (int64_t)n + 1, "/v1/x", &part);
    is_int(cmp(&whole, &part), IDEM_FINGERPRINT_DIFFERENT, "a declared length that differs");
    fp_of(body_a, n, 5000, 5000, -1, "/v1/x", &part);
    is_int(part.length, -1, "a chunked body's length is unknown until it ends");
    is_int(cmp(&whole, &part), IDEM_FINGERPRINT_UNKNOWN, "and is not a difference");
    /* Side A ended at 5000 (a short block 1); side B is chunked with 8192
     * seen: its block 1 is complete, so it is longer. */
    struct idem_fingerprint a, b;
    fp_of(body_a, 5000, 5000, 5000, 5000, "/v1/x", &a);
    fp_of(body_a, 20000, 8192, 8192, -1, "/v1/x", &b);
    is_int(cmp(&a, &b), IDEM_FINGERPRINT_DIFFERENT, "a short last block against a full one");
}

static void
test_text(void)
{
    struct idem_fingerprint a, b;
    char text[IDEM_FINGERPRINT_TEXT_MAX];
    fp_of(body_a, 80000, 80000, 80000, 80000, "/v1/x", &a);
    size_t n = idem_fingerprint_encode(&a, text);
    is_int(n, strlen(text), "NUL-terminated");
    ok(n < IDEM_FINGERPRINT_TEXT_MAX, "the longest form fits (%zu)", n);
    ok(idem_fingerprint_decode(text, n, &b) && cmp(&a, &b) == IDEM_FINGERPRINT_SAME &&
           b.nblocks == a.nblocks && b.length == a.length,
       "a whole fingerprint round-trips");
    fp_of(body_a, 40000, 3000, 3000, -1, "/v1/x", &a);
    n = idem_fingerprint_encode(&a, text);
    ok(idem_fingerprint_decode(text, n, &b) && !b.whole && b.length == -1 && b.nblocks == 0,
       "a partial one with no block round-trips: %s", text);
    fp_of(body_a, 40000, 40000, 40000, 40000, "/v1/x", &a);
    n = idem_fingerprint_encode(&a, text);
    ok(!idem_fingerprint_decode(text, n - 1, &b), "truncated: refused");
    char bad[IDEM_FINGERPRINT_TEXT_MAX + 8];
    snprintf(bad, sizeof(bad), "%s ", text);
    ok(!idem_fingerprint_decode(bad, strlen(bad), &b), "trailing bytes: refused");
    memcpy(bad, text, n + 1);
    bad[3] = 'G';
    ok(!idem_fingerprint_decode(bad, n, &b), "a non-hex digit: refused");
    const char *wrong_blocks = "00000000000000000000000000000000 5000 "
                               "0000000000000000000000000000000000000000000000000000000000000000 -";
    ok(!idem_fingerprint_decode(wrong_blocks, strlen(wrong_blocks), &b),
       "a whole 5000-byte payload without its two blocks: refused");
    const char *too_many = "00000000000000000000000000000000 10 - "
                           "00000000000000000000000000000000";
    ok(!idem_fingerprint_decode(too_many, strlen(too_many), &b),
       "a block more than the length allows: refused");
    ok(!idem_fingerprint_decode("", 0, &b), "empty: refused");
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    for (size_t i = 0; i < sizeof(body_a); i++)
        body_a[i] = body_b[i] = body_c[i] = (char)('a' + i % 23);
    body_b[15000] = '#';
    body_c[70000] = '#';
    test_whole_bodies();
    test_partial_bodies();
    test_text();
    return tap_done();
}
