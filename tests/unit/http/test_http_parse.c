/*
 * test_http_parse.c - the request and response parser: what a valid head
 * yields, which heads are refused and with which status (400, 414, 431 or
 * 505), and
 * where a body ends whatever the reads look like, since a proxy that
 * misplaces a message end lets a client smuggle a request.
 */
#include <string.h>

#include "http/http_parse.h"
#include "tap.h"

#define MAX_HEAD 8192

/* The parser is large (a head holds 100 fields): keep them off the stack. */
static struct http_msg_parser parser;
static struct http_head head;

static enum http_parse_result
parse_head_len(const char *raw, size_t len, enum http_msg_kind kind, bool skip_body)
{
    http_msg_parser_init(&parser, kind, skip_body);
    return http_parse_head(&parser, &head, raw, len, MAX_HEAD);
}

static enum http_parse_result
parse_head(const char *raw, enum http_msg_kind kind, bool skip_body)
{
    return parse_head_len(raw, strlen(raw), kind, skip_body);
}

static bool
slice_is(struct sl_slice s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static const char *
value_of(const char *lower_name)
{
    static char out[256];
    const struct http_header *h = http_head_find(&head, lower_name);
    if (h == NULL)
        return NULL;
    snprintf(out, sizeof(out), "%.*s", (int)h->value.len, h->value.p);
    return out;
}

/* ---- valid heads ---- */

struct valid_case {
    const char *name;
    const char *raw;
    enum http_msg_kind kind;
    const char *method; /* requests */
    const char *target;
    unsigned status; /* responses */
    unsigned version_minor;
    unsigned nheaders;
    const char *hdr_name; /* one field to look up, lowercase */
    const char *hdr_value;
    bool keep_alive;
    enum http_body_kind body;
    uint64_t content_length;
    size_t head_len; /* 0: all of raw */
};

static const struct valid_case valid_cases[] = {
    {"GET", "GET /v1/models?x=1 HTTP/1.1\r\nHost: api.example\r\nAccept: */*\r\n\r\n",
     HTTP_MSG_REQUEST, "GET", "/v1/models?x=1", 0, 1, 2, "accept", "*/*", true, HTTP_BODY_NONE, 0,
     0},
    {"POST with Content-Length",
     "POST /v1/chat HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\n\r\n{\"model\":\"x\"}",
     HTTP_MSG_REQUEST, "POST", "/v1/chat", 0, 1, 2, "content-length", "13", true, HTTP_BODY_LENGTH,
     13, 55},
    {"POST chunked", "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
     HTTP_MSG_REQUEST, "POST", "/up", 0, 1, 2, "transfer-encoding", "chunked", true,
     HTTP_BODY_CHUNKED, 0, 0},
    {"Content-Length: 0 is no body", "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
     HTTP_MSG_REQUEST, "PUT", "/x", 0, 1, 2, "host", "a", true, HTTP_BODY_NONE, 0, 0},
    {"Connection: close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
     HTTP_MSG_REQUEST, "GET", "/", 0, 1, 2, "connection", "close", false, HTTP_BODY_NONE, 0, 0},
    {"HTTP/1.0 needs no Host, closes by default", "GET /old HTTP/1.0\r\n\r\n", HTTP_MSG_REQUEST,
     "GET", "/old", 0, 0, 0, NULL, NULL, false, HTTP_BODY_NONE, 0, 0},
    {"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", HTTP_MSG_REQUEST,
     "GET", "/", 0, 0, 1, NULL, NULL, true, HTTP_BODY_NONE, 0, 0},
    {"value whitespace trimmed", "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \t v w \t \r\n\r\n",
     HTTP_MSG_REQUEST, "GET", "/", 0, 1, 2, "x-pad", "v w", true, HTTP_BODY_NONE, 0, 0},
    {"empty value", "GET / HTTP/1.1\r\nX-Empty:\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, "GET", "/",
     0, 1, 2, "x-empty", "", true, HTTP_BODY_NONE, 0, 0},
    {"bare LF line ends", "GET /lf HTTP/1.1\nHost: a\nX-A: 1\n\n", HTTP_MSG_REQUEST, "GET", "/lf",
     0, 1, 2, "x-a", "1", true, HTTP_BODY_NONE, 0, 0},
    {"LF then CRLF ends the head", "GET / HTTP/1.1\nHost: a\n\r\n", HTTP_MSG_REQUEST, "GET", "/", 0,
     1, 1, "host", "a", true, HTTP_BODY_NONE, 0, 0},
    {"empty lines before the request line (RFC 9112 2.2)",
     "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, "GET", "/", 0, 1, 1, "host",
     "a", true, HTTP_BODY_NONE, 0, 0},
    {"pipelined: head_len stops at the first",
     "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n", HTTP_MSG_REQUEST, "GET", "/1", 0, 1,
     1, "host", "a", true, HTTP_BODY_NONE, 0, 28},
    {"obs-text in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-U: caf\xc3\xa9\r\n\r\n",
     HTTP_MSG_REQUEST, "GET", "/", 0, 1, 2, "x-u", "caf\xc3\xa9", true, HTTP_BODY_NONE, 0, 0},
    {"response 200 with length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
     HTTP_MSG_RESPONSE, NULL, NULL, 200, 1, 1, "content-length", "5", true, HTTP_BODY_LENGTH, 5,
     38},
    {"response chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_MSG_RESPONSE,
     NULL, NULL, 200, 1, 1, NULL, NULL, true, HTTP_BODY_CHUNKED, 0, 0},
    {"HTTP/1.0 chunked request closes after",
     "POST / HTTP/1.0\r\nConnection: keep-alive\r\n"
     "Transfer-Encoding: chunked\r\n\r\n",
     HTTP_MSG_REQUEST, "POST", "/", 0, 0, 2, "transfer-encoding", "chunked", false,
     HTTP_BODY_CHUNKED, 0, 0},
    {"unregistered method is forwarded", "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST,
     "PURGE", "/x", 0, 1, 1, "host", "a", true, HTTP_BODY_NONE, 0, 0},
    {"response without a reason", "HTTP/1.1 204\r\n\r\n", HTTP_MSG_RESPONSE, NULL, NULL, 204, 1, 0,
     NULL, NULL, true, HTTP_BODY_NONE, 0, 0},
    {"chunked as the last coding",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, "
     "chunked\r\n\r\n",
     HTTP_MSG_REQUEST, "POST", "/", 0, 1, 2, "transfer-encoding", "gzip, chunked", true,
     HTTP_BODY_CHUNKED, 0, 0},
};

static void
check_valid(const struct valid_case *c, enum http_parse_result r, const char *how)
{
    size_t want_len = c->head_len ? c->head_len : strlen(c->raw);
    is_int(r, HTTP_PARSE_OK, "%s (%s): OK", c->name, how);
    if (r != HTTP_PARSE_OK) {
        printf("#   error: %s\n", parser.error ? parser.error : "(none)");
        return;
    }
    if (c->kind == HTTP_MSG_REQUEST) {
        ok(slice_is(head.method, c->method), "%s: method", c->name);
        ok(slice_is(head.target, c->target), "%s: target", c->name);
    } else {
        is_int(head.status, c->status, "%s: status", c->name);
    }
    is_int(head.version_minor, c->version_minor, "%s: version", c->name);
    is_int(head.nheaders, c->nheaders, "%s: header count", c->name);
    if (c->hdr_name != NULL)
        is_str(value_of(c->hdr_name), c->hdr_value, "%s: %s", c->name, c->hdr_name);
    is_int(head.keep_alive, c->keep_alive, "%s: keep_alive", c->name);
    is_int(head.body, c->body, "%s: body kind", c->name);
    is_int(head.content_length, c->content_length, "%s: content_length", c->name);
    is_int(head.head_len, want_len, "%s: head_len", c->name);
    is_int(head.upgrade, false, "%s: no upgrade", c->name);
}

static void
test_valid_heads(void)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(valid_cases); i++) {
        const struct valid_case *c = &valid_cases[i];
        check_valid(c, parse_head(c->raw, c->kind, false), "whole");
    }
}

