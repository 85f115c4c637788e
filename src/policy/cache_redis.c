/*
 * cache_redis.c - every Redis call of the cache stage (SPEC sections 7,
 * 9): the lookup (cache_get.lua, which takes the fleet's lock on a missing
 * entry), the put (a SET and the lock's DEL after a lookup, else
 * cache_put.lua; either releases the lock), the unlock and the
 * invalidation (then published to every gateway's hot copies,
 * policy/cache_forget.h). Keys and arguments are built here (policy/cache_keys.h);
 * what the replies mean is the stage's (cache.c). A call that cannot be
 * sent (the keys do not fit, the worker's Redis is gone) is a miss.
 */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <string.h>

#include "config/config.h"
#include "core/req.h"
#include "core/worker.h"
#include "policy/cache_forget.h"
#include "policy/cache_freshness.h"
#include "policy/cache_hot.h"
#include "policy/cache_internal.h"
#include "redis/redis_script.h"
#include "redis/resp.h"
#include "util/clock.h"

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
    cache_flight_end(arg);
}

struct entry_ref
cache_redis_ref(const struct cache_req *c)
{
    const struct req *req = c->req;
    return (struct entry_ref){req->worker, req->cfg, req->route, c->hash, c->gen};
}

/* Calls script with KEYS {the route's generation} and ARGV {the entry
 * prefix, the key hash, extra...}, formatted here in one pass (redis/resp.h);
 * false (nothing sent) when the keys do not fit or the worker's Redis is
 * gone (it is exiting). */
static bool
entry_script(const struct entry_ref *e, const struct redis_script *script, int nextra,
             const char *const *extra, const size_t *extralens, redis_reply_cb cb, void *arg)
{
    const char *name = e->route->name;
    char gen[CACHE_KEY_MAX], prefix[CACHE_KEY_MAX];
    int glen = cache_gen_key(gen, e->cfg->redis.prefix, name);
    int plen = cache_entry_prefix(prefix, e->cfg->redis.prefix, name);
    if (glen < 0 || plen < 0 || e->worker->redis == NULL || nextra > 4)
        return false;
    size_t hlen = strlen(e->hash), argc = 6 + (size_t)nextra;
    size_t len = 1 + resp_digits(argc) + 2 + resp_bulk_len(7) + resp_bulk_len(40) +
                 resp_bulk_len(1) + resp_bulk_len((size_t)glen) + resp_bulk_len((size_t)plen) +
                 resp_bulk_len(hlen);
    for (int i = 0; i < nextra; i++)
        len += resp_bulk_len(extralens[i]);
    char *cmd = xmalloc(len), *o = cmd;
    o += resp_put_header(o, '*', argc);
    o += resp_put_bulk(o, "EVALSHA", 7);
    o += resp_put_bulk(o, script->sha1, 40);
    o += resp_put_bulk(o, "1", 1);
    o += resp_put_bulk(o, gen, (size_t)glen);
    o += resp_put_bulk(o, prefix, (size_t)plen);
    o += resp_put_bulk(o, e->hash, hlen);
    for (int i = 0; i < nextra; i++)
        o += resp_put_bulk(o, extra[i], extralens[i]);
    SL_ASSERT((size_t)(o - cmd) == len);
    redis_client_send(e->worker->redis, script, gen, (size_t)glen, cmd, len, cb, arg);
    return true;
}

static bool
route_script(struct cache_req *c, const struct redis_script *script, int nextra,
             const char *const *extra, const size_t *extralens, redis_reply_cb cb, void *arg)
{
    struct entry_ref e = cache_redis_ref(c);
    return entry_script(&e, script, nextra, extra, extralens, cb, arg);
}

/* "SET key <the entry> PX ttl", malloc'd (*cmd_len bytes) for
 * redis_client_send: the entry is copied once, from its parts straight
 * into the command, not into a value and then into an argv's encoding (a
 * 16 KiB body was copied four times on its way to Redis, now three). */
