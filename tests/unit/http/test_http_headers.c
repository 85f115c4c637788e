/*
 * test_http_headers.c - what the gateway forwards: hop-by-hop fields gone,
 * X-Forwarded-For by the trusted-proxy rule, X-Sluice-* and set_headers
 * replaced, request ids validated, the request line carrying the target
 * it is given.
 */
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "http/http_headers.h"
#include "http/http_parse.h"
#include "tap.h"
#include "util/clock.h"
#include "util/strbuf.h"

static struct http_head head;
static struct http_msg_parser parser;

static void
parse(const char *raw, enum http_msg_kind kind)
{
    http_msg_parser_init(&parser, kind, false);
    enum http_parse_result r = http_parse_head(&parser, &head, raw, strlen(raw), 65536);
    if (r != HTTP_PARSE_OK)
        printf("# parse failed: %s\n", parser.error ? parser.error : "incomplete");
}

static bool
has(const struct strbuf *sb, const char *s)
{
    return memmem(sb->p, sb->len, s, strlen(s)) != NULL;
}

static struct config_header api_key = {"authorization", "Bearer sk-upstream"};
static struct config_upstream upstream = {
    .name = "llm", .set_headers = &api_key, .nset_headers = 1};

static struct strbuf
forward(const char *raw, bool trusted, const char *rid)
{
    parse(raw, HTTP_MSG_REQUEST);
    struct http_forward_request fr = {
        .head = &head,
        .target = http_headers_origin_form(head.target),
        .client_ip = SL_SLICE_LIT("192.0.2.7"),
        .peer_trusted = trusted,
        .request_id = {rid, strlen(rid)},
        .upstream = &upstream,
    };
    struct strbuf out = {0};
    http_headers_build_request(&out, &fr);
    strbuf_append(&out, "", 1); /* NUL for printing */
    return out;
}

static void
test_hop_by_hop_removed(void)
{
    struct strbuf out =
        forward("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Drop\r\n"
                "Keep-Alive: 5\r\nTE: trailers\r\nX-Drop: 1\r\nX-Keep: 2\r\n"
                "Proxy-Connection: close\r\nUpgrade: h2c\r\n\r\n",
                false, "rid1");
    ok(strncmp(out.p, "GET /a?b=1 HTTP/1.1\r\n", 21) == 0, "request line kept");
    ok(has(&out, "Host: x\r\n") && has(&out, "X-Keep: 2\r\n"), "end-to-end fields kept");
    ok(!has(&out, "Connection") && !has(&out, "Keep-Alive") && !has(&out, "TE:") &&
           !has(&out, "X-Drop") && !has(&out, "Upgrade"),
       "hop-by-hop fields and Connection-named fields removed");
    ok(has(&out, "X-Request-Id: rid1\r\n"), "request id set");
    ok(has(&out, "X-Forwarded-Proto: http\r\n"), "X-Forwarded-Proto set");
    strbuf_deinit(&out);
}

static void
test_forwarded_for(void)
{
    const char *raw = "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.1.1.1\r\n\r\n";
    struct strbuf out = forward(raw, false, "r");
    ok(has(&out, "X-Forwarded-For: 192.0.2.7\r\n") && !has(&out, "10.1.1.1"),
       "untrusted peer: X-Forwarded-For replaced");
    strbuf_deinit(&out);
    out = forward(raw, true, "r");
    ok(has(&out, "X-Forwarded-For: 10.1.1.1, 192.0.2.7\r\n"), "trusted peer: peer appended");
    strbuf_deinit(&out);
    parse(raw, HTTP_MSG_REQUEST);
    struct sl_slice ip = http_headers_client_ip(&head, SL_SLICE_LIT("192.0.2.7"), true);
    ok(ip.len == 8 && memcmp(ip.p, "10.1.1.1", 8) == 0, "client ip through a trusted proxy");
    ip = http_headers_client_ip(&head, SL_SLICE_LIT("192.0.2.7"), false);
    ok(ip.len == 9 && memcmp(ip.p, "192.0.2.7", 9) == 0, "client ip from an untrusted peer");
}

static void
test_identity_headers_and_set_headers(void)
{
    struct strbuf out = forward("POST / HTTP/1.1\r\nHost: x\r\nX-Sluice-User: admin\r\n"
                                "x-sluice-plan: pro\r\nAuthorization: Bearer client\r\n"
                                "Content-Length: 0\r\n\r\n",
                                false, "r");
    ok(!has(&out, "admin") && !has(&out, "pro\r\n"), "client X-Sluice-* removed");
    ok(has(&out, "authorization: Bearer sk-upstream\r\n") && !has(&out, "Bearer client"),
       "set_headers replaces the client's field");
    ok(has(&out, "Content-Length: 0\r\n"), "framing fields forwarded as sent");
    strbuf_deinit(&out);
}

static void
test_upgrade_kept(void)
{
    struct strbuf out = forward("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                                "Upgrade: websocket\r\n\r\n",
                                false, "r");
    ok(has(&out, "Upgrade: websocket\r\n") && has(&out, "Connection: upgrade\r\n"),
       "an upgrade request keeps Upgrade and Connection: upgrade");
    strbuf_deinit(&out);
}

