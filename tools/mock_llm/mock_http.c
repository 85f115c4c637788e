/*
 * mock_http - request head parser and chunked body decoder for the mock.
 *
 * Pure functions over the connection's input buffer: no libevent, no I/O.
 * The clients are trusted (tests, wrk, sluice), so this checks only what
 * framing needs; sluice's own parser in src/http/ is the strict one.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mock_llm.h"

enum {
    CH_SIZE,     /* reading a chunk-size line */
    CH_DATA,     /* copying chunk data */
    CH_DATA_END, /* the CRLF after chunk data */
    CH_TRAILER,  /* trailer lines until an empty one */
};

bool
http_slice_eq(struct slice s, const char *lit)
{
    size_t n = strlen(lit);

    return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

/* Whether the comma-separated list s holds token tok (case-insensitive). */
static bool
list_has(struct slice s, const char *tok)
{
    size_t n = strlen(tok), i = 0;

    while (i < s.len) {
        size_t j;

        while (i < s.len && (s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == ','))
            i++;
        for (j = i; j < s.len && s.p[j] != ','; j++)
            ;
        while (j > i && (s.p[j - 1] == ' ' || s.p[j - 1] == '\t'))
            j--;
        if (j - i == n && strncasecmp(s.p + i, tok, n) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

/*
 * Finds the blank line ending the head. *scan remembers how far earlier
 * calls looked, so a head arriving in pieces is scanned once overall.
 * Returns the head length, or 0 if incomplete.
 */
static size_t
head_end(const char *p, size_t len, size_t *scan)
{
    size_t i = *scan;

    while (i < len) {
        const char *nl = memchr(p + i, '\n', len - i);

        if (nl == NULL)
            break;
        i = (size_t)(nl - p) + 1;
        if (i < len && p[i] == '\n')
            return i + 1;
        if (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n')
            return i + 2;
    }
    /* resume just before the last newline: its blank line may be partial */
    *scan = len > 2 ? len - 2 : 0;
    return 0;
}

/* Splits the next line off [*pos, end); strips CR. Returns false at end. */
static bool
next_line(const char *p, size_t end, size_t *pos, struct slice *line)
{
    const char *nl;
    size_t n;

    if (*pos >= end)
        return false;
    nl = memchr(p + *pos, '\n', end - *pos);
    n = nl ? (size_t)(nl - (p + *pos)) : end - *pos;
    line->p = p + *pos;
    line->len = n;
    if (n > 0 && line->p[n - 1] == '\r')
        line->len--;
    *pos += n + 1;
    return true;
}

static int
parse_request_line(struct http_req *req, struct slice line)
{
    const char *sp1 = memchr(line.p, ' ', line.len), *sp2, *q;
    const char *end = line.p + line.len;

    if (sp1 == NULL || (sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))) == NULL)
        return -1;
    req->method = (struct slice){line.p, (size_t)(sp1 - line.p)};
    req->target = (struct slice){sp1 + 1, (size_t)(sp2 - sp1 - 1)};
    if (end - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)sp2[8]))
        return -1;
    req->minor = sp2[8] - '0';
    q = memchr(req->target.p, '?', req->target.len);
    req->path = req->target;
    req->query = (struct slice){"", 0};
    if (q != NULL) {
        req->path.len = (size_t)(q - req->target.p);
        req->query = (struct slice){q + 1, req->target.len - req->path.len - 1};
    }
    req->head_only = http_slice_eq(req->method, "HEAD");
    return 0;
}

static long
slice_long(struct slice s)
{
    long v = 0;
    size_t i;

    for (i = 0; i < s.len && isdigit((unsigned char)s.p[i]); i++)
        if (v < 1000000000000L)
            v = v * 10 + (s.p[i] - '0');
    return i == 0 ? -1 : v;
}

/* Notes the headers that decide framing and behaviour. */
static int
parse_header(struct http_req *req, struct http_header *h, bool *conn_close, bool *conn_ka)
{
    struct slice n = h->name, v = h->value;

    if (n.len == 0)
        return -1;
    if (http_slice_eq(n, "content-length")) {
        if ((req->content_length = slice_long(v)) < 0)
            return -1;
    } else if (http_slice_eq(n, "transfer-encoding")) {
        req->chunked = list_has(v, "chunked");
    } else if (http_slice_eq(n, "connection")) {
        *conn_close |= list_has(v, "close");
        *conn_ka |= list_has(v, "keep-alive");
    } else if (http_slice_eq(n, "upgrade")) {
        req->upgrade_ws = list_has(v, "websocket");
    } else if (http_slice_eq(n, "expect")) {
        req->expect_continue = http_slice_eq(v, "100-continue");
    } else if (http_slice_eq(n, "x-mock-delay-ms")) {
        req->delay_ms = slice_long(v);
    } else if (http_slice_eq(n, "sec-websocket-key")) {
        req->ws_key = v;
    }
    return 0;
}

static int
split_header(struct slice line, struct http_header *h)
{
    const char *colon = memchr(line.p, ':', line.len);
    const char *v, *end = line.p + line.len;

    if (colon == NULL)
        return -1;
    h->name = (struct slice){line.p, (size_t)(colon - line.p)};
    for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
        ;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    h->value = (struct slice){v, (size_t)(end - v)};
    return 0;
}

/*
 * Parses the head at p. Slices in *req borrow p. *scan must start at 0 for
 * each new request and be kept between calls on the same partial head.
 */
enum http_parse_result
http_parse_head(struct http_req *req, const char *p, size_t len, size_t *scan)
{
    size_t end = head_end(p, len, scan), pos = 0;
    bool conn_close = false, conn_ka = false;
    struct slice line;

    if (end == 0)
        return len > HTTP_MAX_HEAD ? HTTP_PARSE_TOO_LARGE : HTTP_PARSE_INCOMPLETE;
    if (end > HTTP_MAX_HEAD)
        return HTTP_PARSE_TOO_LARGE;
    req->head_len = end;
    req->content_length = -1;
    req->chunked = req->upgrade_ws = req->expect_continue = false;
    req->delay_ms = -1;
    req->ws_key = (struct slice){"", 0};
    req->nhdr = 0;
    next_line(p, end, &pos, &line);
    if (parse_request_line(req, line) < 0)
        return HTTP_PARSE_ERROR;
    while (next_line(p, end, &pos, &line) && line.len > 0) {
        struct http_header *h = &req->hdr[req->nhdr];

        if (req->nhdr == HTTP_MAX_HEADERS)
            return HTTP_PARSE_TOO_LARGE;
        if (split_header(line, h) < 0 || parse_header(req, h, &conn_close, &conn_ka) < 0)
            return HTTP_PARSE_ERROR;
        req->nhdr++;
    }
    req->keep_alive = req->minor >= 1 ? !conn_close : conn_ka && !conn_close;
    return HTTP_PARSE_OK;
}

/* Consumes one line from [*r, len); false if it is not complete yet. */
static bool
take_line(const char *p, size_t len, size_t *r, struct slice *line)
{
    const char *nl = memchr(p + *r, '\n', len - *r);

    if (nl == NULL)
        return false;
    line->p = p + *r;
    line->len = (size_t)(nl - line->p);
    *r = (size_t)(nl - p) + 1;
    return true;
}

/* Hex chunk size up to ';' or CR; -1 if malformed or beyond HTTP_MAX_BODY. */
static long
chunk_size(struct slice line)
{
    long v = 0;
    size_t i;

    for (i = 0; i < line.len && isxdigit((unsigned char)line.p[i]); i++) {
        v = v * 16 +
            (isdigit((unsigned char)line.p[i]) ? line.p[i] - '0' : (line.p[i] | 0x20) - 'a' + 10);
        if (v > (long)HTTP_MAX_BODY)
            return -1;
    }
    return i == 0 ? -1 : v;
}

/* One step of the decoder: 1 done, 0 progress, -1 need more data, -2 bad. */
static int
chunked_step(struct http_chunked *ch, char *p, size_t len, size_t *r, size_t *w)
{
    struct slice line;
    size_t take;
    long size;

    switch (ch->state) {
    case CH_SIZE:
        if (!take_line(p, len, r, &line))
            return -1;
        if ((size = chunk_size(line)) < 0)
            return -2;
        ch->left = (size_t)size;
        ch->state = ch->left ? CH_DATA : CH_TRAILER;
        return 0;
    case CH_DATA:
        take = len - *r < ch->left ? len - *r : ch->left;
        if (take == 0)
            return -1;
        memmove(p + *w, p + *r, take);
        *w += take, *r += take, ch->left -= take;
        if (ch->left == 0)
            ch->state = CH_DATA_END;
        return 0;
    case CH_DATA_END:
        if (!take_line(p, len, r, &line))
            return -1;
        ch->state = CH_SIZE;
        return 0;
    default:
        if (!take_line(p, len, r, &line))
            return -1;
        return line.len == 0 || (line.len == 1 && line.p[0] == '\r');
    }
}

/*
 * Decodes what is buffered of a chunked body, in place: decoded bytes stay
 * contiguous at body_off, and the undecoded rest is moved down right after
 * them, shrinking *len. Decoded data never overtakes raw data, so memmove
 * is enough (RFC 9112 §7.1). Returns 1 once the last chunk and trailers
 * are in (the body is then [body_off, body_off + ch->dec_len) and the next
 * request starts right after it), 0 if more is needed, -1 if malformed.
 */
int
http_chunked_advance(struct http_chunked *ch, char *p, size_t *len, size_t body_off)
{
    size_t w = body_off + ch->dec_len, r = w;
    int rc;

    while ((rc = chunked_step(ch, p, *len, &r, &w)) == 0)
        ;
    memmove(p + w, p + r, *len - r);
    *len -= r - w;
    ch->dec_len = w - body_off;
    if (rc == -2 || ch->dec_len > HTTP_MAX_BODY)
        return -1;
    return rc == 1;
}

/* Integer query parameter name, or dflt when absent or not a number. */
long
http_query_long(const struct http_req *req, const char *name, long dflt)
{
    struct slice q = req->query;
    size_t n = strlen(name), i = 0;

    while (i < q.len) {
        const char *amp = memchr(q.p + i, '&', q.len - i);
        size_t end = amp ? (size_t)(amp - q.p) : q.len;

        if (end - i > n && q.p[i + n] == '=' && memcmp(q.p + i, name, n) == 0) {
            long v = slice_long((struct slice){q.p + i + n + 1, end - i - n - 1});

            return v < 0 ? dflt : v;
        }
        i = end + 1;
    }
    return dflt;
}
