/*
 * sluice.c - allocation helpers and assertion failure reporting.
 */
#include "sluice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XCALLOC_SMALL 4096 /* bytes; above, calloc */

static void
oom(size_t n)
{
    fprintf(stderr, "sluice: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *
xcalloc(size_t count, size_t n)
{
    count = count ? count : 1;
    n = n ? n : 1;
    /* Small blocks: malloc and memset. glibc's calloc skips the per-thread
     * cache that malloc takes first, and cost four times as much for the
     * request-sized structs made on every request; large ones keep calloc,
     * whose fresh pages need no zeroing. */
    if (count <= XCALLOC_SMALL && n <= XCALLOC_SMALL && count * n <= XCALLOC_SMALL) {
        void *p = xmalloc(count * n);
        memset(p, 0, count * n);
        return p;
    }
    void *p = calloc(count, n);
    if (p == NULL)
        oom(count * n);
    return p;
}

void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *
xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *
xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

bool
sl_slice_eq_lower(struct sl_slice s, const char *lower)
{
    size_t i;
    for (i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (lower[i] == '\0' || c != lower[i])
            return false;
    }
    return lower[i] == '\0';
}

void
sl_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "sluice: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
