/*
 * ratelimit.c - the admission stage: one EVALSHA of lua/check.lua for the
 * session and every limit, RateLimit fields, 429s, remembered refusals,
 * and the settling of token reservations and concurrency slots.
 */
#include "policy/ratelimit.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "admin/metrics.h"
#include "config/config.h"
#include "core/req.h"
#include "core/worker.h"
#include "policy/auth.h"
#include "policy/caller.h"
#include "policy/fallback_limiter.h"
#include "policy/fleet.h"
#include "policy/llm_usage.h"
#include "policy/ratelimit_headers.h"
#include "policy/refusals.h"
#include "policy/session_keys.h"
#include "redis/redis_client.h"
#include "redis/redis_script.h"
#include "util/clock.h"
#include "util/log.h"

#define RATELIMIT_REFUSAL_SLOTS 8192
static _Atomic uint64_t reset_epoch;

/* The scripts, found once for every thread (the table is static). */
static struct {
    const struct redis_script *check, *commit, *renew;
} scripts;
static pthread_once_t scripts_once = PTHREAD_ONCE_INIT;

static void
find_scripts(void)
{
    scripts.check = redis_script_find("check");
    scripts.commit = redis_script_find("commit");
    scripts.renew = redis_script_find("renew");
}

/* What check.lua said of one limit. */
struct grant {
    int64_t remaining;
    int64_t reset_ms;
    int64_t bucket;    /* tokens limits: where the reservation was charged */
    uint64_t reserved; /* tokens limits: the reservation */
};

/* A request's admission state (req->stage_data of this stage); owned by
 * the request until on_done frees it. */
struct admission {
    struct req *req;                   /* borrowed: owns this */
    const struct config_limit *limits; /* borrowed from req->cfg (req holds a reference) */
    size_t nlimits;
    const char *plan; /* borrowed from req->cfg: part of the keys */
    char *_Atomic *policy_field; /* borrowed from req->cfg: the cached RateLimit-Policy */
    char tag[CALLER_TAG_MAX + 1];
    uint64_t refusal_key;
    struct grant grant[RATELIMIT_MAX_LIMITS];
    bool charged;     /* Redis charged the limits: settle on done */
    bool holds_slots; /* on the worker's slot list */
    bool has_tokens;
    char slot_id[64];
    struct llm_usage_scan usage;
    struct admission *prev, *next; /* borrowed: the worker's slot holders */
};

struct ratelimit_worker {
    struct worker *w;           /* borrowed; outlives this */
    struct refusals *refusals;  /* owns */
    struct admission *holders;  /* borrowed: requests holding concurrency slots */
    struct event *renew_ev;     /* owns */
    struct event *heartbeat_ev; /* owns; worker 0 only */
    uint64_t slot_seq;
};

/* By hand: snprintf's format parsing was the largest user-space cost of a
 * limited request (a dozen small strings each). */
static void
join3(char *dst, size_t cap, const char *a, const char *b, const char *c)
{
    size_t n = 0;
    for (const char *parts[] = {a, b, c}, **p = parts; p < parts + 3; p++) {
        for (const char *q = *p; *q != '\0' && n + 1 < cap; q++)
            dst[n++] = *q;
    }
    dst[n] = '\0';
}

static void
u64_dec(char *dst, size_t cap, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    size_t i = 0;
    while (n > 0 && i + 1 < cap)
        dst[i++] = tmp[--n];
    dst[i] = '\0';
}

/* ---- who is limited, by what ------------------------------------------- */

/* Fills a's caller and limits; false when nothing limits the request. */
static bool
find_caller(struct req *req, struct admission *a)
{
    const struct config *cfg = req->cfg;
    if (req->id.user[0] != '\0') {
        const struct config_plan *plan = config_find_plan(cfg, req->id.plan);
        caller_tag(req, a->tag);
        a->plan = plan != NULL ? plan->name : "";
        a->limits = plan != NULL ? plan->limits : NULL;
        a->nlimits = plan != NULL ? plan->nlimits : 0;
        a->policy_field = plan != NULL ? &((struct config_plan *)plan)->policy_field_ : NULL;
        return true;
    }
    if (!cfg->has_anonymous || cfg->anonymous.nlimits == 0 || req->conn == NULL)
        return false;
    caller_tag(req, a->tag); /* a:<client ip> */
    a->plan = "anonymous";
    a->limits = cfg->anonymous.limits;
    a->nlimits = cfg->anonymous.nlimits;
    a->policy_field = &((struct config *)cfg)->anonymous.policy_field_;
    return true;
}

