/*
 * test_http_reply.c - the gateway's own responses: a Date, the JSON error
 * body, and Retry-After decided in one place: a 503 gets "Retry-After: 1"
 * unless the caller's extra headers carry their own, and a response never
 * carries two.
 */
#include <string.h>
#include <strings.h>

#include "http/http_reply.h"
#include "tap.h"
#include "util/strbuf.h"

/* How many header lines of out's head are named name (case-insensitive). */
static unsigned
count_field(const struct strbuf *out, const char *name)
{
    const char *end = memmem(out->p, out->len, "\r\n\r\n", 4);
    size_t nlen = strlen(name);
    unsigned n = 0;
    for (const char *p = out->p; p != NULL && p < end;) {
        const char *line = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (line == NULL)
            break;
        line += 2;
        if (line < end && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':')
            n++;
        p = line;
    }
    return n;
}

static struct strbuf
reply(unsigned status, const char *extra)
{
    struct http_reply r = {
        .status = status,
        .request_id = SL_SLICE_LIT("rid"),
        .extra_headers = {extra, strlen(extra)},
    };
    struct strbuf out = {0};
    http_reply_build(&out, &r);
    strbuf_append(&out, "", 1);
    return out;
}

static void
test_retry_after(void)
{
    static const struct {
        unsigned status;
        const char *extra;
        unsigned want_count;
        const char *want_line; /* NULL: none expected */
        const char *what;
    } cases[] = {
        {503, "", 1, "\r\nRetry-After: 1\r\n", "503 alone: Retry-After: 1 added"},
        {503, "Retry-After: 7\r\n", 1, "\r\nRetry-After: 7\r\n", "503 with its own: kept, no 1"},
        {503, "retry-after: 30\r\n", 1, "\r\nretry-after: 30\r\n", "503, own in lower case: kept"},
        {503, "X-Other: 1\r\nRetry-After: 5\r\n", 1, "\r\nRetry-After: 5\r\n",
         "503, own after another extra line: kept"},
        {503, "X-Retry-After: 9\r\n", 1, "\r\nRetry-After: 1\r\n",
         "503 with X-Retry-After only: Retry-After: 1 added"},
        {429, "Retry-After: 30\r\n", 1, "\r\nRetry-After: 30\r\n", "429 with its own: kept"},
        {429, "", 0, NULL, "429 alone: none added"},
        {502, "", 0, NULL, "502: none"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct strbuf out = reply(cases[i].status, cases[i].extra);
        unsigned n = count_field(&out, "retry-after");
        ok(n == cases[i].want_count &&
               (cases[i].want_line == NULL || strstr(out.p, cases[i].want_line) != NULL),
           "%s", cases[i].what);
        if (n != cases[i].want_count)
            printf("#   got %u Retry-After in:\n# %s\n", n, out.p);
        strbuf_deinit(&out);
    }
}

static void
test_head(void)
{
    struct strbuf out = reply(404, "");
    ok(strncmp(out.p, "HTTP/1.1 404 Not Found\r\n", 24) == 0, "status line");
    ok(count_field(&out, "date") == 1 && count_field(&out, "content-length") == 1 &&
           strstr(out.p, "\r\nX-Request-Id: rid\r\n") != NULL,
       "one Date, one Content-Length, the request id");
    ok(strstr(out.p, "\r\n\r\n{\"error\":\"not_found\"}\n") != NULL, "JSON error body");
    strbuf_deinit(&out);
}

/* A streamed reply (a follower of a coalesced miss): chunked framing, no
 * Content-Length, the body so far as the first chunk; an empty body sends
 * no chunk, since an empty one would end it. */
static void
test_stored_chunked(void)
{
    const char *fields = "Content-Type: text/event-stream\r\n";
    struct http_stored_response st = {200, {fields, strlen(fields)}, {"data: 1\n\n", 9}};
    struct http_reply r = {.status = 200, .chunked = true};
    struct strbuf out = {0};
    http_reply_build_stored(&out, &r, &st);
    http_reply_append_chunk(&out, "data: 2\n\n", 9);
    strbuf_append(&out, "", 1);
    ok(count_field(&out, "transfer-encoding") == 1 && count_field(&out, "content-length") == 0,
       "chunked: Transfer-Encoding, no Content-Length");
    ok(strstr(out.p, "\r\n\r\n9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n") != NULL,
       "the body so far, then each piece, as chunks");
    strbuf_deinit(&out);

    st.body = (struct sl_slice){"", 0};
    http_reply_build_stored(&out, &r, &st);
    http_reply_append_chunk(&out, "", 0);
    strbuf_append(&out, "", 1);
    ok(strlen(out.p) >= 4 && strcmp(out.p + strlen(out.p) - 4, "\r\n\r\n") == 0,
       "an empty body so far, an empty piece: no chunk (it would end the body)");
    strbuf_deinit(&out);
}

int
main(void)
{
    test_head();
    test_retry_after();
    test_stored_chunked();
    return tap_done();
}
