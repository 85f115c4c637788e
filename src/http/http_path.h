/*
 * http_path.h - resolves the path of a request target the way the upstream
 * server will, before it is routed, so that the route chosen is the route
 * of the resource the upstream serves (README, "Behaviour where the SPEC is
 * silent"). Pure: no I/O, no allocation; fuzzed by tests/fuzz/fuzz_route.c.
 *
 *   conn -> http_parse -> [http_path] -> route -> session -> ... -> proxy
 *
 * What it does (RFC 3986):
 *   - decodes the escapes of unreserved octets (§2.3: ALPHA DIGIT - . _ ~),
 *     which every server decodes, and upper-cases the hex digits of the
 *     others, which stay encoded (§6.2.2.1, §6.2.2.2);
 *   - merges runs of '/' into one, as nginx does by default (merge_slashes);
 *   - removes the "." and ".." segments (§5.2.4).
 * What it refuses, because servers resolve it differently or not at all:
 * an escaped '/' or '\', an escaped control byte or NUL, a raw '\', ';'
 * (path parameters), '#', a control byte or space, a malformed escape,
 * ".." above the root, and a path not beginning with '/'.
 */
#ifndef SLUICE_HTTP_PATH_H
#define SLUICE_HTTP_PATH_H

#include <stddef.h>

enum http_path_result {
    HTTP_PATH_OK,
    HTTP_PATH_ASTERISK,          /* the target is "*" (RFC 9112 §3.2.4), copied as it is */
    HTTP_PATH_NOT_ABSOLUTE,      /* does not begin with '/' */
    HTTP_PATH_BAD_ESCAPE,        /* '%' not followed by two hex digits */
    HTTP_PATH_ENCODED_SEPARATOR, /* %2F or %5C */
    HTTP_PATH_ENCODED_CONTROL,   /* %00-%1F or %7F */
    HTTP_PATH_BACKSLASH,         /* a raw '\' */
    HTTP_PATH_PARAMETER,         /* a raw ';' */
    HTTP_PATH_FRAGMENT,          /* a '#' anywhere in the target */
    HTTP_PATH_BAD_BYTE,          /* a raw control byte, space, DEL, or '?' in a path */
    HTTP_PATH_ABOVE_ROOT,        /* a ".." segment with nothing left to remove */
    HTTP_PATH_NO_SPACE,          /* out_cap is smaller than the input */
};

/*
 * Normalises path[0..len), a path without its query, into out. out_cap
 * must be at least len: the result is never longer than the input. out
 * may be path itself (normalising in place). On HTTP_PATH_OK, out[0..
 * *out_len) begins with '/' and holds no "." or ".." segment and no empty
 * segment but a final one ("/a/" stays "/a/"); normalising it again
 * changes nothing. On any other result, out and *out_len are undefined.
 */
enum http_path_result http_path_normalize(const char *path, size_t len, char *out, size_t out_cap,
                                          size_t *out_len);

/*
 * Normalises an origin-form request target (RFC 9112 §3.2.1; see
 * http_headers_origin_form for the absolute-form): the path before the
 * first '?' as http_path_normalize does, then the query, with its '?',
 * copied untouched. *path_len is the length of the normalised path within
 * out[0..*out_len). A target "*" gives HTTP_PATH_ASTERISK with out "*";
 * the caller decides whether its method allows it. Same out rules as
 * http_path_normalize.
 */
enum http_path_result http_path_normalize_target(const char *target, size_t len, char *out,
                                                 size_t out_cap, size_t *out_len, size_t *path_len);

#endif
