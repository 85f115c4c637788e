/*
 * idem_fingerprint.c - request fingerprints for Idempotency-Key.
 *
 * Text form, one line of four space-separated fields:
 *   <request hash> <length or -> <whole hash or -> <block hashes joined by ',', or ->
 */
#include "policy/idem_fingerprint.h"

#include <sodium.h>
#include <string.h>

struct idem_fingerprint_builder {
    crypto_generichash_state whole_;
    crypto_generichash_state block_; /* the block being filled */
    uint8_t request[IDEM_FINGERPRINT_REQUEST_HASH];
    int64_t declared;
    uint64_t fed;
    size_t block_fill; /* bytes in the block being filled */
    unsigned nblocks;  /* blocks completed */
    uint8_t block[IDEM_FINGERPRINT_BLOCKS][IDEM_FINGERPRINT_BLOCK_HASH];
};

struct idem_fingerprint_builder *
idem_fingerprint_builder_new(struct sl_slice method, struct sl_slice target, int64_t length)
{
    struct idem_fingerprint_builder *b = xcalloc(1, sizeof(*b));
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(b->request));
    /* A NUL between them: no method ends in a target's first byte. */
    crypto_generichash_update(&st, (const unsigned char *)method.p, method.len);
    crypto_generichash_update(&st, (const unsigned char *)"", 1);
    crypto_generichash_update(&st, (const unsigned char *)target.p, target.len);
    crypto_generichash_final(&st, b->request, sizeof(b->request));
    crypto_generichash_init(&b->whole_, NULL, 0, IDEM_FINGERPRINT_WHOLE_HASH);
    crypto_generichash_init(&b->block_, NULL, 0, IDEM_FINGERPRINT_BLOCK_HASH);
    b->declared = length;
    return b;
}

void
idem_fingerprint_builder_free(struct idem_fingerprint_builder *b)
{
    free(b);
}

void
idem_fingerprint_builder_feed(struct idem_fingerprint_builder *b, const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    crypto_generichash_update(&b->whole_, u, len);
    b->fed += len;
    while (len > 0 && b->nblocks < IDEM_FINGERPRINT_BLOCKS) {
        size_t take = IDEM_FINGERPRINT_BLOCK_BYTES - b->block_fill;
        if (take > len)
            take = len;
        crypto_generichash_update(&b->block_, u, take);
        b->block_fill += take;
        u += take;
        len -= take;
        if (b->block_fill == IDEM_FINGERPRINT_BLOCK_BYTES) {
            crypto_generichash_final(&b->block_, b->block[b->nblocks++],
                                     IDEM_FINGERPRINT_BLOCK_HASH);
            crypto_generichash_init(&b->block_, NULL, 0, IDEM_FINGERPRINT_BLOCK_HASH);
            b->block_fill = 0;
        }
    }
}

void
idem_fingerprint_builder_result(const struct idem_fingerprint_builder *b, bool whole,
                                struct idem_fingerprint *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->request, b->request, sizeof(out->request));
    out->length = whole ? (int64_t)b->fed : b->declared;
    out->whole = whole;
    out->nblocks = b->nblocks;
    memcpy(out->block, b->block, sizeof(out->block));
    if (!whole)
        return;
    /* Finalising consumes a state: work on copies, b goes on. */
    crypto_generichash_state st = b->whole_;
    crypto_generichash_final(&st, out->whole_hash, sizeof(out->whole_hash));
    if (b->block_fill > 0 && b->nblocks < IDEM_FINGERPRINT_BLOCKS) {
        st = b->block_;
        crypto_generichash_final(&st, out->block[out->nblocks++], IDEM_FINGERPRINT_BLOCK_HASH);
    }
}

/* ---- text -------------------------------------------------------------- */

static char *
put_hex(char *o, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        *o++ = digits[p[i] >> 4];
        *o++ = digits[p[i] & 15];
    }
    return o;
}

