/*
 * test_http_cache_control.c - Cache-Control directives, and a response's
 * CDN-Cache-Control (RFC 9213) replacing them when it is a valid
 * structured Dictionary (RFC 8941), from a head and from stored lines.
 */
#include <string.h>

#include "http/http_cache_control.h"
#include "http/http_parse.h"
#include "tap.h"

static struct http_head head_;

static const struct http_head *
resp(const char *fields)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n%s\r\n", fields);
    struct http_msg_parser mp;
    http_msg_parser_init(&mp, HTTP_MSG_RESPONSE, true);
    if (http_parse_head(&mp, &head_, buf, strlen(buf), sizeof(buf)) != HTTP_PARSE_OK)
        printf("# unparsed: %s\n", fields);
    return &head_;
}

static struct http_cache_control
of(const char *fields)
{
    struct http_cache_control cc;
    http_cache_control_parse_response(resp(fields), &cc);
    return cc;
}

static void
test_cache_control(void)
{
    struct http_cache_control cc = of("Cache-Control: max-age=5, max-age=9, no-cache=\"a, b\"\r\n");
    is_int(cc.max_age_s, 5, "a duplicate keeps the first value");
    ok(cc.no_cache && !cc.targeted, "a quoted list with a comma stays one directive");
    cc = of("Cache-Control: max-age=99999999999, must-understand\r\n");
    is_int(cc.max_age_s, 2147483648LL, "too large: 2^31");
    ok(cc.must_understand, "must-understand");
}

static void
test_targeted(void)
{
    struct http_cache_control cc =
        of("Cache-Control: no-store\r\nCDN-Cache-Control: max-age=3600\r\n");
    ok(cc.targeted && !cc.no_store, "a valid CDN-Cache-Control replaces Cache-Control");
    is_int(cc.max_age_s, 3600, "its max-age");
    cc = of("Cache-Control: max-age=10000\r\nCDN-Cache-Control: private\r\n");
    ok(cc.private_ && cc.max_age_s == HTTP_CC_UNSET, "its private, without Cache-Control's max-age");
    cc = of("Cache-Control: no-store\r\nCDN-Cache-Control: max-age=10000, &&&&&\r\n");
    ok(!cc.targeted && cc.no_store, "not a Dictionary: ignored, Cache-Control counts");
    cc = of("Cache-Control: no-store\r\nCDN-Cache-Control: max-age=\"10000\"\r\n");
    ok(cc.targeted && cc.max_age_s == HTTP_CC_UNSET && !cc.no_store,
       "a max-age of the wrong type is ignored, the field still replaces Cache-Control");
    cc = of("CDN-Cache-Control: foobar, max-age=3600;x=1, no-cache=?0\r\n");
    ok(cc.targeted && cc.max_age_s == 3600 && !cc.no_cache,
       "unknown members and parameters; a false boolean sets nothing");
    cc = of("CDN-Cache-Control: max-age =100\r\n");
    ok(!cc.targeted, "a space before = is not a Dictionary");
    cc = of("CDN-Cache-Control: MaX-aGe=3600\r\n");
    ok(!cc.targeted, "keys are lowercase");
    cc = of("CDN-Cache-Control: max-age=1,\r\n");
    ok(!cc.targeted, "a trailing comma is not a Dictionary");
    cc = of("CDN-Cache-Control: no-cache=(\"a\" \"b\"), s-maxage=7\r\n");
    ok(cc.targeted && cc.no_cache && cc.s_maxage_s == 7, "an inner list");
}

static void
test_stored(void)
{
    struct http_cache_control cc;
    struct sl_slice lines = SL_SLICE_LIT("Content-Type: text/plain\r\n"
                                         "Cache-Control: max-age=1, must-revalidate\r\n");
    http_cache_control_parse_stored(lines, &cc);
    ok(cc.must_revalidate && cc.max_age_s == 1, "stored lines: Cache-Control");
    lines = SL_SLICE_LIT("Cache-Control: no-cache\r\nCDN-Cache-Control: max-age=5\r\n");
    http_cache_control_parse_stored(lines, &cc);
    ok(cc.targeted && !cc.no_cache && cc.max_age_s == 5, "stored lines: CDN-Cache-Control first");
}

int
main(void)
{
    test_cache_control();
    test_targeted();
    test_stored();
    return tap_done();
}
