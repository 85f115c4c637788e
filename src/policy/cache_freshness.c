/*
 * cache_freshness.c - storability, freshness and Age of a response.
 */
#include "policy/cache_freshness.h"

#include <string.h>

#include "http/http_cache_control.h"
#include "http/http_parse.h"

#define AGE_MAX 2147483648LL

static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const long_days[] = {"sunday",   "monday", "tuesday", "wednesday",
                                        "thursday", "friday", "saturday"};
static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};

/* A cursor over a date being parsed. */
struct cur {
    const char *p, *end;
};

static bool
lit(struct cur *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* Exactly n digits. */
static bool
digits(struct cur *c, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, c->p++) {
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return false;
        v = v * 10 + (*c->p - '0');
    }
    *out = v;
    return true;
}

/* One of names (case-insensitive), ended by a non-letter; its index. */
static bool
name(struct cur *c, const char *const *names, int n, int *out)
{
    const char *s = c->p;
    while (c->p < c->end && ((*c->p >= 'a' && *c->p <= 'z') || (*c->p >= 'A' && *c->p <= 'Z')))
        c->p++;
    for (int i = 0; i < n; i++) {
        if (sl_slice_eq_lower((struct sl_slice){s, (size_t)(c->p - s)}, names[i])) {
            *out = i;
            return true;
        }
    }
    return false;
}

static bool
gmt(struct cur *c)
{
    if (c->end - c->p != 3)
        return false;
    bool ok = sl_slice_eq_lower((struct sl_slice){c->p, 3}, "gmt");
    c->p += 3;
    return ok;
}

static bool
time_of_day(struct cur *c, int *h, int *m, int *s)
{
    return digits(c, 2, h) && lit(c, ":") && digits(c, 2, m) && lit(c, ":") && digits(c, 2, s) &&
           *h < 24 && *m < 60 && *s < 61;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * civil-from-days inverse). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool
cache_freshness_http_date(struct sl_slice v, int64_t now_s, int64_t *out_s)
{
    struct cur c = {v.p, v.p + v.len};
    int wd, day, mon, year, h, m, s;
    struct cur again = c;
    if (name(&c, days, 7, &wd) && lit(&c, ", ")) {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        if (!(digits(&c, 2, &day) && lit(&c, " ") && name(&c, months, 12, &mon) &&
              lit(&c, " ") && digits(&c, 4, &year) && lit(&c, " ") &&
              time_of_day(&c, &h, &m, &s) && lit(&c, " ") && gmt(&c)))
            return false;
    } else if (c = again, name(&c, long_days, 7, &wd) && lit(&c, ", ")) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT; a two-digit year is the
         * latest one at most 50 years ahead of now. */
        if (!(digits(&c, 2, &day) && lit(&c, "-") && name(&c, months, 12, &mon) &&
              lit(&c, "-") && digits(&c, 2, &year) && lit(&c, " ") &&
              time_of_day(&c, &h, &m, &s) && lit(&c, " ") && gmt(&c)))
            return false;
        int now_year = (int)(1970 + (now_s / 86400) / 365.2425);
        year += now_year / 100 * 100;
        if (year > now_year + 50)
            year -= 100;
        else if (year + 100 <= now_year + 50)
            year += 100;
    } else if (c = again, name(&c, days, 7, &wd) && lit(&c, " ")) {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        if (!(name(&c, months, 12, &mon) && lit(&c, " ")))
            return false;
        if (c.p < c.end && *c.p == ' ') {
            c.p++;
            if (!digits(&c, 1, &day))
                return false;
        } else if (!digits(&c, 2, &day)) {
            return false;
        }
        if (!(lit(&c, " ") && time_of_day(&c, &h, &m, &s) && lit(&c, " ") &&
              digits(&c, 4, &year) && c.p == c.end))
            return false;
    } else {
        return false;
    }
    if (day < 1 || day > 31)
        return false;
    *out_s = days_from_civil(year, mon + 1, day) * 86400 + h * 3600 + m * 60 + s;
    return true;
}