static char *
format_set(const char *key, size_t klen, const struct sl_slice *parts, size_t nparts,
           size_t value_len, const char *ttl, size_t ttl_len, size_t *cmd_len)
{
    size_t len = 1 + resp_digits(5) + 2 + resp_bulk_len(3) + resp_bulk_len(klen) +
                 resp_bulk_len(value_len) + resp_bulk_len(2) + resp_bulk_len(ttl_len);
    char *cmd = xmalloc(len), *o = cmd;
    o += resp_put_header(o, '*', 5);
    o += resp_put_bulk(o, "SET", 3);
    o += resp_put_bulk(o, key, klen);
    o += resp_put_header(o, '$', value_len);
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].len > 0)
            memcpy(o, parts[i].p, parts[i].len);
        o += parts[i].len;
    }
    *o++ = '\r';
    *o++ = '\n';
    o += resp_put_bulk(o, "PX", 2);
    o += resp_put_bulk(o, ttl, ttl_len);
    *cmd_len = (size_t)(o - cmd);
    SL_ASSERT(*cmd_len == len);
    return cmd;
}

/* The generation the lookup saw is known: a plain SET of the entry under
 * it, then the DEL of the key's lock, on one connection (so in that order:
 * the lock never goes before the entry is there). No script: Redis's Lua
 * costs ~1 us per KiB of an argument (a 16 KiB entry: 42 us through
 * cache_put.lua, 4 us as a SET). A route purged since the lookup moved its
 * generation on: the entry lands under the old one, which no lookup reads,
 * and expires with its TTL, which is what cache_put.lua's refusal to store
 * achieves. */
static bool
put_plain(const struct entry_ref *e, const struct sl_slice *parts, size_t value_len,
          const char *ttl, size_t ttl_len, struct cache_flight *leads)
{
    const char *prefix = e->cfg->redis.prefix, *name = e->route->name;
    char key[CACHE_KEY_MAX], lock[CACHE_KEY_MAX];
    int klen = cache_entry_key(key, prefix, name, e->gen, e->hash);
    int llen = cache_lock_key(lock, prefix, name, e->hash);
    if (klen < 0 || llen < 0 || e->worker->redis == NULL)
        return false;
    size_t set_len;
    char *set = format_set(key, (size_t)klen, parts, RESPONSE_RECORD_PARTS, value_len, ttl,
                           ttl_len, &set_len);
    redis_client_send(e->worker->redis, NULL, key, (size_t)klen, set, set_len, on_stored, leads);
    const char *del[] = {"DEL", lock};
    const size_t dellens[] = {3, (size_t)llen};
    redis_client_command(e->worker->redis, lock, (size_t)llen, 2, del, dellens, on_invalidated,
                         NULL);
    return true;
}

/* No lookup came before (a store whose generation is not known):
 * cache_put.lua reads the generation itself. */
static bool
put_script(const struct entry_ref *e, const struct sl_slice *parts, size_t value_len,
           const char *ttl, size_t ttl_len, struct cache_flight *leads)
{
    /* Rare (a client's no-cache): the value is built, then copied into the command. */
    struct strbuf value = {0};
    strbuf_reserve(&value, value_len);
    for (size_t i = 0; i < RESPONSE_RECORD_PARTS; i++)
        strbuf_append_slice(&value, parts[i]);
    const char *extra[] = {"", value.p, ttl};
    const size_t extralens[] = {0, value.len, ttl_len};
    pthread_once(&scripts_once, find_scripts);
    bool sent = entry_script(e, scripts.put, 3, extra, extralens, on_stored, leads);
    strbuf_deinit(&value);
    return sent;
}

/* How long Redis keeps an entry: its freshness, then as long again stale
 * (within CACHE_STALE_KEEP_MIN_MS..MAX_MS), or its stale-if-error or
 * stale-while-revalidate time if longer. */
