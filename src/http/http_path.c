/*
 * http_path.c - request paths resolved as the upstream will resolve them.
 *
 * Routes are chosen by path prefix, and the upstream serves the resource
 * its own resolution of the path names. When the two readings differ, a
 * request can be routed by one path and served as another: "/public/../v1"
 * matches an auth: none "/public/" route and is served as "/v1". So the
 * gateway resolves the path first, routes on the result, and forwards the
 * result, leaving the upstream nothing to resolve: what was matched is
 * what is served.
 *
 * One pass over the input, segment by segment: a run of '/' is written as
 * one, the segment is decoded into out, and a "." or ".." segment is then
 * taken back out (RFC 3986 §5.2.4, which for a path that begins with '/'
 * comes to: "." is dropped, ".." drops itself and the segment before it).
 * The write position never passes the read position, which is why the
 * result is never longer than the input and why out may be the input.
 */
#include "http/http_path.h"

#include <stdbool.h>
#include <string.h>

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 §2.3) */
static bool
is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* One escape at path[*r] ('%'), written to out[*w]. Escapes of unreserved
 * octets are decoded: they are equivalent to the octet (§2.3), and a
 * server that decodes "%2e%2e" to ".." resolves it as a dot segment.
 * Others stay escaped, hex upper-cased (§6.2.2.1), except those no
 * reading agrees on: an escaped '/' or '\' is a separator to some servers
 * and data to others, and an escaped control byte (NUL above all) is cut
 * or rejected differently by each. */
static enum http_path_result
copy_escape(const char *path, size_t len, size_t *r, char *out, size_t *w)
{
    static const char hex[] = "0123456789ABCDEF";
    if (len - *r < 3)
        return HTTP_PATH_BAD_ESCAPE;
    int hi = hex_value((unsigned char)path[*r + 1]), lo = hex_value((unsigned char)path[*r + 2]);
    if (hi < 0 || lo < 0)
        return HTTP_PATH_BAD_ESCAPE;
    unsigned char v = (unsigned char)(hi << 4 | lo);
    *r += 3;
    if (is_unreserved(v)) {
        out[(*w)++] = (char)v;
        return HTTP_PATH_OK;
    }
    if (v == '/' || v == '\\')
        return HTTP_PATH_ENCODED_SEPARATOR;
    if (v < 0x20 || v == 0x7f)
        return HTTP_PATH_ENCODED_CONTROL;
    out[(*w)++] = '%';
    out[(*w)++] = hex[v >> 4];
    out[(*w)++] = hex[v & 15];
    return HTTP_PATH_OK;
}

/* Copies the segment at path[*r] up to the next '/' or the end. Raw bytes
 * refused: '\' (a separator on Windows servers and to many frameworks),
 * ';' (Tomcat, Jetty and Spring strip ";params" from each segment, so
 * "/v1;x/chat" would be routed as data and served as "/v1/chat"; "..;" is
 * a ".." to them), '#' (a fragment is no part of a request target, RFC
 * 9112 §3.2), and what http_parse already refuses in a target (controls,
 * space), refused here too so that the module stands on its own. '?' ends
 * the path, so the caller has split it off (http_path_normalize_target). */
static enum http_path_result
copy_segment(const char *path, size_t len, size_t *r, char *out, size_t *w)
{
    while (*r < len && path[*r] != '/') {
        unsigned char c = (unsigned char)path[*r];
        if (c == '%') {
            enum http_path_result res = copy_escape(path, len, r, out, w);
            if (res != HTTP_PATH_OK)
                return res;
            continue;
        }
        if (c == '\\')
            return HTTP_PATH_BACKSLASH;
        if (c == ';')
            return HTTP_PATH_PARAMETER;
        if (c == '#')
            return HTTP_PATH_FRAGMENT;
        if (c <= 0x20 || c == 0x7f || c == '?')
            return HTTP_PATH_BAD_BYTE;
        out[(*w)++] = (char)c;
        (*r)++;
    }
    return HTTP_PATH_OK;
}

enum http_path_result
http_path_normalize(const char *path, size_t len, char *out, size_t out_cap, size_t *out_len)
{
    if (out_cap < len)
        return HTTP_PATH_NO_SPACE;
    if (len == 0 || path[0] != '/')
        return HTTP_PATH_NOT_ABSOLUTE;
    size_t r = 0, w = 0;
    while (r < len) {
        /* path[r] is '/'. Runs of '/' are merged: nginx does by default
         * and many upstreams do not, so "//v1/chat" left as it is would
         * miss a "/v1/" route and be served as "/v1/chat" all the same. */
        while (r < len && path[r] == '/')
            r++;
        out[w++] = '/';
        size_t seg = w;
        enum http_path_result res = copy_segment(path, len, &r, out, &w);
        if (res != HTTP_PATH_OK)
            return res;
        bool last = r == len;
        size_t n = w - seg;
        if (n == 1 && out[seg] == '.') {
            /* "/a/./b" is "/a/b"; "/a/." is "/a/" (§5.2.4 step 2B). */
            w = last ? seg : seg - 1;
        } else if (n == 2 && out[seg] == '.' && out[seg + 1] == '.') {
            /* §5.2.4 step 2C drops a ".." above the root silently; a
             * server that does not would serve another resource than the
             * one routed, so there is nothing safe to route it to. */
            if (seg == 1)
                return HTTP_PATH_ABOVE_ROOT;
            size_t prev = seg - 2;
            while (out[prev] != '/')
                prev--;
            w = last ? prev + 1 : prev;
        }
    }
    *out_len = w;
    return HTTP_PATH_OK;
}

enum http_path_result
http_path_normalize_target(const char *target, size_t len, char *out, size_t out_cap,
                           size_t *out_len, size_t *path_len)
{
    if (out_cap < len)
        return HTTP_PATH_NO_SPACE;
    if (len == 1 && target[0] == '*') {
        out[0] = '*';
        *out_len = *path_len = 1;
        return HTTP_PATH_ASTERISK;
    }
    const char *q = memchr(target, '?', len);
    size_t plen = q != NULL ? (size_t)(q - target) : len;
    /* query = *( pchar / "/" / "?" ) (RFC 3986 §3.4): no '#' either. */
    if (q != NULL && memchr(q, '#', len - plen) != NULL)
        return HTTP_PATH_FRAGMENT;
    enum http_path_result res = http_path_normalize(target, plen, out, out_cap, path_len);
    if (res != HTTP_PATH_OK)
        return res;
    /* The query is the upstream's to read: "?a=/../b" is data there, and
     * its encoding may be significant (an HMAC-signed query, say).
     * memmove: out may be target. */
    memmove(out + *path_len, target + plen, len - plen);
    *out_len = *path_len + (len - plen);
    return HTTP_PATH_OK;
}