static void
test_response_head(void)
{
    parse("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
          "Content-Length: 2\r\nX-Request-Id: upstream\r\n\r\n",
          HTTP_MSG_RESPONSE);
    struct http_forward_response fr = {
        .head = &head, .request_id = SL_SLICE_LIT("rid"), .close = true};
    struct strbuf out = {0};
    http_headers_build_response(&out, &fr);
    strbuf_append(&out, "", 1);
    ok(strncmp(out.p, "HTTP/1.1 200 OK\r\n", 17) == 0, "status line");
    ok(!has(&out, "Keep-Alive") && !has(&out, "upstream"), "hop-by-hop and upstream id dropped");
    ok(has(&out, "Content-Length: 2\r\n") && has(&out, "X-Request-Id: rid\r\n") &&
           has(&out, "Connection: close\r\n"),
       "framing kept, our id and close added");
    strbuf_deinit(&out);
}

static unsigned
count(const struct strbuf *sb, const char *s)
{
    unsigned n = 0;
    for (const char *p = sb->p;
         (p = memmem(p, sb->len - (size_t)(p - sb->p), s, strlen(s))) != NULL; p++)
        n++;
    return n;
}

/* RFC 9110 §6.6.1: a forwarded response without a Date gets one. */
static void
test_response_date(void)
{
    parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HTTP_MSG_RESPONSE);
    struct http_forward_response fr = {.head = &head, .request_id = SL_SLICE_LIT("rid")};
    struct strbuf out = {0};
    http_headers_build_response(&out, &fr);
    strbuf_append(&out, "", 1);
    char want[CLOCK_HTTP_DATE_LEN + 1];
    clock_http_date(want);
    const char *d = memmem(out.p, out.len, "\r\nDate: ", 8);
    ok(count(&out, "Date: ") == 1 && d != NULL && strlen(d) > 8 + CLOCK_HTTP_DATE_LEN &&
           memcmp(d + 8 + CLOCK_HTTP_DATE_LEN, "\r\n", 2) == 0 &&
           memcmp(d + 8 + 25, " GMT", 4) == 0 && memcmp(d + 8, want, 5) == 0,
       "no upstream Date: one Date added, an IMF-fixdate of now");
    strbuf_deinit(&out);

    parse("HTTP/1.1 200 OK\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\n\r\n",
          HTTP_MSG_RESPONSE);
    out = (struct strbuf){0};
    http_headers_build_response(&out, &fr);
    strbuf_append(&out, "", 1);
    ok(count(&out, "ate: ") == 1 && has(&out, "date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"),
       "the upstream's Date is kept, none added");
    strbuf_deinit(&out);
}

/* RFC 9110 §7.6.1: every name listed in Connection, of any length. */
static void
test_long_connection_names_removed(void)
{
    const char *name =
        "X-A-Field-Name-Longer-Than-Sixty-Four-Bytes-Is-Still-Hop-By-Hop-Here-And-There";
    char raw[512];
    snprintf(raw, sizeof(raw),
             "HTTP/1.1 200 OK\r\nConnection: %s\r\n%s: drop\r\nContent-Length: 0\r\n\r\n", name,
             name);
    parse(raw, HTTP_MSG_RESPONSE);
    struct http_forward_response fr = {.head = &head, .request_id = SL_SLICE_LIT("rid")};
    struct strbuf out = {0};
    http_headers_build_response(&out, &fr);
    strbuf_append(&out, "", 1);
    ok(strlen(name) > 64 && !has(&out, name) && !has(&out, "drop"),
       "response: a %zu-byte name listed in Connection is removed", strlen(name));
    strbuf_deinit(&out);

    snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: x\r\nConnection: %s\r\n%s: drop\r\n\r\n",
             name, name);
    out = forward(raw, false, "r");
    ok(!has(&out, name) && !has(&out, "drop"), "request: the long Connection-named field removed");
    strbuf_deinit(&out);
}

static void
test_request_id_validation(void)
{
    char long_id[130];
    memset(long_id, 'a', sizeof(long_id));
    ok(http_headers_request_id_valid(SL_SLICE_LIT("abc.DEF_123-x")), "well-formed id");
    ok(!http_headers_request_id_valid(SL_SLICE_LIT("")), "empty id refused");
    ok(!http_headers_request_id_valid(SL_SLICE_LIT("a b")), "space refused");
    ok(http_headers_request_id_valid((struct sl_slice){long_id, 128}), "128 characters allowed");
    ok(!http_headers_request_id_valid((struct sl_slice){long_id, 129}), "129 characters refused");
}

/* The request line carries the target it is given (the normalised one),
 * not the client's. */
static void
test_target_is_the_given_one(void)
{
    parse("GET /public/../v1/chat?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_MSG_REQUEST);
    struct http_forward_request fr = {
        .head = &head,
        .target = SL_SLICE_LIT("/v1/chat?x=1"),
        .client_ip = SL_SLICE_LIT("192.0.2.7"),
        .request_id = SL_SLICE_LIT("rid"),
    };
    struct strbuf out = {0};
    http_headers_build_request(&out, &fr);
    strbuf_append(&out, "", 1);
    const char line[] = "GET /v1/chat?x=1 HTTP/1.1\r\n";
    ok(strncmp(out.p, line, sizeof(line) - 1) == 0, "request line has fr->target");
    ok(!has(&out, "/public/"), "the client's target is not sent");
    strbuf_deinit(&out);
}

int
main(void)
{
    test_hop_by_hop_removed();
    test_forwarded_for();
    test_identity_headers_and_set_headers();
    test_upgrade_kept();
    test_response_head();
    test_long_connection_names_removed();
    test_response_date();
    test_request_id_validation();
    test_target_is_the_given_one();
    return tap_done();
}
