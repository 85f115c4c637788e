/*
 * test_resp.c - our RESP encoder writes exactly what hiredis's
 * redisFormatCommandArgv writes, for binary and empty arguments and
 * lengths across digit boundaries; a command built by hand (a header and
 * bulk strings, an argument written in pieces) is the same bytes.
 */
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/resp.h"
#include "tap.h"

static void
check(int argc, const char *const *argv, const size_t *lens, const char *what)
{
    char *want;
    int want_len = redisFormatCommandArgv(&want, argc, (const char **)argv, lens);
    size_t len = resp_encoded_len(argc, lens);
    char *got = malloc(len);
    size_t n = resp_encode(got, argc, argv, lens);
    ok(n == len && (int)n == want_len && memcmp(got, want, n) == 0, "%s: same bytes as hiredis",
       what);
    free(got);
    free(want);
}

int
main(void)
{
    const char *a1[] = {"PING"};
    size_t l1[] = {4};
    check(1, a1, l1, "one argument");
    const char *a2[] = {"EVALSHA", "0123456789012345678901234567890123456789", "1", "k", "", "a\0b"};
    size_t l2[] = {7, 40, 1, 1, 0, 3};
    check(6, a2, l2, "empty and binary arguments");
    static char big[100001];
    memset(big, 'x', sizeof(big));
    const char *a3[12];
    size_t l3[12];
    size_t sizes[] = {0, 1, 9, 10, 11, 99, 100, 999, 1000, 9999, 10000, 100001};
    for (int i = 0; i < 12; i++) {
        a3[i] = big;
        l3[i] = sizes[i];
    }
    check(12, a3, l3, "lengths across digit boundaries, 12 arguments");
    char d[20];
    size_t n = resp_format_uint(d, 0);
    ok(n == 1 && d[0] == '0', "0 formats as one digit");
    bool all = true;
    for (size_t v = 0; v <= 100000; v++) {
        char want[24];
        int w = snprintf(want, sizeof(want), "%zu", v);
        all = all && resp_format_uint(d, v) == (size_t)w && memcmp(d, want, (size_t)w) == 0;
    }
    ok(all, "0 to 100000 format as printf's %%zu");
    /* SET k <"abc" + "" + "defg" in pieces> PX 600000, by hand. */
    const char *a4[] = {"SET", "k", "abcdefg", "PX", "600000"};
    size_t l4[] = {3, 1, 7, 2, 6};
    char want4[128], got4[128], *o = got4;
    size_t want4_len = resp_encode(want4, 5, a4, l4);
    o += resp_put_header(o, '*', 5);
    o += resp_put_bulk(o, "SET", 3);
    o += resp_put_bulk(o, "k", 1);
    o += resp_put_header(o, '$', 7);
    memcpy(o, "abc", 3), o += 3;
    memcpy(o, "defg", 4), o += 4;
    memcpy(o, "\r\n", 2), o += 2;
    o += resp_put_bulk(o, "PX", 2);
    o += resp_put_bulk(o, "600000", 6);
    ok((size_t)(o - got4) == want4_len && memcmp(got4, want4, want4_len) == 0,
       "a command built by hand, an argument in pieces: resp_encode's bytes");
    ok(resp_bulk_len(0) == 6 && resp_bulk_len(10) == 17 && resp_put_bulk(got4, "", 0) == 6 &&
           memcmp(got4, "$0\r\n\r\n", 6) == 0,
       "bulk lengths, an empty bulk string");
    n = resp_format_uint(d, 18446744073709551615ULL);
    ok(n == 20 && memcmp(d, "18446744073709551615", 20) == 0, "the largest size_t");
    return tap_done();
}
