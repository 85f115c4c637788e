/*
 * http_parse.c - message heads and body framing (RFC 9112), strict.
 *
 * A head is parsed once its end has been found (find_head_end remembers
 * how far it searched, so a head that trickles in byte by byte costs
 * linear time), line by line with memchr, into slices of the caller's
 * buffer. Every shape that two readers could take differently is refused
 * rather than guessed at, since the bytes are forwarded as they came and
 * an upstream that read them differently would see another message end
 * (request smuggling): bare CR, obs-fold, whitespace before a colon,
 * control bytes, repeated or non-numeric Content-Length, Content-Length
 * with Transfer-Encoding, a request whose last coding is not chunked.
 *
 * Written here rather than on a library: Debian's http_parser (2.9, no
 * longer maintained) is built non-strict, so it needed a pre-scan for
 * bare CR and obs-fold, checks after it for names and Host, and its own
 * chunked decoder anyway; what was left for it, splitting lines, cost a
 * third of the gateway's user-space instructions per request (callgrind).
 * tests/fuzz/fuzz_http_parse.c checks the invariants; the same target
 * was run differentially against http_parser 2.9.4 (README).
 *
 * Chunked bodies (RFC 9112 §7.1) are framed by a decoder that accepts CRLF
 * only and bounds the size line and the trailer section:
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

/* Byte classes: tchar (RFC 9110 §5.6.2); field-value bytes, VCHAR, SP,
 * HTAB and obs-text (§5.5); method bytes; request-target bytes. A table,
 * because every byte of every head goes through one of these tests. */
enum {
    CC_TCHAR = 1,
    CC_VCHAR = 2,
    /* Methods are tokens (RFC 9110 §9.1); as nginx does, we take only the
     * shape every registered method has, upper-case letters, '-' and '_'. */
    CC_METHOD = 4,
    /* request-target (RFC 9112 §3.2): no whitespace or control bytes; raw
     * obs-text is let through, as nginx does, for clients that send UTF-8. */
    CC_TARGET = 8,
};

static const unsigned char CHAR_CLASS[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  2,  0,  0,  0,  0,  0,  0,  /* 0x00 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x10 */
    2,  11, 10, 11, 11, 11, 11, 11, 10, 10, 11, 11, 10, 15, 11, 10, /* 0x20 */
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 10, 10, 10, 10, 10, 10, /* 0x30 */
    10, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, /* 0x40 */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 10, 10, 10, 11, 15, /* 0x50 */
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, /* 0x60 */
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 10, 11, 10, 11, 0,  /* 0x70 */
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, /* 0x80 */
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, /* 0x90 */
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, /* 0xa0 */
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, /* 0xb0 */
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, /* 0xc0 */
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, /* 0xd0 */
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, /* 0xe0 */
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, /* 0xf0 */
};

static bool
is_class(unsigned char c, unsigned cls)
{
    return (CHAR_CLASS[c] & cls) != 0;
}

static bool
is_tchar(unsigned char c)
{
    return is_class(c, CC_TCHAR);
}

static bool
is_field_vchar(unsigned char c)
{
    return is_class(c, CC_VCHAR);
}

/* Advances p over bytes of class cls, never past end. */
static const char *
span(const char *p, const char *end, unsigned cls)
{
    while (p < end && is_class((unsigned char)*p, cls))
        p++;
    return p;
}

#define ONES_64 0x0101010101010101ull
#define HIGHS_64 0x8080808080808080ull

/* span(p, end, CC_VCHAR), eight bytes at a time: field values are most of
 * a head's bytes, and a byte-by-byte table walk over them was a fifth of
 * the parser's instructions (callgrind). In each word, the bytes below
 * 0x20 and those equal to 0x7f are flagged by their high bit; the lowest
 * flag is exact (a borrow only runs upward, from a flagged byte), so on a
 * little-endian machine it says where the value ends: at the line's CR,
 * or at a control byte the caller refuses. HTAB is the one flagged byte a
 * value may hold: the walk goes on after it. */
static const char *
span_field_value(const char *p, const char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof(w));
        uint64_t below_sp = (w - 0x20 * ONES_64) & ~w & HIGHS_64;
        uint64_t x = w ^ (0x7f * ONES_64);
        uint64_t del = (x - ONES_64) & ~x & HIGHS_64;
        uint64_t flags = below_sp | del;
        if (flags == 0) {
            p += 8;
            continue;
        }
        p += __builtin_ctzll(flags) / 8;
        if (*p != '\t')
            return p;
        p++;
    }
