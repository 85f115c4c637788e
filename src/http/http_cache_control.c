/*
 * http_cache_control.c - Cache-Control (and CDN-Cache-Control) directives
 * of a head or of stored header lines.
 */
#include "http/http_cache_control.h"

#include <string.h>

#include "http/http_parse.h"

#define DELTA_MAX 2147483648LL /* RFC 9111 §1.2.2: "the greatest ... integer" */

static bool
name_is(const char *p, size_t len, const char *lower)
{
    return len == strlen(lower) && sl_slice_eq_lower((struct sl_slice){p, len}, lower);
}

static void
init(struct http_cache_control *out)
{
    *out = (struct http_cache_control){
        .max_age_s = HTTP_CC_UNSET,
        .s_maxage_s = HTTP_CC_UNSET,
        .stale_if_error_s = HTTP_CC_UNSET,
        .stale_while_revalidate_s = HTTP_CC_UNSET,
    };
}

/* delta-seconds (RFC 9111 §1.2.2), possibly quoted; a value too large to
 * hold is 2^31 (as the RFC says), a malformed one HTTP_CC_UNSET. */
static int64_t
delta_seconds(const char *p, size_t len)
{
    if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
        p++;
        len -= 2;
    }
    if (len == 0)
        return HTTP_CC_UNSET;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return HTTP_CC_UNSET;
        if (v < DELTA_MAX)
            v = v * 10 + (p[i] - '0');
    }
    return v > DELTA_MAX ? DELTA_MAX : v;
}

/* Sets the flag or number named name; for numbers, v holds digits (or
 * is NULL when the directive has no usable value: then it is ignored). */
static void
apply(struct http_cache_control *cc, const char *p, size_t nlen, const char *v, size_t vlen,
      bool has_value)
{
    if (name_is(p, nlen, "no-store"))
        cc->no_store = true;
    else if (name_is(p, nlen, "no-cache"))
        cc->no_cache = true; /* with a field list too: treated as whole (stricter) */
    else if (name_is(p, nlen, "private"))
        cc->private_ = true;
    else if (name_is(p, nlen, "public"))
        cc->public_ = true;
    else if (name_is(p, nlen, "must-revalidate"))
        cc->must_revalidate = true;
    else if (name_is(p, nlen, "proxy-revalidate"))
        cc->proxy_revalidate = true;
    else if (name_is(p, nlen, "only-if-cached"))
        cc->only_if_cached = true;
    else if (name_is(p, nlen, "must-understand"))
        cc->must_understand = true;
    else if (!has_value)
        return;
    else if (name_is(p, nlen, "max-age") && cc->max_age_s == HTTP_CC_UNSET)
        cc->max_age_s = delta_seconds(v, vlen);
    else if (name_is(p, nlen, "s-maxage") && cc->s_maxage_s == HTTP_CC_UNSET)
        cc->s_maxage_s = delta_seconds(v, vlen);
    else if (name_is(p, nlen, "stale-if-error") && cc->stale_if_error_s == HTTP_CC_UNSET)
        cc->stale_if_error_s = delta_seconds(v, vlen);
    else if (name_is(p, nlen, "stale-while-revalidate") &&
             cc->stale_while_revalidate_s == HTTP_CC_UNSET)
        cc->stale_while_revalidate_s = delta_seconds(v, vlen);
}

static void
directive(struct http_cache_control *cc, const char *p, size_t len)
{
    while (len > 0 && (p[0] == ' ' || p[0] == '\t'))
        p++, len--;
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    const char *eq = memchr(p, '=', len);
    size_t nlen = eq != NULL ? (size_t)(eq - p) : len;
    apply(cc, p, nlen, eq != NULL ? eq + 1 : NULL, eq != NULL ? len - nlen - 1 : 0, eq != NULL);
}

static void
parse_value(struct sl_slice value, struct http_cache_control *out)
{
    /* Commas inside a quoted value (no-cache="a, b") stay in it. */
    const char *p = value.p, *end = p + value.len, *start = p;
    bool quoted = false;
    for (; p <= end; p++) {
        if (p < end && *p == '"')
            quoted = !quoted;
        if (p == end || (*p == ',' && !quoted)) {
            directive(out, start, (size_t)(p - start));
            start = p + 1;
        }
    }
}

