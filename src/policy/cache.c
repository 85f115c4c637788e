/*
 * cache.c - the response cache stage (SPEC section 7, RFC 9111 as a shared
 * cache), after the limits: a hit is still a limited request.
 *
 *   GET/HEAD on a cache: route
 *     -> the worker's hot copy (policy/cache_hot.h), else cache_get.lua
 *        (generation + entry, one round trip; the fleet's lock on a
 *        missing entry: cache_redis.c)
 *     -> fresh entry whose Vary'd fields match: answered here (X-Cache: HIT,
 *        Age; 304 to a matching If-None-Match)
 *     -> stale within stale-while-revalidate: answered (STALE), refreshed in
 *        the background (cache_refresh.c)
 *     -> else a miss: it waits on another request of the key (cache_flight.c)
 *        or is forwarded (X-Cache: MISS); a storable response is recorded as
 *        it passes (policy/response_record.h) and stored when it ended whole
 *        (cache_put.lua, skipped when the route was purged meanwhile)
 *   unsafe methods: forwarded (BYPASS); a success drops the URL's entry
 *   (RFC 9111 §4.4)
 *
 * Redis failing is a miss, a corrupt entry is a miss: never an error.
 * The files of the stage share policy/cache_internal.h.
 */
#include "policy/cache.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/metrics.h"
#include "config/config.h"
#include "core/req.h"
#include "core/worker.h"
#include "http/http_cache_control.h"
#include "http/http_range.h"
#include "http/http_reply.h"
#include "policy/cache_freshness.h"
#include "policy/cache_hot.h"
#include "policy/cache_internal.h"
#include "util/clock.h"

static struct cache_req *
cache_of(struct req *req)
{
    for (unsigned i = 0; i < req->stages_run_; i++) {
        if (req->stages_[i] == &cache_stage)
            return req->stage_data[i];
    }
    return NULL;
}

/* The response will not be stored: the misses waiting for it, in this
 * worker (the flight) and in the fleet (the key's lock, left `pass`), go
 * upstream now rather than when it ends. */
static void
pass_on(struct cache_req *c)
{
    cache_flight_pass(c->leads);
    if (c->locked) {
        cache_redis_unlock(c, true);
        c->locked = false;
    }
}

/* A storable response: recorded from its head on. A stream (its body
 * comes over time) is relayed to the waiters rather than awaited. */
static void
record_head(struct cache_req *c, const struct http_head *h)
{
    response_record_head(&c->rec, h);
    if (h->body != HTTP_BODY_LENGTH && h->body != HTTP_BODY_NONE &&
        http_head_find(h, "vary") == NULL)
        cache_flight_follow(c->leads, c);
}

/* Whether the response may be stored, judged from its head: a POST by
 * the route's terms (the operator opted in: freshness is the route's ttl,
 * and of the response's Cache-Control only no-store counts, SPEC section
 * 11), anything else by RFC 9111's. */
static void
judge_response(struct cache_req *c, const struct http_head *h)
{
    struct req *req = c->req;
    if (req->cache_post_) {
        struct http_cache_control cc;
        http_cache_control_parse(h, &cc);
        c->store = cache_entry_post_storable(h->status) && !cc.no_store;
        c->fresh_ms = req->route->cache.ttl_ms;
        c->stale_if_error_ms = req->route->cache.stale_if_error_ms;
        return;
    }
    struct store_terms t = cache_entry_terms(h, &req->head, req->route);
    c->store = !req->head_only && t.store;
    c->fresh_ms = t.fresh_ms;
    c->stale_if_error_ms = t.stale_if_error_ms;
    c->stale_while_revalidate_ms = t.stale_while_revalidate_ms;
}

static void
cache_response_head(struct req *req)
{
    struct cache_req *c = cache_of(req);
    if (c == NULL)
        return;
    const struct http_head *h = &req->resp_head;
    if (c->store)
        judge_response(c, h);
    if (c->store)
        record_head(c, h);
    else
        pass_on(c);
}

