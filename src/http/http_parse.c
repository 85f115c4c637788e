/*
 * http_parse.c - heads and body framing over http_parser.
 *
 * The head is handed to http_parser in one piece, once its end has been
 * found, so every header name and value arrives in exactly one callback.
 * Before that, the head's bytes are checked for two shapes the library
 * (built without HTTP_PARSER_STRICT) lets through: obs-fold, which
 * RFC 9112 §5.2 lets us reject, and a bare CR, which it takes for a line
 * end (§2.2 says reject). Both are classic request-smuggling shapes.
 *
 * Chunked bodies are framed here, not by http_parser: non-strict, it takes
 * any two bytes for the CRLF after chunk data and lets a bare LF hide in a
 * chunk extension. Body bytes are forwarded verbatim, so an upstream that
 * read them differently would see another message end (smuggling). This
 * decoder (RFC 9112 §7.1) accepts CRLF only and bounds the size line and
 * the trailer section:
 *
 *   +-> SIZE_FIRST -hex-> SIZE -CR-> SIZE_LF -LF, size > 0-> DATA
 *   |                      | SP ;      ^    \                 | size bytes
 *   |                      v           |     \ size 0         v
 *   |               EXT_BWS, EXT --CR--+      \             DATA_CR -CR-> DATA_LF
 *   |                                          v                            |
 *   |   TRAILER_LF <-CR- VALUE <-:- NAME <-tchar- TRAILER_START -CR-> END_LF |
 *   |        |                                     ^            LF: done    |
 *   |        +------------------LF-----------------+                        |
 *   +------------------------------------LF---------------------------------+
 */
#include "http/http_parse.h"

#include <limits.h>
#include <string.h>

static const char *const ERR_TOO_MANY = "too many header fields";

/* A chunk-size line (with its extensions) and a trailer section longer
 * than this are refused rather than streamed forever uncounted: neither
 * counts toward body_bytes, which is what the caller limits. */
#define CHUNK_LINE_MAX 4096
#define CHUNK_TRAILERS_MAX 8192

enum chunk_state {
    CH_SIZE_FIRST,
    CH_SIZE,
    CH_EXT_BWS,
    CH_EXT,
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER_START,
    CH_TRAILER_NAME,
    CH_TRAILER_VALUE,
    CH_TRAILER_LF,
    CH_END_LF,
};

/*
 * Once the head is parsed, scanned_ is free, and the chunked decoder keeps
 * its state there: the state in the low bits, the length of the current
 * size line above them. body_left_ holds the chunk size while it is read,
 * then what is left of the chunk's data, and in the trailer section how
 * long that section is so far.
 */
#define CH_STATE_BITS 4
#define CH_STATE_MASK ((1u << CH_STATE_BITS) - 1)

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