/* The tokens a request reserves: its body's max_tokens when it came with
 * the head, else the limit's estimate. */
static uint64_t
reservation(struct req *req, const struct config_limit *lim)
{
    uint64_t max_tokens;
    struct sl_slice body = req_body_at_hand(req);
    if (llm_usage_max_tokens(body.p, body.len, &max_tokens))
        return max_tokens;
    return lim->estimate;
}

/* ---- answers ----------------------------------------------------------- */

/* The RateLimit-Policy line depends on the limits only: built once per
 * config and plan (the first thread to build it publishes it). */
static void
add_policy(struct admission *a, struct strbuf *out)
{
    char *line = atomic_load_explicit(a->policy_field, memory_order_acquire);
    if (line == NULL) {
        struct strbuf b = {0};
        ratelimit_headers_policy(&b, a->limits, a->nlimits);
        strbuf_append(&b, "", 1); /* NUL */
        char *expected = NULL;
        if (atomic_compare_exchange_strong(a->policy_field, &expected, b.p))
            line = b.p;
        else {
            strbuf_deinit(&b);
            line = expected;
        }
    }
    strbuf_append_str(out, line);
}

static void
add_fields(struct admission *a, size_t current)
{
    struct strbuf *out = &a->req->response_extra;
    add_policy(a, out);
    const struct grant *g = &a->grant[current];
    ratelimit_headers_current(out, &a->limits[current], g->remaining, g->reset_ms);
}

static void
record(struct admission *a, size_t limit, const char *decision)
{
    metrics_record_limit(a->req->worker->metrics, a->limits[limit].name, decision);
}

static void
refuse(struct admission *a, size_t limit, int64_t retry_ms)
{
    struct req *req = a->req;
    add_fields(a, limit);
    uint64_t retry_s = ratelimit_retry_after_s(retry_ms);
    strbuf_append_str(&req->response_extra, "Retry-After: ");
    strbuf_append_u64(&req->response_extra, retry_s);
    strbuf_append(&req->response_extra, "\r\n", 2);
    req->limit_decision = a->limits[limit].name;
    record(a, limit, "refused");
    char extra[128];
    snprintf(extra, sizeof(extra), ",\"limit\":\"%s\",\"retry_after\":%llu", a->limits[limit].name,
             (unsigned long long)retry_s);
    /* exactly SPEC section 6's body: no message beside it */
    struct stage_reply r = {.status = 429, .error = "rate_limited", .json_extra = extra};
    req_reply(req, &r);
}

static void
admit(struct admission *a)
{
    if (a->nlimits > 0) {
        int64_t remaining[RATELIMIT_MAX_LIMITS];
        for (size_t i = 0; i < a->nlimits; i++) {
            remaining[i] = a->grant[i].remaining;
            record(a, i, "admitted");
        }
        add_fields(a, ratelimit_headers_closest(a->limits, remaining, a->nlimits));
    }
    req_next(a->req);
}

/* ---- the check --------------------------------------------------------- */

static void hold_slots(struct admission *a);

/* Redis did not answer: on_error decides (SPEC section 6), here only. */
static void
redis_failed(struct admission *a)
{
    struct req *req = a->req;
    if (req->cfg->redis.on_error != CONFIG_ON_ERROR_OPEN) {
        req_fail(req, 503, "redis_unavailable", "the session and limit store is unavailable");
        return;
    }
    /* Admitted on the token's signature and expiry alone, within the
     * in-process fallback limits. */
    if (a->nlimits == 0) {
        admit(a);
        return;
    }
    struct fallback_decision d;
    if (!fallback_limiter_check(a->refusal_key, a->limits, a->nlimits, fleet_live_gateways(),
                                clock_now_ms(), &d)) {
        for (size_t i = 0; i < a->nlimits; i++)
            a->grant[i] = (struct grant){.remaining = d.remaining[i], .reset_ms = d.reset_ms[i]};
        refuse(a, d.limit, d.retry_ms);
        return;
    }
    for (size_t i = 0; i < a->nlimits; i++)
        a->grant[i] = (struct grant){.remaining = d.remaining[i], .reset_ms = d.reset_ms[i]};
    admit(a);
}

static bool
integer_at(const struct redisReply *reply, size_t i, int64_t *out)
{
    if (i >= reply->elements || reply->element[i]->type != REDIS_REPLY_INTEGER)
        return false;
    *out = reply->element[i]->integer;
    return true;
}

