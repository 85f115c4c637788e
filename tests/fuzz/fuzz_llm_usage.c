/*
 * fuzz_llm_usage.c - libFuzzer target for src/policy/llm_usage.c.
 *
 * The input is a decoded response body, scanned in one piece, split in two
 * at a point drawn from its first byte, and byte by byte (small inputs).
 * proxy.c feeds whatever recv() returned, so every reading must name the
 * same usage: a scanner whose answer depends on where reads stopped would
 * charge one response differently on two runs.
 *
 *   input --whole-----------> found, total_tokens
 *         --split at cut----> the same
 *         --byte by byte----> the same
 *
 * The input is also a request body for llm_usage_max_tokens: a value is in
 * 1..LLM_USAGE_MAX_TOKENS_LIMIT, and one found in the prefix before the cut
 * is the one found in the whole (the first stays the first).
 *
 * Built with -fsanitize=fuzzer under -Dfuzz=true; replay_main.c runs the
 * checked-in corpus through it in `meson test --suite fuzz`.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/llm_usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BYTEWISE_MAX 4096

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct verdict {
    bool found;
    uint64_t total_tokens;
};

/* Feeds a piece copied to a buffer of its own exact size, so that a read
 * past either end of it trips ASan. */
static void
feed_piece(struct llm_usage_scan *s, const char *p, size_t n)
{
    char *piece = malloc(n ? n : 1);
    CHECK(piece != NULL);
    memcpy(piece, p, n);
    llm_usage_scan_feed(s, piece, n);
    free(piece);
}

/* Feeds buf as a piece of `first` bytes, then pieces of `step` bytes (0:
 * the rest in one). */
static struct verdict
scan(const char *buf, size_t len, size_t first, size_t step)
{
    struct llm_usage_scan s;
    struct verdict v = {false, 0};
    size_t off = 0, n = first < len ? first : len;

    llm_usage_scan_init(&s);
    do {
        feed_piece(&s, buf + off, n);
        off += n;
        n = step != 0 && step < len - off ? step : len - off;
    } while (off < len);
    v.found = llm_usage_scan_total(&s, &v.total_tokens);
    return v;
}

static void
check_same(struct verdict a, struct verdict b)
{
    CHECK(a.found == b.found);
    CHECK(!a.found || a.total_tokens == b.total_tokens);
}

static void
check_max_tokens(const char *buf, size_t len, size_t cut)
{
    uint64_t whole = 0, prefix = 0;
    bool found = llm_usage_max_tokens(buf, len, &whole);
    CHECK(!found || (whole >= 1 && whole <= LLM_USAGE_MAX_TOKENS_LIMIT));
    if (llm_usage_max_tokens(buf, cut, &prefix)) {
        CHECK(found);
        CHECK(prefix == whole);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    size_t cut = size ? (size_t)data[0] * size / 256 : 0;

    struct verdict whole = scan(buf, size, size, 0);
    check_same(whole, scan(buf, size, cut, 0));
    if (size <= BYTEWISE_MAX)
        check_same(whole, scan(buf, size, 1, 1));
    check_max_tokens(buf, size, cut);
    free(buf);
    return 0;
}
