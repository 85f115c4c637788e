/*
 * http_reply.c - JSON error responses.
 */
#include "http/http_reply.h"

#include <stdio.h>
#include <string.h>

#include "util/clock.h"
#include "util/strbuf.h"

struct status_text {
    unsigned status;
    const char *reason;
    const char *code;
};

static const struct status_text statuses[] = {
    {200, "OK", "ok"},
    /* 2xx and 3xx besides 200 (and 410): stored responses a cache hit replays. */
    {203, "Non-Authoritative Information", "non_authoritative"},
    {204, "No Content", "no_content"},
    {206, "Partial Content", "partial_content"},
    {300, "Multiple Choices", "multiple_choices"},
    {301, "Moved Permanently", "moved_permanently"},
    {302, "Found", "found"},
    {303, "See Other", "see_other"},
    {304, "Not Modified", "not_modified"},
    {307, "Temporary Redirect", "temporary_redirect"},
    {308, "Permanent Redirect", "permanent_redirect"},
    {400, "Bad Request", "bad_request"},
    {401, "Unauthorized", "unauthorized"},
    {403, "Forbidden", "forbidden"},
    {404, "Not Found", "not_found"},
    {405, "Method Not Allowed", "method_not_allowed"},
    {408, "Request Timeout", "request_timeout"},
    {409, "Conflict", "conflict"},
    {410, "Gone", "gone"},
    {411, "Length Required", "length_required"},
    {413, "Content Too Large", "body_too_large"},
    {414, "URI Too Long", "uri_too_long"},
    {422, "Unprocessable Content", "unprocessable"},
    {429, "Too Many Requests", "rate_limited"},
    {431, "Request Header Fields Too Large", "headers_too_large"},
    {500, "Internal Server Error", "internal_error"},
    {501, "Not Implemented", "not_implemented"},
    {502, "Bad Gateway", "bad_gateway"},
    {503, "Service Unavailable", "unavailable"},
    {504, "Gateway Timeout", "gateway_timeout"},
    {505, "HTTP Version Not Supported", "http_version_not_supported"},
};

static const struct status_text *
find_status(unsigned status)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(statuses); i++) {
        if (statuses[i].status == status)
            return &statuses[i];
    }
    return NULL;
}

const char *
http_reply_reason(unsigned status)
{
    const struct status_text *s = find_status(status);
    return s ? s->reason : "Unknown";
}

const char *
http_reply_error_code(unsigned status)
{
    const struct status_text *s = find_status(status);
    return s ? s->code : "error";
}

/* Messages are our own static strings, but escape anyway: cheap insurance. */
static void
append_json_string(struct strbuf *out, const char *s)
{
    strbuf_append(out, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            strbuf_append(out, esc, 2);
        } else if (c < 0x20) {
            char esc[8];
            int n = snprintf(esc, sizeof(esc), "\\u%04x", c);
            strbuf_append(out, esc, (size_t)n);
        } else {
            strbuf_append(out, (const char *)&c, 1);
        }
    }
    strbuf_append(out, "\"", 1);
}

/* True when one of the whole "Name: value\r\n" lines in lines is named
 * lower_name (compared case-insensitively). */
static bool
has_field(struct sl_slice lines, const char *lower_name)
{
    size_t nlen = strlen(lower_name);
    const char *p = lines.p, *end = lines.p + lines.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((eol != NULL ? eol : end) - p);
        if (len > nlen && p[nlen] == ':' &&
            sl_slice_eq_lower((struct sl_slice){p, nlen}, lower_name))
            return true;
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    return false;
}

void
http_reply_build(struct strbuf *out, const struct http_reply *r)
{
    struct strbuf body = {0};
    strbuf_append_str(&body, "{\"error\":");
    append_json_string(&body, r->error ? r->error : http_reply_error_code(r->status));
    if (r->message != NULL) {
        strbuf_append_str(&body, ",\"message\":");
        append_json_string(&body, r->message);
    }
    if (r->json_extra != NULL)
        strbuf_append_str(&body, r->json_extra);
    strbuf_append_str(&body, "}\n");

    /* RFC 9110 §6.6.1: a response the gateway makes itself carries a Date. */
    char date[CLOCK_HTTP_DATE_LEN + 1];
    clock_http_date(date);
    char line[200];
    int n = snprintf(line, sizeof(line),
                     "HTTP/1.1 %u %s\r\nDate: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nCache-Control: no-store\r\n",
                     r->status, http_reply_reason(r->status), date, body.len);
    strbuf_append(out, line, (size_t)n);
    if (r->request_id.len > 0) {
        strbuf_append_str(out, "X-Request-Id: ");
        strbuf_append_slice(out, r->request_id);
        strbuf_append(out, "\r\n", 2);
    }
    strbuf_append_slice(out, r->extra_headers);
    /* Every 503 the gateway makes is a condition expected to pass (it is
     * overloaded, or Redis is away): tell the client when to try again,
     * unless the caller said when (a response carries one Retry-After). */
    if (r->status == 503 && !has_field(r->extra_headers, "retry-after"))
        strbuf_append_str(out, "Retry-After: 1\r\n");
    if (r->close)
        strbuf_append_str(out, "Connection: close\r\n");
    strbuf_append(out, "\r\n", 2);
    if (!r->head_only)
        strbuf_append(out, body.p, body.len);
    strbuf_deinit(&body);
}

void
http_reply_build_stored(struct strbuf *out, const struct http_reply *r,
                        const struct http_stored_response *stored)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "HTTP/1.1 %u %s\r\n", stored->status,
                     http_reply_reason(stored->status));
    strbuf_append(out, line, (size_t)n);
    strbuf_append_slice(out, stored->headers);
    strbuf_append_slice(out, r->extra_headers);
    if (r->request_id.len > 0) {
        strbuf_append_str(out, "X-Request-Id: ");
        strbuf_append_slice(out, r->request_id);
        strbuf_append(out, "\r\n", 2);
    }
    if (!has_field(stored->headers, "date")) {
        char date[CLOCK_HTTP_DATE_LEN + 1];
        clock_http_date(date);
        strbuf_append_str(out, "Date: ");
        strbuf_append_str(out, date);
        strbuf_append(out, "\r\n", 2);
    }
    /* 204 and 304 have no body and no Content-Length (RFC 9110 §8.6). */
    bool has_body = stored->status != 204 && stored->status != 304;
    if (has_body && r->chunked) {
        strbuf_append_str(out, "Transfer-Encoding: chunked\r\n");
    } else if (has_body) {
        strbuf_append_str(out, "Content-Length: ");
        strbuf_append_u64(out, stored->body.len);
        strbuf_append(out, "\r\n", 2);
    }
    if (r->close)
        strbuf_append_str(out, "Connection: close\r\n");
    strbuf_append(out, "\r\n", 2);
    if (r->head_only || !has_body)
        return;
    if (r->chunked)
        http_reply_append_chunk(out, stored->body.p, stored->body.len);
    else
        strbuf_append_slice(out, stored->body);
}

void
http_reply_append_chunk(struct strbuf *out, const char *p, size_t len)
{
    if (len == 0)
        return; /* an empty chunk would be the last */
    char size[24];
    int n = snprintf(size, sizeof(size), "%zx\r\n", len);
    strbuf_append(out, size, (size_t)n);
    strbuf_append(out, p, len);
    strbuf_append(out, "\r\n", 2);
}
