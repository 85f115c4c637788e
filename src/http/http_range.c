/*
 * http_range.c - one byte range of a Range field.
 */
#include "http/http_range.h"

#include <string.h>

/* Decimal digits at *p (at most 18: no overflow); false when none. */
static bool
number(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    while (*p < end && **p >= '0' && **p <= '9' && *p - s < 18)
        v = v * 10 + (uint64_t)(*(*p)++ - '0');
    if (*p == s || (*p < end && **p >= '0' && **p <= '9'))
        return false;
    *out = v;
    return true;
}

bool
http_range_single(struct sl_slice value, uint64_t size, uint64_t *first, uint64_t *last)
{
    const char *p = value.p, *end = p + value.len;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (end - p < 7 || !sl_slice_eq_lower((struct sl_slice){p, 6}, "bytes=") || size == 0)
        return false;
    p += 6;
    uint64_t a = 0, b = size - 1;
    if (p < end && *p == '-') { /* a suffix: the last n bytes */
        p++;
        uint64_t n;
        if (!number(&p, end, &n) || p != end || n == 0)
            return false;
        a = n >= size ? 0 : size - n;
    } else {
        if (!number(&p, end, &a) || p >= end || *p++ != '-')
            return false;
        if (p < end && (!number(&p, end, &b) || b < a))
            return false;
        if (p != end || a >= size)
            return false;
        if (b >= size)
            b = size - 1;
    }
    *first = a;
    *last = b;
    return true;
}
