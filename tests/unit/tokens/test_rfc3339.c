/*
 * test_rfc3339.c - the strict RFC 3339 parser and the UTC formatter,
 * table-driven.
 */
#include <string.h>

#include "sluice.h"
#include "tap.h"
#include "tokens/rfc3339.h"

static const struct {
    const char *s;
    long long t;
} good[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"2026-12-03T10:00:00Z", 1796292000},
    {"2000-02-29T23:59:59Z", 951868799},
    {"1969-12-31T23:59:59Z", -1},
    {"0000-01-01T00:00:00Z", -62167219200},
    {"9999-12-31T23:59:59Z", 253402300799},
    {"2026-12-03T10:00:00.123456789Z", 1796292000},
    {"2026-12-03T11:30:00+01:30", 1796292000},
    {"2026-12-03T05:00:00-05:00", 1796292000},
    {"2026-12-03T10:00:00-00:00", 1796292000},
    {"2016-12-31T23:59:60Z", 1483228800},      /* leap second */
    {"2017-01-01T00:59:60+01:00", 1483228800}, /* the same, at +01:00 */
};

static const char *const bad[] = {
    "",
    "2026-12-03T10:00:00",  /* no offset */
    "2026-12-03t10:00:00Z", /* lower-case t */
    "2026-12-03T10:00:00z", /* lower-case z */
    "2026-12-03 10:00:00Z", /* space */
    "2026-13-03T10:00:00Z", /* month */
    "2026-00-03T10:00:00Z",
    "2026-02-29T10:00:00Z", /* not a leap year */
    "1900-02-29T10:00:00Z", /* nor is 1900 */
    "2026-04-31T10:00:00Z",
    "2026-12-00T10:00:00Z",
    "2026-12-03T24:00:00Z",
    "2026-12-03T10:60:00Z",
    "2026-12-03T10:00:61Z",
    "2026-12-03T10:00:60Z",  /* leap second not at 23:59 UTC */
    "2026-12-03T10:00:00.Z", /* empty fraction */
    "2026-12-03T10:00:00,5Z",
    "2026-12-03T10:00:00+0100",
    "2026-12-03T10:00:00+24:00",
    "2026-12-03T10:00:00+01:60",
    "2026-12-03T10:00:00Z ",
    "2026-12-03T10:00:00ZZ",
    "+2026-12-03T10:00:00Z",
    "226-12-03T10:00:00Z",
    "2026-1-03T10:00:00Z",
    "2026-12-03T10:00:0aZ",
    "2026-12-03T10:00:00+01:00:00",
    "20261203T100000Z",
};

int
main(void)
{
    int64_t t;
    char out[RFC3339_UTC_SIZE];

    for (size_t k = 0; k < SL_ARRAY_LEN(good); k++) {
        t = 42;
        ok(rfc3339_parse(good[k].s, strlen(good[k].s), &t) == 0 && t == good[k].t,
           "parses %s (%lld)", good[k].s, (long long)t);
    }
    for (size_t k = 0; k < SL_ARRAY_LEN(bad); k++)
        ok(rfc3339_parse(bad[k], strlen(bad[k]), &t) == -1, "refuses '%s'", bad[k]);
    /* The length is explicit: bytes after len are not read. */
    ok(rfc3339_parse("2026-12-03T10:00:00Zjunk", 20, &t) == 0 && t == 1796292000, "stops at len");
    ok(rfc3339_parse("2026-12-03T10:00:00Z", 19, &t) == -1, "needs the offset within len");

    ok(rfc3339_format_utc(out, sizeof out, 1796292000) == 0, "formats");
    is_str(out, "2026-12-03T10:00:00Z", "format matches");
    ok(rfc3339_format_utc(out, sizeof out, -1) == 0, "formats before 1970");
    is_str(out, "1969-12-31T23:59:59Z", "negative seconds round down");
    ok(rfc3339_format_utc(out, sizeof out, 253402300800) == -1, "year 10000 refused");
    ok(rfc3339_format_utc(out, sizeof out, -62167219201) == -1, "year -1 refused");
    ok(rfc3339_format_utc(out, sizeof out - 1, 0) == -1, "short buffer refused");
    ok(rfc3339_format_utc(out, sizeof out, INT64_MAX) == -1, "INT64_MAX refused");
    ok(rfc3339_format_utc(out, sizeof out, INT64_MIN) == -1, "INT64_MIN refused");
    /* A second in every week of ten millennia round-trips. */
    int bad_rt = 0;
    for (int64_t s = -62167219200; s < 253402300799; s += 7 * 86400 + 3607) {
        if (rfc3339_format_utc(out, sizeof out, s) != 0 || rfc3339_parse(out, 20, &t) != 0 ||
            t != s)
            bad_rt++;
    }
    is_int(bad_rt, 0, "format then parse round-trips");
    return tap_done();
}
