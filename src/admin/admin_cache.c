/*
 * admin_cache.c - purging the response cache (see the header).
 */
#include "admin/admin_cache.h"

#include <event2/http.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_sessions.h"
#include "config/config.h"
#include "http/http_path.h"
#include "policy/cache_forget.h"
#include "policy/cache_hot.h"
#include "policy/cache_keys.h"
#include "redis/redis_client.h"
#include "redis/redis_script.h"
#include "sluice.h"

/* One purge: answered when its last Redis reply came. */
struct purge_op {
    struct evhttp_request *req; /* owned by evhttp until answered */
    unsigned pending;
    long long purged;
    bool by_path; /* replies count entries dropped; else routes purged */
    bool failed;
};

static void
on_reply(void *arg, const struct redisReply *reply, const char *err)
{
    struct purge_op *op = arg;
    if (err != NULL || reply->type == REDIS_REPLY_ERROR)
        op->failed = true;
    else if (reply->type == REDIS_REPLY_INTEGER)
        op->purged += op->by_path ? reply->integer : 1;
    if (--op->pending > 0)
        return;
    if (op->failed) {
        admin_send_error(op->req, 503, "redis_unavailable", "the cache store is unavailable");
    } else {
        cache_hot_forget_all(); /* this gateway's workers forget at once */
        json_t *body = json_pack("{s:I}", "purged", (json_int_t)op->purged);
        admin_send_json(op->req, 200, body);
        json_decref(body);
    }
    free(op);
}

static void
purge_route(struct redis_client *rc, const struct config *cfg, const struct config_route *r,
            const char *hash, struct purge_op *op)
{
    char gen[CACHE_KEY_MAX], prefix[CACHE_KEY_MAX];
    int glen = cache_gen_key(gen, cfg->redis.prefix, r->name);
    if (glen < 0 || cache_entry_prefix(prefix, cfg->redis.prefix, r->name) < 0)
        return;
    op->pending++;
    if (hash == NULL) {
        const char *argv[] = {"INCR", gen};
        const size_t argvlen[] = {4, (size_t)glen};
        redis_client_command(rc, gen, (size_t)glen, 2, argv, argvlen, on_reply, op);
    } else {
        const char *keys[] = {gen};
        const size_t keylens[] = {(size_t)glen};
        const char *args[] = {prefix, hash};
        const size_t arglens[] = {strlen(prefix), strlen(hash)};
        redis_client_script(rc, redis_script_find("cache_del"), 1, keys, keylens, 2, args,
                            arglens, on_reply, op);
    }
    cache_forget_publish(rc, cfg->redis.prefix, gen, (size_t)glen);
}

/* The key hash of a purged path, normalised as requests are; false for a
 * path that no request could have. */
static bool
path_hash(const char *path, char hash[CACHE_HASH_HEX])
{
    size_t len = strlen(path);
    char *norm = xmalloc(len + 1);
    size_t out_len, path_len;
    bool ok = http_path_normalize_target(path, len, norm, len, &out_len, &path_len) ==
              HTTP_PATH_OK;
    if (ok)
        cache_key_hash(norm, out_len, "", NULL, hash);
    free(norm);
    return ok;
}

static void
handle_purge(struct config *cfg, struct redis_client *rc, struct evhttp_request *req)
{
    json_t *body = admin_read_json(req);
    if (body == NULL)
        return;
    const char *route = json_string_value(json_object_get(body, "route"));
    const char *path = json_string_value(json_object_get(body, "path"));
    char hash[CACHE_HASH_HEX];
    if ((json_object_get(body, "route") != NULL && route == NULL) ||
        (json_object_get(body, "path") != NULL && (path == NULL || !path_hash(path, hash)))) {
        admin_send_error(req, 400, "bad_request", "route and path are strings; path as requested");
        json_decref(body);
        return;
    }
    struct purge_op *op = xcalloc(1, sizeof(*op));
    op->req = req;
    op->by_path = path != NULL;
    op->pending = 1; /* held until every command is queued */
    bool found = false;
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct config_route *r = &cfg->routes[i];
        if (!r->cache.enabled || (route != NULL && strcmp(r->name, route) != 0))
            continue;
        found = true;
        if (path != NULL && r->cache.scope == CONFIG_CACHE_USER)
            continue; /* per-user entries are purged with their route */
        purge_route(rc, cfg, r, path != NULL ? hash : NULL, op);
    }
    json_decref(body);
    if (route != NULL && !found) {
        free(op);
        admin_send_error(req, 404, "not_found", "no cache route of that name");
        return;
    }
    struct redisReply none = {.type = REDIS_REPLY_NIL};
    on_reply(op, &none, NULL);
}

bool
admin_cache_handle(struct config *cfg, struct redis_client *rc, struct evhttp_request *req,
                   const char *path)
{
    if (strcmp(path, "/v1/cache/purge") != 0)
        return false;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        admin_send_error(req, 405, "method_not_allowed", "use POST to purge");
        return true;
    }
    handle_purge(cfg, rc, req);
    return true;
}
