/*
 * http_parse.c - heads and body framing over http_parser.
 *
 * The head is handed to http_parser in one piece, once its end has been
 * found, so every header name and value arrives in exactly one callback.
 * A second value callback in a row can then only mean obs-fold, which
 * RFC 9112 §5.2 lets us reject, and we do: a folded line is a classic
 * request-smuggling shape.
 */
#include "http/http_parse.h"

#include <limits.h>
#include <string.h>

static const char *const ERR_TOO_MANY = "too many header fields";

/* RFC 9110 §5.6.2: tchar. */
static bool
is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
is_token(struct sl_slice s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (!is_tchar((unsigned char)s.p[i]))
            return false;
    }
    return true;
}

static struct http_msg_parser *
parser_of(http_parser *hp)
{
    return (struct http_msg_parser *)hp->data;
}

static int
fail(struct http_msg_parser *mp, unsigned status, const char *why)
{
    if (mp->error == NULL) {
        mp->error_status = status;
        mp->error = why;
    }
    return -1;
}

static int
on_url(http_parser *hp, const char *at, size_t len)
{
    parser_of(hp)->head_->target = (struct sl_slice){at, len};
    return 0;
}

static int
on_status(http_parser *hp, const char *at, size_t len)
{
    parser_of(hp)->head_->reason = (struct sl_slice){at, len};
    return 0;
}

static int
on_header_field(http_parser *hp, const char *at, size_t len)
{
    struct http_msg_parser *mp = parser_of(hp);
    struct http_head *head = mp->head_;
    if (head->nheaders == HTTP_MAX_HEADERS)
        return fail(mp, 431, ERR_TOO_MANY);
    struct http_header *h = &head->headers[head->nheaders++];
    h->name = (struct sl_slice){at, len};
    h->value = (struct sl_slice){at + len, 0};
    mp->in_value_ = false;
    if (!is_token(h->name))
        return fail(mp, 400, "invalid header field name");
    return 0;
}

static int
on_header_value(http_parser *hp, const char *at, size_t len)
{
    struct http_msg_parser *mp = parser_of(hp);
    if (mp->in_value_)
        return fail(mp, 400, "obsolete line folding");
    mp->in_value_ = true;
    struct http_head *head = mp->head_;
    /* http_parser strips leading whitespace but keeps trailing. */
    while (len > 0 && (at[len - 1] == ' ' || at[len - 1] == '\t'))
        len--;
    head->headers[head->nheaders - 1].value = (struct sl_slice){at, len};
    return 0;
}

static int
check_request_head(struct http_msg_parser *mp, const struct http_head *head)
{
    unsigned hosts = 0;
    for (unsigned i = 0; i < head->nheaders; i++) {
        if (sl_slice_eq_lower(head->headers[i].name, "host"))
            hosts++;
    }
    /* RFC 9112 §3.2: exactly one Host in HTTP/1.1. */
    if (hosts > 1 || (hosts == 0 && head->version_minor >= 1))
        return fail(mp, 400, "missing or repeated Host header");
    return 0;
}

static int
on_headers_complete(http_parser *hp)
{
    struct http_msg_parser *mp = parser_of(hp);
    struct http_head *head = mp->head_;
    head->version_minor = hp->http_minor;
    head->keep_alive = http_should_keep_alive(hp) != 0;
    head->upgrade = hp->upgrade != 0;
    if (hp->type == HTTP_REQUEST) {
        const char *m = http_method_str((enum http_method)hp->method);
        head->method = (struct sl_slice){m, strlen(m)};
        if (hp->http_major != 1)
            return fail(mp, 400, "unsupported HTTP version");
        if (check_request_head(mp, head) != 0)
            return -1;
    } else {
        head->status = hp->status_code;
        head->upgrade = hp->status_code == 101;
    }
    if (hp->flags & F_CHUNKED) {
        head->body = HTTP_BODY_CHUNKED;
    } else if (hp->content_length != ULLONG_MAX && hp->content_length > 0) {
        head->body = HTTP_BODY_LENGTH;
        head->content_length = hp->content_length;
        mp->body_left_ = hp->content_length;
    } else if (hp->type == HTTP_RESPONSE && hp->content_length == ULLONG_MAX) {
        /* RFC 9112 §6.3 rule 8: no framing, the body runs to the close. */
        head->body = HTTP_BODY_UNTIL_CLOSE;
    } else {
        head->body = HTTP_BODY_NONE;
    }
    if (mp->skip_body_ || (hp->type == HTTP_RESPONSE && hp->status_code / 100 == 1) ||
        (hp->type == HTTP_RESPONSE && (hp->status_code == 204 || hp->status_code == 304))) {
        head->body = HTTP_BODY_NONE;
        return 1; /* http_parser: the message has no body */
    }
    return 0;
}

static int
on_body(http_parser *hp, const char *at, size_t len)
{
    parser_of(hp)->body_bytes += len;
    return 0;
}

