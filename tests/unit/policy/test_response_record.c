/*
 * test_response_record.c - a stored response's encoding: the exact bytes
 * of the value, and decoding them gives back what was recorded.
 */
#include <string.h>

#include "http/http_parse.h"
#include "policy/response_record.h"
#include "tap.h"

static void
test_encode_decode(void)
{
    struct response_record rec;
    response_record_init(&rec, 1024);
    rec.status = 200;
    strbuf_append_str(&rec.headers, "Content-Type: text/plain\r\n");
    response_record_body(&rec, "hello\n", 6);
    struct strbuf out = {0};
    struct sl_slice meta = SL_SLICE_LIT("600000 0 0 0\n");
    response_record_encode(&rec, 1796315216163, meta, &out);
    const char want[] = "SLR1 1796315216163 200 13 26 6\n600000 0 0 0\n"
                        "Content-Type: text/plain\r\nhello\n";
    ok(out.len == sizeof(want) - 1 && memcmp(out.p, want, out.len) == 0,
       "the value: magic, stored_at, status, lengths, meta, headers, body");
    struct response_record_view v;
    ok(response_record_decode(out.p, out.len, &v), "it decodes");
    is_int(v.stored_at_ms, 1796315216163, "stored_at");
    is_int(v.response.status, 200, "status");
    ok(v.meta.len == meta.len && memcmp(v.meta.p, meta.p, meta.len) == 0, "meta");
    ok(v.response.headers.len == 26 && memcmp(v.response.headers.p, "Content-Type", 12) == 0,
       "headers");
    ok(v.response.body.len == 6 && memcmp(v.response.body.p, "hello\n", 6) == 0, "body");
    strbuf_deinit(&out);
    response_record_deinit(&rec);
}

static void
test_empty(void)
{
    struct response_record rec;
    response_record_init(&rec, 1024);
    rec.status = 204;
    struct strbuf out = {0};
    response_record_encode(&rec, 0, (struct sl_slice){"", 0}, &out);
    const char want[] = "SLR1 0 204 0 0 0\n";
    ok(out.len == sizeof(want) - 1 && memcmp(out.p, want, out.len) == 0,
       "no meta, headers or body: zeros");
    struct response_record_view v;
    ok(response_record_decode(out.p, out.len, &v) && v.response.status == 204 &&
           v.response.body.len == 0,
       "and it decodes");
    strbuf_deinit(&out);
    response_record_deinit(&rec);
}

int
main(void)
{
    test_encode_decode();
    test_empty();
    return tap_done();
}