static void
cache_response_body(struct req *req, const char *p, size_t len)
{
    struct cache_req *c = cache_of(req);
    if (c == NULL)
        return;
    if (c->store && c->rec.status != 0)
        response_record_body(&c->rec, p, len);
    cache_flight_push(c->leads, p, len);
}

/* Sends the put of c's response; its reply then ends the flight c leads
 * (c->leads is cleared: the flight is the reply's). */
static bool
store_entry(struct cache_req *c, const struct http_head *resp)
{
    struct entry_ref e = cache_redis_ref(c);
    struct store_terms t = {true, c->fresh_ms, c->stale_if_error_ms, c->stale_while_revalidate_ms};
    if (!cache_redis_put(&e, &c->rec, &t, resp, &c->req->head, c->leads))
        return false;
    c->leads = NULL;
    return true;
}

static void
cache_done(struct req *req)
{
    struct cache_req *c = cache_of(req);
    if (c == NULL)
        return;
    bool whole = req->outcome == REQ_OUTCOME_COMPLETE && req->reached_upstream;
    if (c->following != NULL)
        cache_flight_leave(c);
    cache_flight_unfollow_all(c->leads, whole);
    if (c->mode == CACHE_INVALIDATE && whole && req->status < 400)
        cache_redis_invalidate(c);
    bool stored = c->mode != CACHE_INVALIDATE && c->store && whole && c->rec.status != 0 &&
                  !c->rec.too_big && store_entry(c, &req->resp_head);
    if (c->locked && !stored)
        cache_redis_unlock(c, whole);
    cache_flight_end(c->leads); /* unless store_entry passed it on */
    if (c->poll_timer != NULL)
        event_free(c->poll_timer);
    response_record_deinit(&c->rec);
    strbuf_deinit(&c->stale_value);
    free(c);
}

void
cache_mark(struct cache_req *c, const char *result, const char *status_field)
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