int64_t
cache_freshness_age_s(const struct http_head *resp)
{
    const struct http_header *age = http_head_find(resp, "age");
    if (age == NULL)
        return 0;
    const char *p = age->value.p, *end = p + age->value.len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    int64_t v = 0;
    const char *start = p;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (v < AGE_MAX)
            v = v * 10 + (*p - '0');
    }
    /* "7200.0", "-1", "abc": not delta-seconds, ignored; "7200, 0" and
     * "7200;x" begin with one. */
    if (p == start || (p < end && *p != ',' && *p != ';' && *p != ' ' && *p != '\t'))
        return 0;
    return v > AGE_MAX ? AGE_MAX : v;
}

/* RFC 9110 §15.1: heuristically cacheable by default. */
static bool
heuristic_status(unsigned s)
{
    static const unsigned ok[] = {200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501};
    for (size_t i = 0; i < SL_ARRAY_LEN(ok); i++) {
        if (ok[i] == s)
            return true;
    }
    return false;
}

/* The status codes RFC 9110 defines (for must-understand, §5.2.2.3). */
static bool
understood_status(unsigned s)
{
    return (s >= 200 && s <= 206) || (s >= 300 && s <= 308 && s != 306) ||
           (s >= 400 && s <= 417) || s == 421 || s == 422 || s == 426 || (s >= 500 && s <= 505);
}

static bool
explicit_freshness(const struct http_head *resp, const struct http_cache_control *cc)
{
    return cc->s_maxage_s != HTTP_CC_UNSET || cc->max_age_s != HTTP_CC_UNSET ||
           http_head_find(resp, "expires") != NULL;
}

bool
cache_freshness_storable(const struct http_head *resp, const struct http_cache_control *cc,
                         bool authorized)
{
    unsigned s = resp->status;
    /* 206 and 304 are not complete responses to store (partial content is
     * not combined here). */
    if (s < 200 || s == 206 || s == 304)
        return false;
    if (cc->must_understand ? !understood_status(s) : cc->no_store)
        return false;
    if (cc->private_ || cc->no_cache)
        return false;
    if (authorized && !(cc->public_ || cc->must_revalidate || cc->s_maxage_s != HTTP_CC_UNSET))
        return false;
    bool explicit = explicit_freshness(resp, cc);
    if (!explicit && !cc->public_ && !heuristic_status(s))
        return false;
    /* A Set-Cookie is shared only when the origin said how long the
     * response is fresh, never on a guess (heuristic or the route's ttl). */
    return explicit || http_head_find(resp, "set-cookie") == NULL;
}

int64_t
cache_freshness_lifetime_ms(const struct http_head *resp, const struct http_cache_control *cc,
                            uint32_t ttl_ms, int64_t now_s)
{
    if (cc->s_maxage_s != HTTP_CC_UNSET)
        return cc->s_maxage_s * 1000;
    if (cc->max_age_s != HTTP_CC_UNSET)
        return cc->max_age_s * 1000;
    int64_t date = now_s, e, lm;
    const struct http_header *d = http_head_find(resp, "date");
    if (d != NULL && !cache_freshness_http_date(d->value, now_s, &date))
        date = now_s;
    const struct http_header *exp = http_head_find(resp, "expires");
    if (exp != NULL) /* an invalid Expires means "already expired" (§5.3) */
        return cache_freshness_http_date(exp->value, now_s, &e) && e > date ? (e - date) * 1000 : 0;
    if (!cc->public_ && !heuristic_status(resp->status))
        return 0;
    if (ttl_ms > 0)
        return ttl_ms;
    const struct http_header *lmh = http_head_find(resp, "last-modified");
    if (lmh == NULL || !cache_freshness_http_date(lmh->value, now_s, &lm) || lm >= date)
        return 0;
    int64_t h = (date - lm) * 100; /* 10% of it, in ms (§4.2.2) */
    return h < CACHE_HEURISTIC_MAX_MS ? h : CACHE_HEURISTIC_MAX_MS;
}

bool
cache_freshness_stale_allowed(const struct http_cache_control *cc)
{
    return !cc->no_cache && !cc->must_revalidate && !cc->proxy_revalidate &&
           cc->s_maxage_s == HTTP_CC_UNSET;
}
