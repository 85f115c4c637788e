/*
 * fuzz_http_parse.c - libFuzzer target for src/http/http_parse.c.
 *
 * The input is parsed as a run of pipelined requests (head, then body) and
 * as a response, each twice: in one piece, and split at a point derived
 * from the input (byte by byte for small heads). Both readings must agree,
 * because conn.c feeds whatever recv() returned: a parser whose answer
 * depends on where reads happened to stop is a smuggling bug. Every
 * result is checked against the API's contract (slices inside the buffer,
 * consumed <= len, ...); a broken invariant aborts.
 *
 * Built with -fsanitize=fuzzer under -Dfuzz=true; replay_main.c runs the
 * checked-in corpus through it in `meson test --suite fuzz`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEAD 4096
#define MAX_MESSAGES 8
#define BYTEWISE_MAX 1024

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* One reading of a message: what the caller of the API would see. */
struct outcome {
    enum http_parse_result head_r;
    size_t head_len;
    unsigned nheaders;
    enum http_body_kind body;
    uint64_t content_length;
    bool keep_alive;
    bool upgrade;
    unsigned error_status;
    enum http_parse_result body_r;
    size_t body_consumed;
    uint64_t body_bytes;
};

static bool
slice_within(struct sl_slice s, const char *buf, size_t len)
{
    if (s.p == NULL)
        return s.len == 0;
    return s.p >= buf && s.p <= buf + len && s.len <= (size_t)(buf + len - s.p);
}

static void
check_error(const struct http_msg_parser *mp)
{
    CHECK(mp->error != NULL);
    /* 414 (long request-target, RFC 9112 §3) and 505 (another major
     * version, RFC 9110 §15.6.6) are the answers the integration tests ask for */
    CHECK(mp->error_status == 400 || mp->error_status == 413 || mp->error_status == 414 ||
          mp->error_status == 431 || mp->error_status == 505);
}

static void
check_head(const struct http_head *h, enum http_msg_kind kind, const char *buf, size_t len)
{
    CHECK(h->head_len > 0 && h->head_len <= len);
    CHECK(h->nheaders <= HTTP_MAX_HEADERS);
    CHECK(slice_within(h->target, buf, h->head_len));
    CHECK(slice_within(h->reason, buf, h->head_len));
    for (unsigned i = 0; i < h->nheaders; i++) {
        CHECK(h->headers[i].name.len > 0);
        CHECK(slice_within(h->headers[i].name, buf, h->head_len));
        CHECK(slice_within(h->headers[i].value, buf, h->head_len));
    }
    if (kind == HTTP_MSG_REQUEST) {
        CHECK(h->method.len > 0 && slice_within(h->method, buf, h->head_len));
        CHECK(h->body != HTTP_BODY_UNTIL_CLOSE);
        CHECK(h->version_minor == 0 || http_head_find(h, "host") != NULL);
    } else {
        CHECK(h->status >= 100 && h->status <= 999);
    }
    CHECK((h->body == HTTP_BODY_LENGTH) == (h->content_length > 0));
}

/* Parses the head at buf[0..len), feeding it in growing prefixes when
 * split > 0, as reads would arrive. */
static enum http_parse_result
parse_head(struct http_msg_parser *mp, struct http_head *h, const char *buf, size_t len,
           size_t split)
{
    if (split > 0 && split < len && len <= BYTEWISE_MAX) {
        for (size_t n = 1; n < len; n++) {
            enum http_parse_result r = http_parse_head(mp, h, buf, n, MAX_HEAD);
            if (r != HTTP_PARSE_INCOMPLETE)
                return r;
        }
    } else if (split > 0 && split < len) {
        enum http_parse_result r = http_parse_head(mp, h, buf, split, MAX_HEAD);
        if (r != HTTP_PARSE_INCOMPLETE)
            return r;
    }
    return http_parse_head(mp, h, buf, len, MAX_HEAD);
}

/* Feeds the body in two reads, the first one split bytes long. */
static enum http_parse_result
parse_body(struct http_msg_parser *mp, const char *buf, size_t len, size_t split, size_t *consumed)
{
    size_t first = split < len ? split : len;
    size_t n = 0;
    enum http_parse_result r = http_parse_body(mp, buf, first, &n);
    CHECK(n <= first);
    if (r == HTTP_PARSE_INCOMPLETE)
        CHECK(n == first);
    if (r != HTTP_PARSE_INCOMPLETE || first == len) {
        *consumed = n;
        return r;
    }
    size_t m = 0;
    r = http_parse_body(mp, buf + first, len - first, &m);
    CHECK(m <= len - first);
    if (r == HTTP_PARSE_INCOMPLETE)
        CHECK(m == len - first);
    *consumed = first + m;
    return r;
}