#endif
    return span(p, end, CC_VCHAR);
}

bool
http_name_is_(const char *name, const char *lower, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t a, b;
        memcpy(&a, name + i, sizeof(a));
        memcpy(&b, lower + i, sizeof(b));
        if ((a | 0x20 * ONES_64) != b)
            return false;
    }
    for (; i < len; i++) {
        if (((unsigned char)name[i] | 0x20) != (unsigned char)lower[i])
            return false;
    }
    return true;
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

static int
fail(struct http_msg_parser *mp, unsigned status, const char *why)
{
    if (mp->error == NULL) {
        mp->error_status = status;
        mp->error = why;
    }
    return -1;
}

/* What the head's fields say about framing and the connection, gathered
 * as they are read and judged once the head is whole. */
struct head_facts {
    unsigned hosts;
    unsigned content_lengths;
    uint64_t content_length;
    bool has_te;
    bool te_chunked_final; /* the last transfer coding is chunked */
    unsigned te_chunked;   /* how many times chunked is named */
    bool conn_close;
    bool conn_keep_alive;
    bool conn_upgrade;
    unsigned conn_options; /* elements of every Connection field */
    bool has_upgrade;
};

static int
note_content_length(struct http_msg_parser *mp, struct head_facts *f, struct sl_slice v)
{
    /* RFC 9110 §8.6: 1*DIGIT. A repeated field is refused even when the
     * values agree: one reader's list is another's smuggled message. */
    if (++f->content_lengths > 1)
        return fail(mp, 400, "conflicting Content-Length or Transfer-Encoding");
    if (v.len == 0)
        return fail(mp, 400, "invalid Content-Length");
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10)
            return fail(mp, 400, "invalid Content-Length");
        n = n * 10 + (uint64_t)(c - '0');
    }
    f->content_length = n;
    return 0;
}

/* The next element of a comma-separated list (RFC 9110 §5.6.1) at *pos,
 * without its surrounding whitespace; empty elements are skipped (the
 * first non-separator byte starts a non-empty one). False at the end. */
static bool
list_next(struct sl_slice list, size_t *pos, struct sl_slice *item)
{
    size_t i = *pos;
    while (i < list.len && (list.p[i] == ' ' || list.p[i] == '\t' || list.p[i] == ','))
        i++;
    size_t start = i;
    while (i < list.len && list.p[i] != ',')
        i++;
    size_t end = i;
    while (end > start && (list.p[end - 1] == ' ' || list.p[end - 1] == '\t'))
        end--;
    *pos = i;
    *item = (struct sl_slice){list.p + start, end - start};
    return end > start;
}

/* Transfer-Encoding is a list of tokens, maybe over several fields; only
 * its last coding decides the framing (RFC 9112 §6.1). Codings with
 * parameters are refused: none is registered, and a reader that skips
 * them differently would see another last coding. */
static int
note_transfer_encoding(struct http_msg_parser *mp, struct head_facts *f, struct sl_slice v)
{
    f->has_te = true;
    size_t pos = 0;
    struct sl_slice coding;
    while (list_next(v, &pos, &coding)) {
        if (span(coding.p, coding.p + coding.len, CC_TCHAR) != coding.p + coding.len)
            return fail(mp, 400, "unsupported Transfer-Encoding");
        f->te_chunked_final = sl_slice_eq_lower(coding, "chunked");
        f->te_chunked += f->te_chunked_final;
    }
    return 0;
}

static int
note_field(struct http_msg_parser *mp, struct head_facts *f, struct sl_slice name,
           struct sl_slice v)
{
    switch (name.len) {
    case 4:
        f->hosts += HTTP_NAME_IS(name, "host");
        break;
    case 7:
        f->has_upgrade |= HTTP_NAME_IS(name, "upgrade");
        break;
    case 10:
        if (HTTP_NAME_IS(name, "connection")) {
            f->conn_close |= http_list_has_token(v, "close");
            f->conn_keep_alive |= http_list_has_token(v, "keep-alive");
            f->conn_upgrade |= http_list_has_token(v, "upgrade");
            size_t pos = 0;
            struct sl_slice option;
            while (list_next(v, &pos, &option)) {
                if (++f->conn_options > HTTP_MAX_CONNECTION_OPTIONS)
                    return fail(mp, 400, "too many Connection options");
            }
        }
        break;
    case 14:
        if (HTTP_NAME_IS(name, "content-length"))
            return note_content_length(mp, f, v);
        break;
    case 17:
        if (HTTP_NAME_IS(name, "transfer-encoding"))
            return note_transfer_encoding(mp, f, v);
        break;
    default:
        break;
    }
    return 0;
}

