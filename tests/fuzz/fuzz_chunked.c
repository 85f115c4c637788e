/*
 * fuzz_chunked.c - libFuzzer target for the chunked body decoder in
 * src/http/http_parse.c (http_parse_body after a chunked head).
 *
 * The input is the body of a chunked request (and of a chunked response),
 * fed to the decoder four ways: in one piece, byte by byte (small inputs),
 * split at points drawn from the input, and cut after the message's end
 * with extra bytes behind it. conn.c and proxy.c feed whatever recv()
 * returned, so every reading must reach the same verdict, end the message
 * at the same byte and count the same decoded bytes: a decoder whose
 * answer depends on where reads stopped lets two readers of one stream
 * disagree on where a message ends (request smuggling, RFC 9112 §11.2).
 *
 *   input --whole------------> verdict, consumed, body_bytes, error_status
 *         --byte by byte-----> the same
 *         --random splits----> the same
 *
 * Invariants on each call: consumed <= len; INCOMPLETE consumes all of len;
 * body_bytes never shrinks; when the message ended, the decoded size plus
 * the framing (at least "0\r\n\r\n") fits in what was consumed.
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

#define BYTEWISE_MAX 2048
#define MAX_SPLITS 8

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char req_head[] = "POST /v1/chat/completions HTTP/1.1\r\n"
                               "Host: fuzz.test\r\n"
                               "Transfer-Encoding: chunked\r\n"
                               "\r\n";
static const char resp_head[] = "HTTP/1.1 200 OK\r\n"
                                "Transfer-Encoding: chunked\r\n"
                                "\r\n";

/* What a caller of the decoder learns from one reading of the body. */
struct verdict {
    enum http_parse_result r; /* OK, INCOMPLETE (ran out of input) or ERROR */
    size_t consumed;          /* OK: bytes of the message; else every byte fed */
    uint64_t body_bytes;      /* decoded bytes seen */
    unsigned error_status;
};

static void
parser_for(struct http_msg_parser *mp, enum http_msg_kind kind)
{
    const char *head = kind == HTTP_MSG_REQUEST ? req_head : resp_head;
    size_t len = kind == HTTP_MSG_REQUEST ? sizeof(req_head) - 1 : sizeof(resp_head) - 1;
    struct http_head h;

    http_msg_parser_init(mp, kind, false);
    CHECK(http_parse_head(mp, &h, head, len, 4096) == HTTP_PARSE_OK);
    CHECK(h.body == HTTP_BODY_CHUNKED);
    CHECK(!http_msg_complete(mp));
}

/* Feeds buf[0..len) in pieces ending at cuts[0] < cuts[1] < ... < len. */
static struct verdict
decode(enum http_msg_kind kind, const char *buf, size_t len, const size_t *cuts, size_t ncuts)
{
    struct http_msg_parser mp;
    struct verdict v = {HTTP_PARSE_INCOMPLETE, 0, 0, 0};
    size_t off = 0;

    parser_for(&mp, kind);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        size_t n = 0;
        uint64_t before = mp.body_bytes;
        CHECK(end >= off && end <= len);
        /* A piece of its own exact size, so reading past it trips ASan. */
        char *piece = malloc(end - off ? end - off : 1);
        CHECK(piece != NULL);
        memcpy(piece, buf + off, end - off);
        v.r = http_parse_body(&mp, piece, end - off, &n);
        free(piece);
        CHECK(n <= end - off);
        CHECK(mp.body_bytes >= before);
        CHECK(mp.body_bytes - before <= n);
        if (v.r == HTTP_PARSE_INCOMPLETE) {
            CHECK(n == end - off);
            CHECK(!http_msg_complete(&mp));
        }
        off += n;
        if (v.r != HTTP_PARSE_INCOMPLETE)
            break;
    }
    v.consumed = off;
    v.body_bytes = mp.body_bytes;
    if (v.r == HTTP_PARSE_OK) {
        CHECK(http_msg_complete(&mp));
        CHECK(v.body_bytes + 5 <= v.consumed);
        CHECK(buf[v.consumed - 1] == '\n' && buf[v.consumed - 2] == '\r');
    } else if (v.r == HTTP_PARSE_ERROR) {
        CHECK(mp.error != NULL);
        CHECK(mp.error_status == 400);
        v.error_status = mp.error_status;
    } else {
        CHECK(v.consumed == len);
    }
    return v;
}

static void
check_same(const struct verdict *a, const struct verdict *b)
{
    CHECK(a->r == b->r);
    CHECK(a->error_status == b->error_status);
    /* An error is found at one byte whatever the reads were; the decoded
     * count before it is then the same too. */
    CHECK(a->consumed == b->consumed || a->r == HTTP_PARSE_ERROR);
    CHECK(a->body_bytes == b->body_bytes);
}

static int
cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static void
run(enum http_msg_kind kind, const char *buf, size_t len, uint32_t seed)
{
    struct verdict whole = decode(kind, buf, len, NULL, 0);

    /* byte by byte: every prefix is a read that stopped there */
    if (len <= BYTEWISE_MAX && len > 1) {
        size_t *cuts = malloc((len - 1) * sizeof(*cuts));
        CHECK(cuts != NULL);
        for (size_t i = 0; i < len - 1; i++)
            cuts[i] = i + 1;
        struct verdict bytewise = decode(kind, buf, len, cuts, len - 1);
        check_same(&whole, &bytewise);
        free(cuts);
    }

    /* a few splits at points drawn from the input (xorshift, so a corpus
     * entry always replays the same way) */
    if (len > 1) {
        size_t cuts[MAX_SPLITS];
        size_t ncuts = 1 + seed % MAX_SPLITS, k = 0;
        uint32_t x = seed | 1;
        for (size_t i = 0; i < ncuts; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            cuts[k++] = 1 + x % (len - 1);
        }
        qsort(cuts, k, sizeof(*cuts), cmp_size);
        size_t u = 0;
        for (size_t i = 0; i < k; i++)
            if (u == 0 || cuts[i] != cuts[u - 1])
                cuts[u++] = cuts[i];
        struct verdict split = decode(kind, buf, len, cuts, u);
        check_same(&whole, &split);
    }

    /* The message ends where the whole reading said, whatever follows:
     * its bytes alone decode to the same end. */
    if (whole.r == HTTP_PARSE_OK && whole.consumed < len) {
        struct verdict prefix = decode(kind, buf, whole.consumed, NULL, 0);
        check_same(&whole, &prefix);
        CHECK(prefix.consumed == whole.consumed);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    uint32_t seed = 2166136261u;
    for (size_t i = 0; i < size && i < 64; i++)
        seed = (seed ^ data[i]) * 16777619u;
    run(HTTP_MSG_REQUEST, buf, size, seed);
    run(HTTP_MSG_RESPONSE, buf, size, seed ^ 0x9e3779b9u);
    free(buf);
    return 0;
}
