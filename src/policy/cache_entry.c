/*
 * cache_entry.c - what a stored entry holds and means, in the cache stage:
 * the Vary'd request fields it must match (the meta lines after the first,
 * policy/response_record.h), its header fields (validators), and the terms
 * on which a response may be stored (RFC 9111 §3, §4.2; RFC 5861). Pure:
 * no Redis, no libevent.
 */
#include <string.h>

#include "config/config.h"
#include "http/http_cache_control.h"
#include "http/http_parse.h"
#include "policy/cache_freshness.h"
#include "policy/cache_internal.h"
#include "util/clock.h"

struct sl_slice
cache_entry_field(struct sl_slice lines, const char *lower_name)
{
    size_t n = strlen(lower_name);
    const char *p = lines.p, *end = p + lines.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            break;
        if ((size_t)(eol - p) > n + 2 && p[n] == ':' &&
            sl_slice_eq_lower((struct sl_slice){p, n}, lower_name)) {
            const char *v = p + n + 1;
            while (v < eol && *v == ' ')
                v++;
            return (struct sl_slice){v, (size_t)(eol - 1 - v)};
        }
        p = eol + 1;
    }
    return (struct sl_slice){"", 0};
}

bool
cache_entry_post_storable(unsigned s)
{
    /* A POST entry's (GET and HEAD: cache_freshness_storable): RFC 9110
     * §15.1's heuristically cacheable codes, plus 308. */
    static const unsigned ok[] = {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501};
    for (size_t i = 0; i < SL_ARRAY_LEN(ok); i++) {
        if (ok[i] == s)
            return true;
    }
    return false;
}

bool
cache_entry_vary_meta(const struct http_head *resp, const struct http_head *reqh,
                      struct strbuf *meta)
{
    unsigned n = 0;
    for (unsigned i = 0; i < resp->nheaders; i++) {
        const struct http_header *h = &resp->headers[i];
        if (!(h->name.len == 4 && sl_slice_eq_lower(h->name, "vary")))
            continue;
        const char *p = h->value.p, *end = p + h->value.len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                p++;
            const char *s = p;
            while (p < end && *p != ',' && *p != ' ' && *p != '\t')
                p++;
            if (p == s)
                continue;
            if (p - s == 1 && *s == '*')
                return false;
            if (++n > CACHE_MAX_VARY || p - s > 64)
                return false;
            char name[65];
            for (size_t k = 0; k < (size_t)(p - s); k++)
                name[k] = (char)((s[k] >= 'A' && s[k] <= 'Z') ? s[k] + 32 : s[k]);
            name[p - s] = '\0';
            const struct http_header *rv = http_head_find(reqh, name);
            strbuf_append_str(meta, name);
            strbuf_append(meta, ": ", 2);
            if (rv != NULL)
                strbuf_append_slice(meta, rv->value);
            strbuf_append(meta, "\r\n", 2);
        }
    }
    return true;
}

bool
cache_entry_vary_matches(struct sl_slice meta, const struct http_head *reqh)
{
    const char *p = memchr(meta.p, '\n', meta.len), *end = meta.p + meta.len;
    if (p == NULL)
        return false;
    for (p++; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (eol == NULL || colon == NULL || colon > eol || eol - colon < 3)
            return false;
        char name[65];
        size_t nlen = (size_t)(colon - p);
        if (nlen > 64)
            return false;
        memcpy(name, p, nlen);
        name[nlen] = '\0';
        struct sl_slice want = {colon + 2, (size_t)(eol - 1 - (colon + 2))};
        const struct http_header *h = http_head_find(reqh, name);
        struct sl_slice got = h != NULL ? h->value : (struct sl_slice){"", 0};
        if (got.len != want.len || memcmp(got.p, want.p, got.len) != 0)
            return false;
        p = eol + 1;
    }
    return true;
}

/* RFC 9111 §3.5: a request with (forwarded) credentials is stored only
 * when the response says it may be shared. sluice's own bearer token is
 * never forwarded, so only another scheme counts. */
static bool
forwarded_authorization(const struct http_head *reqh)
{
    const struct http_header *a = http_head_find(reqh, "authorization");
    return a != NULL &&
           !(a->value.len >= 7 && sl_slice_eq_lower((struct sl_slice){a->value.p, 7}, "bearer "));
}

struct store_terms
cache_entry_terms(const struct http_head *h, const struct http_head *reqh,
                  const struct config_route *route)
{
    struct http_cache_control cc;
    http_cache_control_parse_response(h, &cc);
    struct store_terms t = {0};
    t.store = cache_freshness_storable(h, &cc, forwarded_authorization(reqh));
    if (!t.store)
        return t;
    const struct config_cache *conf = &route->cache;
    t.fresh_ms = cache_freshness_lifetime_ms(h, &cc, conf->ttl_ms, clock_wall_ms() / 1000);
    t.store = t.fresh_ms > 0;
    t.stale_if_error_ms =
        cc.stale_if_error_s != HTTP_CC_UNSET ? cc.stale_if_error_s * 1000 : conf->stale_if_error_ms;
    if (cache_freshness_stale_allowed(&cc))
        t.stale_while_revalidate_ms = cc.stale_while_revalidate_s != HTTP_CC_UNSET
                                          ? cc.stale_while_revalidate_s * 1000
                                          : conf->stale_while_revalidate_ms;
    return t;
}

bool
cache_entry_append_validators(struct strbuf *out, struct sl_slice stored)
{
    struct sl_slice etag = cache_entry_field(stored, "etag"),
                    lm = cache_entry_field(stored, "last-modified");
    if (etag.len > 0) {
        strbuf_append_str(out, "If-None-Match: ");
        strbuf_append_slice(out, etag);
        strbuf_append(out, "\r\n", 2);
    }
    if (lm.len > 0) {
        strbuf_append_str(out, "If-Modified-Since: ");
        strbuf_append_slice(out, lm);
        strbuf_append(out, "\r\n", 2);
    }
    return etag.len > 0 || lm.len > 0;
}