/* Consumes a line end at *p: CRLF, or a bare LF, which RFC 9112 §2.2 lets
 * a recipient accept. A CR not followed by LF is refused (§2.2): some
 * readers take it for a line end, others do not. what names the line's
 * grammar for any other byte. */
static int
eat_line_end(struct http_msg_parser *mp, const char **p, const char *end, const char *what)
{
    const char *q = *p;
    if (q < end && *q == '\r') {
        if (q + 1 == end || q[1] != '\n')
            return fail(mp, 400, "bare CR in head");
        q++;
    }
    if (q == end || *q != '\n')
        return fail(mp, 400, what);
    *p = q + 1;
    return 0;
}

/* "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3). The major version is the
 * caller's to judge: another one is well-formed, so only the caller knows
 * whether its line as a whole is (a request then gets 505, not 400). */
static int
parse_version(struct http_msg_parser *mp, const char **pp, const char *end, struct http_head *head,
              unsigned *major)
{
    const char *p = *pp;
    if (end - p < 8 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' || p[6] != '.' ||
        p[7] < '0' || p[7] > '9')
        return fail(mp, 400, "invalid HTTP version");
    *major = (unsigned)(p[5] - '0');
    head->version_minor = (unsigned)(p[7] - '0');
    *pp = p + 8;
    return 0;
}

/* method SP request-target SP HTTP-version (RFC 9112 §3), one SP each. */
static int
parse_request_line(struct http_msg_parser *mp, const char **pp, const char *end,
                   struct http_head *head)
{
    const char *start = *pp, *p = span(start, end, CC_METHOD);
    size_t method_len = (size_t)(p - start);
    if (method_len == 0 || method_len > 32 || p == end || *p != ' ')
        return fail(mp, 400, "invalid method");
    head->method = (struct sl_slice){start, method_len};
    const char *target = ++p;
    p = span(p, end, CC_TARGET);
    if (p == target || p == end || *p != ' ')
        return fail(mp, 400, "invalid request target");
    head->target = (struct sl_slice){target, (size_t)(p - target)};
    p++;
    unsigned major;
    if (parse_version(mp, &p, end, head, &major) != 0 ||
        eat_line_end(mp, &p, end, "invalid HTTP version") != 0)
        return -1;
    /* The whole line is well-formed, in a version we do not speak (HTTP/2.0
     * is the h2 preface "PRI * HTTP/2.0"): 505 (RFC 9110 §15.6.6), as nginx
     * answers. Its fields are not read: their rules are that version's. */
    if (major != 1)
        return fail(mp, 505, "unsupported HTTP version");
    *pp = p;
    return 0;
}

/* HTTP-version SP 3DIGIT SP [reason-phrase] (RFC 9112 §4); a missing SP
 * before an empty reason is common and harmless. */
static int
parse_status_line(struct http_msg_parser *mp, const char **pp, const char *end,
                  struct http_head *head)
{
    const char *p = *pp;
    unsigned major;
    if (parse_version(mp, &p, end, head, &major) != 0)
        return -1;
    /* An upstream of another major version is malformed to us (the proxy
     * answers 502 for any refused response head). */
    if (major != 1)
        return fail(mp, 400, "unsupported HTTP version");
    if (end - p < 4 || *p != ' ')
        return fail(mp, 400, "invalid status line");
    unsigned status = 0;
    for (int i = 1; i <= 3; i++) {
        if (p[i] < '0' || p[i] > '9')
            return fail(mp, 400, "invalid status code");
        status = status * 10 + (unsigned)(p[i] - '0');
    }
    if (status < 100)
        return fail(mp, 400, "invalid status code");
    head->status = status;
    p += 4;
    const char *reason = p;
    if (p < end && *p == ' ')
        reason = ++p;
    else if (p < end && *p != '\r' && *p != '\n')
        return fail(mp, 400, "invalid status code");
    p = span(p, end, CC_VCHAR);
    head->reason = (struct sl_slice){reason, (size_t)(p - reason)};
    if (eat_line_end(mp, &p, end, "invalid status line") != 0)
        return -1;
    *pp = p;
    return 0;
}