/* conn.c calls again with the same start and more bytes after every read. */
static void
test_valid_heads_byte_by_byte(void)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(valid_cases); i++) {
        const struct valid_case *c = &valid_cases[i];
        size_t want_len = c->head_len ? c->head_len : strlen(c->raw);
        http_msg_parser_init(&parser, c->kind, false);
        enum http_parse_result r = HTTP_PARSE_INCOMPLETE;
        size_t n;
        for (n = 1; n <= strlen(c->raw); n++) {
            r = http_parse_head(&parser, &head, c->raw, n, MAX_HEAD);
            if (r != HTTP_PARSE_INCOMPLETE)
                break;
        }
        is_int(n, want_len, "%s: INCOMPLETE until the last head byte", c->name);
        check_valid(c, r, "byte by byte");
    }
}

/* ---- refused heads ---- */

struct bad_case {
    const char *name;
    const char *raw;
    enum http_msg_kind kind;
    unsigned status;
};

static const struct bad_case bad_cases[] = {
    {"Content-Length and Transfer-Encoding",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"Transfer-Encoding then Content-Length",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"two differing Content-Length",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 5\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"Content-Length not a number", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"Content-Length negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"Content-Length with inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"Content-Length empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"Content-Length overflows",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"Transfer-Encoding: gzip in a request",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"Transfer-Encoding chunked, then gzip",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"obs-fold with a tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\t2\r\n\r\n", HTTP_MSG_REQUEST,
     400},
    {"obs-fold after an empty value",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"whitespace before the first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", HTTP_MSG_REQUEST,
     400},
    {"space inside a field name", "GET / HTTP/1.1\r\nHost: a\r\nX A: 1\r\n\r\n", HTTP_MSG_REQUEST,
     400},
    {"space before the colon", "GET / HTTP/1.1\r\nHost: a\r\nFoo : x\r\n\r\n", HTTP_MSG_REQUEST,
     400},
    {"Transfer-Encoding space before the colon",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"field without a colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", HTTP_MSG_REQUEST,
     400},
    {"NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\001b\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"DEL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\177b\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"bare CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"bare CR after an empty value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: \rXFoo: b\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"CR + byte taken for the end of the head",
     "GET / HTTP/1.1\r\nHost: a\r\n\rXGET /admin HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST,
     400},
    {"same, on an upgrade request",
     "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: ws\r\nConnection: upgrade\r\n\rX"
     "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HTTP_MSG_REQUEST, 400},
    /* a well-formed request line of another major version is unsupported,
     * not malformed: 505 (RFC 9110 §15.6.6) */
    {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 505},
    {"HTTP/0.9", "GET /\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"garbage", "\x16\x03\x01\x02\x01\xfc\x03\x03\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"upgrade request with Transfer-Encoding: gzip",
     "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: ws\r\nConnection: upgrade\r\n"
     "Transfer-Encoding: gzip\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"CONNECT with Content-Length",
     "CONNECT ex:443 HTTP/1.1\r\nHost: ex\r\nContent-Length: 5\r\n\r\nhello", HTTP_MSG_REQUEST,
     400},
    {"CONNECT chunked", "CONNECT ex:443 HTTP/1.1\r\nHost: ex\r\nTransfer-Encoding: chunked\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"lower-case method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"method with a non-token byte", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"no version", "GET /\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"HTTP/2.0 request", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 505},
    {"HTTP/3.1 request", "GET / HTTP/3.1\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 505},
    {"HTTP/9.9 request", "GET /small HTTP/9.9\r\nHost: x\r\n\r\n", HTTP_MSG_REQUEST, 505},
    {"HTTP/0.9 with a version", "GET / HTTP/0.9\r\n\r\n", HTTP_MSG_REQUEST, 505},
    {"the HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HTTP_MSG_REQUEST, 505},
    /* another version's fields are not judged by HTTP/1.1's rules */
    {"HTTP/2.0 without Host", "GET / HTTP/2.0\r\n\r\n", HTTP_MSG_REQUEST, 505},
    {"HTTP/2.0 with a bare-LF line end", "GET / HTTP/2.0\nHost: a\n\n", HTTP_MSG_REQUEST, 505},
    /* malformed versions stay 400, whatever their major */
    {"version with a trailing letter", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"another major with a trailing byte", "GET / HTTP/2.0x\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST,
     400},
    {"version without a minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"version with two major digits", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"lower-case protocol name", "GET / http/2.0\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"another major ended by a bare CR", "GET / HTTP/2.0\rHost: a\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"version with a trailing byte", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"control byte in the target", "GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST,
     400},
    {"repeated equal Content-Length",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"Content-Length with a sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"Content-Length overflow",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"chunked then gzip",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
     "Transfer-Encoding: gzip\r\n\r\n",
     HTTP_MSG_REQUEST, 400},
    {"response with both framings",
     "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
     HTTP_MSG_RESPONSE, 400},
    {"response status with four digits", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
     HTTP_MSG_RESPONSE, 400},
    {"space in the target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, 400},
    {"response HTTP/2.0", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", HTTP_MSG_RESPONSE, 400},
    /* an upstream's version is the proxy's business: any refusal is a 502 */
    {"response HTTP/3.1", "HTTP/3.1 200 OK\r\nContent-Length: 0\r\n\r\n", HTTP_MSG_RESPONSE, 400},
    {"response status of one digit", "HTTP/1.1 2 OK\r\nContent-Length: 0\r\n\r\n",
     HTTP_MSG_RESPONSE, 400},
    {"response CL and TE",
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     HTTP_MSG_RESPONSE, 400},
    {"response garbage", "hello\r\n\r\n", HTTP_MSG_RESPONSE, 400},
};

static void
test_bad_heads(void)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        enum http_parse_result r = parse_head(c->raw, c->kind, false);
        is_int(r, HTTP_PARSE_ERROR, "%s: refused", c->name);
        is_int(parser.error_status, c->status, "%s: status", c->name);
        ok(r != HTTP_PARSE_ERROR || parser.error != NULL, "%s: says why", c->name);
    }
}

static void
test_only_empty_lines_is_incomplete(void)
{
    /* Empty lines before a start line are skipped, not taken for a head. */
    is_int(parse_head("\r\n\r\n", HTTP_MSG_REQUEST, false), HTTP_PARSE_INCOMPLETE,
           "empty lines alone: INCOMPLETE");
    is_int(parse_head("\n\n\n", HTTP_MSG_REQUEST, false), HTTP_PARSE_INCOMPLETE,
           "bare-LF empty lines alone: INCOMPLETE");
}

static void
test_head_too_large(void)
{
    char raw[600];
    memset(raw, 'a', sizeof(raw));
    memcpy(raw, "GET /", 5);
    http_msg_parser_init(&parser, HTTP_MSG_REQUEST, false);
    is_int(http_parse_head(&parser, &head, raw, 300, 512), HTTP_PARSE_INCOMPLETE,
           "no end in 300 of max 512: INCOMPLETE");
    is_int(http_parse_head(&parser, &head, raw, sizeof(raw), 512), HTTP_PARSE_ERROR,
           "no end within max_head: ERROR");
    /* That head is all request line: its target is too long (RFC 9112 §3). */
    is_int(parser.error_status, 414, "no end within max_head, in the request line: 414");

    /* The end lies past max_head although the bytes have arrived. */
    static char big[1100];
    const char *start = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ";
    memset(big, 'b', sizeof(big));
    memcpy(big, start, strlen(start));
    memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
    http_msg_parser_init(&parser, HTTP_MSG_REQUEST, false);
    is_int(http_parse_head(&parser, &head, big, sizeof(big), 1024), HTTP_PARSE_ERROR,
           "head ending past max_head: ERROR");
    is_int(parser.error_status, 431, "head ending past max_head: 431");
    http_msg_parser_init(&parser, HTTP_MSG_REQUEST, false);
    is_int(http_parse_head(&parser, &head, big, sizeof(big), sizeof(big)), HTTP_PARSE_OK,
           "head of exactly max_head: OK");
}

/* Feeds raw[0..len) one more byte at a time, as reads would arrive, and
 * returns the first answer that is not INCOMPLETE. */
static enum http_parse_result
parse_bytewise(const char *raw, size_t len, enum http_msg_kind kind, size_t max_head)
{
    http_msg_parser_init(&parser, kind, false);
    enum http_parse_result r = HTTP_PARSE_INCOMPLETE;
    for (size_t n = 1; n <= len && r == HTTP_PARSE_INCOMPLETE; n++)
        r = http_parse_head(&parser, &head, raw, n, max_head);
    return r;
}

struct too_large_case {
    const char *name;
    const char *prefix; /* then fill up to the buffer's end */
    char fill;
    size_t lf_at; /* > 0: a LF here ends the request line */
    enum http_msg_kind kind;
    unsigned status;
};

/* Where max_head is crossed decides: in the request line (no LF within
 * max_head bytes) a 414, in the fields a 431. */
static const struct too_large_case too_large_cases[] = {
    {"long target", "GET /", 'a', 0, HTTP_MSG_REQUEST, 414},
    {"long target after empty lines", "\r\n\r\nGET /", 'a', 0, HTTP_MSG_REQUEST, 414},
    {"request line ends at the last byte", "GET /", 'a', 511, HTTP_MSG_REQUEST, 431},
    {"request line ends one byte past", "GET /", 'a', 512, HTTP_MSG_REQUEST, 414},
    {"long field", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ", 'a', 0, HTTP_MSG_REQUEST, 431},
    {"long first field", "GET / HTTP/1.1\r\nX-Big: ", 'a', 0, HTTP_MSG_REQUEST, 431},
    {"bare-LF request line, long field", "GET / HTTP/1.1\nX-Big: ", 'a', 0, HTTP_MSG_REQUEST, 431},
    {"nothing but empty lines", "", '\n', 0, HTTP_MSG_REQUEST, 431},
    {"long status line", "HTTP/1.1 200 ", 'a', 0, HTTP_MSG_RESPONSE, 431},
};

static void
test_request_line_too_long(void)
{
    static char raw[600];
    for (size_t i = 0; i < SL_ARRAY_LEN(too_large_cases); i++) {
        const struct too_large_case *c = &too_large_cases[i];
        memset(raw, c->fill, sizeof(raw));
        memcpy(raw, c->prefix, strlen(c->prefix));
        if (c->lf_at > 0)
            raw[c->lf_at] = '\n';
        http_msg_parser_init(&parser, c->kind, false);
        is_int(http_parse_head(&parser, &head, raw, sizeof(raw), 512), HTTP_PARSE_ERROR,
               "%s, whole: ERROR", c->name);
        is_int(parser.error_status, c->status, "%s, whole: %u", c->name, c->status);
        ok(parser.error != NULL, "%s: says why", c->name);
        is_int(parse_bytewise(raw, sizeof(raw), c->kind, 512), HTTP_PARSE_ERROR,
               "%s, byte by byte: ERROR", c->name);
        is_int(parser.error_status, c->status, "%s, byte by byte: %u", c->name, c->status);
    }

    /* A 10 KB target (the integration test's) with its version and Host:
     * the line ends, but past the limit. */
    static char big[10050];
    size_t n = (size_t)snprintf(big, sizeof(big), "GET /");
    memset(big + n, 'p', 10000);
    n += 10000;
    n += (size_t)snprintf(big + n, sizeof(big) - n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    http_msg_parser_init(&parser, HTTP_MSG_REQUEST, false);
    is_int(http_parse_head(&parser, &head, big, n, MAX_HEAD), HTTP_PARSE_ERROR,
           "10 KB target: ERROR");
    is_int(parser.error_status, 414, "10 KB target: 414");
    is_int(parse_bytewise(big, n, HTTP_MSG_REQUEST, MAX_HEAD), HTTP_PARSE_ERROR,
           "10 KB target byte by byte: ERROR");
    is_int(parser.error_status, 414, "10 KB target byte by byte: 414");
}

static void
test_too_many_headers(void)
{
    static char raw[4096];
    size_t n = (size_t)snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < HTTP_MAX_HEADERS; i++)
        n += (size_t)snprintf(raw + n, sizeof(raw) - n, "X-%d: %d\r\n", i, i);
    size_t at_limit = n;
    memcpy(raw + n, "\r\n", 3);
    is_int(parse_head(raw, HTTP_MSG_REQUEST, false), HTTP_PARSE_OK, "%d fields: OK",
           HTTP_MAX_HEADERS);
    is_int(head.nheaders, HTTP_MAX_HEADERS, "%d fields: all kept", HTTP_MAX_HEADERS);
    snprintf(raw + at_limit, sizeof(raw) - at_limit, "X-Last: 1\r\n\r\n");
    is_int(parse_head(raw, HTTP_MSG_REQUEST, false), HTTP_PARSE_ERROR, "%d fields: ERROR",
           HTTP_MAX_HEADERS + 1);
    is_int(parser.error_status, 431, "%d fields: 431", HTTP_MAX_HEADERS + 1);
}

/* ---- bodies ---- */

static const char cl_request[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"
                                 "0123456789GET /next HTTP/1.1\r\n";

static void
test_content_length_in_pieces(void)
{
    size_t body_at = strlen(cl_request) - strlen("0123456789GET /next HTTP/1.1\r\n");
    const char *body = cl_request + body_at;
    size_t len = strlen(body);
    is_int(parse_head(cl_request, HTTP_MSG_REQUEST, false), HTTP_PARSE_OK, "CL head");
    ok(!http_msg_complete(&parser), "CL: incomplete after the head");
    size_t consumed;
    is_int(http_parse_body(&parser, body, 3, &consumed), HTTP_PARSE_INCOMPLETE, "CL 3 bytes");
    is_int(consumed, 3, "CL: 3 consumed");
    is_int(http_parse_body(&parser, body + 3, 0, &consumed), HTTP_PARSE_INCOMPLETE, "CL 0 bytes");
    is_int(consumed, 0, "CL: 0 consumed");
    is_int(http_parse_body(&parser, body + 3, len - 3, &consumed), HTTP_PARSE_OK, "CL rest: OK");
    is_int(consumed, 7, "CL: stops at the body's end, next request left over");
    is_int(parser.body_bytes, 10, "CL: body_bytes");
    ok(http_msg_complete(&parser), "CL: complete");
    is_int(http_parse_body(&parser, body + 10, len - 10, &consumed), HTTP_PARSE_OK,
           "CL after the end: OK");
    is_int(consumed, 0, "CL after the end: nothing consumed");
}

static const char chunked_head[] =
    "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
static const char chunked_body[] = "5\r\nhello\r\n"
                                   "1A;name=value;q=\"a; b\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                                   "3 ; ext\r\nxyz\r\n"
                                   "000\r\n"
                                   "X-Checksum: abc\r\nX-Other:\r\n\r\n";
static const char next_request[] = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";

/* Feeds body[0..len) as two reads, split at split; returns the result and
 * the total consumed. */
static enum http_parse_result
feed_two(const char *body, size_t len, size_t split, size_t *total)
{
    size_t consumed = 0;
    enum http_parse_result r = http_parse_body(&parser, body, split, &consumed);
    *total = consumed;
    if (r != HTTP_PARSE_INCOMPLETE)
        return r;
    if (consumed != split)
        return HTTP_PARSE_ERROR; /* INCOMPLETE must take everything */
    r = http_parse_body(&parser, body + split, len - split, &consumed);
    *total += consumed;
    return r;
}

static void
test_chunked_every_split(void)
{
    char buf[512];
    size_t body_len = strlen(chunked_body);
    size_t len = (size_t)snprintf(buf, sizeof(buf), "%s%s", chunked_body, next_request);
    int bad = 0;
    for (size_t split = 0; split <= len; split++) {
        if (parse_head(chunked_head, HTTP_MSG_REQUEST, false) != HTTP_PARSE_OK) {
            bad++;
            continue;
        }
        size_t total;
        enum http_parse_result r = feed_two(buf, len, split, &total);
        if (r != HTTP_PARSE_OK || total != body_len || parser.body_bytes != 5 + 26 + 3 ||
            !http_msg_complete(&parser)) {
            printf("#   split %zu: r=%d consumed %zu (want %zu), %s\n", split, r, total, body_len,
                   parser.error ? parser.error : "");
            bad++;
        }
    }
    is_int(bad, 0, "chunked with extensions and trailers: OK at the end for every split");
}

static void
test_chunked_byte_by_byte(void)
{
    char buf[512];
    size_t body_len = strlen(chunked_body);
    size_t len = (size_t)snprintf(buf, sizeof(buf), "%s%s", chunked_body, next_request);
    is_int(parse_head(chunked_head, HTTP_MSG_REQUEST, false), HTTP_PARSE_OK, "chunked head");
    ok(!http_msg_complete(&parser), "chunked: incomplete after the head");
    size_t i = 0, consumed = 0;
    enum http_parse_result r = HTTP_PARSE_INCOMPLETE;
    while (i < len && r == HTTP_PARSE_INCOMPLETE) {
        r = http_parse_body(&parser, buf + i, 1, &consumed);
        i += consumed;
    }
    is_int(r, HTTP_PARSE_OK, "chunked byte by byte: OK");
    is_int(i, body_len, "chunked byte by byte: ends after the trailers");
    ok(strncmp(buf + i, "GET /next", 9) == 0, "chunked: the pipelined request is left over");
}

static void
test_chunked_pipelined_whole(void)
{
    char buf[512];
    size_t len = (size_t)snprintf(buf, sizeof(buf), "%s5\r\nhello\r\n0\r\n\r\n%s", chunked_head,
                                  next_request);
    is_int(parse_head_len(buf, len, HTTP_MSG_REQUEST, false), HTTP_PARSE_OK,
           "chunked + next: head");
    is_int(head.head_len, strlen(chunked_head), "chunked + next: head_len");
    size_t consumed;
    is_int(http_parse_body(&parser, buf + head.head_len, len - head.head_len, &consumed),
           HTTP_PARSE_OK, "chunked + next: body OK");
    is_int(consumed, strlen("5\r\nhello\r\n0\r\n\r\n"), "chunked + next: consumed");
    const char *next = buf + head.head_len + consumed;
    is_int(parse_head(next, HTTP_MSG_REQUEST, false), HTTP_PARSE_OK, "next request parses");
    ok(slice_is(head.target, "/next"), "next request target");
}

struct bad_chunk_case {
    const char *name;
    const char *body;
};

static const struct bad_chunk_case bad_chunk_cases[] = {
    {"not hex", "g\r\n"},
    {"empty size", "\r\n"},
    {"negative", "-1\r\n"},
    {"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"},
    {"size overflows 64 bits", "10000000000000000\r\n"},
    {"bare LF after the size", "5\nhello\r\n0\r\n\r\n"},
    {"bare CR after the size", "5\rhello\r\n0\r\n\r\n"},
    {"bare LF in an extension", "2;\nxx\r\nab\r\n0\r\n\r\n"},
    {"control byte in an extension", "2;a\001\r\nab\r\n0\r\n\r\n"},
    {"junk after size whitespace", "2 x\r\nab\r\n0\r\n\r\n"},
    {"data longer than the size", "2\r\nabXY\r\n0\r\n\r\n"},
    {"data not followed by CRLF", "2\r\nab\n0\r\n\r\n"},
    {"last chunk not followed by CRLF", "0\r\n\rX"},
    {"trailer without a colon", "0\r\nX-T\r\n\r\n"},
    {"trailer name with a space", "0\r\nX T: 1\r\n\r\n"},
    {"trailer obs-fold", "0\r\nX-T: 1\r\n 2\r\n\r\n"},
    {"trailer bare LF", "0\r\nX-T: 1\n\r\n"},
    {"trailer control byte", "0\r\nX-T: \001\r\n\r\n"},
};

static void
test_bad_chunks(void)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(bad_chunk_cases); i++) {
        const struct bad_chunk_case *c = &bad_chunk_cases[i];
        parse_head(chunked_head, HTTP_MSG_REQUEST, false);
        size_t consumed;
        enum http_parse_result r = http_parse_body(&parser, c->body, strlen(c->body), &consumed);
        is_int(r, HTTP_PARSE_ERROR, "bad chunk, %s: ERROR", c->name);
        is_int(parser.error_status, 400, "bad chunk, %s: 400", c->name);
        ok(consumed <= strlen(c->body), "bad chunk, %s: consumed within len", c->name);
        r = http_parse_body(&parser, "0\r\n\r\n", 5, &consumed);
        is_int(r, HTTP_PARSE_ERROR, "bad chunk, %s: stays an error", c->name);
    }
}

static void
test_chunk_limits(void)
{
    static char buf[16384];
    /* A size line that never ends must not be streamed forever. */
    parse_head(chunked_head, HTTP_MSG_REQUEST, false);
    memset(buf, 'e', sizeof(buf));
    memcpy(buf, "5;", 2);
    size_t consumed;
    is_int(http_parse_body(&parser, buf, sizeof(buf), &consumed), HTTP_PARSE_ERROR,
           "endless chunk extension: ERROR");
    /* Nor a trailer section. */
    parse_head(chunked_head, HTTP_MSG_REQUEST, false);
    memset(buf, 'e', sizeof(buf));
    memcpy(buf, "0\r\nX:", 5);
    is_int(http_parse_body(&parser, buf, sizeof(buf), &consumed), HTTP_PARSE_ERROR,
           "endless trailer: ERROR");
    /* Leading zeros are fine, and so is the largest size that fits. */
    parse_head(chunked_head, HTTP_MSG_REQUEST, false);
    is_int(http_parse_body(&parser, "00000001\r\nx\r\n0\r\n\r\n", 18, &consumed), HTTP_PARSE_OK,
           "leading zeros: OK");
    parse_head(chunked_head, HTTP_MSG_REQUEST, false);
    is_int(http_parse_body(&parser, "FFFFFFFFFFFFFFFF\r\nab", 20, &consumed), HTTP_PARSE_INCOMPLETE,
           "2^64-1 byte chunk: INCOMPLETE");
}

/* ---- responses ---- */

struct resp_case {
    const char *name;
    const char *raw;
    bool skip_body; /* response to HEAD */
    enum http_body_kind body;
    bool complete; /* after the head alone */
    bool keep_alive;
    bool upgrade;
};

static const struct resp_case resp_cases[] = {
    {"204", "HTTP/1.1 204 No Content\r\n\r\n", false, HTTP_BODY_NONE, true, true, false},
    {"204 ignores its Content-Length", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
     false, HTTP_BODY_NONE, true, true, false},
    {"304 with Content-Length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", false,
     HTTP_BODY_NONE, true, true, false},
    {"100 Continue", "HTTP/1.1 100 Continue\r\n\r\n", false, HTTP_BODY_NONE, true, true, false},
    {"103 with chunked", "HTTP/1.1 103 Early Hints\r\nTransfer-Encoding: chunked\r\n\r\n", false,
     HTTP_BODY_NONE, true, true, false},
    {"HEAD: Content-Length means nothing follows", "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n",
     true, HTTP_BODY_NONE, true, true, false},
    {"HEAD: chunked means nothing follows", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
     true, HTTP_BODY_NONE, true, true, false},
    {"HEAD: no framing, still keep-alive", "HTTP/1.1 200 OK\r\n\r\n", true, HTTP_BODY_NONE, true,
     true, false},
    {"no framing: until close", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", false,
     HTTP_BODY_UNTIL_CLOSE, false, false, false},
    {"Transfer-Encoding gzip: until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
     false, HTTP_BODY_UNTIL_CLOSE, false, false, false},
    {"Content-Length: 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, HTTP_BODY_NONE,
     true, true, false},
    {"HTTP/1.0 with length", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", false,
     HTTP_BODY_LENGTH, false, false, false},
    {"101 Switching Protocols",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false,
     HTTP_BODY_NONE, true, true, true},
};

static void
test_responses(void)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(resp_cases); i++) {
        const struct resp_case *c = &resp_cases[i];
        enum http_parse_result r = parse_head(c->raw, HTTP_MSG_RESPONSE, c->skip_body);
        is_int(r, HTTP_PARSE_OK, "%s: OK", c->name);
        if (r != HTTP_PARSE_OK)
            continue;
        is_int(head.body, c->body, "%s: body kind", c->name);
        is_int(http_msg_complete(&parser), c->complete, "%s: complete after the head", c->name);
        is_int(head.keep_alive, c->keep_alive, "%s: keep_alive", c->name);
        is_int(head.upgrade, c->upgrade, "%s: upgrade", c->name);
        is_int(head.head_len, strlen(c->raw), "%s: head_len", c->name);
    }
}

static void
test_response_until_close_body(void)
{
    parse_head("HTTP/1.1 200 OK\r\n\r\n", HTTP_MSG_RESPONSE, false);
    size_t consumed;
    is_int(http_parse_body(&parser, "data: 1\n\n", 9, &consumed), HTTP_PARSE_INCOMPLETE,
           "until close: INCOMPLETE");
    is_int(consumed, 9, "until close: everything belongs to the body");
    ok(!http_msg_complete(&parser), "until close: never complete");
}

static void
test_response_chunked_body(void)
{
    parse_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_MSG_RESPONSE, false);
    const char body[] = "7\r\ndata: 1\r\n0\r\n\r\nHTTP/1.1";
    size_t consumed;
    is_int(http_parse_body(&parser, body, sizeof(body) - 1, &consumed), HTTP_PARSE_OK,
           "response chunked: OK");
    is_int(consumed, sizeof(body) - 1 - 8, "response chunked: consumed");
}

/* ---- upgrades ---- */

static void
test_upgrades(void)
{
    const char ws[] = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                      "Connection: keep-alive, Upgrade\r\n\r\n\x81\x05hello";
    is_int(parse_head(ws, HTTP_MSG_REQUEST, false), HTTP_PARSE_OK, "websocket request: OK");
    ok(head.upgrade, "Upgrade + Connection: upgrade: upgrade");
    ok(http_msg_complete(&parser), "upgrade without a body: complete after the head");
    is_int(head.head_len, sizeof(ws) - 1 - 7, "upgrade: the tunnel bytes are not in the head");

    const char no_conn[] = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n";
    is_int(parse_head(no_conn, HTTP_MSG_REQUEST, false), HTTP_PARSE_OK, "Upgrade alone: OK");
    ok(!head.upgrade, "Upgrade without Connection: upgrade: no upgrade");

    const char connect[] = "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n";
    is_int(parse_head(connect, HTTP_MSG_REQUEST, false), HTTP_PARSE_OK, "CONNECT: OK");
    ok(head.upgrade, "CONNECT: upgrade");
    ok(slice_is(head.target, "a:443"), "CONNECT: authority target");

    const char with_body[] = "POST / HTTP/1.1\r\nHost: a\r\nUpgrade: x\r\nConnection: upgrade\r\n"
                             "Content-Length: 2\r\n\r\nhi";
    is_int(parse_head(with_body, HTTP_MSG_REQUEST, false), HTTP_PARSE_OK, "upgrade + body: OK");
    ok(head.upgrade && head.body == HTTP_BODY_LENGTH, "upgrade + body: both");
    ok(!http_msg_complete(&parser), "upgrade + body: body still to come");
}

/* ---- a reused head struct ---- */

static void
test_head_reuse_resets(void)
{
    parse_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n", HTTP_MSG_REQUEST, false);
    parse_head("GET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_MSG_REQUEST, false);
    is_int(head.content_length, 0, "a second parse into the same head clears content_length");
}

/* ---- helpers ---- */

struct token_case {
    const char *value;
    const char *token;
    bool want;
};

static const struct token_case token_cases[] = {
    {"close", "close", true},
    {"Close", "close", true},
    {"keep-alive, Upgrade", "upgrade", true},
    {"keep-alive ,\tupgrade\t", "upgrade", true},
    {",,upgrade,,", "upgrade", true},
    {"upgrades", "upgrade", false},
    {"x-upgrade", "upgrade", false},
    {"up grade", "upgrade", false},
    {"", "close", false},
    {" , ", "close", false},
    {"gzip, chunked", "chunked", true},
    {"chunked;q=1", "chunked", false},
};

static void
test_list_has_token(void)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(token_cases); i++) {
        const struct token_case *c = &token_cases[i];
        struct sl_slice v = {c->value, strlen(c->value)};
        is_int(http_list_has_token(v, c->token), c->want, "\"%s\" has \"%s\": %s", c->value,
               c->token, c->want ? "yes" : "no");
    }
    /* Not NUL-terminated: the slice's length is the end. */
    struct sl_slice cut = {"closed", 5};
    ok(http_list_has_token(cut, "close"), "slice length bounds the list");
}

