/*
 * strbuf.h - a growable byte string for building heads and JSON bodies.
 * Owns its memory; strbuf_deinit() frees it.
 */
#ifndef SLUICE_STRBUF_H
#define SLUICE_STRBUF_H

#include <stdint.h>
#include <string.h>

#include "sluice.h"

struct strbuf {
    char *p; /* owns */
    size_t len;
    size_t cap;
};

static inline void
strbuf_reserve(struct strbuf *sb, size_t extra)
{
    if (sb->len + extra <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + extra)
        cap *= 2;
    sb->p = xrealloc(sb->p, cap);
    sb->cap = cap;
}

static inline void
strbuf_append(struct strbuf *sb, const char *p, size_t len)
{
    if (len == 0)
        return; /* p may be NULL for an empty slice */
    strbuf_reserve(sb, len);
    memcpy(sb->p + sb->len, p, len);
    sb->len += len;
}

static inline void
strbuf_append_slice(struct strbuf *sb, struct sl_slice s)
{
    strbuf_append(sb, s.p, s.len);
}

static inline void
strbuf_append_str(struct strbuf *sb, const char *s)
{
    strbuf_append(sb, s, strlen(s));
}

/* Decimal, by hand: header fields built per request should not pay for
 * printf's format parsing. */
static inline void
strbuf_append_u64(struct strbuf *sb, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    strbuf_append(sb, tmp + sizeof(tmp) - n, n);
}

static inline void
strbuf_append_i64(struct strbuf *sb, int64_t v)
{
    if (v < 0) {
        strbuf_append(sb, "-", 1);
        strbuf_append_u64(sb, (uint64_t)0 - (uint64_t)v);
        return;
    }
    strbuf_append_u64(sb, (uint64_t)v);
}

static inline void
strbuf_deinit(struct strbuf *sb)
{
    free(sb->p);
    sb->p = NULL;
    sb->len = sb->cap = 0;
}

#endif