/* Parses {code, limit, retry_ms, per limit: remaining, reset_ms, bucket}. */
static bool
parse_check(struct admission *a, const struct redisReply *reply, int64_t *code, int64_t *limit,
            int64_t *retry_ms)
{
    if (reply->type != REDIS_REPLY_ARRAY || !integer_at(reply, 0, code))
        return false;
    if (*code == 0)
        return true;
    if (!integer_at(reply, 1, limit) || !integer_at(reply, 2, retry_ms))
        return false;
    for (size_t i = 0; i < a->nlimits; i++) {
        struct grant *g = &a->grant[i];
        if (!integer_at(reply, 3 + 3 * i, &g->remaining) ||
            !integer_at(reply, 4 + 3 * i, &g->reset_ms) ||
            !integer_at(reply, 5 + 3 * i, &g->bucket))
            return false;
    }
    return *limit >= 0 && (size_t)*limit <= a->nlimits;
}

/* Why a check failed goes to the log at most once a second per thread: a
 * Redis that is down fails every request, and the log must stay readable. */
static void
warn_check_failed(const char *why)
{
    static _Thread_local uint64_t last_ms;
    uint64_t now = clock_now_ms();
    if (now - last_ms < 1000)
        return;
    last_ms = now;
    log_warn("ratelimit: check.lua failed: %s", why);
}

static void
on_check(void *arg, const struct redisReply *reply, const char *err)
{
    struct admission *a = arg;
    int64_t code, limit = 0, retry_ms = 0;
    if (err != NULL || !parse_check(a, reply, &code, &limit, &retry_ms)) {
        warn_check_failed(err != NULL                          ? err
                          : reply->type == REDIS_REPLY_ERROR ? reply->str
                                                             : "an answer of an unexpected shape");
        redis_failed(a);
        return;
    }
    if (code == 0) {
        auth_refuse(a->req, "session_revoked", "the session was revoked or has expired");
        return;
    }
    if (code < 0 && limit > 0) {
        size_t i = (size_t)limit - 1;
        /* A concurrency slot frees when another request ends, not at a
         * time, and a reservation larger than the whole limit never fits
         * (the caller's smaller requests may): only the others are
         * remembered. */
        if (a->limits[i].kind != CONFIG_LIMIT_CONCURRENT &&
            a->grant[i].reserved <= a->limits[i].amount) {
            struct refusal ref = {clock_now_ms() + retry_ms, (unsigned)i, a->grant[i].remaining};
            refusals_put(a->req->worker->limits->refusals, a->refusal_key, a->req->cfg,
                         atomic_load(&reset_epoch), &ref);
        }
        refuse(a, i, retry_ms);
        return;
    }
    a->charged = true;
    hold_slots(a);
    admit(a);
}

/* Keys: [session], [the limits hash]. Every argument is
 * a string that stays put until the command is formatted: numbers of the
 * limits are printed once per config (limit_nums), the names are the
 * config's own. */
struct check_call {
    char keys[2][SESSION_KEY_MAX];
    const char *keyv[2];
    size_t keylen[2];
    int nkeys;
    char cost[RATELIMIT_MAX_LIMITS][24];
    const char *argv[3 + 6 * RATELIMIT_MAX_LIMITS];
    size_t arglen[3 + 6 * RATELIMIT_MAX_LIMITS];
    int nargs;
};

static void
add_arg_len(struct check_call *cc, const char *s, size_t len)
{
    cc->argv[cc->nargs] = s;
    cc->arglen[cc->nargs++] = len;
}

static void
add_arg(struct check_call *cc, const char *s)
{
    add_arg_len(cc, s, strlen(s));
}

static bool
add_key(struct check_call *cc, int len)
{
    if (len < 0)
        return false;
    cc->keyv[cc->nkeys] = cc->keys[cc->nkeys];
    cc->keylen[cc->nkeys++] = (size_t)len;
    return true;
}

static bool
build_keys(struct admission *a, struct check_call *cc)
{
    const struct req *req = a->req;
    const char *prefix = req->cfg->redis.prefix;
    if (req->id.session[0] != '\0' &&
        !add_key(cc, session_key(cc->keys[cc->nkeys], prefix, req->id.user, req->id.session)))
        return false;
    return a->nlimits == 0 ||
           add_key(cc, limit_window_key(cc->keys[cc->nkeys], prefix, a->tag, a->plan));
}

/* A limit's numbers as check.lua takes them, printed at most once per
 * config (the first thread to print them publishes them; a limit lives as
 * long as its config). */