static void
test_head_find(void)
{
    parse_head("GET / HTTP/1.1\r\nHost: a\r\nX-Dup: 1\r\nx-dup: 2\r\nCONTENT-TYPE: t\r\n\r\n",
               HTTP_MSG_REQUEST, false);
    is_str(value_of("content-type"), "t", "find is case-insensitive");
    is_str(value_of("x-dup"), "1", "find returns the first of repeated fields");
    ok(http_head_find(&head, "x-missing") == NULL, "find: absent is NULL");
    ok(http_head_find(&head, "x-du") == NULL, "find: no prefix match");
}

/* Every byte value, against the RFC grammar written out here independently
 * of the parser's class table: which bytes a field name, a field value, a
 * method and a request-target may hold. */
static bool
rfc_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void
test_every_byte(void)
{
    int bad_name = 0, bad_value = 0, bad_method = 0, bad_target = 0;
    for (int c = 0; c < 256; c++) {
        char raw[128];
        int n = snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: a\r\nX%cY: v\r\n\r\n", 'A');
        raw[n - 9] = (char)c; /* the byte between X and Y */
        bool ok_name = parse_head_len(raw, (size_t)n, HTTP_MSG_REQUEST, false) == HTTP_PARSE_OK;
        /* "X:Y: v" is the field X with the value "Y: v": fine. */
        bool want_name = rfc_tchar(c) || c == ':';
        if (ok_name != want_name)
            printf("# field name byte 0x%02x: %s\n", c, ok_name ? "accepted" : "refused");
        bad_name += ok_name != want_name;

        n = snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: a\r\nX: a%cb\r\n\r\n", 'A');
        raw[n - 6] = (char)c; /* the byte between a and b */
        bool want_value = c == '\t' || (c >= 0x20 && c != 0x7f);
        bool ok_value = parse_head_len(raw, (size_t)n, HTTP_MSG_REQUEST, false) == HTTP_PARSE_OK;
        /* A bare LF ends the line early: "b" is then a field line without
         * a colon, refused too. */
        bad_value += ok_value != want_value;

        n = snprintf(raw, sizeof(raw), "G%cT / HTTP/1.1\r\nHost: a\r\n\r\n", 'A');
        raw[1] = (char)c;
        bool want_method = (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
        bad_method += (parse_head_len(raw, (size_t)n, HTTP_MSG_REQUEST, false) == HTTP_PARSE_OK) !=
                      want_method;

        n = snprintf(raw, sizeof(raw), "GET /a%cb HTTP/1.1\r\nHost: a\r\n\r\n", 'A');
        raw[6] = (char)c;
        bool want_target = c > 0x20 && c != 0x7f;
        bad_target += (parse_head_len(raw, (size_t)n, HTTP_MSG_REQUEST, false) == HTTP_PARSE_OK) !=
                      want_target;
    }
    is_int(bad_name, 0, "field names: every byte value accepted iff it is a tchar");
    is_int(bad_value, 0, "field values: every byte value accepted iff VCHAR, SP, HTAB, obs-text");
    is_int(bad_method, 0, "methods: every byte value accepted iff A-Z, '-' or '_'");
    is_int(bad_target, 0, "request-targets: every byte value accepted iff not SP/CTL/DEL");
}

/* Field values are scanned a word at a time (span_field_value): every byte
 * value, at every offset of a value longer than two words, and HTAB runs
 * across a word's edge, must be judged as the byte-by-byte rule does, and
 * the value must end where the line does, its trailing OWS left out. */
static void
test_every_byte_in_long_values(void)
{
    enum { VLEN = 21 };
    int wrong = 0, wrong_slice = 0;
    for (int at = 0; at < VLEN; at++) {
        for (int c = 0; c < 256; c++) {
            char value[VLEN + 1], raw[128];
            memset(value, 'v', VLEN);
            value[VLEN] = '\0';
            int n = snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n", value);
            size_t vstart = strlen("GET / HTTP/1.1\r\nHost: a\r\nX: ");
            raw[vstart + (size_t)at] = (char)c;
            /* A bare LF at the last offset ends the line there (RFC 9112
             * §2.2 lets a recipient take it), and "\r\n" is the empty line;
             * anywhere else it leaves a line without a colon. */
            bool lf_last = c == '\n' && at == VLEN - 1;
            bool want = c == '\t' || (c >= 0x20 && c != 0x7f) || lf_last;
            bool got = parse_head_len(raw, (size_t)n, HTTP_MSG_REQUEST, false) == HTTP_PARSE_OK;
            if (got != want) {
                printf("# value byte 0x%02x at %d: %s\n", c, at, got ? "accepted" : "refused");
                wrong++;
            }
            if (got) {
                /* OWS around the value is not part of it (RFC 9112 §5). */
                bool ows = c == ' ' || c == '\t';
                bool cut = (ows && (at == 0 || at == VLEN - 1)) || lf_last;
                size_t want_len = cut ? VLEN - 1 : VLEN;
                const char *want_p = raw + vstart + (ows && at == 0);
                const struct http_header *h = http_head_find(&head, "x");
                wrong_slice += h == NULL || h->value.len != want_len || h->value.p != want_p;
            }
        }
    }
    is_int(wrong, 0, "long field values: every byte at every offset judged as VCHAR/SP/HTAB/obs-text");
    is_int(wrong_slice, 0, "long field values: the value ends at its line end, trailing OWS trimmed");

    const char *tabs = "GET / HTTP/1.1\r\nHost: a\r\nX: a\t\t\t\t\t\t\t\t\t\tb\x01c\r\n\r\n";
    is_int(parse_head(tabs, HTTP_MSG_REQUEST, false), HTTP_PARSE_ERROR,
           "a control byte after a run of HTAB across a word edge is refused");
    tabs = "GET / HTTP/1.1\r\nHost: a\r\nX: a\t\t\t\t\t\t\t\t\t\tb\x80" "c\r\n\r\n";
    is_int(parse_head(tabs, HTTP_MSG_REQUEST, false), HTTP_PARSE_OK,
           "HTAB runs and obs-text across word edges are accepted");
    is_str(value_of("x"), "a\t\t\t\t\t\t\t\t\t\tb\x80" "c", "... whole");
}

/* http_name_is folds case eight bytes at a time. */
static void
test_name_is(void)
{
    struct sl_slice s = SL_SLICE_LIT("X-Forwarded-FOR");
    ok(HTTP_NAME_IS(s, "x-forwarded-for"), "a 15-byte name in mixed case matches");
    s = SL_SLICE_LIT("X-Forwarded-FOX");
    ok(!HTTP_NAME_IS(s, "x-forwarded-for"), "a difference in the tail does not match");
    s = SL_SLICE_LIT("X_Forwarded-For");
    ok(!HTTP_NAME_IS(s, "x-forwarded-for"), "'_' is not '-'");
    s = SL_SLICE_LIT("Content-Lengt");
    ok(!HTTP_NAME_IS(s, "content-length"), "a shorter name does not match");
    s = SL_SLICE_LIT("CONTENT-LENGTH");
    ok(HTTP_NAME_IS(s, "content-length"), "upper case matches");
    s = SL_SLICE_LIT("Content^Length");
    ok(!HTTP_NAME_IS(s, "content-length"), "'^' (a tchar) is not '-'");
    s = SL_SLICE_LIT("Host");
    ok(HTTP_NAME_IS(s, "host"), "a 4-byte name matches");
}

int
main(void)
{
    test_every_byte();
    test_every_byte_in_long_values();
    test_name_is();
    test_valid_heads();
    test_valid_heads_byte_by_byte();
    test_bad_heads();
    test_only_empty_lines_is_incomplete();
    test_head_too_large();
    test_request_line_too_long();
    test_too_many_headers();
    test_content_length_in_pieces();
    test_chunked_every_split();
    test_chunked_byte_by_byte();
    test_chunked_pipelined_whole();
    test_bad_chunks();
    test_chunk_limits();
    test_responses();
    test_response_until_close_body();
    test_response_chunked_body();
    test_upgrades();
    test_head_reuse_resets();
    test_list_has_token();
    test_head_find();
    return tap_done();
}
