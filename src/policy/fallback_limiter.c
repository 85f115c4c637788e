/*
 * fallback_limiter.c - in-process sliding windows for a Redis outage.
 */
#include "policy/fallback_limiter.h"

#include <pthread.h>
#include <string.h>

#include "config/config.h"

struct window {
    uint64_t caller; /* 0: empty */
    const struct config_limit *limit; /* borrowed: identifies the limit */
    int64_t newest;                   /* bucket index of counts[newest % N] */
    uint64_t counts[FALLBACK_BUCKETS + 1];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct window table[FALLBACK_SLOTS];

#define NB (FALLBACK_BUCKETS + 1) /* a window spans this many buckets at most */

static struct window *
window_for(uint64_t caller, const struct config_limit *lim, int64_t cur)
{
    uint64_t h = (caller ^ (uint64_t)(uintptr_t)lim) * 0x9e3779b97f4a7c15u;
    struct window *w = &table[h >> 50 & (FALLBACK_SLOTS - 1)];
    if (w->caller != caller || w->limit != lim)
        *w = (struct window){.caller = caller, .limit = lim, .newest = cur};
    /* Buckets older than the window are cleared as the window moves on. */
    for (int64_t i = w->newest + 1; i <= cur && i <= w->newest + NB; i++)
        w->counts[i % NB] = 0;
    if (cur > w->newest)
        w->newest = cur;
    return w;
}

static uint64_t
window_sum(const struct window *w, int64_t first, int64_t cur)
{
    uint64_t sum = 0;
    for (int64_t i = first > cur - NB + 1 ? first : cur - NB + 1; i <= cur; i++)
        sum += w->counts[i % NB];
    return sum;
}

bool
fallback_limiter_check(uint64_t caller, const struct config_limit *limits, size_t n,
                       unsigned gateways, int64_t now_ms, struct fallback_decision *out)
{
    struct window *win[RATELIMIT_MAX_LIMITS] = {0};
    uint64_t cost[RATELIMIT_MAX_LIMITS] = {0};
    bool admitted = true;
    int64_t worst = -1;
    if (gateways == 0)
        gateways = 1;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n; i++) {
        const struct config_limit *l = &limits[i];
        out->remaining[i] = (int64_t)l->amount;
        out->reset_ms[i] = 0;
        if (l->kind == CONFIG_LIMIT_CONCURRENT)
            continue;
        uint64_t amount = l->amount / gateways > 0 ? l->amount / gateways : 1;
        int64_t b = (l->window_ms + FALLBACK_BUCKETS - 1) / FALLBACK_BUCKETS;
        int64_t cur = now_ms / b, first = (now_ms - l->window_ms) / b;
        cost[i] = l->kind == CONFIG_LIMIT_TOKENS ? l->estimate : 1;
        win[i] = window_for(caller, l, cur);
        uint64_t used = window_sum(win[i], first, cur);
        out->remaining[i] = (int64_t)amount - (int64_t)used - (int64_t)cost[i];
        out->reset_ms[i] = (first + 1) * b + l->window_ms - now_ms;
        if (used + cost[i] > amount) {
            admitted = false;
            if (out->reset_ms[i] > worst) {
                worst = out->reset_ms[i];
                out->limit = i;
                out->retry_ms = worst;
            }
        }
    }
    for (size_t i = 0; admitted && i < n; i++) {
        if (win[i] != NULL)
            win[i]->counts[win[i]->newest % NB] += cost[i];
    }
    pthread_mutex_unlock(&mu);
    return admitted;
}
