/*
 * test_http_path.c - http_path_normalize and http_path_normalize_target:
 * every shape of dot segment and escape we know to be resolved by some
 * server into another path than the one it reads as, and what the gateway
 * makes of it: the normalised path, or the reason it is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_path.h"
#include "tap.h"

#define OK HTTP_PATH_OK

static const struct {
    const char *in;
    enum http_path_result want;
    const char *out; /* when want is OK */
} path_cases[] = {
    /* Already normal. */
    {"/", OK, "/"},
    {"/v1/chat/completions", OK, "/v1/chat/completions"},
    {"/a/", OK, "/a/"},
    {"/a.b/c..d/.e/f.", OK, "/a.b/c..d/.e/f."}, /* dots inside a segment are data */
    {"/.../x", OK, "/.../x"},                   /* "..." is no dot segment */

    /* Dot segments (RFC 3986 §5.2.4). */
    {"/a/./b", OK, "/a/b"},
    {"/a/../b", OK, "/b"},
    {"/a/.", OK, "/a/"},
    {"/a/..", OK, "/"},
    {"/.", OK, "/"},
    {"/./", OK, "/"},
    {"/a/b/../c/./d/..", OK, "/a/c/"},
    {"/a/b/../../c", OK, "/c"},
    {"/public/../v1/chat", OK, "/v1/chat"},
    {"/public/./../v1/chat", OK, "/v1/chat"},

    /* Escaped dots are dots (§2.3, §6.2.2.2). */
    {"/a/%2e%2E/b", OK, "/b"},
    {"/a/.%2e/b", OK, "/b"},
    {"/a/%2e./b", OK, "/b"},
    {"/a/%2e/b", OK, "/a/b"},
    {"/a/%2E", OK, "/a/"},
    {"/public/%2e%2e/v1/chat", OK, "/v1/chat"},
    {"/%2e%2e/", HTTP_PATH_ABOVE_ROOT, NULL},
    {"/%2e%2e", HTTP_PATH_ABOVE_ROOT, NULL},

    /* Above the root. */
    {"/..", HTTP_PATH_ABOVE_ROOT, NULL},
    {"/../", HTTP_PATH_ABOVE_ROOT, NULL},
    {"/a/../..", HTTP_PATH_ABOVE_ROOT, NULL},
    {"/a/b/../../..", HTTP_PATH_ABOVE_ROOT, NULL},
    {"/a/b/../../../c", HTTP_PATH_ABOVE_ROOT, NULL},
    {"/./..", HTTP_PATH_ABOVE_ROOT, NULL},

    /* Runs of '/' are merged, before dot segments are removed (nginx). */
    {"//v1/chat", OK, "/v1/chat"},
    {"/v1//chat", OK, "/v1/chat"},
    {"/a//", OK, "/a/"},
    {"//", OK, "/"},
    {"///", OK, "/"},
    {"/a//../b", OK, "/b"},
    {"/a/..//b", OK, "/b"},
    {"/public//..//v1/chat", OK, "/v1/chat"},
    {"//..", HTTP_PATH_ABOVE_ROOT, NULL},

    /* Unreserved escapes are decoded; others keep an upper-case hex. */
    {"/%7E", OK, "/~"},
    {"/%7euser", OK, "/~user"},
    {"/%41%62%5f%2D%30", OK, "/Ab_-0"},
    {"/%3a", OK, "/%3A"},
    {"/v1/models/gemini%3agenerate", OK, "/v1/models/gemini%3Agenerate"},
    {"/%20", OK, "/%20"},
    {"/%25", OK, "/%25"},
    {"/%3f%23", OK, "/%3F%23"}, /* '?' and '#' as data */
    {"/%3b", OK, "/%3B"},       /* ';' as data: no server strips an escaped one */
    /* Double encoding decodes once, to "%2e%2e", which is data. */
    {"/a/%252e%252e/b", OK, "/a/%252e%252e/b"},
    {"/a/%252E%252F", OK, "/a/%252E%252F"},
    /* Overlong UTF-8 for '.': not unreserved, stays escaped (as data). */
    {"/a/%c0%ae%c0%ae/b", OK, "/a/%C0%AE%C0%AE/b"},
    {"/%ff", OK, "/%FF"},
    {"/caf\xc3\xa9", OK, "/caf\xc3\xa9"}, /* raw obs-text, as http_parse lets through */

    /* Escaped separators and control bytes are refused. */
    {"/a/%2f..", HTTP_PATH_ENCODED_SEPARATOR, NULL},
    {"/a%2Fb", HTTP_PATH_ENCODED_SEPARATOR, NULL},
    {"/a%5c..%5cb", HTTP_PATH_ENCODED_SEPARATOR, NULL},
    {"/a%5Cb", HTTP_PATH_ENCODED_SEPARATOR, NULL},
    {"/%00", HTTP_PATH_ENCODED_CONTROL, NULL},
    {"/v1/chat%00.json", HTTP_PATH_ENCODED_CONTROL, NULL},
    {"/%0a", HTTP_PATH_ENCODED_CONTROL, NULL},
    {"/%0D%0AX-Injected:1", HTTP_PATH_ENCODED_CONTROL, NULL},
    {"/%1f", HTTP_PATH_ENCODED_CONTROL, NULL},
    {"/%7f", HTTP_PATH_ENCODED_CONTROL, NULL},

    /* Malformed escapes. */
    {"/a%ZZ", HTTP_PATH_BAD_ESCAPE, NULL},
    {"/a%G1", HTTP_PATH_BAD_ESCAPE, NULL},
    {"/a%1G", HTTP_PATH_BAD_ESCAPE, NULL},
    {"/a%4", HTTP_PATH_BAD_ESCAPE, NULL},
    {"/a%", HTTP_PATH_BAD_ESCAPE, NULL},
    {"/%%32%65", HTTP_PATH_BAD_ESCAPE, NULL},
    {"/a%4/b", HTTP_PATH_BAD_ESCAPE, NULL},

    /* Raw bytes no server agrees on. */
    {"/a\\b", HTTP_PATH_BACKSLASH, NULL},
    {"/a\\..\\b", HTTP_PATH_BACKSLASH, NULL},
    {"/public/..;/v1/chat", HTTP_PATH_PARAMETER, NULL},
    {"/public/.;/v1", HTTP_PATH_PARAMETER, NULL},
    {"/public/%2e%2e;/v1", HTTP_PATH_PARAMETER, NULL},
    {"/v1;x/chat", HTTP_PATH_PARAMETER, NULL},
    {"/a;jsessionid=1", HTTP_PATH_PARAMETER, NULL},
    {"/a#frag", HTTP_PATH_FRAGMENT, NULL},
    {"/a b", HTTP_PATH_BAD_BYTE, NULL},
    {"/a\tb", HTTP_PATH_BAD_BYTE, NULL},
    {"/a\x7f", HTTP_PATH_BAD_BYTE, NULL},
    {"/a?b", HTTP_PATH_BAD_BYTE, NULL}, /* a query was not split off */

    /* Not a path. */
    {"", HTTP_PATH_NOT_ABSOLUTE, NULL},
    {"a/b", HTTP_PATH_NOT_ABSOLUTE, NULL},
    {"*", HTTP_PATH_NOT_ABSOLUTE, NULL}, /* only a target may be "*" */
    {"..", HTTP_PATH_NOT_ABSOLUTE, NULL},
    {"%2F", HTTP_PATH_NOT_ABSOLUTE, NULL},
    {"example.com:443", HTTP_PATH_NOT_ABSOLUTE, NULL},
};

