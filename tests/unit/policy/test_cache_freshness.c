/*
 * test_cache_freshness.c - RFC 9111 decisions on a response: HTTP-date
 * forms (an invalid Expires is stale), Age parsing, which responses a
 * shared cache stores (any final status with explicit freshness,
 * must-understand, Set-Cookie only with explicit freshness), freshness
 * (explicit, the route's ttl, the Last-Modified heuristic), stale serving.
 */
#include <string.h>

#include "http/http_cache_control.h"
#include "http/http_parse.h"
#include "policy/cache_freshness.h"
#include "tap.h"

#define NOW_S 1796300000 /* 2026-12-03 */

static struct http_head head_;

/* Parses a response head given without its final empty line. */
static const struct http_head *
resp(const char *text)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "%s\r\n", text);
    struct http_msg_parser mp;
    http_msg_parser_init(&mp, HTTP_MSG_RESPONSE, true);
    if (http_parse_head(&mp, &head_, buf, strlen(buf), sizeof(buf)) != HTTP_PARSE_OK)
        printf("# unparsed: %s\n", text);
    return &head_;
}

static bool
date_is(const char *s, int64_t want)
{
    int64_t got = 0;
    return cache_freshness_http_date((struct sl_slice){s, strlen(s)}, NOW_S, &got) && got == want;
}

static bool
date_bad(const char *s)
{
    int64_t got;
    return !cache_freshness_http_date((struct sl_slice){s, strlen(s)}, NOW_S, &got);
}

static void
test_http_dates(void)
{
    ok(date_is("Sun, 06 Nov 1994 08:49:37 GMT", 784111777), "IMF-fixdate");
    ok(date_is("Sunday, 06-Nov-94 08:49:37 GMT", 784111777), "RFC 850: 94 is 1994 (in 2026)");
    ok(date_is("Thursday, 18-Aug-50 02:01:18 GMT", 2544400878), "RFC 850: 50 is 2050 (at most 50 years ahead)");
    ok(date_is("Sun Nov  6 08:49:37 1994", 784111777), "asctime");
    ok(date_is("THU, 18 AUG 2050 02:01:18 gmt", 2544400878), "names in any case");
    ok(date_bad("Thu, 18 Aug 2050 02:01:18 UTC"), "UTC: invalid");
    ok(date_bad("Thu, 18 Aug 50 02:01:18 GMT"), "a two-digit year in IMF-fixdate: invalid");
    ok(date_bad("Thu 18 Aug 2050 02:01:18 GMT"), "no comma: invalid");
    ok(date_bad("Thu, 18  Aug  2050 02:01:18 GMT"), "several spaces: invalid");
    ok(date_bad("Thu, 18-Aug-2050 02:01:18 GMT"), "dashes: invalid");
    ok(date_bad("Thu, 18 Aug 2050 02.01.18 GMT"), "periods: invalid");
    ok(date_bad("Thu, 18 Aug 2050 2:01:18 GMT"), "a one-digit hour: invalid");
    ok(date_bad("Thu, 18 Aug 2050 02:01:18 GMT x"), "trailing bytes: invalid");
    ok(date_bad(""), "empty: invalid");
}

static void
test_age(void)
{
    is_int(cache_freshness_age_s(resp("HTTP/1.1 200 OK\r\nAge: 7200\r\n")), 7200, "Age: 7200");
    is_int(cache_freshness_age_s(resp("HTTP/1.1 200 OK\r\nAge: 7200.0\r\n")), 0, "a float: ignored");
    is_int(cache_freshness_age_s(resp("HTTP/1.1 200 OK\r\nAge: -7200\r\n")), 0, "negative: ignored");
    is_int(cache_freshness_age_s(resp("HTTP/1.1 200 OK\r\nAge: abc\r\n")), 0, "letters: ignored");
    is_int(cache_freshness_age_s(resp("HTTP/1.1 200 OK\r\nAge: 7200, 0\r\n")), 7200,
           "a list: its first member");
    is_int(cache_freshness_age_s(resp("HTTP/1.1 200 OK\r\nAge: 0\r\nAge: 7200\r\n")), 0,
           "two lines: the first");
    is_int(cache_freshness_age_s(resp("HTTP/1.1 200 OK\r\nAge: 99999999999\r\n")), 2147483648LL,
           "huge: 2^31");
    is_int(cache_freshness_age_s(resp("HTTP/1.1 200 OK\r\n")), 0, "absent: 0");
}

static bool
storable(const char *text, bool authorized)
{
    const struct http_head *h = resp(text);
    struct http_cache_control cc;
    http_cache_control_parse_response(h, &cc);
    return cache_freshness_storable(h, &cc, authorized);
}