static int
on_message_complete(http_parser *hp)
{
    parser_of(hp)->complete_ = true;
    /* Stop right after this message: what follows is the next one. */
    http_parser_pause(hp, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void
http_msg_parser_init(struct http_msg_parser *mp, enum http_msg_kind kind, bool skip_body)
{
    memset(mp, 0, sizeof(*mp));
    http_parser_init(&mp->hp_, kind == HTTP_MSG_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE);
    mp->hp_.data = mp;
    mp->skip_body_ = skip_body;
}

/* Returns the length of the head (through its empty line), or 0 when the
 * empty line has not arrived yet. Bare LF line ends are allowed
 * (RFC 9112 §2.2); http_parser then judges the rest. */
static size_t
find_head_end(struct http_msg_parser *mp, const char *buf, size_t len)
{
    size_t i = mp->scanned_;
    while (i < len) {
        const char *lf = memchr(buf + i, '\n', len - i);
        if (lf == NULL)
            break;
        size_t at = (size_t)(lf - buf);
        if (at + 1 < len && buf[at + 1] == '\n')
            return at + 2;
        if (at + 2 < len && buf[at + 1] == '\r' && buf[at + 2] == '\n')
            return at + 3;
        if (at + 2 >= len) {
            i = at; /* the empty line may still be arriving */
            break;
        }
        i = at + 1;
    }
    mp->scanned_ = i;
    return 0;
}

static const char *
describe_parser_error(enum http_errno e)
{
    switch (e) {
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        return "conflicting Content-Length or Transfer-Encoding";
    case HPE_INVALID_CONTENT_LENGTH:
        return "invalid Content-Length";
    case HPE_INVALID_TRANSFER_ENCODING:
        return "unsupported Transfer-Encoding";
    case HPE_INVALID_CHUNK_SIZE:
        return "invalid chunk size";
    case HPE_INVALID_METHOD:
        return "invalid method";
    case HPE_INVALID_URL:
        return "invalid request target";
    case HPE_INVALID_VERSION:
        return "invalid HTTP version";
    case HPE_INVALID_HEADER_TOKEN:
        return "invalid byte in header";
    default:
        return "malformed message";
    }
}

enum http_parse_result
http_parse_head(struct http_msg_parser *mp, struct http_head *head, const char *buf, size_t len,
                size_t max_head)
{
    size_t head_len = find_head_end(mp, buf, len < max_head ? len : max_head);
    if (head_len == 0) {
        if (len >= max_head)
            return fail(mp, 431, "request header too large"), HTTP_PARSE_ERROR;
        return HTTP_PARSE_INCOMPLETE;
    }
    memset(head, 0, offsetof(struct http_head, headers));
    head->nheaders = 0;
    mp->head_ = head;
    size_t n = http_parser_execute(&mp->hp_, &settings, buf, head_len);
    enum http_errno e = HTTP_PARSER_ERRNO(&mp->hp_);
    mp->head_ = NULL;
    if (mp->error != NULL)
        return HTTP_PARSE_ERROR;
    if ((e != HPE_OK && e != HPE_PAUSED) || (n != head_len && !mp->hp_.upgrade)) {
        fail(mp, 400, describe_parser_error(e));
        return HTTP_PARSE_ERROR;
    }
    if (head->upgrade && mp->hp_.type == HTTP_REQUEST)
        mp->complete_ = head->body == HTTP_BODY_NONE;
    head->head_len = head_len;
    return HTTP_PARSE_OK;
}

enum http_parse_result
http_parse_body(struct http_msg_parser *mp, const char *buf, size_t len, size_t *consumed)
{
    if (mp->complete_) {
        *consumed = 0;
        return HTTP_PARSE_OK;
    }
    /* Content-Length: plain arithmetic, the common case stays cheap. */
    if (mp->body_left_ > 0) {
        size_t take = len < mp->body_left_ ? len : (size_t)mp->body_left_;
        mp->body_left_ -= take;
        mp->body_bytes += take;
        *consumed = take;
        if (mp->body_left_ == 0) {
            mp->complete_ = true;
            return HTTP_PARSE_OK;
        }
        return HTTP_PARSE_INCOMPLETE;
    }
    if (!(mp->hp_.flags & F_CHUNKED)) {
        *consumed = len; /* until close */
        return HTTP_PARSE_INCOMPLETE;
    }
    size_t n = http_parser_execute(&mp->hp_, &settings, buf, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&mp->hp_);
    *consumed = n;
    if (e == HPE_PAUSED) {
        http_parser_pause(&mp->hp_, 0);
        return HTTP_PARSE_OK;
    }
    if (e != HPE_OK) {
        fail(mp, 400, describe_parser_error(e));
        return HTTP_PARSE_ERROR;
    }
    return HTTP_PARSE_INCOMPLETE;
}

const struct http_header *
http_head_find(const struct http_head *head, const char *lower_name)
{
    for (unsigned i = 0; i < head->nheaders; i++) {
        if (sl_slice_eq_lower(head->headers[i].name, lower_name))
            return &head->headers[i];
    }
    return NULL;
}

bool
http_list_has_token(struct sl_slice value, const char *lower_token)
{
    size_t i = 0;
    while (i < value.len) {
        while (i < value.len && (value.p[i] == ' ' || value.p[i] == '\t' || value.p[i] == ','))
            i++;
        size_t start = i;
        while (i < value.len && value.p[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (value.p[end - 1] == ' ' || value.p[end - 1] == '\t'))
            end--;
        if (end > start && sl_slice_eq_lower((struct sl_slice){value.p + start, end - start},
                                             lower_token))
            return true;
    }
    return false;
}