size_t
idem_fingerprint_encode(const struct idem_fingerprint *fp, char *out)
{
    char *o = put_hex(out, fp->request, sizeof(fp->request));
    *o++ = ' ';
    if (fp->length < 0) {
        *o++ = '-';
    } else {
        char tmp[20];
        size_t n = 0;
        uint64_t v = (uint64_t)fp->length;
        do {
            tmp[n++] = (char)('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (n > 0)
            *o++ = tmp[--n];
    }
    *o++ = ' ';
    if (fp->whole)
        o = put_hex(o, fp->whole_hash, sizeof(fp->whole_hash));
    else
        *o++ = '-';
    *o++ = ' ';
    if (fp->nblocks == 0)
        *o++ = '-';
    for (unsigned i = 0; i < fp->nblocks; i++) {
        if (i > 0)
            *o++ = ',';
        o = put_hex(o, fp->block[i], IDEM_FINGERPRINT_BLOCK_HASH);
    }
    *o = '\0';
    return (size_t)(o - out);
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Reads exactly 2n lowercase hex digits at *p. */
static bool
get_hex(const char **p, const char *end, uint8_t *out, size_t n)
{
    const char *s = *p;
    if ((size_t)(end - s) < 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *p = s + 2 * n;
    return true;
}

static bool
get_char(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return false;
    (*p)++;
    return true;
}

static bool
get_length(const char **p, const char *end, int64_t *out)
{
    if (get_char(p, end, '-')) {
        *out = -1;
        return true;
    }
    const char *s = *p;
    int64_t v = 0;
    if (s >= end || *s < '0' || *s > '9')
        return false;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (*s - '0');
    }
    *p = s;
    *out = v;
    return true;
}

static bool
get_blocks(const char **p, const char *end, struct idem_fingerprint *out)
{
    if (get_char(p, end, '-'))
        return true;
    do {
        if (out->nblocks == IDEM_FINGERPRINT_BLOCKS ||
            !get_hex(p, end, out->block[out->nblocks], IDEM_FINGERPRINT_BLOCK_HASH))
            return false;
        out->nblocks++;
    } while (get_char(p, end, ','));
    return true;
}

bool
idem_fingerprint_decode(const char *p, size_t len, struct idem_fingerprint *out)
{
    const char *end = p + len;
    memset(out, 0, sizeof(*out));
    if (!get_hex(&p, end, out->request, sizeof(out->request)) || !get_char(&p, end, ' ') ||
        !get_length(&p, end, &out->length) || !get_char(&p, end, ' '))
        return false;
    if (!get_char(&p, end, '-')) {
        if (!get_hex(&p, end, out->whole_hash, sizeof(out->whole_hash)))
            return false;
        out->whole = true;
    }
    if (!get_char(&p, end, ' ') || !get_blocks(&p, end, out))
        return false;
    if (p != end)
        return false;
    /* A whole payload has a length, and its blocks are all there is of it
     * (up to the limit); a partial one has no more blocks than bytes. */
    if (out->whole) {
        if (out->length < 0)
            return false;
        uint64_t want = ((uint64_t)out->length + IDEM_FINGERPRINT_BLOCK_BYTES - 1) /
                        IDEM_FINGERPRINT_BLOCK_BYTES;
        return out->nblocks == (want < IDEM_FINGERPRINT_BLOCKS ? want : IDEM_FINGERPRINT_BLOCKS);
    }
    return out->length < 0 ||
           (uint64_t)out->nblocks * IDEM_FINGERPRINT_BLOCK_BYTES <= (uint64_t)out->length;
}

enum idem_fingerprint_match
idem_fingerprint_compare(const struct idem_fingerprint *a, const struct idem_fingerprint *b)
{
    if (memcmp(a->request, b->request, sizeof(a->request)) != 0)
        return IDEM_FINGERPRINT_DIFFERENT;
    if (a->length >= 0 && b->length >= 0 && a->length != b->length)
        return IDEM_FINGERPRINT_DIFFERENT;
    /* Block i covers the same bytes on both sides (a last, short block
     * only on a side seen whole, and then a difference is real). */
    unsigned n = a->nblocks < b->nblocks ? a->nblocks : b->nblocks;
    for (unsigned i = 0; i < n; i++) {
        if (memcmp(a->block[i], b->block[i], IDEM_FINGERPRINT_BLOCK_HASH) != 0)
            return IDEM_FINGERPRINT_DIFFERENT;
    }
    if (a->whole && b->whole)
        return memcmp(a->whole_hash, b->whole_hash, sizeof(a->whole_hash)) == 0
                   ? IDEM_FINGERPRINT_SAME
                   : IDEM_FINGERPRINT_DIFFERENT;
    return IDEM_FINGERPRINT_UNKNOWN;
}