/* field-name ":" OWS field-value OWS (RFC 9112 §5), then the line end. */
static int
parse_field_line(struct http_msg_parser *mp, const char **pp, const char *end,
                 struct http_head *head, struct head_facts *facts)
{
    const char *start = *pp;
    /* RFC 9112 §5.2: obs-fold may be refused, and whitespace before the
     * first field must be (§2.2). */
    if (*start == ' ' || *start == '\t')
        return fail(mp, 400, "obsolete line folding");
    const char *p = span(start, end, CC_TCHAR);
    /* §5.1: no whitespace between name and colon. */
    if (p == start || p == end || *p != ':')
        return fail(mp, 400, "invalid header field name");
    struct sl_slice name = {start, (size_t)(p - start)};
    p++;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *value = p;
    p = span_field_value(p, end);
    const char *value_end = p;
    while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
        value_end--;
    if (eat_line_end(mp, &p, end, "invalid byte in header") != 0)
        return -1;
    if (head->nheaders == HTTP_MAX_HEADERS)
        return fail(mp, 431, ERR_TOO_MANY);
    struct sl_slice v = {value, (size_t)(value_end - value)};
    head->headers[head->nheaders++] = (struct http_header){name, v};
    *pp = p;
    return note_field(mp, facts, name, v);
}

/* RFC 9112 §6, §9.3 for a request: Content-Length or chunked, never both,
 * and the connection persists unless it says otherwise. */
static int
frame_request(struct http_msg_parser *mp, struct http_head *head, const struct head_facts *f)
{
    /* RFC 9112 §3.2: exactly one Host in HTTP/1.1. */
    if (f->hosts > 1 || (f->hosts == 0 && head->version_minor >= 1))
        return fail(mp, 400, "missing or repeated Host header");
    if (f->has_te && f->content_lengths > 0)
        return fail(mp, 400, "conflicting Content-Length or Transfer-Encoding");
    /* §6.3 rule 4: a request whose final coding is not chunked (once) has
     * no length a recipient can find. */
    if (f->has_te && (!f->te_chunked_final || f->te_chunked != 1))
        return fail(mp, 400, "unsupported Transfer-Encoding");
    bool connect = sl_slice_eq_lower(head->method, "connect");
    /* RFC 9110 §9.3.6: CONNECT has no content; framing there is a
     * smuggling shape. */
    if (connect && (f->has_te || f->content_length > 0))
        return fail(mp, 400, "CONNECT with a body");
    if (f->has_te) {
        head->body = HTTP_BODY_CHUNKED;
    } else if (f->content_length > 0) {
        head->body = HTTP_BODY_LENGTH;
        head->content_length = f->content_length;
    }
    head->keep_alive = head->version_minor >= 1 ? !f->conn_close : f->conn_keep_alive;
    /* RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; the
     * connection closes after the message. */
    if (f->has_te && head->version_minor == 0)
        head->keep_alive = false;
    head->upgrade = connect || (f->has_upgrade && f->conn_upgrade);
    return 0;
}

/* RFC 9112 §6.3 for a response: no body after HEAD or for 1xx/204/304;
 * chunked when it is the final coding; else Content-Length; else the body
 * runs to the close, and the connection ends with it. */
static int
frame_response(struct http_msg_parser *mp, struct http_head *head, const struct head_facts *f)
{
    bool keep_alive = head->version_minor >= 1 ? !f->conn_close : f->conn_keep_alive;
    head->upgrade = head->status == 101;
    if (mp->skip_body_ || head->status / 100 == 1 || head->status == 204 || head->status == 304) {
        head->keep_alive = keep_alive;
        return 0;
    }
    /* Both is what a desynchronised or hostile upstream sends; we forward
     * bytes verbatim, so refuse rather than pick one reading. */
    if (f->has_te && f->content_lengths > 0)
        return fail(mp, 400, "conflicting Content-Length or Transfer-Encoding");
    if (f->has_te && f->te_chunked > (f->te_chunked_final ? 1u : 0u))
        return fail(mp, 400, "unsupported Transfer-Encoding");
    if (f->has_te && head->version_minor == 0)
        keep_alive = false; /* RFC 9112 §6.1, as for requests */
    if (f->has_te && f->te_chunked_final) {
        head->body = HTTP_BODY_CHUNKED;
    } else if (!f->has_te && f->content_lengths > 0) {
        head->body = f->content_length > 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
        head->content_length = f->content_length;
    } else {
        head->body = HTTP_BODY_UNTIL_CLOSE;
        keep_alive = false;
    }
    head->keep_alive = keep_alive;
    return 0;
}