static const struct {
    const char *in;
    enum http_path_result want;
    const char *out;
    size_t path_len;
} target_cases[] = {
    {"/a/../b?x=1", OK, "/b?x=1", 2},
    {"/a?", OK, "/a?", 2},
    /* The query is never normalised, whatever it holds. */
    {"/p/./q?next=/../admin&e=%2e%2e%2f%3a", OK, "/p/q?next=/../admin&e=%2e%2e%2f%3a", 4},
    {"/p?a=b?c;d\\e", OK, "/p?a=b?c;d\\e", 2},
    {"/%7e?%7e", OK, "/~?%7e", 2},
    {"/", OK, "/", 1},
    {"*", HTTP_PATH_ASTERISK, "*", 1},
    {"*?", HTTP_PATH_NOT_ABSOLUTE, NULL, 0},
    {"/a?b#c", HTTP_PATH_FRAGMENT, NULL, 0},
    {"/a#c?b", HTTP_PATH_FRAGMENT, NULL, 0},
    {"/a%2f?b", HTTP_PATH_ENCODED_SEPARATOR, NULL, 0},
    {"/..?x", HTTP_PATH_ABOVE_ROOT, NULL, 0},
    {"?x", HTTP_PATH_NOT_ABSOLUTE, NULL, 0},
    {"", HTTP_PATH_NOT_ABSOLUTE, NULL, 0},
};