struct limit_nums {
    char amount[24], window[24], bucket[24];
};

static const struct limit_nums *
limit_nums(const struct config_limit *l)
{
    struct limit_nums *nums = atomic_load_explicit(&((struct config_limit *)l)->check_args_,
                                                   memory_order_acquire);
    if (nums != NULL)
        return nums;
    nums = xcalloc(1, sizeof(*nums));
    uint64_t bucket_ms = l->window_ms == 0 ? 0 : (l->window_ms + l->precision - 1) / l->precision;
    u64_dec(nums->amount, sizeof(nums->amount), l->amount);
    u64_dec(nums->window, sizeof(nums->window), l->window_ms);
    u64_dec(nums->bucket, sizeof(nums->bucket), bucket_ms);
    void *expected = NULL;
    if (atomic_compare_exchange_strong(&((struct config_limit *)l)->check_args_, &expected, nums))
        return nums;
    free(nums);
    return expected;
}

/* Per limit: "r", amount, window, bucket, NAME; "t", ..., NAME, cost;
 * "c", amount, NAME, slot id (see check.lua). */
static void
add_limit_args(struct admission *a, struct check_call *cc, size_t i)
{
    const struct config_limit *l = &a->limits[i];
    const struct limit_nums *nums = limit_nums(l);
    if (l->kind == CONFIG_LIMIT_CONCURRENT) {
        add_arg_len(cc, "c", 1);
        add_arg(cc, nums->amount);
        add_arg(cc, l->name);
        add_arg(cc, a->slot_id);
        return;
    }
    add_arg_len(cc, l->kind == CONFIG_LIMIT_TOKENS ? "t" : "r", 1);
    add_arg(cc, nums->amount);
    add_arg(cc, nums->window);
    add_arg(cc, nums->bucket);
    add_arg(cc, l->name);
    if (l->kind == CONFIG_LIMIT_TOKENS) {
        uint64_t cost = reservation(a->req, l);
        a->grant[i].reserved = cost;
        a->has_tokens = true;
        u64_dec(cc->cost[i], sizeof(cc->cost[i]), cost);
        add_arg(cc, cc->cost[i]);
    }
}

static bool
has_concurrent(const struct admission *a)
{
    for (size_t i = 0; i < a->nlimits; i++) {
        if (a->limits[i].kind == CONFIG_LIMIT_CONCURRENT)
            return true;
    }
    return false;
}

/* gateway:worker:sequence, unique over the fleet's lifetime. */
static void
make_slot_id(struct admission *a)
{
    struct req *req = a->req;
    struct ratelimit_worker *rw = req->worker->limits;
    char wid[12], seq[24];
    u64_dec(wid, sizeof(wid), req->worker->id);
    u64_dec(seq, sizeof(seq), ++rw->slot_seq);
    join3(a->slot_id, sizeof(a->slot_id), fleet_gateway_id(), ":", wid);
    size_t sl = strlen(a->slot_id);
    join3(a->slot_id + sl, sizeof(a->slot_id) - sl, ":", seq, "");
}

static void
send_check(struct admission *a)
{
    struct req *req = a->req;
    struct check_call cc;
    cc.nkeys = cc.nargs = 0;
    if (!build_keys(a, &cc)) {
        auth_refuse(req, "invalid_token", "the session token names no session");
        return;
    }
    if (has_concurrent(a))
        make_slot_id(a);
    /* Windows need the one clock every gateway shares (Redis's TIME); a
     * session alone only paces its idle-timer restarts, so the gateway's
     * clock saves the TIME call. */
    char now[24] = "";
    if (a->nlimits == 0)
        u64_dec(now, sizeof(now), (uint64_t)clock_wall_ms());
    add_arg(&cc, now);
    add_arg(&cc, req->id.session[0] == '\0' ? "" : req->cfg->tokens.sliding ? "1" : "0");
    add_arg_len(&cc, RATELIMIT_LEASE_MS_STR, sizeof(RATELIMIT_LEASE_MS_STR) - 1);
    for (size_t i = 0; i < a->nlimits; i++)
        add_limit_args(a, &cc, i);
    redis_client_script(req->worker->redis, scripts.check, cc.nkeys, cc.keyv, cc.keylen, cc.nargs,
                        cc.argv, cc.arglen, on_check, a);
}

/* Nothing to check: no session, and no anonymous limits that apply (most
 * requests of an auth: none route). Decided before any allocation. */
