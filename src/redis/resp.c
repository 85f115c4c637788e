/*
 * resp.c - RESP command encoding.
 */
#include "redis/resp.h"

#include <string.h>

size_t
resp_format_uint(char *out, size_t v)
{
    /* Most numbers of a command (its argument count, the lengths of a
     * SHA1, a key, a small argument) have one or two digits. */
    if (v < 10) {
        out[0] = (char)('0' + v);
        return 1;
    }
    if (v < 100) {
        out[0] = (char)('0' + v / 10);
        out[1] = (char)('0' + v % 10);
        return 2;
    }
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

size_t
resp_digits(size_t v)
{
    if (v < 100)
        return v < 10 ? 1 : 2;
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

size_t
resp_encoded_len(int argc, const size_t *lens)
{
    size_t n = 1 + resp_digits((size_t)argc) + 2;
    for (int i = 0; i < argc; i++)
        n += resp_bulk_len(lens[i]);
    return n;
}

size_t
resp_bulk_len(size_t len)
{
    return 1 + resp_digits(len) + 2 + len + 2;
}

size_t
resp_put_header(char *out, char marker, size_t v)
{
    out[0] = marker;
    size_t n = 1 + resp_format_uint(out + 1, v);
    out[n] = '\r';
    out[n + 1] = '\n';
    return n + 2;
}

size_t
resp_put_bulk(char *out, const char *p, size_t len)
{
    size_t n = resp_put_header(out, '$', len);
    if (len > 0)
        memcpy(out + n, p, len);
    n += len;
    out[n] = '\r';
    out[n + 1] = '\n';
    return n + 2;
}

size_t
resp_encode(char *out, int argc, const char *const *argv, const size_t *lens)
{
    size_t n = resp_put_header(out, '*', (size_t)argc);
    for (int i = 0; i < argc; i++)
        n += resp_put_bulk(out + n, argv[i], lens[i]);
    return n;
}
