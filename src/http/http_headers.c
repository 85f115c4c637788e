/*
 * http_headers.c - the request and response heads the gateway sends on.
 */
#include "http/http_headers.h"

#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "http/http_parse.h"
#include "util/clock.h"
#include "util/strbuf.h"

/* Fields that describe one connection, never forwarded (RFC 9110 §7.6.1),
 * plus the ones the gateway sets itself. */
/* clang-format off */
#define NAME(s) {s, sizeof(s) - 1}
static const struct sl_slice request_dropped[] = {
    NAME("connection"), NAME("keep-alive"), NAME("proxy-connection"), NAME("te"),
    NAME("trailer"), NAME("upgrade"), NAME("x-forwarded-for"), NAME("x-forwarded-proto"),
    NAME("x-request-id"), NAME("x-sluice-user"), NAME("x-sluice-session"), NAME("x-sluice-plan"),
};

static const struct sl_slice response_dropped[] = {
    NAME("connection"), NAME("keep-alive"), NAME("proxy-connection"), NAME("te"),
    NAME("trailer"), NAME("upgrade"), NAME("x-request-id"),
};
#undef NAME
/* clang-format on */

/* Most names differ in length from every listed one: http_name_is tests
 * that first, and it is most of what this costs per request. */
static bool
in_list(struct sl_slice name, const struct sl_slice *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (http_name_is(name, list[i].p, list[i].len))
            return true;
    }
    return false;
}

/* A field named by a Connection option is hop-by-hop too, whatever the
 * length of its name. connection is the head's first Connection field, or
 * NULL: then, the common case, there is nothing to scan. There may be
 * several Connection fields; the parser bounds their options
 * (HTTP_MAX_CONNECTION_OPTIONS), so this scan is bounded too. */
static bool
named_by_connection(const struct http_head *head, const struct http_header *connection,
                    struct sl_slice name)
{
    if (connection == NULL)
        return false;
    for (const struct http_header *h = connection; h < head->headers + head->nheaders; h++) {
        if (HTTP_NAME_IS(h->name, "connection") &&
            http_list_has_name(h->value, name))
            return true;
    }
    return false;
}

static bool
is_set_header(const struct config_upstream *up, struct sl_slice name)
{
    for (size_t i = 0; up != NULL && i < up->nset_headers; i++) {
        if (sl_slice_eq_lower(name, up->set_headers[i].name))
            return true;
    }
    return false;
}

/* One reserve, then plain copies: four strbuf_append calls, each testing
 * the room again, cost half again as much per forwarded field. */
static void
append_field(struct strbuf *out, struct sl_slice name, struct sl_slice value)
{
    size_t n = name.len + value.len + 4;
    strbuf_reserve(out, n);
    char *d = out->p + out->len;
    memcpy(d, name.p, name.len);
    d += name.len;
    *d++ = ':';
    *d++ = ' ';
    if (value.len > 0) /* an empty value's p may be NULL */
        memcpy(d, value.p, value.len);
    d += value.len;
    *d++ = '\r';
    *d = '\n';
    out->len += n;
}

/* X-Forwarded-For per SPEC section 11: append the peer when it is a
 * trusted proxy, otherwise replace whatever the client claimed. */
static void
append_forwarded_for(struct strbuf *out, const struct http_forward_request *fr)
{
    strbuf_append_str(out, "X-Forwarded-For: ");
    if (fr->peer_trusted) {
        for (unsigned i = 0; i < fr->head->nheaders; i++) {
            const struct http_header *h = &fr->head->headers[i];
            if (sl_slice_eq_lower(h->name, "x-forwarded-for") && h->value.len > 0) {
                strbuf_append_slice(out, h->value);
                strbuf_append(out, ", ", 2);
            }
        }
    }
    strbuf_append_slice(out, fr->client_ip);
    strbuf_append(out, "\r\n", 2);
}

