/*
 * fuzz_cache_entry.c - libFuzzer target for what the cache reads that it
 * does not control: a stored entry coming back from Redis (it may be
 * truncated, corrupted, or written by another version) and the
 * Cache-Control fields of an upstream's response head.
 *
 *   input --response_record_decode--> a view whose slices lie inside the
 *                                     input and add up to its length, or
 *                                     "not a record"
 *         --as a response head------> http_cache_control_parse: no crash,
 *                                     delta-seconds never negative but
 *                                     HTTP_CC_UNSET
 *
 * Built with -fsanitize=fuzzer under -Dfuzz=true; replay_main.c runs the
 * checked-in corpus through it in `meson test --suite fuzz`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_cache_control.h"
#include "http/http_parse.h"
#include "policy/response_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int
inside(const char *base, size_t size, struct sl_slice s)
{
    return s.len == 0 || (s.p >= base && s.p + s.len <= base + size);
}

static void
check_record(const char *p, size_t size)
{
    struct response_record_view v;
    if (!response_record_decode(p, size, &v))
        return;
    CHECK(inside(p, size, v.meta) && inside(p, size, v.response.headers) &&
          inside(p, size, v.response.body));
    CHECK(v.response.status >= 100 && v.response.status <= 599);
    CHECK(v.response.body.p + v.response.body.len == p + size);
}

static void
check_cache_control(const char *p, size_t size)
{
    struct http_msg_parser mp;
    struct http_head head;
    http_msg_parser_init(&mp, HTTP_MSG_RESPONSE, false);
    if (http_parse_head(&mp, &head, p, size, size) != HTTP_PARSE_OK)
        return;
    struct http_cache_control cc;
    http_cache_control_parse(&head, &cc);
    CHECK(cc.max_age_s == HTTP_CC_UNSET || cc.max_age_s >= 0);
    CHECK(cc.s_maxage_s == HTTP_CC_UNSET || cc.s_maxage_s >= 0);
    CHECK(cc.stale_if_error_s == HTTP_CC_UNSET || cc.stale_if_error_s >= 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: an overread is the sanitizer's to see. */
    char *p = malloc(size ? size : 1);
    memcpy(p, data, size);
    check_record(p, size);
    check_cache_control(p, size);
    free(p);
    return 0;
}
