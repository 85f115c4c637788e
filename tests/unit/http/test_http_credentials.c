/*
 * test_http_credentials.c - where the session token is read from, and that
 * the forwarded head never carries it (SPEC section 5, RFC 6750 §2.1,
 * RFC 6265 §4.2.1).
 */
#include <string.h>

#include "http/http_credentials.h"
#include "http/http_headers.h"
#include "http/http_parse.h"
#include "tap.h"
#include "util/strbuf.h"

static struct http_head head;
static struct http_msg_parser parser;
static const struct http_credentials where = {SL_SLICE_LIT("authorization"),
                                              SL_SLICE_LIT("sluice_session")};

static void
parse(const char *fields)
{
    static char raw[4096];
    snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: x\r\n%s\r\n", fields);
    http_msg_parser_init(&parser, HTTP_MSG_REQUEST, false);
    if (http_parse_head(&parser, &head, raw, strlen(raw), sizeof(raw)) != HTTP_PARSE_OK)
        printf("# parse failed: %s\n", parser.error ? parser.error : "incomplete");
}

static const char *
token_of(const char *fields)
{
    static char out[512];
    parse(fields);
    struct sl_slice t = http_credentials_token(&head, &where);
    snprintf(out, sizeof(out), "%.*s", (int)t.len, t.p ? t.p : "");
    return out;
}

static void
test_token_sources(void)
{
    static const struct {
        const char *fields, *want, *what;
    } cases[] = {
        {"Authorization: Bearer abc.def\r\n", "abc.def", "Bearer credential"},
        {"Authorization: bearer abc\r\n", "abc", "the scheme is case-insensitive"},
        {"Authorization: BEARER   abc  \r\n", "abc", "spaces around the token"},
        {"Authorization: Basic dXNlcjpwdw==\r\n", "", "Basic carries no bearer token"},
        {"Authorization: Bearer\r\n", "", "a scheme without a token"},
        {"Authorization: Bearerabc\r\n", "", "no space after the scheme"},
        {"Cookie: sluice_session=tok1\r\n", "tok1", "the session cookie"},
        {"Cookie: a=1; sluice_session=tok2; b=2\r\n", "tok2", "among other cookies"},
        {"Cookie: a=1\r\nCookie: sluice_session=\"tok3\"\r\n", "tok3",
         "in a second Cookie field, quoted"},
        {"Cookie: xsluice_session=no; sluice_sessionx=no\r\n", "", "names match exactly"},
        {"Cookie: SLUICE_SESSION=no\r\n", "", "cookie names are case-sensitive"},
        {"Authorization: Bearer h\r\nCookie: sluice_session=c\r\n", "h",
         "the header wins over the cookie"},
        {"Authorization: Basic x\r\nCookie: sluice_session=c\r\n", "c",
         "a non-Bearer Authorization carries no token: the cookie does"},
        {"", "", "nothing"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++)
        is_str(token_of(cases[i].fields), cases[i].want, "%s", cases[i].what);
}

static bool
has(const struct strbuf *sb, const char *s)
{
    return memmem(sb->p, sb->len, s, strlen(s)) != NULL;
}

static struct strbuf
forward(const char *fields)
{
    parse(fields);
    struct http_forward_request fr = {
        .head = &head,
        .client_ip = SL_SLICE_LIT("192.0.2.7"),
        .request_id = SL_SLICE_LIT("r"),
        .credentials = where,
    };
    struct strbuf out = {0};
    http_headers_build_request(&out, &fr);
    strbuf_append(&out, "", 1);
    return out;
}

static void
test_token_never_forwarded(void)
{
    struct strbuf out = forward("Authorization: Bearer secret-token\r\n"
                                "Cookie: a=1; sluice_session=secret-cookie; b=2\r\n"
                                "Cookie: sluice_session=again\r\nX-Keep: 1\r\n");
    ok(!has(&out, "secret") && !has(&out, "again"), "neither the header nor the cookie token");
    ok(!has(&out, "Authorization"), "the Bearer Authorization field is dropped");
    ok(has(&out, "Cookie: a=1; b=2\r\n"), "other cookies are kept, in order");
    ok(!has(&out, "Cookie: \r\n"), "a Cookie field left empty is dropped");
    ok(has(&out, "X-Keep: 1\r\n"), "other fields are kept");
    strbuf_deinit(&out);

    out = forward("Authorization: Basic dXNlcjpwdw==\r\nCookie: theme=dark\r\n");
    ok(has(&out, "Authorization: Basic dXNlcjpwdw==\r\n"),
       "an Authorization of another scheme is the client's: forwarded");
    ok(has(&out, "Cookie: theme=dark\r\n"), "a Cookie field without the token, untouched");
    strbuf_deinit(&out);
}

int
main(void)
{
    test_token_sources();
    test_token_never_forwarded();
    return tap_done();
}
