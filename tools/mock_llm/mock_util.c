/*
 * mock_util - growable buffers, JSON string escaping, and the SHA-1 +
 * base64 needed for Sec-WebSocket-Accept (RFC 6455 §4.2.2), so the mock
 * needs no crypto library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_llm.h"

/* Out of memory is fatal: a mock has nothing better to do. */
void *
xmalloc(size_t n)
{
    void *p = malloc(n);

    if (p == NULL) {
        fprintf(stderr, "mock_llm: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

/* Makes room for n more bytes after b->len. */
void
buf_reserve(struct buf *b, size_t n)
{
    size_t cap;
    char *p;

    if (b->cap - b->len >= n)
        return;
    cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n)
        cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL) {
        fprintf(stderr, "mock_llm: out of memory (%zu bytes)\n", cap);
        abort();
    }
    b->p = p;
    b->cap = cap;
}

void
buf_append(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void
buf_str(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

/* Decimal without snprintf: this is on the per-response path. */
void
buf_ulong(struct buf *b, unsigned long v)
{
    char tmp[24];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    buf_append(b, tmp + i, sizeof(tmp) - i);
}

void
buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Length of a well-formed UTF-8 sequence at p, or 0 if it is not one. */
static size_t
utf8_seq_len(const unsigned char *p, size_t n)
{
    size_t len, i;

    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/*
 * Appends p as a JSON string. Valid UTF-8 passes through; any other byte
 * becomes \u00XX, so a binary body still yields valid JSON (tests compare
 * ASCII bodies byte for byte).
 */
void
json_put_str(struct buf *b, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0, run;
    char esc[6] = {'\\', 'u', '0', '0', 0, 0};

    buf_reserve(b, n + 2);
    b->p[b->len++] = '"';
    while (i < n) {
        for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\';
             run++)
            ;
        buf_append(b, p + i, run - i);
        if ((i = run) == n)
            break;
        if (s[i] == '"' || s[i] == '\\') {
            buf_append(b, "\\", 1);
            buf_append(b, p + i++, 1);
        } else if (s[i] >= 0x80 && (run = utf8_seq_len(s + i, n - i)) != 0) {
            buf_append(b, p + i, run);
            i += run;
        } else {
            esc[4] = hex[s[i] >> 4];
            esc[5] = hex[s[i] & 15];
            buf_append(b, esc, 6);
            i++;
        }
    }
    buf_append(b, "\"", 1);
}

/* SHA-1 (FIPS 180-4), just enough for 60-byte WebSocket handshakes. */
struct sha1 {
    uint32_t h[5];
    unsigned char block[64];
    size_t block_len;
    uint64_t total;
};

static uint32_t
rol32(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void
sha1_block(struct sha1 *s, const unsigned char *p)
{
    uint32_t w[80], a, b, c, d, e, f, k, t;
    int i;

    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (; i < 80; i++)
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
    for (i = 0; i < 80; i++) {
        if (i < 20)
            f = (b & c) | (~b & d), k = 0x5a827999;
        else if (i < 40)
            f = b ^ c ^ d, k = 0x6ed9eba1;
        else if (i < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
        else
            f = b ^ c ^ d, k = 0xca62c1d6;
        t = rol32(a, 5) + f + e + k + w[i];
        e = d, d = c, c = rol32(b, 30), b = a, a = t;
    }
    s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e;
}

static void
sha1_update(struct sha1 *s, const void *data, size_t n)
{
    const unsigned char *p = data;

    s->total += n;
    while (n > 0) {
        size_t take = 64 - s->block_len;

        if (take > n)
            take = n;
        memcpy(s->block + s->block_len, p, take);
        s->block_len += take, p += take, n -= take;
        if (s->block_len == 64) {
            sha1_block(s, s->block);
            s->block_len = 0;
        }
    }
}

static void
sha1_final(struct sha1 *s, unsigned char out[20])
{
    uint64_t bits = s->total * 8;
    unsigned char pad[72] = {0x80};
    size_t padlen = (s->block_len < 56 ? 56 : 120) - s->block_len;
    int i;

    for (i = 0; i < 8; i++)
        pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
    sha1_update(s, pad, padlen + 8);
    for (i = 0; i < 20; i++)
        out[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

static void
base64_encode(const unsigned char *p, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

        *out++ = tab[v >> 18], *out++ = tab[(v >> 12) & 63];
        *out++ = tab[(v >> 6) & 63], *out++ = tab[v & 63];
    }
    if (n - i == 1) {
        *out++ = tab[p[i] >> 2], *out++ = tab[(p[i] & 3) << 4];
        *out++ = '=', *out++ = '=';
    } else if (n - i == 2) {
        *out++ = tab[p[i] >> 2], *out++ = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        *out++ = tab[(p[i + 1] & 15) << 2], *out++ = '=';
    }
    *out = '\0';
}

/* out = base64(SHA-1(key + GUID)), RFC 6455 §4.2.2 item 5.4; 28 chars + NUL. */
void
ws_accept_key(const char *key, size_t key_len, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    struct sha1 s = {{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0}, {0}, 0, 0};
    unsigned char digest[20];

    sha1_update(&s, key, key_len);
    sha1_update(&s, guid, sizeof(guid) - 1);
    sha1_final(&s, digest);
    base64_encode(digest, sizeof(digest), out);
}