static void
test_storable(void)
{
    ok(storable("HTTP/1.1 500 X\r\nCache-Control: max-age=60\r\n", false),
       "a 500 with explicit freshness is stored");
    ok(storable("HTTP/1.1 599 X\r\nCache-Control: max-age=60\r\n", false),
       "an unknown final status with explicit freshness too");
    ok(!storable("HTTP/1.1 500 X\r\n", false), "a 500 without: not (no heuristic for it)");
    ok(storable("HTTP/1.1 404 X\r\n", false), "a 404 without: heuristically cacheable");
    ok(!storable("HTTP/1.1 206 X\r\nCache-Control: max-age=60\r\n", false), "206: not stored");
    ok(!storable("HTTP/1.1 200 OK\r\nCache-Control: max-age=60, no-store\r\n", false),
       "no-store: not");
    ok(storable("HTTP/1.1 200 OK\r\nCache-Control: max-age=60, no-store, must-understand\r\n",
                false),
       "must-understand on an understood status overrides no-store");
    ok(!storable("HTTP/1.1 599 X\r\nCache-Control: max-age=60, no-store, must-understand\r\n",
                 false),
       "must-understand on an unknown status: not stored");
    ok(storable("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nSet-Cookie: a=1\r\n", false),
       "Set-Cookie with explicit freshness: stored");
    ok(!storable("HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\n", false),
       "Set-Cookie on a guessed freshness: not");
    ok(!storable("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n", true),
       "Authorization, max-age only: not");
    ok(storable("HTTP/1.1 200 OK\r\nCache-Control: s-maxage=60\r\n", true),
       "Authorization with s-maxage: stored");
}

static int64_t
lifetime_ms(const char *text, uint32_t ttl_ms)
{
    const struct http_head *h = resp(text);
    struct http_cache_control cc;
    http_cache_control_parse_response(h, &cc);
    return cache_freshness_lifetime_ms(h, &cc, ttl_ms, 784111777);
}

static void
test_lifetime(void)
{
    is_int(lifetime_ms("HTTP/1.1 200 OK\r\nCache-Control: max-age=5, s-maxage=9\r\n", 0), 9000,
           "s-maxage first");
    is_int(lifetime_ms("HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                       "Expires: Sun, 06 Nov 1994 08:50:37 GMT\r\n",
                       0),
           60000, "Expires - Date");
    is_int(lifetime_ms("HTTP/1.1 200 OK\r\nExpires: Sun, 06 Nov 1994 8:50:37 GMT\r\n", 30000), 0,
           "an invalid Expires: stale, the ttl not used");
    is_int(lifetime_ms("HTTP/1.1 200 OK\r\n", 30000), 30000, "nothing: the route's ttl");
    is_int(lifetime_ms("HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                       "Last-Modified: Sun, 06 Nov 1994 08:32:57 GMT\r\n",
                       0),
           100000, "no ttl: 10%% of the time since Last-Modified");
    is_int(lifetime_ms("HTTP/1.1 200 OK\r\nLast-Modified: Sun, 06 Nov 1984 08:49:37 GMT\r\n", 0),
           CACHE_HEURISTIC_MAX_MS, "at most CACHE_HEURISTIC_MAX_MS");
    is_int(lifetime_ms("HTTP/1.1 500 X\r\nLast-Modified: Sun, 06 Nov 1984 08:49:37 GMT\r\n", 0),
           0, "no heuristic for a 500");
    is_int(lifetime_ms("HTTP/1.1 200 OK\r\n", 0), 0, "nothing and no ttl: 0");
}

static void
test_stale_allowed(void)
{
    struct http_cache_control cc;
    http_cache_control_parse_response(resp("HTTP/1.1 200 OK\r\nCache-Control: max-age=1\r\n"), &cc);
    ok(cache_freshness_stale_allowed(&cc), "max-age alone: may be served stale");
    const char *const forbid[] = {"must-revalidate", "proxy-revalidate", "no-cache", "s-maxage=1"};
    for (size_t i = 0; i < 4; i++) {
        char text[128];
        snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\nCache-Control: max-age=1, %s\r\n",
                 forbid[i]);
        http_cache_control_parse_response(resp(text), &cc);
        ok(!cache_freshness_stale_allowed(&cc), "%s: never stale", forbid[i]);
    }
}

int
main(void)
{
    test_http_dates();
    test_age();
    test_storable();
    test_lifetime();
    test_stale_allowed();
    return tap_done();
}
