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
    redis_client_script(e->worker->redis, script, 1, keys, keylens, 2 + nextra, args, arglens, cb,
                        arg);
    return true;
}

static bool
route_script(struct cache_req *c, const struct redis_script *script, int nextra,
             const char *const *extra, const size_t *extralens, redis_reply_cb cb, void *arg)
{
    struct entry_ref e = cache_redis_ref(c);
    return entry_script(&e, script, nextra, extra, extralens, cb, arg);
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
put_plain(const struct entry_ref *e, const char *value, size_t value_len, const char *ttl,
          size_t ttl_len, struct cache_flight *leads)
{
    const char *prefix = e->cfg->redis.prefix, *name = e->route->name;
    char key[CACHE_KEY_MAX], lock[CACHE_KEY_MAX];
    int klen = cache_entry_key(key, prefix, name, e->gen, e->hash);
    int llen = cache_lock_key(lock, prefix, name, e->hash);
    if (klen < 0 || llen < 0 || e->worker->redis == NULL)
        return false;
    const char *set[] = {"SET", key, value, "PX", ttl};
    const size_t setlens[] = {3, (size_t)klen, value_len, 2, ttl_len};
    redis_client_command(e->worker->redis, key, (size_t)klen, 5, set, setlens, on_stored, leads);
    const char *del[] = {"DEL", lock};
    const size_t dellens[] = {3, (size_t)llen};
    redis_client_command(e->worker->redis, lock, (size_t)llen, 2, del, dellens, on_invalidated,
                         NULL);
    return true;
}

/* No lookup came before (a store whose generation is not known):
 * cache_put.lua reads the generation itself. */
static bool
put_script(const struct entry_ref *e, const char *value, size_t value_len, const char *ttl,
           size_t ttl_len, struct cache_flight *leads)
{
    const char *extra[] = {"", value, ttl};
    const size_t extralens[] = {0, value_len, ttl_len};
    pthread_once(&scripts_once, find_scripts);
    return entry_script(e, scripts.put, 3, extra, extralens, on_stored, leads);
}

bool
cache_redis_put(const struct entry_ref *e, const struct response_record *rec,
                const struct store_terms *t, const struct http_head *resp,
                const struct http_head *reqh, struct cache_flight *leads)
{
    /* meta: "<fresh_ms> <age_s> <stale_if_error_ms> <stale_while_revalidate_ms>\n"
     * then the Vary'd request fields. */
    struct strbuf meta = {0}, value = {0};
    strbuf_append_i64(&meta, t->fresh_ms);
    strbuf_append(&meta, " ", 1);
    strbuf_append_i64(&meta, cache_freshness_age_s(resp));
    strbuf_append(&meta, " ", 1);
    strbuf_append_i64(&meta, t->stale_if_error_ms);
    strbuf_append(&meta, " ", 1);
    strbuf_append_i64(&meta, t->stale_while_revalidate_ms);
    strbuf_append(&meta, "\n", 1);
    bool sent = false;
    if (cache_entry_vary_meta(resp, reqh, &meta)) {
        response_record_encode(rec, clock_wall_ms(), (struct sl_slice){meta.p, meta.len}, &value);
        int64_t keep = t->fresh_ms < CACHE_STALE_KEEP_MIN_MS   ? CACHE_STALE_KEEP_MIN_MS
                       : t->fresh_ms > CACHE_STALE_KEEP_MAX_MS ? CACHE_STALE_KEEP_MAX_MS
                                                               : t->fresh_ms;
        if (keep < t->stale_if_error_ms)
            keep = t->stale_if_error_ms;
        if (keep < t->stale_while_revalidate_ms)
            keep = t->stale_while_revalidate_ms;
        char ttl[24];
        int64_t ttl_ms = t->fresh_ms + keep;
        size_t ttl_len = resp_format_uint(ttl, ttl_ms > 0 ? (size_t)ttl_ms : 1);
        sent = e->gen[0] != '\0' ? put_plain(e, value.p, value.len, ttl, ttl_len, leads)
                                  : put_script(e, value.p, value.len, ttl, ttl_len, leads);
    }
    strbuf_deinit(&meta);
    strbuf_deinit(&value);
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
