/*
 * fuzz_route.c - libFuzzer target for the routing of a request target:
 * src/http/http_path.c (normalisation) then src/config/route.c (matching).
 *
 * The input is a request target. Whatever it is, normalisation must keep
 * its contract: a result never longer than the input, beginning with '/',
 * holding no "." or ".." segment, no empty segment but a final one, no
 * escape of an unreserved octet and no lower-case hex (so no two spellings
 * of one resource reach the router), and normalising it again must give
 * it back unchanged (a second reading by the upstream finds nothing to
 * resolve). In place it must give the same. route_match on the result
 * must not crash, and must pick the route a plain prefix scan picks. A
 * broken invariant aborts.
 *
 * Built with -fsanitize=fuzzer under -Dfuzz=true; replay_main.c runs the
 * checked-in corpus through it in `meson test --suite fuzz`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/route.h"
#include "http/http_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define ROUTE(n, prefix, m)                                                                        \
    {                                                                                              \
        .name = (n), .path_prefix = (prefix), .path_prefix_len = sizeof(prefix) - 1,               \
        .methods = (m)                                                                             \
    }

static struct config_route routes[] = {
    ROUTE("public", "/public/", 0),
    ROUTE("chat", "/v1/chat/completions", CONFIG_METHOD_POST),
    ROUTE("v1", "/v1/", CONFIG_METHOD_GET | CONFIG_METHOD_POST),
    ROUTE("tilde", "/~", 0),
    ROUTE("escaped", "/a%3Ab", 0),
    ROUTE("root", "/", CONFIG_METHOD_DELETE),
};

static bool
is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* lower-case hex is not normal either */
}

/* The shape of a normal path, checked byte by byte. */
static void
check_normal(const char *p, size_t n)
{
    CHECK(n >= 1 && p[0] == '/');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        CHECK(c > 0x20 && c != 0x7f && c != '\\' && c != ';' && c != '#' && c != '?');
        if (c == '%') {
            CHECK(n - i >= 3);
            int hi = hex_value((unsigned char)p[i + 1]), lo = hex_value((unsigned char)p[i + 2]);
            CHECK(hi >= 0 && lo >= 0);
            unsigned char v = (unsigned char)(hi << 4 | lo);
            CHECK(!is_unreserved(v) && v != '/' && v != '\\' && v >= 0x20 && v != 0x7f);
            i += 2;
        }
        if (c != '/')
            continue;
        /* The segment after this '/' */
        size_t end = i + 1;
        while (end < n && p[end] != '/')
            end++;
        size_t seg = end - (i + 1);
        CHECK(seg > 0 || end == n);
        CHECK(!(seg == 1 && p[i + 1] == '.'));
        CHECK(!(seg == 2 && p[i + 1] == '.' && p[i + 2] == '.'));
    }
}

/* route_match is a first-match prefix scan: check it against one. */
static void
check_route(const char *path, size_t len, unsigned method_bit)
{
    struct config cfg = {.routes = routes, .nroutes = sizeof(routes) / sizeof(routes[0])};
    const struct config_route *r = NULL;
    enum route_match_result res = route_match(&cfg, path, len, method_bit, &r);
    const struct config_route *want = NULL;
    bool path_matched = false;
    for (size_t i = 0; i < cfg.nroutes && want == NULL; i++) {
        const struct config_route *c = &routes[i];
        if (c->path_prefix_len <= len && memcmp(c->path_prefix, path, c->path_prefix_len) == 0) {
            if (c->methods == 0 || (c->methods & method_bit) != 0)
                want = c;
            else
                path_matched = true;
        }
    }
    CHECK(r == want);
    CHECK(res == (want != NULL   ? ROUTE_MATCHED
                  : path_matched ? ROUTE_METHOD_NOT_ALLOWED
                                 : ROUTE_NOT_FOUND));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copies, so reading or writing past them trips ASan. */
    char *in = malloc(size ? size : 1);
    char *out = malloc(size ? size : 1);
    char *again = malloc(size ? size : 1);
    if (in == NULL || out == NULL || again == NULL)
        goto done;
    memcpy(in, data, size);

    size_t out_len = 0, path_len = 0;
    enum http_path_result res =
        http_path_normalize_target(in, size, out, size, &out_len, &path_len);
    if (res == HTTP_PATH_ASTERISK) {
        CHECK(size == 1 && out_len == 1 && path_len == 1 && out[0] == '*');
    } else if (res == HTTP_PATH_OK) {
        CHECK(out_len <= size && path_len <= out_len);
        check_normal(out, path_len);
        /* The query, if any, is the input's, byte for byte. */
        const char *q = memchr(in, '?', size);
        size_t qlen = q != NULL ? size - (size_t)(q - in) : 0;
        CHECK(out_len - path_len == qlen);
        CHECK(qlen == 0 || memcmp(out + path_len, q, qlen) == 0);
        /* Idempotence, on the whole target and on the path. */
        size_t again_len = 0, again_path = 0;
        CHECK(http_path_normalize_target(out, out_len, again, size, &again_len, &again_path) ==
              HTTP_PATH_OK);
        CHECK(again_len == out_len && again_path == path_len);
        CHECK(memcmp(again, out, out_len) == 0);
        CHECK(http_path_normalize(out, path_len, again, size, &again_len) == HTTP_PATH_OK);
        CHECK(again_len == path_len && memcmp(again, out, path_len) == 0);
        unsigned method_bit = size > 0 ? 1u << (data[0] % 9) : CONFIG_METHOD_GET;
        check_route(out, path_len, method_bit);
    } else {
        CHECK(res != HTTP_PATH_NO_SPACE);
    }

    /* In place, the same answer. */
    memcpy(again, data, size);
    size_t in_place_len = 0, in_place_path = 0;
    enum http_path_result res2 =
        http_path_normalize_target(again, size, again, size, &in_place_len, &in_place_path);
    CHECK(res2 == res);
    if (res == HTTP_PATH_OK)
        CHECK(in_place_len == out_len && memcmp(again, out, out_len) == 0);

    /* The path alone (what a caller without a query would pass). */
    size_t plen = 0;
    if (http_path_normalize(in, size, out, size, &plen) == HTTP_PATH_OK) {
        CHECK(plen <= size);
        check_normal(out, plen);
    }
    /* Raw, unnormalised input must not crash the router either. */
    check_route(in, size, CONFIG_METHOD_GET);
done:
    free(again);
    free(out);
    free(in);
    return 0;
}
