/*
 * cache.c - the response cache stage (SPEC section 7, RFC 9111 as a shared
 * cache), after the limits: a hit is still a limited request.
 *
 *   GET/HEAD on a cache: route
 *     -> cache_get.lua (generation + entry, one round trip)
 *     -> fresh entry whose Vary'd fields match: answered here (X-Cache: HIT,
 *        Age; 304 to a matching If-None-Match)
 *     -> else forwarded (X-Cache: MISS); a storable response is recorded as
 *        it passes (policy/response_record.h) and stored when it ended whole
 *        (cache_put.lua, skipped when the route was purged meanwhile)
 *   unsafe methods: forwarded (BYPASS); a success drops the URL's entry
 *   (RFC 9111 §4.4)
 *
 * Redis failing is a miss, a corrupt entry is a miss: never an error.
 */
#include "policy/cache.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/metrics.h"
#include "config/config.h"
#include "core/req.h"
#include "core/worker.h"
#include "http/http_cache_control.h"
#include "http/http_range.h"
#include "http/http_reply.h"
#include "policy/cache_freshness.h"
#include "policy/cache_forget.h"
#include "policy/cache_hot.h"
#include "policy/cache_keys.h"
#include "policy/response_record.h"
#include "redis/redis_client.h"
#include "redis/redis_script.h"
#include "upstream/proxy.h"
#include "upstream/upstream_fetch.h"
#include "util/clock.h"
#include "util/log.h"

#define CACHE_MAX_ENTRY (1u << 20) /* bodies above 1 MiB are not stored */
#define CACHE_MAX_VARY 8           /* more Vary'd fields: not stored */
/* Past its freshness an entry is kept as long again, at least
 * CACHE_STALE_KEEP_MIN_MS and at most CACHE_STALE_KEEP_MAX_MS: to be
 * revalidated, and to answer while the upstream cannot be reached. */
#define CACHE_STALE_KEEP_MIN_MS (10 * 60 * 1000)
#define CACHE_STALE_KEEP_MAX_MS (24 * 3600 * 1000)

static struct {
    const struct redis_script *get, *put, *del, *unlock;
} scripts;
static pthread_once_t scripts_once = PTHREAD_ONCE_INIT;

static void
find_scripts(void)
{
    scripts.get = redis_script_find("cache_get");
    scripts.put = redis_script_find("cache_put");
    scripts.del = redis_script_find("cache_del");
    scripts.unlock = redis_script_find("cache_unlock");
}

enum cache_mode {
    CACHE_LOOKUP,     /* GET/HEAD: look up, store a miss */
    CACHE_STORE_ONLY, /* the client asked for a fresh answer: no lookup */
    CACHE_INVALIDATE, /* an unsafe method: drop the URL's entry on success */
    CACHE_NONE,       /* bypass */
};

/* A request's cache state (req->stage_data of this stage), freed on done. */
struct cache_req {
    struct req *req; /* borrowed: owns this */
    enum cache_mode mode;
    char hash[CACHE_HASH_HEX];
    char gen[24]; /* seen at lookup; "" when none was made */
    bool store;   /* the response is storable: record it */
    bool waited;  /* it waited for another request's answer once: no more */
    int64_t fresh_ms;
    int64_t stale_if_error_ms;
    int64_t stale_while_revalidate_ms;
    struct response_record rec;
    size_t mark_at; /* where this stage's lines begin in req->response_extra */
    /* A stale entry kept for stale-if-error: its value (owned) and the
     * view into it. */
    struct strbuf stale_value;
    struct response_record_view stale;
    bool has_stale;
    bool revalidating; /* the stale entry's validators went upstream */
    bool stale_if_error; /* the stale entry may answer an upstream failure */
    bool stale_if_5xx;   /* ... and a 5xx: within its stale-if-error time (RFC 5861 §4) */
    struct flight *leads;       /* borrowed: the flight this miss leads, or NULL */
    bool locked;                /* it holds the fleet's lock on the key (cache_get.lua) */
    unsigned polls;             /* looks again while another gateway holds the lock */
    struct event *poll_timer;   /* owns; NULL until it first waits */
    struct cache_req *next_waiter; /* borrowed: the next one waiting on a flight */
};

/*
 * Coalescing (SPEC section 7): concurrent misses for one key in one worker
 * make one upstream request. The first miss leads a flight; the next ones
 * wait on it (suspended in this stage) until the leader's exchange ended
 * (its entry is then stored, and they look again: a hit) or
 * CACHE_COALESCE_WAIT_MS passed (they go upstream themselves), whichever
 * is first: the wait stays inside the connection's stage deadline.
 */
#define CACHE_COALESCE_WAIT_MS 500
#define CACHE_FLIGHT_SLOTS 256

/*
 * Across gateways (SPEC section 7), a lookup that finds no entry takes
 * the key's lock in Redis in the same call (cache_get.lua): the holder
 * goes upstream, a request that finds it held looks again every
 * CACHE_LOCK_POLL_MS, CACHE_LOCK_POLLS times at most (so the wait, like
 * the flight's, stays inside the stage deadline), then goes upstream
 * itself. The holder's put releases it; an exchange that failed frees it;
 * a response that may not be stored leaves a "pass" marker for
 * CACHE_PASS_MS so that waiters do not queue on an uncacheable URL.
 */