static int64_t
entry_ttl_ms(const struct store_terms *t)
{
    int64_t keep = t->fresh_ms < CACHE_STALE_KEEP_MIN_MS   ? CACHE_STALE_KEEP_MIN_MS
                   : t->fresh_ms > CACHE_STALE_KEEP_MAX_MS ? CACHE_STALE_KEEP_MAX_MS
                                                           : t->fresh_ms;
    if (keep < t->stale_if_error_ms)
        keep = t->stale_if_error_ms;
    if (keep < t->stale_while_revalidate_ms)
        keep = t->stale_while_revalidate_ms;
    return t->fresh_ms + keep;
}

/* Writes "<fresh_ms> <age_s> <stale_if_error_ms> <stale_while_revalidate_ms>\n",
 * an entry's first meta line, into out (at least 4 * 21 bytes). */
static size_t
meta_numbers(char *out, const struct store_terms *t, int64_t age_s)
{
    const int64_t v[] = {t->fresh_ms, age_s, t->stale_if_error_ms, t->stale_while_revalidate_ms};
    size_t n = 0;
    for (size_t i = 0; i < 4; i++) {
        if (v[i] < 0)
            out[n++] = '-';
        n += resp_format_uint(out + n, v[i] < 0 ? (size_t)0 - (size_t)v[i] : (size_t)v[i]);
        out[n++] = i < 3 ? ' ' : '\n';
    }
    return n;
}

bool
cache_redis_put(const struct entry_ref *e, const struct response_record *rec,
                const struct store_terms *t, const struct http_head *resp,
                const struct http_head *reqh, struct cache_flight *leads)
{
    /* meta: the numbers, then the Vary'd request fields; most responses
     * vary on nothing, and their meta stays on the stack. */
    char nums[4 * 22];
    struct strbuf vary = {0};
    struct sl_slice meta = {nums, meta_numbers(nums, t, cache_freshness_age_s(resp))};
    bool sent = false;
    if (cache_entry_vary_meta(resp, reqh, &vary)) {
        if (vary.len > 0) {
            struct strbuf both = {0};
            strbuf_append_slice(&both, meta);
            strbuf_append(&both, vary.p, vary.len);
            strbuf_deinit(&vary);
            vary = both;
            meta = (struct sl_slice){vary.p, vary.len};
        }
        char line[RESPONSE_RECORD_LINE_MAX];
        struct sl_slice parts[RESPONSE_RECORD_PARTS];
        size_t value_len = response_record_parts(rec, clock_wall_ms(), meta, line, parts);
        char ttl[24];
        int64_t ttl_ms = entry_ttl_ms(t);
        size_t ttl_len = resp_format_uint(ttl, ttl_ms > 0 ? (size_t)ttl_ms : 1);
        sent = e->gen[0] != '\0' ? put_plain(e, parts, value_len, ttl, ttl_len, leads)
                                  : put_script(e, parts, value_len, ttl, ttl_len, leads);
    }
    strbuf_deinit(&vary);
    return sent;
}

void
cache_redis_unlock(struct cache_req *c, bool pass)
{
    const char *extra[] = {pass ? "pass" : "", CACHE_PASS_MS};
    const size_t extralens[] = {strlen(extra[0]), strlen(extra[1])};
    pthread_once(&scripts_once, find_scripts);
    route_script(c, scripts.unlock, 2, extra, extralens, on_invalidated, NULL);
}

void
cache_redis_invalidate(struct cache_req *c)
{
    cache_hot_forget_all();
    pthread_once(&scripts_once, find_scripts);
    if (!route_script(c, scripts.del, 0, NULL, NULL, on_invalidated, NULL))
        return;
    const struct config *cfg = c->req->cfg;
    char gen[CACHE_KEY_MAX];
    int glen = cache_gen_key(gen, cfg->redis.prefix, c->req->route->name);
    cache_forget_publish(c->req->worker->redis, cfg->redis.prefix, gen, (size_t)glen);
}

bool
cache_redis_lookup(struct cache_req *c, bool take_lock, redis_reply_cb cb)
{
    const char *extra[] = {CACHE_LOCK_MS};
    const size_t extralens[] = {strlen(CACHE_LOCK_MS)};
    pthread_once(&scripts_once, find_scripts);
    return route_script(c, scripts.get, take_lock ? 1 : 0, extra, extralens, cb, c);
}