void
http_msg_parser_init(struct http_msg_parser *mp, enum http_msg_kind kind, bool skip_body)
{
    memset(mp, 0, sizeof(*mp));
    mp->response_ = kind == HTTP_MSG_RESPONSE;
    mp->skip_body_ = skip_body;
}

/* The offset of the first byte of buf[0..len) that is neither CR nor LF:
 * where the start line begins, after any empty lines. */
static size_t
skip_leading_line_ends(const char *buf, size_t len)
{
    size_t start = 0;
    while (start < len && (buf[start] == '\r' || buf[start] == '\n'))
        start++;
    return start;
}

/* Returns the length of the head (through its empty line), or 0 when the
 * empty line has not arrived yet. Bare LF line ends are allowed, and so
 * are empty lines before the start line (RFC 9112 §2.2): they must not
 * pass for the empty line that ends the head. */
static size_t
find_head_end(struct http_msg_parser *mp, const char *buf, size_t len)
{
    size_t start = skip_leading_line_ends(buf, len);
    size_t i = mp->scanned_ > start ? mp->scanned_ : start;
    while (i < len) {
        const char *lf = memchr(buf + i, '\n', len - i);
        if (lf == NULL) {
            i = len; /* a long line trickling in is searched once */
            break;
        }
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

/* Skips empty lines before the start line (RFC 9112 §2.2), CRLF or LF. */
static const char *
skip_empty_lines(const char *p, const char *end)
{
    for (;;) {
        if (p < end && *p == '\n')
            p++;
        else if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            p += 2;
        else
            return p;
    }
}

static bool
at_empty_line(const char *p, const char *end)
{
    return p < end && (*p == '\n' || (*p == '\r' && end - p >= 2 && p[1] == '\n'));
}

static int
parse_head_lines(struct http_msg_parser *mp, struct http_head *head, const char *buf,
                 size_t head_len)
{
    const char *end = buf + head_len, *p = skip_empty_lines(buf, end);
    int rc = mp->response_ ? parse_status_line(mp, &p, end, head)
                           : parse_request_line(mp, &p, end, head);
    if (rc != 0)
        return -1;
    struct head_facts facts = {0};
    while (!at_empty_line(p, end)) {
        if (p == end)
            return fail(mp, 400, "malformed message");
        if (parse_field_line(mp, &p, end, head, &facts) != 0)
            return -1;
    }
    p += *p == '\r' ? 2 : 1;
    /* find_head_end stopped at the first empty line, so it is this one. */
    if (p != end)
        return fail(mp, 400, "malformed message");
    return mp->response_ ? frame_response(mp, head, &facts) : frame_request(mp, head, &facts);
}

/* No head ended within max_head bytes: which part overflowed? A request
 * line begun but not ended there is a request-target too long to parse:
 * 414 (RFC 9112 §3 "MUST respond with a 414"), as nginx answers; else the
 * fields are too large: 431 (RFC 6585 §5). Judged on buf[0..max_head)
 * alone, so the answer is the same however the bytes arrived. */
static int
fail_head_too_large(struct http_msg_parser *mp, const char *buf, size_t max_head)
{
    size_t start = skip_leading_line_ends(buf, max_head);
    if (!mp->response_ && start < max_head && memchr(buf + start, '\n', max_head - start) == NULL)
        return fail(mp, 414, "request line too long");
    return fail(mp, 431, "request header too large");
}

enum http_parse_result
http_parse_head(struct http_msg_parser *mp, struct http_head *head, const char *buf, size_t len,
                size_t max_head)
{
    size_t head_len = find_head_end(mp, buf, len < max_head ? len : max_head);
    if (head_len == 0) {
        if (len >= max_head)
            return fail_head_too_large(mp, buf, max_head), HTTP_PARSE_ERROR;
        return HTTP_PARSE_INCOMPLETE;
    }
    memset(head, 0, offsetof(struct http_head, headers));
    head->nheaders = 0;
    head->content_length = 0;
    head->body = HTTP_BODY_NONE;
    head->keep_alive = false;
    head->upgrade = false;
    if (parse_head_lines(mp, head, buf, head_len) != 0)
        return HTTP_PARSE_ERROR;
    head->head_len = head_len;
    mp->chunked_ = head->body == HTTP_BODY_CHUNKED;
    mp->body_left_ = head->body == HTTP_BODY_LENGTH ? head->content_length : 0;
    mp->complete_ = head->body == HTTP_BODY_NONE;
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
parse_chunked(struct http_msg_parser *mp, const char *buf, size_t len, size_t *consumed,
              const struct http_payload_sink *sink)
{
    enum chunk_state st = (enum chunk_state)(mp->scanned_ & CH_STATE_MASK);
    size_t line_len = mp->scanned_ >> CH_STATE_BITS;
    size_t i = 0;
    while (i < len) {
        if (st == CH_DATA) {
            size_t take = len - i < mp->body_left_ ? len - i : (size_t)mp->body_left_;
            mp->body_left_ -= take;
            mp->body_bytes += take;
            if (sink != NULL && take > 0)
                sink->cb(sink->arg, buf + i, take);
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
http_parse_body_payload(struct http_msg_parser *mp, const char *buf, size_t len, size_t *consumed,
                        const struct http_payload_sink *sink)
{
    *consumed = 0;
    if (mp->error != NULL)
        return HTTP_PARSE_ERROR;
    if (mp->complete_)
        return HTTP_PARSE_OK;
    if (mp->chunked_)
        return parse_chunked(mp, buf, len, consumed, sink);
    /* Content-Length: plain arithmetic, the common case stays cheap. */
    enum http_parse_result r = HTTP_PARSE_INCOMPLETE;
    size_t take = len; /* until close */
    if (mp->body_left_ > 0) {
        take = len < mp->body_left_ ? len : (size_t)mp->body_left_;
        mp->body_left_ -= take;
        if (mp->body_left_ == 0) {
            mp->complete_ = true;
            r = HTTP_PARSE_OK;
        }
    }
    mp->body_bytes += take;
    *consumed = take;
    if (sink != NULL && take > 0)
        sink->cb(sink->arg, buf, take);
    return r;
}

enum http_parse_result
http_parse_body(struct http_msg_parser *mp, const char *buf, size_t len, size_t *consumed)
{
    return http_parse_body_payload(mp, buf, len, consumed, NULL);
}

const struct http_header *
http_head_find(const struct http_head *head, const char *lower_name)
{
    size_t len = strlen(lower_name);
    for (unsigned i = 0; i < head->nheaders; i++) {
        if (http_name_is(head->headers[i].name, lower_name, len))
            return &head->headers[i];
    }
    return NULL;
}

bool
http_list_has_token(struct sl_slice value, const char *lower_token)
{
    size_t pos = 0;
    struct sl_slice item;
    while (list_next(value, &pos, &item)) {
        if (sl_slice_eq_lower(item, lower_token))
            return true;
    }
    return false;
}

static char
ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool
http_list_has_name(struct sl_slice value, struct sl_slice name)
{
    size_t pos = 0;
    struct sl_slice item;
    while (list_next(value, &pos, &item)) {
        if (item.len != name.len)
            continue;
        size_t i = 0;
        while (i < name.len && ascii_lower(item.p[i]) == ascii_lower(name.p[i]))
            i++;
        if (i == name.len)
            return true;
    }
    return false;
}

bool
http_method_safe(struct sl_slice m)
{
    static const char *const safe[] = {"GET", "HEAD", "OPTIONS", "TRACE"};
    for (size_t i = 0; i < SL_ARRAY_LEN(safe); i++) {
        if (m.len == strlen(safe[i]) && memcmp(m.p, safe[i], m.len) == 0)
            return true;
    }
    return false;
}

bool
http_method_idempotent(struct sl_slice m)
{
    static const char *const idempotent[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    for (size_t i = 0; i < SL_ARRAY_LEN(idempotent); i++) {
        if (m.len == strlen(idempotent[i]) && memcmp(m.p, idempotent[i], m.len) == 0)
            return true;
    }
    return false;
}