#define CACHE_LOCK_MS "3000"
#define CACHE_LOCK_POLL_MS 50
#define CACHE_LOCK_POLLS 10
#define CACHE_PASS_MS "10000"

struct flight {
    const struct config_route *route; /* borrowed; the leader's config holds it */
    char hash[CACHE_HASH_HEX];
    struct cache_req *waiters; /* borrowed: suspended requests */
    struct event *timer;       /* owns */
    bool expired;              /* the wait is over: later misses do not wait */
    struct flight *next;       /* owned by the worker's table */
};

static _Thread_local struct flight *flights[CACHE_FLIGHT_SLOTS];

static struct cache_req *
cache_of(struct req *req)
{
    for (unsigned i = 0; i < req->stages_run_; i++) {
        if (req->stages_[i] == &cache_stage)
            return req->stage_data[i];
    }
    return NULL;
}

static void lookup(struct cache_req *c);
static void forward(struct cache_req *c, const char *result, const char *status_field);

static struct flight **
flight_slot(const struct config_route *route, const char *hash)
{
    unsigned h = (unsigned)((uintptr_t)route >> 4);
    for (const char *p = hash; *p; p++)
        h = h * 31 + (unsigned char)*p;
    struct flight **f = &flights[h % CACHE_FLIGHT_SLOTS];
    while (*f != NULL && ((*f)->route != route || strcmp((*f)->hash, hash) != 0))
        f = &(*f)->next;
    return f;
}

/* The waiters go on: those of a finished leader look again (a hit, most
 * likely); those whose wait ran out go upstream. */
static void
release_waiters(struct flight *f, bool look_again)
{
    struct cache_req *w = f->waiters;
    f->waiters = NULL;
    while (w != NULL) {
        struct cache_req *next = w->next_waiter;
        w->next_waiter = NULL;
        if (look_again)
            lookup(w);
        else
            forward(w, "MISS", "fwd=miss");
        w = next;
    }
}

static void
on_flight_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct flight *f = arg;
    f->expired = true;
    release_waiters(f, false);
}

/* The leader's exchange ended, and its entry (if any) is stored: misses
 * that arrived until then waited, so they now find it. */
static void
end_flight(struct flight *f)
{
    if (f == NULL)
        return;
    struct flight **slot = flight_slot(f->route, f->hash);
    *slot = f->next;
    event_free(f->timer);
    release_waiters(f, true);
    free(f);
}

/* A flight for route and hash, in its (empty) slot. */
static struct flight *
flight_new(struct flight **slot, struct worker *w, const struct config_route *route,
           const char *hash)
{
    struct flight *f = xcalloc(1, sizeof(*f));
    f->route = route;
    memcpy(f->hash, hash, sizeof(f->hash));
    f->timer = evtimer_new(w->base, on_flight_timer, f);
    struct timeval wait = {0, CACHE_COALESCE_WAIT_MS * 1000};
    evtimer_add(f->timer, &wait);
    *slot = f;
    return f;
}

/* A miss: wait on the flight of this key, or lead one. Returns true when
 * c now waits. */
static bool
join_flight(struct cache_req *c)
{
    struct req *req = c->req;
    if (c->leads != NULL)
        return false; /* it leads already (and looks again for the fleet) */
    struct flight **slot = flight_slot(req->route, c->hash);
    if (*slot != NULL) {
        if ((*slot)->expired || c->waited)
            return false;
        c->waited = true;
        c->next_waiter = (*slot)->waiters;
        (*slot)->waiters = c;
        return true;
    }
    c->leads = flight_new(slot, req->worker, req->route, c->hash);
    return false;
}

/* The value of a stored header line named lower_name ("etag"), or an
 * empty slice. */
static struct sl_slice
stored_field(struct sl_slice lines, const char *lower_name)
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

/* ---- storing ----------------------------------------------------------- */

static bool
status_storable(unsigned s)
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

/* The request fields an entry must match (Vary), as meta lines; false
 * when the response cannot be stored (Vary: *, too many fields). */
static bool
vary_meta(const struct http_head *resp, const struct http_head *reqh, struct strbuf *meta)
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

/* True when the entry's Vary'd fields (meta lines after the first) match. */
static bool
vary_matches(struct sl_slice meta, const struct http_head *reqh)
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
    return a != NULL && !(a->value.len >= 7 && sl_slice_eq_lower((struct sl_slice){a->value.p, 7},
                                                                  "bearer "));
}

/* Whether a response to a GET may be stored, how long it is fresh, and
 * how long past that it may be served stale (RFC 9111 §3, §4.2; RFC 5861).
 * reqh: the request it answered. */
struct store_terms {
    bool store;
    int64_t fresh_ms, stale_if_error_ms, stale_while_revalidate_ms;
};