static bool
nothing_to_check(const struct req *req)
{
    if (req->id.session[0] != '\0' || req->id.user[0] != '\0')
        return false;
    const struct config *cfg = req->cfg;
    return !cfg->has_anonymous || cfg->anonymous.nlimits == 0 || req->conn == NULL;
}

static void
ratelimit_run(struct req *req)
{
    if (nothing_to_check(req)) {
        req_next(req); /* stage_data stays NULL: no observer, nothing to settle */
        return;
    }
    struct admission *a = xcalloc(1, sizeof(*a));
    a->req = req;
    llm_usage_scan_init(&a->usage);
    req->stage_data[req->stage] = a;
    if (!find_caller(req, a) || (a->nlimits == 0 && req->id.session[0] == '\0')) {
        req_next(req);
        return;
    }
    if (a->nlimits > 0) {
        struct ratelimit_worker *rw = req->worker->limits;
        a->refusal_key = refusals_key(rw->refusals, a->tag, a->plan);
        struct refusal ref;
        int64_t now_ms = clock_now_ms();
        if (refusals_get(rw->refusals, a->refusal_key, req->cfg, atomic_load(&reset_epoch), now_ms,
                         &ref)) {
            a->grant[ref.limit].remaining = ref.remaining;
            a->grant[ref.limit].reset_ms = ref.until_ms - now_ms;
            refuse(a, ref.limit, ref.until_ms - now_ms);
            return;
        }
    }
    send_check(a);
}

/* ---- after the exchange ------------------------------------------------ */

static void
on_settled(void *arg, const struct redisReply *reply, const char *err)
{
    (void)arg, (void)reply, (void)err; /* a lost settle is bounded: leases expire */
}

static void
slot_command(struct admission *a, size_t i, bool renew)
{
    struct req *req = a->req;
    if (req->worker->redis == NULL)
        return; /* the worker is exiting: the lease frees the slot */
    char key[SESSION_KEY_MAX], field[128];
    int len = limit_window_key(key, req->cfg->redis.prefix, a->tag, a->plan);
    int flen = snprintf(field, sizeof(field), "%s:s:%s", a->limits[i].name, a->slot_id);
    if (len < 0 || flen < 0 || (size_t)flen >= sizeof(field))
        return;
    if (renew) {
        const char *keys[] = {key};
        const size_t keylens[] = {(size_t)len};
        char lease[24];
        snprintf(lease, sizeof(lease), "%d", RATELIMIT_LEASE_MS);
        const char *args[] = {field, lease};
        const size_t arglens[] = {(size_t)flen, strlen(lease)};
        redis_client_script(req->worker->redis, scripts.renew, 1, keys, keylens, 2, args, arglens,
                            on_settled, NULL);
        return;
    }
    /* HDEL never creates a key, so a reset or expired hash stays gone. */
    const char *argv[] = {"HDEL", key, field};
    const size_t argvlen[] = {4, (size_t)len, (size_t)flen};
    redis_client_command(req->worker->redis, key, (size_t)len, 3, argv, argvlen, on_settled, NULL);
}

static void
hold_slots(struct admission *a)
{
    for (size_t i = 0; i < a->nlimits; i++) {
        if (a->limits[i].kind != CONFIG_LIMIT_CONCURRENT)
            continue;
        struct ratelimit_worker *rw = a->req->worker->limits;
        a->holds_slots = true;
        a->next = rw->holders;
        if (rw->holders != NULL)
            rw->holders->prev = a;
        rw->holders = a;
        return;
    }
}

static void
release_slots(struct admission *a)
{
    if (!a->holds_slots)
        return;
    struct ratelimit_worker *rw = a->req->worker->limits;
    if (a->prev != NULL)
        a->prev->next = a->next;
    else
        rw->holders = a->next;
    if (a->next != NULL)
        a->next->prev = a->prev;
    for (size_t i = 0; i < a->nlimits; i++) {
        if (a->limits[i].kind == CONFIG_LIMIT_CONCURRENT)
            slot_command(a, i, false);
    }
}

/* The tokens the exchange really used: the response's usage, else the
 * estimate; an exchange that failed or was cut short without a usage
 * figure refunds the whole reservation (SPEC section 6). */
static uint64_t
tokens_used(const struct admission *a, uint64_t reserved)
{
    uint64_t used;
    if (llm_usage_scan_total(&a->usage, &used))
        return used;
    const struct req *req = a->req;
    if (req->outcome != REQ_OUTCOME_COMPLETE || req->status >= 400)
        return 0;
    return reserved;
}