/* One message at buf[0..len): fills *o, returns the bytes it used, or 0
 * when nothing follows it that could be parsed (error, incomplete, tunnel,
 * body to the close). */
static size_t
parse_message(struct outcome *o, enum http_msg_kind kind, bool skip_body, const char *buf,
              size_t len, size_t split)
{
    struct http_msg_parser mp;
    struct http_head h;
    memset(o, 0, sizeof(*o));
    http_msg_parser_init(&mp, kind, skip_body);
    o->head_r = parse_head(&mp, &h, buf, len, split);
    if (o->head_r == HTTP_PARSE_ERROR) {
        check_error(&mp);
        o->error_status = mp.error_status;
        return 0;
    }
    if (o->head_r == HTTP_PARSE_INCOMPLETE)
        return 0;
    check_head(&h, kind, buf, len);
    o->head_len = h.head_len;
    o->nheaders = h.nheaders;
    o->body = h.body;
    o->content_length = h.content_length;
    o->keep_alive = h.keep_alive;
    o->upgrade = h.upgrade;
    if (h.body == HTTP_BODY_NONE)
        CHECK(http_msg_complete(&mp));
    size_t rest = len - h.head_len;
    /* split == 0 is the one-piece reading. */
    size_t body_split = split == 0 ? rest : split > h.head_len ? split - h.head_len : split;
    o->body_r = parse_body(&mp, buf + h.head_len, rest, body_split, &o->body_consumed);
    o->body_bytes = mp.body_bytes;
    CHECK(o->body_consumed <= rest);
    if (o->body_r == HTTP_PARSE_ERROR) {
        check_error(&mp);
        o->error_status = mp.error_status;
        return 0;
    }
    if (o->body_r == HTTP_PARSE_OK) {
        CHECK(http_msg_complete(&mp));
        CHECK(o->body_bytes <= o->body_consumed);
        if (h.body == HTTP_BODY_LENGTH)
            CHECK(o->body_bytes == h.content_length && o->body_consumed == h.content_length);
    }
    if (o->body_r != HTTP_PARSE_OK || h.upgrade || h.body == HTTP_BODY_UNTIL_CLOSE)
        return 0;
    return h.head_len + o->body_consumed;
}

static void
check_same(const struct outcome *a, const struct outcome *b)
{
    CHECK(a->head_r == b->head_r);
    CHECK(a->head_len == b->head_len);
    CHECK(a->nheaders == b->nheaders);
    CHECK(a->body == b->body);
    CHECK(a->content_length == b->content_length);
    CHECK(a->keep_alive == b->keep_alive);
    CHECK(a->upgrade == b->upgrade);
    CHECK(a->error_status == b->error_status);
    CHECK(a->body_r == b->body_r);
    if (a->body_r == HTTP_PARSE_OK) {
        CHECK(a->body_consumed == b->body_consumed);
        CHECK(a->body_bytes == b->body_bytes);
    }
}

/* Parses len bytes as pipelined messages, whole and split; both agree. */
static void
run(enum http_msg_kind kind, bool skip_body, const char *buf, size_t len, size_t split)
{
    size_t off = 0;
    for (int i = 0; i < MAX_MESSAGES && off < len; i++) {
        struct outcome whole, pieces;
        size_t used = parse_message(&whole, kind, skip_body, buf + off, len - off, 0);
        size_t used_split = parse_message(&pieces, kind, skip_body, buf + off, len - off, split);
        check_same(&whole, &pieces);
        CHECK(used == used_split);
        CHECK(used <= len - off);
        if (used == 0)
            break;
        off += used;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so reading past it trips ASan. */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    size_t split = size == 0 ? 0 : ((size_t)data[size - 1] * (size + 1)) >> 8;
    run(HTTP_MSG_REQUEST, false, buf, size, split);
    run(HTTP_MSG_RESPONSE, (size & 1) != 0, buf, size, split);

    struct sl_slice all = {buf, size};
    (void)http_list_has_token(all, "chunked");
    (void)http_list_has_token(all, "close");
    free(buf);
    return 0;
}
