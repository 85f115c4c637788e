/*
 * http_cache_control.c - Cache-Control directives of a head.
 */
#include "http/http_cache_control.h"

#include <string.h>

#include "http/http_parse.h"

static bool
name_is(const char *p, size_t len, const char *lower)
{
    return len == strlen(lower) && sl_slice_eq_lower((struct sl_slice){p, len}, lower);
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
        if (v < 2147483648LL)
            v = v * 10 + (p[i] - '0');
    }
    return v > 2147483648LL ? 2147483648LL : v;
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
    const char *v = eq != NULL ? eq + 1 : NULL;
    size_t vlen = eq != NULL ? len - nlen - 1 : 0;
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
    else if (name_is(p, nlen, "max-age") && v != NULL && cc->max_age_s == HTTP_CC_UNSET)
        cc->max_age_s = delta_seconds(v, vlen);
    else if (name_is(p, nlen, "s-maxage") && v != NULL && cc->s_maxage_s == HTTP_CC_UNSET)
        cc->s_maxage_s = delta_seconds(v, vlen);
    else if (name_is(p, nlen, "stale-if-error") && v != NULL &&
             cc->stale_if_error_s == HTTP_CC_UNSET)
        cc->stale_if_error_s = delta_seconds(v, vlen);
    else if (name_is(p, nlen, "stale-while-revalidate") && v != NULL &&
             cc->stale_while_revalidate_s == HTTP_CC_UNSET)
        cc->stale_while_revalidate_s = delta_seconds(v, vlen);
}

void
http_cache_control_parse(const struct http_head *head, struct http_cache_control *out)
{
    *out = (struct http_cache_control){
        .max_age_s = HTTP_CC_UNSET,
        .s_maxage_s = HTTP_CC_UNSET,
        .stale_if_error_s = HTTP_CC_UNSET,
        .stale_while_revalidate_s = HTTP_CC_UNSET,
    };
    for (unsigned i = 0; i < head->nheaders; i++) {
        const struct http_header *h = &head->headers[i];
        if (!name_is(h->name.p, h->name.len, "cache-control"))
            continue;
        /* Commas inside a quoted value (no-cache="a, b") stay in it. */
        const char *p = h->value.p, *end = p + h->value.len, *start = p;
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
}