static void
commit_tokens(struct admission *a, size_t i)
{
    struct req *req = a->req;
    const struct grant *g = &a->grant[i];
    int64_t delta = (int64_t)tokens_used(a, g->reserved) - (int64_t)g->reserved;
    if (delta == 0 || req->worker->redis == NULL)
        return;
    char key[SESSION_KEY_MAX];
    int len = limit_window_key(key, req->cfg->redis.prefix, a->tag, a->plan);
    if (len < 0)
        return;
    char bucket[24], d[24];
    snprintf(bucket, sizeof(bucket), "%lld", (long long)g->bucket);
    snprintf(d, sizeof(d), "%lld", (long long)delta);
    const char *keys[] = {key};
    const size_t keylens[] = {(size_t)len};
    const char *args[] = {a->limits[i].name, bucket, d};
    const size_t arglens[] = {strlen(args[0]), strlen(bucket), strlen(d)};
    redis_client_script(req->worker->redis, scripts.commit, 1, keys, keylens, 3, args, arglens,
                        on_settled, NULL);
}

static struct admission *
admission_of(struct req *req)
{
    for (unsigned i = 0; i < req->stages_run_; i++) {
        if (req->stages_[i] == &ratelimit_stage)
            return req->stage_data[i];
    }
    return NULL;
}

/* Decoded response bytes (pipeline.h): only token limits read them. */
static void
ratelimit_body(struct req *req, const char *p, size_t len)
{
    struct admission *a = admission_of(req);
    if (a != NULL && a->has_tokens && a->charged)
        llm_usage_scan_feed(&a->usage, p, len);
}

static void
ratelimit_done(struct req *req)
{
    struct admission *a = admission_of(req);
    if (a == NULL)
        return;
    if (a->charged) {
        for (size_t i = 0; i < a->nlimits; i++) {
            if (a->limits[i].kind == CONFIG_LIMIT_TOKENS)
                commit_tokens(a, i);
        }
        release_slots(a);
    }
    free(a);
}

/* ---- per worker -------------------------------------------------------- */

static void
on_renew(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct ratelimit_worker *rw = arg;
    for (struct admission *a = rw->holders; a != NULL; a = a->next) {
        for (size_t i = 0; i < a->nlimits; i++) {
            if (a->limits[i].kind == CONFIG_LIMIT_CONCURRENT)
                slot_command(a, i, true);
        }
    }
}

static void
on_heartbeat_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct ratelimit_worker *rw = arg;
    fleet_heartbeat(rw->w->redis, rw->w->cfg->redis.prefix);
}

struct ratelimit_worker *
ratelimit_worker_new(struct worker *w)
{
    struct ratelimit_worker *rw = xcalloc(1, sizeof(*rw));
    pthread_once(&scripts_once, find_scripts);
    rw->w = w;
    rw->refusals = refusals_new(RATELIMIT_REFUSAL_SLOTS);
    rw->renew_ev = event_new(w->base, -1, EV_PERSIST, on_renew, rw);
    struct timeval every = {RATELIMIT_RENEW_MS / 1000, 0};
    event_add(rw->renew_ev, &every);
    if (w->id == 0) {
        rw->heartbeat_ev = event_new(w->base, -1, EV_PERSIST, on_heartbeat_timer, rw);
        struct timeval beat = {FLEET_HEARTBEAT_MS / 1000, 0};
        event_add(rw->heartbeat_ev, &beat);
        /* The first one at start, apart: activating the persistent timer
         * by hand would move its period (it beat every 10 s). */
        struct timeval now = {0, 0};
        event_base_once(w->base, -1, EV_TIMEOUT, on_heartbeat_timer, rw, &now);
    }
    return rw;
}

void
ratelimit_worker_free(struct ratelimit_worker *rw)
{
    if (rw == NULL)
        return;
    event_free(rw->renew_ev);
    if (rw->heartbeat_ev != NULL)
        event_free(rw->heartbeat_ev);
    refusals_free(rw->refusals);
    free(rw);
}

void
ratelimit_worker_reload(struct ratelimit_worker *rw)
{
    (void)rw; /* entries carry their config: a new one never matches them */
}

void
ratelimit_forget_refusals(void)
{
    atomic_fetch_add(&reset_epoch, 1);
}

const struct stage ratelimit_stage = {
    .name = "ratelimit",
    .run = ratelimit_run,
    .on_response_body = ratelimit_body,
    .on_done = ratelimit_done,
};