void
cache_forward(struct cache_req *c, const char *result, const char *status_field)
{
    cache_mark(c, result, status_field);
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
    struct sl_slice etag = cache_entry_field(stored_headers, "etag");
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
    struct sl_slice lm = cache_entry_field(stored_headers, "last-modified");
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
    cache_mark(c, result, status_field);
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
    c->revalidating =
        cache_entry_append_validators(&req->upstream_extra, c->stale.response.headers);
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
    cache_mark(c, "STALE", "fwd=miss; detail=stale-if-error");
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
    if (c != NULL)
        cache_flight_unfollow_all(c->leads, false); /* late comers must not attach */
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
    cache_mark(c, "REVALIDATED", "fwd=stale; fwd-status=304");
    strbuf_append_str(&req->response_extra, "Age: 0\r\n");
    response_record_freshen(&c->rec, &c->stale.response, &req->resp_head);
    struct strbuf buf = {0};
    struct http_head *merged = xmalloc(sizeof(*merged));
    if (response_record_parse_head(&c->rec, &buf, merged)) {
        struct store_terms t = cache_entry_terms(merged, &req->head, req->route);
        struct entry_ref e = cache_redis_ref(c);
        if (t.store && cache_redis_put(&e, &c->rec, &t, merged, &req->head, c->leads))
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

/* Judges a stored value (from Redis, or the worker's hot copy): a fresh
 * one whose Vary'd fields match answers (true); a stale one is kept for
 * revalidation and stale-if-error. from_redis: a hit is copied into the
 * worker's hot layer. */
static bool
try_entry(struct cache_req *c, const char *p, size_t len, bool from_redis)
{
    struct req *req = c->req;
    struct response_record_view v;
    if (!response_record_decode(p, len, &v) || !cache_entry_vary_matches(v.meta, &req->head))
        return false;
    const struct http_cache_control *rcc = &c->rcc;
    long long fresh_ms = 0, initial_age = 0, sie_ms = 0, swr_ms = 0;
    sscanf(v.meta.p, "%lld %lld %lld %lld", &fresh_ms, &initial_age, &sie_ms, &swr_ms);
    int64_t now_ms = clock_wall_ms();
    int64_t age_s = entry_age_s(&v, initial_age);
    int64_t age_ms = now_ms - v.stored_at_ms + initial_age * 1000;
    if (age_ms < fresh_ms && (rcc->max_age_s == HTTP_CC_UNSET || age_s <= rcc->max_age_s)) {
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
        rcc->max_age_s == HTTP_CC_UNSET) {
        cache_refresh_start(c); /* before the answer: c may be gone after it */
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
on_lookup(void *arg, const struct redisReply *reply, const char *err)
{
    struct cache_req *c = arg;
    struct req *req = c->req;
    long long lock = -1; /* cache_get.lua's lock answer; -1: none */
    if (err == NULL && reply->type == REDIS_REPLY_ARRAY &&
        (reply->elements == 2 || reply->elements == 3) &&
        reply->element[0]->type == REDIS_REPLY_STRING) {
        const struct redisReply *g = reply->element[0];
        size_t glen = g->len < sizeof(c->gen) - 1 ? g->len : sizeof(c->gen) - 1;
        memcpy(c->gen, g->str, glen);
        c->gen[glen] = '\0';
        const struct redisReply *e = reply->element[1];
        if (e->type == REDIS_REPLY_STRING && try_entry(c, e->str, e->len, true))
            return;
        if (reply->elements == 3 && reply->element[2]->type == REDIS_REPLY_INTEGER)
            lock = reply->element[2]->integer;
    }
    c->locked = c->locked || lock == 1; /* released on done, however it ends */
    if (c->rcc.only_if_cached) {
        cache_mark(c, "MISS", "fwd=miss");
        req_fail(req, 504, "not_cached", "only-if-cached and no fresh entry is stored");
        return;
    }
    bool may_wait = err == NULL && req->conn != NULL;
    if (may_wait && cache_flight_join(c))
        return; /* another request of this key in this worker is upstream: wait for its answer */
    if (may_wait && lock == 0 && c->polls < CACHE_LOCK_POLLS) {
        cache_flight_poll_later(c); /* another gateway's request is upstream */
        return;
    }
    cache_forward(c, "MISS", "fwd=miss");
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
mode_for(struct cache_req *c)
{
    struct req *req = c->req;
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
    http_cache_control_parse(&req->head, &c->rcc);
    const struct http_cache_control *rcc = &c->rcc;
    if (rcc->no_store)
        return CACHE_NONE;
    const struct http_header *pragma = http_head_find(&req->head, "pragma");
    if (rcc->no_cache || rcc->max_age_s == 0 ||
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
    c->mode = mode_for(c);
    struct sl_slice body = req_body_at_hand(req);
    cache_key_hash(req->target.p, req->target.len, per_user(req) ? req->id.user : "",
                   req->cache_post_ ? &body : NULL, c->hash);
    switch (c->mode) {
    case CACHE_NONE:
    case CACHE_INVALIDATE:
        cache_forward(c, "BYPASS", "fwd=bypass");
        return;
    case CACHE_STORE_ONLY:
        c->store = true;
        cache_forward(c, "MISS", "fwd=request");
        return;
    case CACHE_LOOKUP:
        break;
    }
    c->store = true;
    cache_lookup(c);
}

void
cache_lookup(struct cache_req *c)
{
    struct req *req = c->req;
    struct sl_slice hot =
        cache_hot_get(req->worker->hot, req->route->name, c->hash, clock_wall_ms());
    if (hot.len > 0 && try_entry(c, hot.p, hot.len, false))
        return; /* a hot key: answered from the worker's copy, no Redis */
    /* A HEAD's answer is not stored: it would only leave "pass" behind. */
    if (!cache_redis_lookup(c, !req->head_only, on_lookup))
        cache_forward(c, "BYPASS", "fwd=bypass");
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
