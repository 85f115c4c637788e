/*
 * admin_limits.c - reading and resetting a user's limits (see the header).
 */
#include "admin/admin_limits.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin_sessions.h"
#include "config/config.h"
#include "policy/ratelimit.h"
#include "policy/session_keys.h"
#include "redis/redis_client.h"
#include "redis/redis_script.h"
#include "sluice.h"
#include "util/log.h"

#define MAX_ARGS 1024

struct limits_op {
    struct evhttp_request *req;   /* owned by evhttp until answered */
    struct config *cfg;           /* owns a reference */
    bool reset;
};

/* The script arguments, with the numbers they need kept alive. */
struct args {
    const char *v[MAX_ARGS];
    size_t len[MAX_ARGS];
    char nums[MAX_ARGS][24];
    int n;
};

static bool
add(struct args *a, const char *s)
{
    if (a->n >= MAX_ARGS)
        return false;
    a->v[a->n] = s;
    a->len[a->n++] = strlen(s);
    return true;
}

static bool
add_num(struct args *a, unsigned long long v)
{
    if (a->n >= MAX_ARGS)
        return false;
    snprintf(a->nums[a->n], sizeof(a->nums[0]), "%llu", v);
    return add(a, a->nums[a->n]);
}

static const char *const kinds[] = {"r", "t", "c"};

static uint64_t
bucket_ms(const struct config_limit *l)
{
    return l->window_ms == 0 ? 0 : (l->window_ms + l->precision - 1) / l->precision;
}

static bool
add_plans_read(struct args *a, const struct config *cfg)
{
    bool ok = add_num(a, cfg->nplans);
    for (size_t p = 0; ok && p < cfg->nplans; p++) {
        const struct config_plan *plan = &cfg->plans[p];
        ok = add(a, plan->name) && add_num(a, plan->nlimits);
        for (size_t i = 0; ok && i < plan->nlimits; i++) {
            const struct config_limit *l = &plan->limits[i];
            ok = add(a, l->name) && add(a, kinds[l->kind]) && add_num(a, l->window_ms) &&
                 add_num(a, bucket_ms(l));
        }
    }
    return ok;
}

static bool
add_plans_reset(struct args *a, const struct config *cfg)
{
    bool ok = true;
    for (size_t p = 0; ok && p < cfg->nplans; p++)
        ok = add(a, cfg->plans[p].name);
    return ok;
}

static int64_t
element_int(const struct redisReply *r, size_t i)
{
    if (i >= r->elements || r->element[i]->type != REDIS_REPLY_INTEGER)
        return 0;
    return r->element[i]->integer;
}

static void
answer_read(struct limits_op *op, const struct redisReply *r)
{
    json_t *list = json_array();
    int64_t p = r->type == REDIS_REPLY_ARRAY ? element_int(r, 0) : 0;
    if (p > 0 && (size_t)p <= op->cfg->nplans) {
        const struct config_plan *plan = &op->cfg->plans[p - 1];
        for (size_t i = 0; i < plan->nlimits; i++) {
            const struct config_limit *l = &plan->limits[i];
            int64_t reset_ms = element_int(r, 2 + 2 * i);
            json_array_append_new(
                list, json_pack("{s:s, s:I, s:I, s:I, s:I}", "name", l->name, "limit",
                                (json_int_t)l->amount, "used", (json_int_t)element_int(r, 1 + 2 * i),
                                "window", (json_int_t)((l->window_ms + 999) / 1000), "reset",
                                (json_int_t)((reset_ms + 999) / 1000)));
        }
    }
    json_t *body = json_pack("{s:o}", "limits", list);
    admin_send_json(op->req, 200, body);
    json_decref(body);
}

static void
on_reply(void *arg, const struct redisReply *reply, const char *err)
{
    struct limits_op *op = arg;
    if (err != NULL || reply->type == REDIS_REPLY_ERROR) {
        log_warn("admin: limits: %s", err != NULL ? err : reply->str);
        admin_send_error(op->req, 503, "redis_unavailable", "the limit store is unavailable");
    } else if (op->reset) {
        ratelimit_forget_refusals();
        admin_send_json(op->req, 204, NULL);
    } else {
        answer_read(op, reply);
    }
    config_unref(op->cfg);
    free(op);
}

/* "/v1/users/{user}/limits" -> the decoded user (caller frees), or NULL. */
static char *
limits_user(const char *path)
{
    const char *p = path + strlen("/v1/users/");
    const char *slash = strchr(p, '/');
    if (slash == NULL || slash == p || strcmp(slash, "/limits") != 0)
        return NULL;
    char *raw = xstrndup(p, (size_t)(slash - p));
    size_t len = 0;
    char *user = evhttp_uridecode(raw, 0, &len);
    free(raw);
    if (user != NULL && strlen(user) != len)
        user[0] = '\0'; /* a decoded NUL names nobody (400 below) */
    return user;
}

static const char *
query_plan(struct evhttp_request *req, struct evkeyvalq *q)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    if (query == NULL || evhttp_parse_query_str(query, q) != 0)
        return "";
    const char *plan = evhttp_find_header(q, "plan");
    return plan != NULL ? plan : "";
}

static void
handle(struct config *cfg, struct redis_client *rc, struct evhttp_request *req, const char *user)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_DELETE) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, DELETE");
        admin_send_error(req, 405, "method_not_allowed", "method not allowed here");
        return;
    }
    if (!session_user_valid(user, strlen(user))) {
        admin_send_error(req, 400, "bad_request",
                         "user must be 1-256 printable ASCII characters without '{', '}' or space");
        return;
    }
    char index[SESSION_KEY_MAX], base[SESSION_KEY_MAX];
    int ilen = session_index_key(index, cfg->redis.prefix, user);
    int blen = snprintf(base, sizeof(base), "%s{u:%s}", cfg->redis.prefix, user);
    struct evkeyvalq q;
    q.tqh_first = NULL;
    q.tqh_last = &q.tqh_first;
    struct args *a = xcalloc(1, sizeof(*a));
    bool reset = cmd == EVHTTP_REQ_DELETE;
    bool ok = ilen > 0 && blen > 0 && (size_t)blen < sizeof(base) && add(a, base) &&
              (reset ? add_plans_reset(a, cfg) : add(a, query_plan(req, &q)) && add_plans_read(a, cfg));
    if (!ok) {
        admin_send_error(req, 400, "bad_request", "too many plans and limits to report at once");
    } else {
        struct limits_op *op = xcalloc(1, sizeof(*op));
        *op = (struct limits_op){req, config_ref(cfg), reset};
        const char *keys[] = {index};
        const size_t keylens[] = {(size_t)ilen};
        redis_client_script(rc, redis_script_find(reset ? "limits_reset" : "limits_read"), 1, keys,
                            keylens, a->n, a->v, a->len, on_reply, op);
    }
    evhttp_clear_headers(&q);
    free(a);
}

bool
admin_limits_handle(struct config *cfg, struct redis_client *rc, struct evhttp_request *req,
                    const char *path)
{
    if (strncmp(path, "/v1/users/", 10) != 0)
        return false;
    char *user = limits_user(path);
    if (user == NULL)
        return false;
    handle(cfg, rc, req, user);
    free(user);
    return true;
}