/* Runs one case into an exact-size heap buffer (so ASan sees a write past
 * len), then again in place; both must agree. */
static void
check_path(const char *in, enum http_path_result want, const char *want_out)
{
    size_t len = strlen(in), out_len = 0;
    char *out = malloc(len + 1);
    enum http_path_result res = http_path_normalize(in, len, out, len, &out_len);
    is_int(res, want, "\"%s\": result", in);
    if (want == OK && res == OK) {
        out[out_len] = '\0';
        is_str(out, want_out, "\"%s\": normalised", in);
        /* Normalising a normal path changes nothing. */
        char *again = malloc(out_len + 1);
        size_t again_len = 0;
        is_int(http_path_normalize(out, out_len, again, out_len, &again_len), OK,
               "\"%s\": normal form is accepted", in);
        ok(again_len == out_len && memcmp(again, out, out_len) == 0, "\"%s\": idempotent", in);
        free(again);
    }
    memcpy(out, in, len);
    size_t in_place_len = 0;
    enum http_path_result res2 = http_path_normalize(out, len, out, len, &in_place_len);
    ok(res2 == res && (res != OK || (in_place_len == out_len &&
                                     (want_out == NULL || memcmp(out, want_out, out_len) == 0))),
       "\"%s\": in place, the same", in);
    free(out);
}

static void
test_path_table(void)
{
    for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++)
        check_path(path_cases[i].in, path_cases[i].want, path_cases[i].out);
}

static void
test_target_table(void)
{
    for (size_t i = 0; i < sizeof(target_cases) / sizeof(target_cases[0]); i++) {
        const char *in = target_cases[i].in;
        size_t len = strlen(in), out_len = 0, path_len = 0;
        char *out = malloc(len + 1);
        enum http_path_result res =
            http_path_normalize_target(in, len, out, len, &out_len, &path_len);
        is_int(res, target_cases[i].want, "target \"%s\": result", in);
        if (target_cases[i].out != NULL && (res == OK || res == HTTP_PATH_ASTERISK)) {
            out[out_len] = '\0';
            is_str(out, target_cases[i].out, "target \"%s\": normalised", in);
            is_int(path_len, target_cases[i].path_len, "target \"%s\": path length", in);
        }
        free(out);
    }
}

static void
test_capacity(void)
{
    char out[16];
    size_t n = 0, p = 0;
    is_int(http_path_normalize("/a/../b", 7, out, 6, &n), HTTP_PATH_NO_SPACE,
           "out_cap below len is refused before anything is written");
    is_int(http_path_normalize("/a/../b", 7, out, 7, &n), OK, "out_cap == len is enough");
    is_int(http_path_normalize_target("/a?b", 4, out, 3, &n, &p), HTTP_PATH_NO_SPACE,
           "target: out_cap below len is refused");
    /* len bounds the input: the bytes after it are not read. */
    is_int(http_path_normalize("/a/..%00", 5, out, sizeof(out), &n), OK, "len bounds the path");
    ok(n == 1 && out[0] == '/', "len bounds the path: \"/a/..\" is \"/\"");
}

int
main(void)
{
    test_path_table();
    test_target_table();
    test_capacity();
    return tap_done();
}
