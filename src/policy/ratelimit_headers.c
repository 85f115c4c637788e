/*
 * ratelimit_headers.c - RateLimit-Policy, RateLimit and Retry-After.
 */
#include "policy/ratelimit_headers.h"

#include "config/config.h"

static uint64_t
seconds_up(int64_t ms)
{
    return ms <= 0 ? 0 : (uint64_t)(ms + 999) / 1000;
}

/* The item's name is a quoted sf-string; config.c allows only
 * [A-Za-z0-9_.-] in limit names, so nothing needs escaping. */
static void
append_name(struct strbuf *out, const char *name)
{
    strbuf_append(out, "\"", 1);
    strbuf_append_str(out, name);
    strbuf_append(out, "\"", 1);
}

void
ratelimit_headers_policy(struct strbuf *out, const struct config_limit *limits, size_t n)
{
    strbuf_append_str(out, "RateLimit-Policy: ");
    for (size_t i = 0; i < n; i++) {
        const struct config_limit *l = &limits[i];
        if (i > 0)
            strbuf_append(out, ", ", 2);
        append_name(out, l->name);
        strbuf_append(out, ";q=", 3);
        strbuf_append_u64(out, l->amount);
        if (l->kind == CONFIG_LIMIT_CONCURRENT) {
            strbuf_append_str(out, ";qu=\"concurrent-requests\"");
            continue;
        }
        strbuf_append(out, ";w=", 3);
        strbuf_append_u64(out, seconds_up(l->window_ms));
        if (l->kind == CONFIG_LIMIT_TOKENS)
            strbuf_append_str(out, ";qu=\"tokens\"");
    }
    strbuf_append(out, "\r\n", 2);
}

void
ratelimit_headers_current(struct strbuf *out, const struct config_limit *lim, int64_t remaining,
                          int64_t reset_ms)
{
    strbuf_append_str(out, "RateLimit: ");
    append_name(out, lim->name);
    strbuf_append(out, ";r=", 3);
    strbuf_append_u64(out, remaining > 0 ? (uint64_t)remaining : 0);
    strbuf_append(out, ";t=", 3);
    strbuf_append_u64(out, seconds_up(reset_ms));
    strbuf_append(out, "\r\n", 2);
}

size_t
ratelimit_headers_closest(const struct config_limit *limits, const int64_t *remaining, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        double share = (double)(remaining[i] > 0 ? remaining[i] : 0) / (double)limits[i].amount;
        double least = (double)(remaining[best] > 0 ? remaining[best] : 0) /
                       (double)limits[best].amount;
        if (share < least)
            best = i;
    }
    return best;
}

uint64_t
ratelimit_retry_after_s(int64_t retry_ms)
{
    uint64_t s = seconds_up(retry_ms);
    return s == 0 ? 1 : s;
}