void
http_cache_control_parse(const struct http_head *head, struct http_cache_control *out)
{
    init(out);
    for (unsigned i = 0; i < head->nheaders; i++) {
        const struct http_header *h = &head->headers[i];
        if (name_is(h->name.p, h->name.len, "cache-control"))
            parse_value(h->value, out);
    }
}

/* ---- CDN-Cache-Control: a structured Dictionary (RFC 8941 §4.2.2) ------ */

struct sf {
    const char *p, *end;
};

static bool
sf_lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool
sf_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
sf_tchar(char c)
{
    return (c >= 'A' && c <= 'Z') || sf_lcalpha(c) || sf_digit(c) ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~:/", c) != NULL);
}

static void
sf_skip_sp(struct sf *s)
{
    while (s->p < s->end && *s->p == ' ')
        s->p++;
}

/* key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ) */
static bool
sf_key(struct sf *s, struct sl_slice *key)
{
    const char *k = s->p;
    if (s->p >= s->end || !(sf_lcalpha(*s->p) || *s->p == '*'))
        return false;
    while (s->p < s->end && (sf_lcalpha(*s->p) || sf_digit(*s->p) || *s->p == '_' ||
                             *s->p == '-' || *s->p == '.' || *s->p == '*'))
        s->p++;
    *key = (struct sl_slice){k, (size_t)(s->p - k)};
    return true;
}

enum sf_type { SF_NONE, SF_INTEGER, SF_OTHER };

/* A bare item; *type says whether it is an Integer (its digits in *num). */
static bool
sf_bare_item(struct sf *s, enum sf_type *type, struct sl_slice *num)
{
    if (s->p >= s->end)
        return false;
    char c = *s->p;
    *type = SF_OTHER;
    if (c == '-' || sf_digit(c)) {
        if (c == '-')
            s->p++;
        const char *digits = s->p;
        while (s->p < s->end && sf_digit(*s->p))
            s->p++;
        size_t ndigits = (size_t)(s->p - digits);
        if (ndigits == 0)
            return false;
        if (s->p < s->end && *s->p == '.') {
            const char *frac = ++s->p;
            while (s->p < s->end && sf_digit(*s->p))
                s->p++;
            return ndigits <= 12 && s->p > frac && s->p - frac <= 3;
        }
        if (ndigits > 15)
            return false;
        *type = c == '-' ? SF_OTHER : SF_INTEGER; /* a negative age is no age */
        *num = (struct sl_slice){digits, ndigits};
        return true;
    }
    if (c == '"') {
        for (s->p++; s->p < s->end; s->p++) {
            if (*s->p == '\\') {
                if (++s->p >= s->end || (*s->p != '"' && *s->p != '\\'))
                    return false;
            } else if (*s->p == '"') {
                s->p++;
                return true;
            } else if ((unsigned char)*s->p < 0x20 || (unsigned char)*s->p > 0x7e) {
                return false;
            }
        }
        return false;
    }
    if (c == '?') {
        if (s->end - s->p < 2 || (s->p[1] != '0' && s->p[1] != '1'))
            return false;
        s->p += 2;
        return true;
    }
    if (c == ':') {
        for (s->p++; s->p < s->end && *s->p != ':'; s->p++) {
            char b = *s->p;
            if (!(sf_tchar(b) || b == '+' || b == '/' || b == '=') || b == ':')
                return false;
        }
        if (s->p >= s->end)
            return false;
        s->p++;
        return true;
    }
    if ((c >= 'A' && c <= 'Z') || sf_lcalpha(c) || c == '*') {
        while (s->p < s->end && sf_tchar(*s->p))
            s->p++;
        return true;
    }
    return false;
}

static bool
sf_parameters(struct sf *s)
{
    while (s->p < s->end && *s->p == ';') {
        s->p++;
        sf_skip_sp(s);
        struct sl_slice key;
        enum sf_type t;
        struct sl_slice num;
        if (!sf_key(s, &key))
            return false;
        if (s->p < s->end && *s->p == '=') {
            s->p++;
            if (!sf_bare_item(s, &t, &num))
                return false;
        }
    }
    return true;
}

static bool
sf_inner_list(struct sf *s)
{
    s->p++; /* "(" */
    for (;;) {
        sf_skip_sp(s);
        if (s->p < s->end && *s->p == ')') {
            s->p++;
            return sf_parameters(s);
        }
        enum sf_type t;
        struct sl_slice num;
        if (!sf_bare_item(s, &t, &num) || !sf_parameters(s))
            return false;
        if (s->p < s->end && *s->p != ' ' && *s->p != ')')
            return false;
    }
}