void
http_headers_build_request(struct strbuf *out, const struct http_forward_request *fr)
{
    const struct http_head *head = fr->head;
    const struct http_header *connection = http_head_find(head, "connection");
    bool upgrade = head->upgrade && http_head_find(head, "upgrade") != NULL;
    strbuf_reserve(out, head->head_len + 256);
    strbuf_append_slice(out, head->method);
    strbuf_append(out, " ", 1);
    strbuf_append_slice(out, fr->target);
    strbuf_append_str(out, head->version_minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    for (unsigned i = 0; i < head->nheaders; i++) {
        const struct http_header *h = &head->headers[i];
        if (upgrade && sl_slice_eq_lower(h->name, "upgrade")) {
            append_field(out, h->name, h->value);
            continue;
        }
        if (in_list(h->name, request_dropped, SL_ARRAY_LEN(request_dropped)) ||
            is_set_header(fr->upstream, h->name) || named_by_connection(head, connection, h->name))
            continue;
        /* SPEC section 5: the client's token never reaches the upstream,
         * on any route; other cookies do. */
        if (http_credentials_in_field(&fr->credentials, h->name, h->value)) {
            if (h->name.len == 6 && sl_slice_eq_lower(h->name, "cookie"))
                http_credentials_append_cookie_without(out, h->value, fr->credentials.cookie);
            continue;
        }
        append_field(out, h->name, h->value);
    }
    if (upgrade)
        strbuf_append_str(out, "Connection: upgrade\r\n");
    append_forwarded_for(out, fr);
    strbuf_append_str(out, "X-Forwarded-Proto: http\r\n");
    append_field(out, SL_SLICE_LIT("X-Request-Id"), fr->request_id);
    for (size_t i = 0; fr->upstream != NULL && i < fr->upstream->nset_headers; i++) {
        const struct config_header *sh = &fr->upstream->set_headers[i];
        append_field(out, (struct sl_slice){sh->name, strlen(sh->name)},
                     (struct sl_slice){sh->value, strlen(sh->value)});
    }
    strbuf_append_slice(out, fr->extra);
    strbuf_append(out, "\r\n", 2);
}

void
http_headers_build_response(struct strbuf *out, const struct http_forward_response *fr)
{
    const struct http_head *head = fr->head;
    const struct http_header *connection = http_head_find(head, "connection");
    bool switching = head->status == 101;
    /* http_parse_head guarantees a three-digit status. */
    char status_line[] = "HTTP/1.1 000 ";
    status_line[9] = (char)('0' + head->status / 100 % 10);
    status_line[10] = (char)('0' + head->status / 10 % 10);
    status_line[11] = (char)('0' + head->status % 10);
    strbuf_reserve(out, head->head_len + 192 + fr->extra.len);
    strbuf_append(out, status_line, sizeof(status_line) - 1);
    strbuf_append_slice(out, head->reason);
    strbuf_append(out, "\r\n", 2);
    bool has_date = false;
    for (unsigned i = 0; i < head->nheaders; i++) {
        const struct http_header *h = &head->headers[i];
        if (switching && sl_slice_eq_lower(h->name, "upgrade")) {
            append_field(out, h->name, h->value);
            continue;
        }
        if (in_list(h->name, response_dropped, SL_ARRAY_LEN(response_dropped)) ||
            named_by_connection(head, connection, h->name))
            continue;
        has_date |= HTTP_NAME_IS(h->name, "date");
        append_field(out, h->name, h->value);
    }
    /* RFC 9110 §6.6.1: a recipient with a clock that forwards a response
     * without a Date adds one, the time it was received (now). */
    if (!has_date) {
        char date[CLOCK_HTTP_DATE_LEN + 1];
        clock_http_date(date);
        append_field(out, SL_SLICE_LIT("Date"), (struct sl_slice){date, CLOCK_HTTP_DATE_LEN});
    }
    append_field(out, SL_SLICE_LIT("X-Request-Id"), fr->request_id);
    strbuf_append_slice(out, fr->extra);
    if (switching)
        strbuf_append_str(out, "Connection: upgrade\r\n");
    else if (fr->close)
        strbuf_append_str(out, "Connection: close\r\n");
    else if (fr->client_http10_keepalive)
        strbuf_append_str(out, "Connection: keep-alive\r\n");
    strbuf_append(out, "\r\n", 2);
}

/* What a stored copy of a response keeps: its end-to-end fields, without
 * framing (the replay frames the body itself) or Age (recomputed). */
static const struct sl_slice stored_dropped[] = {
    SL_SLICE_LIT("content-length"), SL_SLICE_LIT("transfer-encoding"), SL_SLICE_LIT("age"),
};

void
http_headers_build_stored(struct strbuf *out, const struct http_head *head)
{
    const struct http_header *connection = http_head_find(head, "connection");
    for (unsigned i = 0; i < head->nheaders; i++) {
        const struct http_header *h = &head->headers[i];
        if (in_list(h->name, response_dropped, SL_ARRAY_LEN(response_dropped)) ||
            in_list(h->name, stored_dropped, SL_ARRAY_LEN(stored_dropped)) ||
            named_by_connection(head, connection, h->name))
            continue;
        append_field(out, h->name, h->value);
    }
}

struct sl_slice
http_headers_origin_form(struct sl_slice target)
{
    const char *p = target.p, *end = target.p + target.len;
    if (target.len == 0 || p[0] == '/' || p[0] == '*')
        return target;
    const char *colon = memchr(p, ':', target.len);
    if (colon == NULL || end - colon < 3 || colon[1] != '/' || colon[2] != '/')
        return target; /* authority-form (CONNECT) */
    const char *authority = colon + 3;
    for (const char *q = authority; q < end; q++) {
        if (*q == '/')
            return (struct sl_slice){q, (size_t)(end - q)};
        if (*q == '?')
            break;
    }
    return SL_SLICE_LIT("/");
}

bool
http_headers_request_id_valid(struct sl_slice v)
{
    if (v.len == 0 || v.len > 128)
        return false;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

struct sl_slice
http_headers_client_ip(const struct http_head *head, struct sl_slice peer_ip, bool peer_trusted)
{
    if (!peer_trusted)
        return peer_ip;
    const struct http_header *xff = NULL;
    for (unsigned i = 0; i < head->nheaders; i++) {
        if (sl_slice_eq_lower(head->headers[i].name, "x-forwarded-for"))
            xff = &head->headers[i];
    }
    if (xff == NULL || xff->value.len == 0)
        return peer_ip;
    size_t end = xff->value.len, start = end;
    while (start > 0 && xff->value.p[start - 1] != ',')
        start--;
    while (start < end && (xff->value.p[start] == ' ' || xff->value.p[start] == '\t'))
        start++;
    if (start == end)
        return peer_ip;
    return (struct sl_slice){xff->value.p + start, end - start};
}