static struct store_terms
get_terms(const struct http_head *h, const struct http_head *reqh,
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

static void
cache_response_head(struct req *req)
{
    struct cache_req *c = cache_of(req);
    if (c == NULL || !c->store)
        return;
    const struct http_head *h = &req->resp_head;
    struct http_cache_control cc;
    http_cache_control_parse(h, &cc);
    if (req->cache_post_) {
        /* The operator opted in: freshness is the route's ttl, and of the
         * response's Cache-Control only no-store counts (SPEC section 11). */
        c->store = status_storable(h->status) && !cc.no_store;
        c->fresh_ms = req->route->cache.ttl_ms;
        c->stale_if_error_ms = req->route->cache.stale_if_error_ms;
        if (c->store)
            response_record_head(&c->rec, h);
        return;
    }
    struct store_terms t = get_terms(h, &req->head, req->route);
    c->store = !req->head_only && t.store;
    c->fresh_ms = t.fresh_ms;
    c->stale_if_error_ms = t.stale_if_error_ms;
    c->stale_while_revalidate_ms = t.stale_while_revalidate_ms;
    if (c->store)
        response_record_head(&c->rec, h);
}

static void
cache_response_body(struct req *req, const char *p, size_t len)
{
    struct cache_req *c = cache_of(req);
    if (c != NULL && c->store && c->rec.status != 0)
        response_record_body(&c->rec, p, len);
}

static void
on_invalidated(void *arg, const struct redisReply *reply, const char *err)
{
    (void)arg, (void)reply, (void)err; /* a lost invalidation: the entry lives its TTL */
}

/* arg: the flight the stored response led, or NULL. */
static void
on_stored(void *arg, const struct redisReply *reply, const char *err)
{
    (void)reply, (void)err; /* a lost store is a later miss */
    end_flight(arg);
}

/* An entry's place: what a Redis call about it needs. */
struct entry_ref {
    struct worker *worker;
    const struct config *cfg;
    const struct config_route *route;
    const char *hash;
    const char *gen; /* the generation seen at lookup */
};

static struct entry_ref
entry_of(const struct cache_req *c)
{
    const struct req *req = c->req;
    return (struct entry_ref){req->worker, req->cfg, req->route, c->hash, c->gen};
}

/* Calls script with KEYS {the route's generation} and ARGV {the entry
 * prefix, the key hash, extra...}; false (nothing sent) when the keys do
 * not fit or the worker's Redis is gone (it is exiting). */
static bool
entry_script(const struct entry_ref *e, const struct redis_script *script, int nextra,
             const char *const *extra, const size_t *extralens, redis_reply_cb cb, void *arg)
{
    const char *name = e->route->name;
    char gen[CACHE_KEY_MAX], prefix[CACHE_KEY_MAX];
    int glen = cache_gen_key(gen, e->cfg->redis.prefix, name);
    if (glen < 0 || cache_entry_prefix(prefix, e->cfg->redis.prefix, name) < 0 ||
        e->worker->redis == NULL || nextra > 4)
        return false;
    const char *keys[] = {gen};
    const size_t keylens[] = {(size_t)glen};
    const char *args[6] = {prefix, e->hash};
    size_t arglens[6] = {strlen(prefix), strlen(e->hash)};
    for (int i = 0; i < nextra; i++) {
        args[2 + i] = extra[i];
        arglens[2 + i] = extralens[i];
    }
    redis_client_script(e->worker->redis, script, 1, keys, keylens, 2 + nextra, args, arglens,
                        cb, arg);
    return true;
}

static bool
route_script(struct cache_req *c, const struct redis_script *script, int nextra,
             const char *const *extra, const size_t *extralens, redis_reply_cb cb, void *arg)
{
    struct entry_ref e = entry_of(c);
    return entry_script(&e, script, nextra, extra, extralens, cb, arg);
}

/* Sends the put of rec, the response (head resp: its Age and Vary) to
 * reqh. Returns true when sent: the put's reply then ends the flight
 * leads. */
static bool
put_entry(const struct entry_ref *e, const struct response_record *rec,
          const struct store_terms *t, const struct http_head *resp, const struct http_head *reqh,
          struct flight *leads)
{
    /* meta: "<fresh_ms> <age_s> <stale_if_error_ms> <stale_while_revalidate_ms>\n"
     * then the Vary'd request fields. */
    struct strbuf meta = {0}, value = {0};
    char first[96];
    snprintf(first, sizeof(first), "%lld %lld %lld %lld\n", (long long)t->fresh_ms,
             (long long)cache_freshness_age_s(resp), (long long)t->stale_if_error_ms,
             (long long)t->stale_while_revalidate_ms);
    strbuf_append_str(&meta, first);
    bool sent = false;
    if (vary_meta(resp, reqh, &meta)) {
        response_record_encode(rec, clock_wall_ms(), (struct sl_slice){meta.p, meta.len}, &value);
        int64_t keep = t->fresh_ms < CACHE_STALE_KEEP_MIN_MS   ? CACHE_STALE_KEEP_MIN_MS
                       : t->fresh_ms > CACHE_STALE_KEEP_MAX_MS ? CACHE_STALE_KEEP_MAX_MS
                                                               : t->fresh_ms;
        if (keep < t->stale_if_error_ms)
            keep = t->stale_if_error_ms;
        if (keep < t->stale_while_revalidate_ms)
            keep = t->stale_while_revalidate_ms;
        char ttl[24];
        snprintf(ttl, sizeof(ttl), "%lld", (long long)(t->fresh_ms + keep));
        const char *extra[] = {e->gen, value.p, ttl};
        const size_t extralens[] = {strlen(e->gen), value.len, strlen(ttl)};
        sent = entry_script(e, scripts.put, 3, extra, extralens, on_stored, leads);
    }
    strbuf_deinit(&meta);
    strbuf_deinit(&value);
    return sent;
}

/* Sends the put of c's response; its reply then ends the flight c leads
 * (c->leads is cleared: the flight is the reply's). */
static bool
store_entry(struct cache_req *c, const struct http_head *resp)
{
    struct entry_ref e = entry_of(c);
    struct store_terms t = {true, c->fresh_ms, c->stale_if_error_ms, c->stale_while_revalidate_ms};
    if (!put_entry(&e, &c->rec, &t, resp, &c->req->head, c->leads))
        return false;
    c->leads = NULL;
    return true;
}

/* The lock holder ended without storing: pass (its response may not be
 * stored) or free the lock (its exchange failed). */
static void
unlock(struct cache_req *c, bool pass)
{
    const char *extra[] = {pass ? "pass" : "", CACHE_PASS_MS};
    const size_t extralens[] = {strlen(extra[0]), strlen(extra[1])};
    route_script(c, scripts.unlock, 2, extra, extralens, on_invalidated, NULL);
}

static void
invalidate(struct cache_req *c)
{
    cache_hot_forget_all();
    if (!route_script(c, scripts.del, 0, NULL, NULL, on_invalidated, NULL))
        return;
    const struct config *cfg = c->req->cfg;
    char gen[CACHE_KEY_MAX];
    int glen = cache_gen_key(gen, cfg->redis.prefix, c->req->route->name);
    cache_forget_publish(c->req->worker->redis, cfg->redis.prefix, gen, (size_t)glen);
}

static void
cache_done(struct req *req)
{
    struct cache_req *c = cache_of(req);
    if (c == NULL)
        return;
    bool whole = req->outcome == REQ_OUTCOME_COMPLETE && req->reached_upstream;
    if (c->mode == CACHE_INVALIDATE && whole && req->status < 400)
        invalidate(c);
    bool stored = c->mode != CACHE_INVALIDATE && c->store && whole && c->rec.status != 0 &&
                  !c->rec.too_big && store_entry(c, &req->resp_head);
    if (c->locked && !stored)
        unlock(c, whole);
    end_flight(c->leads); /* unless store_entry passed it on */
    if (c->poll_timer != NULL)
        event_free(c->poll_timer);
    response_record_deinit(&c->rec);
    strbuf_deinit(&c->stale_value);
    free(c);
}

/* ---- looking up -------------------------------------------------------- */

static void
mark(struct cache_req *c, const char *result, const char *status_field)
{
    struct req *req = c->req;
    c->mark_at = req->response_extra.len;
    req->cache_status = result;
    strbuf_append_str(&req->response_extra, "X-Cache: ");
    strbuf_append_str(&req->response_extra, result);
    strbuf_append_str(&req->response_extra, "\r\nCache-Status: sluice; ");
    strbuf_append_str(&req->response_extra, status_field);
    strbuf_append(&req->response_extra, "\r\n", 2);
    metrics_record_cache(req->worker->metrics, req->route->name, result);
}

static void
forward(struct cache_req *c, const char *result, const char *status_field)
{
    mark(c, result, status_field);
    req_next(c->req);
}

/* The entry's age now, in seconds (RFC 9111 §4.2.3). */
static int64_t
entry_age_s(const struct response_record_view *v, int64_t initial_age_s)
{
    int64_t resident = clock_wall_ms() - v->stored_at_ms;
    return initial_age_s + (resident > 0 ? resident / 1000 : 0);
}

static bool
etag_matches(const struct http_head *reqh, struct sl_slice stored_headers)
{
    const struct http_header *inm = http_head_find(reqh, "if-none-match");
    struct sl_slice etag = stored_field(stored_headers, "etag");
    if (inm == NULL || etag.len == 0)
        return false;
    if (inm->value.len == 1 && inm->value.p[0] == '*')
        return true;
    /* weak comparison (RFC 9110 §13.1.2): W/ prefixes ignored */
    if (etag.len > 2 && etag.p[0] == 'W' && etag.p[1] == '/')
        etag.p += 2, etag.len -= 2;
    return memmem(inm->value.p, inm->value.len, etag.p, etag.len) != NULL;
}

/* RFC 9110 §13.1.1-3: If-None-Match decides when present; else
 * If-Modified-Since against the stored Last-Modified (a GET or HEAD). */
static bool
not_modified(const struct http_head *reqh, struct sl_slice stored_headers)
{
    if (http_head_find(reqh, "if-none-match") != NULL)
        return etag_matches(reqh, stored_headers);
    const struct http_header *ims = http_head_find(reqh, "if-modified-since");
    struct sl_slice lm = stored_field(stored_headers, "last-modified");
    int64_t since, modified, now_s = clock_wall_ms() / 1000;
    return ims != NULL && lm.len > 0 && cache_freshness_http_date(ims->value, now_s, &since) &&
           cache_freshness_http_date(lm, now_s, &modified) && modified <= since;
}

/* A single byte range of a stored complete response (RFC 9110 §14.2);
 * If-Range is not evaluated: with one, the whole response answers. */
static void
answer_range(struct req *req, struct http_stored_response *resp)
{
    const struct http_header *range = http_head_find(&req->head, "range");
    uint64_t first, last;
    if (range == NULL || http_head_find(&req->head, "if-range") != NULL ||
        !(req->head.method.len == 3 && memcmp(req->head.method.p, "GET", 3) == 0) ||
        !http_range_single(range->value, resp->body.len, &first, &last))
        return;
    char line[96];
    snprintf(line, sizeof(line), "Content-Range: bytes %llu-%llu/%zu\r\n",
             (unsigned long long)first, (unsigned long long)last, resp->body.len);
    strbuf_append_str(&req->response_extra, line);
    resp->status = 206;
    resp->body = (struct sl_slice){resp->body.p + first, (size_t)(last - first + 1)};
}

/* Answers with a stored entry; result and status_field as mark's. */
static void
serve_stored(struct cache_req *c, const struct response_record_view *v, int64_t age_s,
             const char *result, const char *status_field)
{
    struct req *req = c->req;
    mark(c, result, status_field);
    char age[40];
    snprintf(age, sizeof(age), "Age: %lld\r\n", (long long)age_s);
    strbuf_append_str(&req->response_extra, age);
    /* A POST hit answers without forwarding: its body is consumed here. */
    if (req->cache_post_)
        req_consume_body_at_hand(req);
    struct http_stored_response resp = v->response;
    if (v->response.status == 200 && not_modified(&req->head, v->response.headers)) {
        resp.status = 304;
        resp.body = (struct sl_slice){"", 0};
    } else if (v->response.status == 200 && !req->cache_post_) {
        answer_range(req, &resp);
    }
    struct stage_reply r = {.status = resp.status, .stored = &resp};
    req_reply(req, &r);
}

/* Appends a stored entry's ETag and Last-Modified as If-None-Match and
 * If-Modified-Since lines; false when it has neither. */
static bool
append_validators(struct strbuf *out, struct sl_slice stored)
{
    struct sl_slice etag = stored_field(stored, "etag"), lm = stored_field(stored, "last-modified");
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

/* A stale entry with validators is revalidated (RFC 9111 §4.3.1): its
 * ETag and Last-Modified go upstream as If-None-Match and
 * If-Modified-Since, unless the client made its own request conditional
 * (its 304 then passes to it). */
static void
revalidate(struct cache_req *c)
{
    struct req *req = c->req;
    if (c->revalidating || http_head_find(&req->head, "if-none-match") != NULL ||
        http_head_find(&req->head, "if-modified-since") != NULL)
        return;
    c->revalidating = append_validators(&req->upstream_extra, c->stale.response.headers);
}

/* The reply dies with its callback: the stale entry is copied. */
static void
keep_stale(struct cache_req *c, const char *p, size_t len)
{
    c->stale_value.len = 0;
    strbuf_append(&c->stale_value, p, len);
    c->has_stale = response_record_decode(c->stale_value.p, c->stale_value.len, &c->stale);
}

/* A stale entry stands in for what the upstream failed to give: RFC 9111
 * §4.2.4 (cut off from it), RFC 5861 §4 (stale-if-error, also a 5xx). */
static const struct http_stored_response *
answer_stale(struct cache_req *c)
{
    struct req *req = c->req;
    c->store = false;
    req->response_extra.len = c->mark_at; /* it is no longer a plain MISS */
    mark(c, "STALE", "fwd=miss; detail=stale-if-error");
    char age[40];
    long long initial_age = 0, fresh = 0;
    sscanf(c->stale.meta.p, "%lld %lld", &fresh, &initial_age);
    snprintf(age, sizeof(age), "Age: %lld\r\n", (long long)entry_age_s(&c->stale, initial_age));
    strbuf_append_str(&req->response_extra, age);
    return &c->stale.response;
}

static const struct http_stored_response *
cache_upstream_failed(struct req *req)
{
    struct cache_req *c = cache_of(req);
    return c != NULL && c->stale_if_error ? answer_stale(c) : NULL;
}

/* The upstream said 304 to the revalidation: the stored entry, its fields
 * updated by the 304's (RFC 9111 §4.3.4), answers and is stored again,
 * fresh from now. */
static const struct http_stored_response *
cache_response_replace(struct req *req)
{
    struct cache_req *c = cache_of(req);
    if (c == NULL)
        return NULL;
    if (req->resp_head.status >= 500 && c->stale_if_5xx)
        return answer_stale(c);
    if (!c->revalidating || req->resp_head.status != 304)
        return NULL;
    req->response_extra.len = c->mark_at;
    mark(c, "REVALIDATED", "fwd=stale; fwd-status=304");
    strbuf_append_str(&req->response_extra, "Age: 0\r\n");
    response_record_freshen(&c->rec, &c->stale.response, &req->resp_head);
    struct strbuf buf = {0};
    struct http_head *merged = xmalloc(sizeof(*merged));
    if (response_record_parse_head(&c->rec, &buf, merged)) {
        struct store_terms t = get_terms(merged, &req->head, req->route);
        struct entry_ref e = entry_of(c);
        if (t.store && put_entry(&e, &c->rec, &t, merged, &req->head, c->leads))
            c->leads = NULL;
    }
    free(merged);
    strbuf_deinit(&buf);
    c->store = false;
    /* The answer is the freshened entry (c->rec lives until on_done). */
    c->stale.response = (struct http_stored_response){
        c->rec.status, {c->rec.headers.p, c->rec.headers.len}, {c->rec.body.p, c->rec.body.len}};
    return &c->stale.response;
}

/* ---- stale-while-revalidate ------------------------------------------ */

/*
 * A stale entry within its stale-while-revalidate time is served at once
 * (X-Cache: STALE) while the gateway asks the upstream again in the
 * background (RFC 5861 §3): once per key and worker (the refresh leads the
 * key's flight, so later requests neither start another nor, if they
 * miss, go upstream), with the stale entry's validators, and its answer
 * (a 304 updating the entry, or a new response) stored as a miss would be.
 */
struct refresh {
    struct worker *worker;
    struct config *cfg;               /* owns a reference: route borrows it */
    const struct config_route *route; /* borrowed from cfg */
    char hash[CACHE_HASH_HEX];
    char gen[24];
    struct strbuf request;        /* owns: the head sent upstream */
    struct http_head reqh;        /* slices borrow request: the Vary'd fields */
    struct strbuf stale_value;    /* owns: the stale entry, for a 304 */
    struct response_record_view stale;
    struct flight *leads; /* the key's flight, ended with the refresh */
};

static bool
conditional_field(struct sl_slice name)
{
    static const char *const dropped[] = {"if-none-match", "if-modified-since", "if-match",
                                          "if-unmodified-since", "if-range", "range",
                                          "cache-control", "pragma", "expect"};
    for (size_t i = 0; i < SL_ARRAY_LEN(dropped); i++) {
        if (name.len == strlen(dropped[i]) && sl_slice_eq_lower(name, dropped[i]))
            return true;
    }
    return false;
}

/* The refresh's request: the client's head as it would go upstream, as a
 * GET, without the client's own conditions and cache directives, with the
 * stale entry's validators. */
static void
refresh_request(struct sl_slice built, struct sl_slice stored, struct strbuf *out)
{
    const char *p = built.p, *end = p + built.len;
    const char *sp = memchr(p, ' ', built.len), *eol = memchr(p, '\n', built.len);
    if (sp == NULL || eol == NULL || sp > eol)
        return;
    strbuf_append_str(out, "GET");
    strbuf_append(out, sp, (size_t)(eol + 1 - sp));
    for (p = eol + 1; p < end && *p != '\r';) {
        eol = memchr(p, '\n', (size_t)(end - p));
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (eol == NULL || colon == NULL || colon > eol)
            break;
        if (!conditional_field((struct sl_slice){p, (size_t)(colon - p)}))
            strbuf_append(out, p, (size_t)(eol + 1 - p));
        p = eol + 1;
    }
    append_validators(out, stored);
    strbuf_append(out, "\r\n", 2);
}

static void
refresh_free(struct refresh *r)
{
    worker_background_end(r->worker);
    strbuf_deinit(&r->request);
    strbuf_deinit(&r->stale_value);
    config_unref(r->cfg);
    free(r);
}

/* Stores what the refresh brought back; true when a put was sent (its
 * reply ends the flight). */
static bool
refresh_store(struct refresh *r, const struct upstream_fetch_result *res)
{
    struct entry_ref e = {r->worker, r->cfg, r->route, r->hash, r->gen};
    struct response_record rec;
    response_record_init(&rec, CACHE_MAX_ENTRY);
    struct strbuf bytes = {0};
    struct http_head *merged = xcalloc(1, sizeof(*merged));
    const struct http_head *h = res->head;
    struct store_terms t = {0};
    if (h->status == 304) {
        response_record_freshen(&rec, &r->stale.response, h);
        if (response_record_parse_head(&rec, &bytes, merged)) {
            h = merged;
            t = get_terms(h, &r->reqh, r->route);
        }
    } else {
        t = get_terms(h, &r->reqh, r->route);
        response_record_head(&rec, h);
        response_record_body(&rec, res->body.p, res->body.len);
    }
    bool sent = t.store && !rec.too_big && put_entry(&e, &rec, &t, h, &r->reqh, r->leads);
    free(merged);
    strbuf_deinit(&bytes);
    response_record_deinit(&rec);
    return sent;
}

static void
on_refreshed(void *arg, const struct upstream_fetch_result *res)
{
    struct refresh *r = arg;
    if (res->error != NULL)
        log_info("cache: background revalidation on route %s failed: %s", r->route->name,
                 res->error);
    if (res->error != NULL || !refresh_store(r, res))
        end_flight(r->leads);
    refresh_free(r);
}

/* Starts the background refresh of c's stale entry, unless a request for
 * the key is upstream already. */
static void
start_refresh(struct cache_req *c)
{
    struct req *req = c->req;
    struct flight **slot = flight_slot(req->route, c->hash);
    if (*slot != NULL || req->conn == NULL || req->cfg != req->worker->cfg ||
        req->head.body != HTTP_BODY_NONE)
        return;
    struct refresh *r = xcalloc(1, sizeof(*r));
    struct strbuf built = {0};
    proxy_build_request_head(req, &built);
    refresh_request((struct sl_slice){built.p, built.len}, c->stale.response.headers, &r->request);
    strbuf_deinit(&built);
    struct http_msg_parser mp;
    http_msg_parser_init(&mp, HTTP_MSG_REQUEST, false);
    if (http_parse_head(&mp, &r->reqh, r->request.p, r->request.len, r->request.len) !=
        HTTP_PARSE_OK) {
        strbuf_deinit(&r->request);
        free(r);
        return;
    }
    r->worker = req->worker;
    worker_background_begin(r->worker);
    r->cfg = config_ref(req->cfg);
    r->route = req->route;
    memcpy(r->hash, c->hash, sizeof(r->hash));
    memcpy(r->gen, c->gen, sizeof(r->gen));
    strbuf_append(&r->stale_value, c->stale_value.p, c->stale_value.len);
    response_record_decode(r->stale_value.p, r->stale_value.len, &r->stale);
    r->leads = flight_new(slot, req->worker, req->route, c->hash);
    upstream_fetch_start(req->worker->pools[req->route->upstream->index],
                         (struct sl_slice){r->request.p, r->request.len}, CACHE_MAX_ENTRY,
                         on_refreshed, r);
}

/* Judges a stored value (from Redis, or the worker's hot copy): a fresh
 * one whose Vary'd fields match answers (true); a stale one is kept for
 * revalidation and stale-if-error. from_redis: a hit is copied into the
 * worker's hot layer. */
static bool
try_entry(struct cache_req *c, const char *p, size_t len, bool from_redis)
{
    struct req *req = c->req;
    struct response_record_view v;
    if (!response_record_decode(p, len, &v) || !vary_matches(v.meta, &req->head))
        return false;
    struct http_cache_control rcc;
    http_cache_control_parse(&req->head, &rcc);
    long long fresh_ms = 0, initial_age = 0, sie_ms = 0, swr_ms = 0;
    sscanf(v.meta.p, "%lld %lld %lld %lld", &fresh_ms, &initial_age, &sie_ms, &swr_ms);
    int64_t now_ms = clock_wall_ms();
    int64_t age_s = entry_age_s(&v, initial_age);
    int64_t age_ms = now_ms - v.stored_at_ms + initial_age * 1000;
    if (age_ms < fresh_ms && (rcc.max_age_s == HTTP_CC_UNSET || age_s <= rcc.max_age_s)) {
        if (from_redis)
            cache_hot_put(req->worker->hot, req->route->name, c->hash, (struct sl_slice){p, len},
                          now_ms, now_ms + (fresh_ms - age_ms));
        serve_stored(c, &v, age_s, "HIT", "hit");
        return true;
    }
    if (!from_redis)
        return false; /* Redis has the last word on a stale entry */
    keep_stale(c, p, len);
    if (c->has_stale && !req->cache_post_ && age_ms < fresh_ms + swr_ms &&
        rcc.max_age_s == HTTP_CC_UNSET) {
        start_refresh(c); /* before the answer: c may be gone after it */
        serve_stored(c, &c->stale, age_s, "STALE", "hit; detail=stale-while-revalidate");
        return true;
    }
    if (c->has_stale && !req->cache_post_)
        revalidate(c);
    if (!c->has_stale)
        return false;
    /* RFC 9111 §4.2.4: a cache cut off from the upstream may answer with a
     * stale entry, unless the response forbade it; a POST entry only
     * within its stale-if-error window. */
    struct http_cache_control scc;
    http_cache_control_parse_stored(c->stale.response.headers, &scc);
    c->stale_if_5xx = age_ms < fresh_ms + sie_ms;
    c->stale_if_error = req->cache_post_ ? c->stale_if_5xx : cache_freshness_stale_allowed(&scc);
    return false;
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    lookup(arg);
}

/* Another gateway holds the key's lock: look again shortly. */
static void
poll_later(struct cache_req *c)
{
    if (c->poll_timer == NULL)
        c->poll_timer = evtimer_new(c->req->worker->base, on_poll, c);
    c->polls++;
    struct timeval wait = {0, CACHE_LOCK_POLL_MS * 1000};
    evtimer_add(c->poll_timer, &wait);
}

static void
on_lookup(void *arg, const struct redisReply *reply, const char *err)
{
    struct cache_req *c = arg;
    struct req *req = c->req;
    long long lock = -1; /* cache_get.lua's lock answer; -1: none */
    if (err == NULL && reply->type == REDIS_REPLY_ARRAY &&
        (reply->elements == 2 || reply->elements == 3) &&
        reply->element[0]->type == REDIS_REPLY_STRING) {
        snprintf(c->gen, sizeof(c->gen), "%s", reply->element[0]->str);
        const struct redisReply *e = reply->element[1];
        if (e->type == REDIS_REPLY_STRING && try_entry(c, e->str, e->len, true))
            return;
        if (reply->elements == 3 && reply->element[2]->type == REDIS_REPLY_INTEGER)
            lock = reply->element[2]->integer;
    }
    c->locked = c->locked || lock == 1; /* released on done, however it ends */
    struct http_cache_control rcc;
    http_cache_control_parse(&req->head, &rcc);
    if (rcc.only_if_cached) {
        mark(c, "MISS", "fwd=miss");
        req_fail(req, 504, "not_cached", "only-if-cached and no fresh entry is stored");
        return;
    }
    bool may_wait = err == NULL && req->conn != NULL;
    if (may_wait && join_flight(c))
        return; /* another request of this key in this worker is upstream: wait for its answer */
    if (may_wait && lock == 0 && c->polls < CACHE_LOCK_POLLS) {
        poll_later(c); /* another gateway's request is upstream */
        return;
    }
    forward(c, "MISS", "fwd=miss");
}

/* A POST on a route that caches POST: its body is part of the key, so the
 * whole body must have come with the head (an LLM request does); a larger
 * one streams upstream uncached. */
static bool
post_cacheable(const struct req *req)
{
    struct sl_slice body = req_body_at_hand(req);
    return req->head.body == HTTP_BODY_NONE ||
           (req->head.body == HTTP_BODY_LENGTH && body.len == req->head.content_length);
}

/* POST entries are per user unless the route says scope: shared. */
static bool
per_user(const struct req *req)
{
    const struct config_cache *cc = &req->route->cache;
    if (req->cache_post_)
        return !(cc->scope_set && cc->scope == CONFIG_CACHE_SHARED);
    return cc->scope == CONFIG_CACHE_USER;
}

static enum cache_mode
mode_for(struct req *req)
{
    const struct config_cache *cc = &req->route->cache;
    unsigned bit = config_method_bit(req->head.method.p, req->head.method.len);
    bool get = bit == CONFIG_METHOD_GET || bit == CONFIG_METHOD_HEAD;
    req->cache_post_ = bit == CONFIG_METHOD_POST && (cc->methods & bit) && post_cacheable(req);
    if (!req->cache_post_ && (!get || !(cc->methods & bit)))
        /* RFC 9111 §4.4: unsafe, not merely non-idempotent (PUT, DELETE too). */
        return http_method_safe(req->head.method) || (cc->methods & bit) ? CACHE_NONE
                                                                        : CACHE_INVALIDATE;
    if (per_user(req) && req->id.user[0] == '\0')
        return CACHE_NONE;
    struct http_cache_control rcc;
    http_cache_control_parse(&req->head, &rcc);
    if (rcc.no_store)
        return CACHE_NONE;
    const struct http_header *pragma = http_head_find(&req->head, "pragma");
    if (rcc.no_cache || rcc.max_age_s == 0 ||
        (pragma != NULL && http_list_has_token(pragma->value, "no-cache") &&
         http_head_find(&req->head, "cache-control") == NULL))
        return CACHE_STORE_ONLY;
    return CACHE_LOOKUP;
}

static void
cache_run(struct req *req)
{
    if (req->route == NULL || !req->route->cache.enabled) {
        req_next(req);
        return;
    }
    struct cache_req *c = xcalloc(1, sizeof(*c));
    c->req = req;
    response_record_init(&c->rec, CACHE_MAX_ENTRY);
    req->stage_data[req->stage] = c;
    c->mode = mode_for(req);
    /* Every mode may call a script (an invalidation too), not only a lookup. */
    pthread_once(&scripts_once, find_scripts);
    struct sl_slice body = req_body_at_hand(req);
    cache_key_hash(req->target.p, req->target.len, per_user(req) ? req->id.user : "",
                   req->cache_post_ ? &body : NULL, c->hash);
    switch (c->mode) {
    case CACHE_NONE:
    case CACHE_INVALIDATE:
        forward(c, "BYPASS", "fwd=bypass");
        return;
    case CACHE_STORE_ONLY:
        c->store = true;
        forward(c, "MISS", "fwd=request");
        return;
    case CACHE_LOOKUP:
        break;
    }
    c->store = true;
    lookup(c);
}

static void
lookup(struct cache_req *c)
{
    struct req *req = c->req;
    struct sl_slice hot = cache_hot_get(req->worker->hot, req->route->name, c->hash, clock_wall_ms());
    if (hot.len > 0 && try_entry(c, hot.p, hot.len, false))
        return; /* a hot key: answered from the worker's copy, no Redis */
    /* A HEAD's answer is not stored: it would only leave "pass" behind. */
    const char *extra[] = {CACHE_LOCK_MS};
    const size_t extralens[] = {strlen(CACHE_LOCK_MS)};
    if (!route_script(c, scripts.get, req->head_only ? 0 : 1, extra, extralens, on_lookup, c))
        forward(c, "BYPASS", "fwd=bypass");
}

const struct stage cache_stage = {
    .name = "cache",
    .run = cache_run,
    .on_response_head = cache_response_head,
    .on_response_body = cache_response_body,
    .on_response_replace = cache_response_replace,
    .on_upstream_failed = cache_upstream_failed,
    .on_done = cache_done,
};