/* One member: key [ "=" item ] params; applied to out. */
static bool
sf_member(struct sf *s, struct http_cache_control *out)
{
    struct sl_slice key, num = {NULL, 0};
    enum sf_type type = SF_NONE; /* a bare key is Boolean true */
    bool is_false = false;
    if (!sf_key(s, &key))
        return false;
    if (s->p < s->end && *s->p == '=') {
        s->p++;
        if (s->p < s->end && *s->p == '(') {
            type = SF_OTHER;
            if (!sf_inner_list(s))
                return false;
        } else {
            is_false = s->end - s->p >= 2 && s->p[0] == '?' && s->p[1] == '0';
            if (!sf_bare_item(s, &type, &num) || !sf_parameters(s))
                return false;
        }
    } else if (!sf_parameters(s)) {
        return false;
    }
    /* RFC 9213 §2.1: a directive whose value has the wrong type is ignored. */
    if (type == SF_INTEGER)
        apply(out, key.p, key.len, num.p, num.len, true);
    else if (!is_false && !(name_is(key.p, key.len, "max-age") ||
                            name_is(key.p, key.len, "s-maxage") ||
                            name_is(key.p, key.len, "stale-if-error")))
        apply(out, key.p, key.len, NULL, 0, false);
    return true;
}

bool
http_cache_control_parse_targeted(struct sl_slice value, struct http_cache_control *out)
{
    struct sf s = {value.p, value.p + value.len};
    while (s.p < s.end && (*s.p == ' ' || *s.p == '\t'))
        s.p++;
    while (s.end > s.p && (s.end[-1] == ' ' || s.end[-1] == '\t'))
        s.end--;
    out->targeted = true;
    if (s.p == s.end)
        return true; /* an empty Dictionary */
    for (;;) {
        if (!sf_member(&s, out))
            return false;
        while (s.p < s.end && (*s.p == ' ' || *s.p == '\t'))
            s.p++;
        if (s.p == s.end)
            return true;
        if (*s.p++ != ',')
            return false;
        while (s.p < s.end && (*s.p == ' ' || *s.p == '\t'))
            s.p++;
        if (s.p == s.end)
            return false; /* a trailing comma */
    }
}

/* ---- a response's directives ------------------------------------------- */

/* A response's fields, from a parsed head or from stored lines. */
struct fields {
    const struct http_head *head;
    struct sl_slice lines;
};

/* Calls fn for each field named lower_name; stops at the first false. */
static bool
each_field(const struct fields *f, const char *lower_name,
           bool (*fn)(struct sl_slice value, struct http_cache_control *cc),
           struct http_cache_control *cc, bool *seen)
{
    size_t n = strlen(lower_name);
    if (f->head != NULL) {
        for (unsigned i = 0; i < f->head->nheaders; i++) {
            const struct http_header *h = &f->head->headers[i];
            if (!name_is(h->name.p, h->name.len, lower_name))
                continue;
            *seen = true;
            if (!fn(h->value, cc))
                return false;
        }
        return true;
    }
    const char *p = f->lines.p, *end = p + f->lines.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            break;
        if ((size_t)(eol - p) > n && p[n] == ':' && name_is(p, n, lower_name)) {
            const char *v = p + n + 1, *vend = eol > v && eol[-1] == '\r' ? eol - 1 : eol;
            *seen = true;
            if (!fn((struct sl_slice){v, (size_t)(vend - v)}, cc))
                return false;
        }
        p = eol + 1;
    }
    return true;
}

static bool
plain_value(struct sl_slice value, struct http_cache_control *cc)
{
    parse_value(value, cc);
    return true;
}

static void
parse_fields(const struct fields *f, struct http_cache_control *out)
{
    bool seen = false;
    init(out);
    if (each_field(f, "cdn-cache-control", http_cache_control_parse_targeted, out, &seen) &&
        seen)
        return;
    init(out);
    each_field(f, "cache-control", plain_value, out, &seen);
}

void
http_cache_control_parse_response(const struct http_head *head, struct http_cache_control *out)
{
    struct fields f = {.head = head};
    parse_fields(&f, out);
}

void
http_cache_control_parse_stored(struct sl_slice lines, struct http_cache_control *out)
{
    struct fields f = {.lines = lines};
    parse_fields(&f, out);
}
