/*
 * response_record.c - recording, encoding and decoding stored responses.
 */
#include "policy/response_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_headers.h"
#include "http/http_parse.h"
#include "redis/resp.h"

#define RECORD_MAGIC "SLR1 "

void
response_record_init(struct response_record *rec, size_t max_body)
{
    *rec = (struct response_record){.max_body = max_body};
}

void
response_record_deinit(struct response_record *rec)
{
    strbuf_deinit(&rec->headers);
    strbuf_deinit(&rec->body);
}

void
response_record_head(struct response_record *rec, const struct http_head *head)
{
    rec->status = head->status;
    rec->headers.len = 0;
    http_headers_build_stored(&rec->headers, head);
    /* A body of known length is kept in one allocation: doubling up to
     * 16 KiB was seven reallocs and as many copies. */
    if (head->body == HTTP_BODY_LENGTH && head->content_length <= rec->max_body)
        strbuf_reserve(&rec->body, (size_t)head->content_length);
}

void
response_record_body(struct response_record *rec, const char *p, size_t len)
{
    if (rec->too_big)
        return;
    if (rec->body.len + len > rec->max_body) {
        rec->too_big = true;
        strbuf_deinit(&rec->body);
        return;
    }
    strbuf_append(&rec->body, p, len);
}

/* True when a whole "Name: value\r\n" line's name is among lines' names. */
static bool
line_named_in(const char *line, size_t len, struct sl_slice lines)
{
    const char *colon = memchr(line, ':', len);
    if (colon == NULL)
        return false;
    struct sl_slice name = {line, (size_t)(colon - line)};
    const char *p = lines.p, *end = p + lines.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *c = memchr(p, ':', (size_t)(end - p));
        if (eol == NULL || c == NULL)
            return false;
        if (c < eol && (size_t)(c - p) == name.len && strncasecmp(p, name.p, name.len) == 0)
            return true;
        p = eol + 1;
    }
    return false;
}

void
response_record_freshen(struct response_record *rec, const struct http_stored_response *stored,
                        const struct http_head *not_modified)
{
    struct strbuf fresh = {0};
    http_headers_build_stored(&fresh, not_modified);
    struct sl_slice fresh_lines = {fresh.p, fresh.len};
    rec->status = stored->status;
    rec->headers.len = rec->body.len = 0;
    const char *p = stored->headers.p, *end = p + stored->headers.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = eol != NULL ? (size_t)(eol + 1 - p) : (size_t)(end - p);
        if (!line_named_in(p, len, fresh_lines))
            strbuf_append(&rec->headers, p, len);
        p += len;
    }
    strbuf_append(&rec->headers, fresh.p, fresh.len);
    strbuf_append_slice(&rec->body, stored->body);
    strbuf_deinit(&fresh);
}

bool
response_record_parse_head(const struct response_record *rec, struct strbuf *buf,
                           struct http_head *head)
{
    char line[32];
    int n = snprintf(line, sizeof(line), "HTTP/1.1 %03u -\r\n", rec->status);
    buf->len = 0;
    strbuf_append(buf, line, (size_t)n);
    strbuf_append(buf, rec->headers.p, rec->headers.len);
    strbuf_append(buf, "\r\n", 2);
    struct http_msg_parser mp;
    http_msg_parser_init(&mp, HTTP_MSG_RESPONSE, true);
    return http_parse_head(&mp, head, buf->p, buf->len, buf->len) == HTTP_PARSE_OK;
}

size_t
response_record_parts(const struct response_record *rec, int64_t stored_at_ms, struct sl_slice meta,
                      char line[RESPONSE_RECORD_LINE_MAX],
                      struct sl_slice parts[RESPONSE_RECORD_PARTS])
{
    /* The numbers by hand: one value per stored miss, and snprintf was
     * most of its cost. Five numbers of at most 20 digits fit the line. */
    size_t n = sizeof(RECORD_MAGIC) - 1;
    memcpy(line, RECORD_MAGIC, n);
    n += resp_format_uint(line + n, stored_at_ms > 0 ? (size_t)stored_at_ms : 0);
    line[n++] = ' ';
    n += resp_format_uint(line + n, rec->status);
    line[n++] = ' ';
    n += resp_format_uint(line + n, meta.len);
    line[n++] = ' ';
    n += resp_format_uint(line + n, rec->headers.len);
    line[n++] = ' ';
    n += resp_format_uint(line + n, rec->body.len);
    line[n++] = '\n';
    parts[0] = (struct sl_slice){line, n};
    parts[1] = meta;
    parts[2] = (struct sl_slice){rec->headers.p, rec->headers.len};
    parts[3] = (struct sl_slice){rec->body.p, rec->body.len};
    return n + meta.len + rec->headers.len + rec->body.len;
}

void
response_record_encode(const struct response_record *rec, int64_t stored_at_ms,
                       struct sl_slice meta, struct strbuf *out)
{
    char line[RESPONSE_RECORD_LINE_MAX];
    struct sl_slice parts[RESPONSE_RECORD_PARTS];
    strbuf_reserve(out, response_record_parts(rec, stored_at_ms, meta, line, parts));
    for (size_t i = 0; i < RESPONSE_RECORD_PARTS; i++)
        strbuf_append_slice(out, parts[i]);
}

/* Reads a decimal number ended by end_char from *p (within end). */
static bool
read_number(const char **p, const char *end, char end_char, unsigned long long *out)
{
    unsigned long long v = 0;
    const char *s = *p;
    if (s >= end || *s < '0' || *s > '9')
        return false;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (v > (~0ULL - 9) / 10)
            return false;
        v = v * 10 + (unsigned long long)(*s - '0');
    }
    if (s >= end || *s != end_char)
        return false;
    *p = s + 1;
    *out = v;
    return true;
}

bool
response_record_decode(const char *p, size_t len, struct response_record_view *out)
{
    const char *end = p + len, *s = p + sizeof(RECORD_MAGIC) - 1;
    if (len < sizeof(RECORD_MAGIC) - 1 || memcmp(p, RECORD_MAGIC, sizeof(RECORD_MAGIC) - 1) != 0)
        return false;
    unsigned long long at, status, mlen, hlen, blen;
    if (!read_number(&s, end, ' ', &at) || !read_number(&s, end, ' ', &status) ||
        !read_number(&s, end, ' ', &mlen) || !read_number(&s, end, ' ', &hlen) ||
        !read_number(&s, end, '\n', &blen))
        return false;
    size_t left = (size_t)(end - s);
    if (status < 100 || status > 599 || mlen > left || hlen > left - mlen ||
        blen != left - mlen - hlen)
        return false;
    out->stored_at_ms = (int64_t)at;
    out->meta = (struct sl_slice){s, (size_t)mlen};
    out->response.status = (unsigned)status;
    out->response.headers = (struct sl_slice){s + mlen, (size_t)hlen};
    out->response.body = (struct sl_slice){s + mlen + hlen, (size_t)blen};
    /* Header lines end in CRLF, or a reply built from them would be broken. */
    return hlen == 0 || (hlen >= 2 && s[mlen + hlen - 2] == '\r' && s[mlen + hlen - 1] == '\n');
}