/* RFC 9110 §5.5: field-value bytes are VCHAR, SP, HTAB and obs-text. */
static bool
is_field_vchar(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
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

/* The head holds one message. Should the library end it before the end we
 * found, what follows must not be parsed as a second message here. */
static int
on_message_begin(http_parser *hp)
{
    struct http_msg_parser *mp = parser_of(hp);
    return mp->head_ != NULL ? 0 : fail(mp, 400, "message ends inside its head");
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
    /* check_head_bytes() has already refused obs-fold; this is a second
     * line of defence should the library ever split a value. */
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
check_request_head(struct http_msg_parser *mp, const http_parser *hp, const struct http_head *head)
{
    unsigned hosts = 0;
    for (unsigned i = 0; i < head->nheaders; i++) {
        if (sl_slice_eq_lower(head->headers[i].name, "host"))
            hosts++;
    }
    /* RFC 9112 §3.2: exactly one Host in HTTP/1.1. */
    if (hosts > 1 || (hosts == 0 && head->version_minor >= 1))
        return fail(mp, 400, "missing or repeated Host header");
    /* RFC 9112 §6.3 rule 4. http_parser checks this itself, but only after
     * it has let an upgrade or CONNECT head through without a body. */
    if (!(hp->flags & F_CHUNKED) && http_head_find(head, "transfer-encoding") != NULL)
        return fail(mp, 400, "unsupported Transfer-Encoding");
    /* RFC 9110 §9.3.6: CONNECT has no content, and http_parser stops at its
     * head whatever the framing says; framing there is a smuggling shape. */
    bool has_length = hp->content_length > 0 && hp->content_length != ULLONG_MAX;
    if (hp->method == HTTP_CONNECT && ((hp->flags & F_CHUNKED) || has_length))
        return fail(mp, 400, "CONNECT with a body");
    return 0;
}

/* RFC 9110 §6.4.1, §9.3.2: these responses never have a body. */
static bool
response_has_no_body(const struct http_msg_parser *mp, const http_parser *hp)
{
    if (hp->type != HTTP_RESPONSE)
        return false;
    return mp->skip_body_ || hp->status_code / 100 == 1 || hp->status_code == 204 ||
           hp->status_code == 304;
}

static int
on_headers_complete(http_parser *hp)
{
    struct http_msg_parser *mp = parser_of(hp);
    struct http_head *head = mp->head_;
    /* Cleared so that http_parse_head can tell the head really ended. */
    mp->head_ = NULL;
    head->version_minor = hp->http_minor;
    if (hp->http_major != 1)
        return fail(mp, 400, "unsupported HTTP version");
    if (hp->type == HTTP_REQUEST) {
        const char *m = http_method_str((enum http_method)hp->method);
        head->method = (struct sl_slice){m, strlen(m)};
        head->upgrade = hp->upgrade != 0;
        if (check_request_head(mp, hp, head) != 0)
            return -1;
    } else {
        /* http_parser takes one or two digits too; RFC 9110 §15 wants three. */
        if (hp->status_code < 100)
            return fail(mp, 400, "invalid status code");
        head->status = hp->status_code;
        head->upgrade = hp->status_code == 101;
    }
    bool no_body = response_has_no_body(mp, hp);
    /* http_parser sets F_SKIPBODY only once we return 1, but keep-alive
     * depends on it: a HEAD response without Content-Length does not run
     * to the close. */
    if (no_body)
        hp->flags |= F_SKIPBODY;
    head->keep_alive = http_should_keep_alive(hp) != 0;
    if (no_body) {
        head->body = HTTP_BODY_NONE;
        return 1; /* http_parser: the message has no body */
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
    return 0;
}

static int
on_message_complete(http_parser *hp)
{
    parser_of(hp)->complete_ = true;
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
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
 * empty line has not arrived yet. Bare LF line ends are allowed, and so
 * are empty lines before the start line (RFC 9112 §2.2), which http_parser
 * skips too: they must not pass for the empty line that ends the head. */
static size_t
find_head_end(struct http_msg_parser *mp, const char *buf, size_t len)
{
    size_t start = 0;
    while (start < len && (buf[start] == '\r' || buf[start] == '\n'))
        start++;
    size_t i = mp->scanned_ > start ? mp->scanned_ : start;
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

/* Refuses what http_parser would accept but read differently from a strict
 * peer: a CR not followed by LF, and a line starting with whitespace
 * (obs-fold, or whitespace before the first field, RFC 9112 §2.2). */
static int
check_head_bytes(struct http_msg_parser *mp, const char *buf, size_t head_len)
{
    for (size_t i = 0; i < head_len; i++) {
        if (buf[i] == '\r' && (i + 1 == head_len || buf[i + 1] != '\n'))
            return fail(mp, 400, "bare CR in head");
        if (buf[i] == '\n' && i + 1 < head_len && (buf[i + 1] == ' ' || buf[i + 1] == '\t'))
            return fail(mp, 400, "obsolete line folding");
    }
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
    if (check_head_bytes(mp, buf, head_len) != 0)
        return HTTP_PARSE_ERROR;
    memset(head, 0, offsetof(struct http_head, headers));
    head->nheaders = 0;
    head->head_len = 0;
    head->body = HTTP_BODY_NONE;
    head->content_length = 0;
    head->keep_alive = false;
    head->upgrade = false;
    mp->head_ = head;
    size_t n = http_parser_execute(&mp->hp_, &settings, buf, head_len);
    enum http_errno e = HTTP_PARSER_ERRNO(&mp->hp_);
    bool ended = mp->head_ == NULL;
    mp->head_ = NULL;
    if (mp->error != NULL)
        return HTTP_PARSE_ERROR;
    if (e == HPE_HEADER_OVERFLOW)
        return fail(mp, 431, "request header too large"), HTTP_PARSE_ERROR;
    /* The library must end the head exactly where we found its end; if it
     * ended earlier (it takes CR + any byte for the final CRLF) the rest
     * would be a message we never looked at. */
    if (e != HPE_OK || n != head_len || !ended) {
        fail(mp, 400, describe_parser_error(e));
        return HTTP_PARSE_ERROR;
    }
    head->head_len = head_len;
    mp->scanned_ = CH_SIZE_FIRST; /* now the chunked decoder's state */
    return HTTP_PARSE_OK;
}

/* Feeds one byte of a size line or trailer to the decoder. Returns the
 * next state, or -1 (mp->error set). */
static int
chunk_step(struct http_msg_parser *mp, enum chunk_state st, unsigned char c)
{
    int hex;
    switch (st) {
    case CH_SIZE_FIRST:
    case CH_SIZE:
        hex = hex_value(c);
        if (hex >= 0) {
            if (mp->body_left_ > (UINT64_MAX >> 4))
                return fail(mp, 400, "chunk size too large");
            mp->body_left_ = (mp->body_left_ << 4) | (uint64_t)hex;
            return CH_SIZE;
        }
        if (st == CH_SIZE_FIRST)
            return fail(mp, 400, "invalid chunk size");
        if (c == '\r')
            return CH_SIZE_LF;
        if (c == ';')
            return CH_EXT;
        if (c == ' ' || c == '\t')
            return CH_EXT_BWS;
        return fail(mp, 400, "invalid chunk size");
    case CH_EXT_BWS:
        if (c == ' ' || c == '\t')
            return CH_EXT_BWS;
        if (c == ';')
            return CH_EXT;
        if (c == '\r')
            return CH_SIZE_LF;
        return fail(mp, 400, "invalid chunk extension");
    case CH_EXT:
        /* A quoted-string cannot hold a CR either, so the first CR ends the
         * line for every reader; any other control byte is refused. */
        if (c == '\r')
            return CH_SIZE_LF;
        return is_field_vchar(c) ? CH_EXT : fail(mp, 400, "invalid chunk extension");
    case CH_SIZE_LF:
        if (c != '\n')
            return fail(mp, 400, "chunk size line not ended by CRLF");
        return mp->body_left_ > 0 ? CH_DATA : CH_TRAILER_START;
    case CH_DATA_CR:
        return c == '\r' ? CH_DATA_LF : fail(mp, 400, "chunk data not followed by CRLF");
    case CH_DATA_LF:
        return c == '\n' ? CH_SIZE_FIRST : fail(mp, 400, "chunk data not followed by CRLF");
    default:
        break;
    }
    return -1;
}

/* The trailer section (RFC 9112 §7.1.2): field lines, then an empty line.
 * body_left_ counts its bytes. */
static int
trailer_step(struct http_msg_parser *mp, enum chunk_state st, unsigned char c)
{
    if (++mp->body_left_ > CHUNK_TRAILERS_MAX)
        return fail(mp, 400, "chunked trailer section too large");
    switch (st) {
    case CH_TRAILER_START:
        if (c == '\r')
            return CH_END_LF;
        return is_tchar(c) ? CH_TRAILER_NAME : fail(mp, 400, "invalid trailer field");
    case CH_TRAILER_NAME:
        if (c == ':')
            return CH_TRAILER_VALUE;
        return is_tchar(c) ? CH_TRAILER_NAME : fail(mp, 400, "invalid trailer field");
    case CH_TRAILER_VALUE:
        if (c == '\r')
            return CH_TRAILER_LF;
        return is_field_vchar(c) ? CH_TRAILER_VALUE : fail(mp, 400, "invalid trailer field");
    case CH_TRAILER_LF:
        return c == '\n' ? CH_TRAILER_START : fail(mp, 400, "invalid trailer field");
    case CH_END_LF:
        return c == '\n' ? CH_SIZE_FIRST : fail(mp, 400, "invalid trailer field");
    default:
        return fail(mp, 400, "invalid chunked framing");
    }
}

static enum http_parse_result
parse_chunked(struct http_msg_parser *mp, const char *buf, size_t len, size_t *consumed)
{
    enum chunk_state st = (enum chunk_state)(mp->scanned_ & CH_STATE_MASK);
    size_t line_len = mp->scanned_ >> CH_STATE_BITS;
    size_t i = 0;
    while (i < len) {
        if (st == CH_DATA) {
            size_t take = len - i < mp->body_left_ ? len - i : (size_t)mp->body_left_;
            mp->body_left_ -= take;
            mp->body_bytes += take;
            i += take;
            if (mp->body_left_ == 0)
                st = CH_DATA_CR;
            continue;
        }
        unsigned char c = (unsigned char)buf[i++];
        bool in_trailers = st >= CH_TRAILER_START;
        if (st <= CH_SIZE_LF && ++line_len > CHUNK_LINE_MAX) {
            fail(mp, 400, "chunk size line too long");
            break;
        }
        int next = in_trailers ? trailer_step(mp, st, c) : chunk_step(mp, st, c);
        if (next < 0)
            break;
        if (st == CH_END_LF) {
            mp->complete_ = true;
            *consumed = i;
            return HTTP_PARSE_OK;
        }
        if (next == CH_SIZE_FIRST || next == CH_DATA)
            line_len = 0;
        if (next == CH_SIZE_FIRST)
            mp->body_left_ = 0;
        st = (enum chunk_state)next;
    }
    mp->scanned_ = (size_t)st | (line_len << CH_STATE_BITS);
    if (mp->error != NULL) {
        *consumed = i - 1;
        return HTTP_PARSE_ERROR;
    }
    *consumed = len;
    return HTTP_PARSE_INCOMPLETE;
}

enum http_parse_result
http_parse_body(struct http_msg_parser *mp, const char *buf, size_t len, size_t *consumed)
{
    *consumed = 0;
    if (mp->error != NULL)
        return HTTP_PARSE_ERROR;
    if (mp->complete_)
        return HTTP_PARSE_OK;
    if (mp->hp_.flags & F_CHUNKED)
        return parse_chunked(mp, buf, len, consumed);
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
    *consumed = len; /* until close */
    mp->body_bytes += len;
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
        if (end > start &&
            sl_slice_eq_lower((struct sl_slice){value.p + start, end - start}, lower_token))
            return true;
    }
    return false;
}
