/*
 * admin_sessions.c - create, list and revoke sessions (see the header).
 *
 * An answer that waits on Redis is a struct admin_op: it holds a config
 * reference and the evhttp request. The request is always answered, even
 * when its client disconnected meanwhile: evhttp detaches such a request
 * from its connection and frees it in evhttp_send_reply().
 */
#include "admin/admin_sessions.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "policy/session_keys.h"
#include "redis/redis_client.h"
#include "redis/redis_script.h"
#include "sluice.h"
#include "tokens/token.h"
#include "util/clock.h"
#include "util/log.h"

#define SESSION_ID_BYTES 16
#define RFC3339_LEN 21 /* "2026-12-03T10:00:00Z" + NUL */
#define BAD_USER "user must be 1-256 printable ASCII characters without '{', '}' or space"

enum admin_op_kind { OP_CREATE, OP_LIST, OP_REVOKE, OP_REVOKE_ALL };

struct admin_op {
    enum admin_op_kind kind;
    struct evhttp_request *req; /* owned by evhttp until we answer it */
    struct config *cfg;         /* owns a reference */
    /* OP_CREATE: the answer, ready before Redis is asked. */
    char token[TOKEN_MAX_LEN];
    char session_id[TOKEN_JTI_MAX + 1];
    int64_t expires_at_s;
};

void
admin_send_json(struct evhttp_request *req, int code, json_t *body)
{
    struct evbuffer *out = evbuffer_new();
    if (body != NULL) {
        char *text = json_dumps(body, JSON_COMPACT);
        evbuffer_add_printf(out, "%s\n", text);
        free(text);
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (body != NULL)
        evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, code, NULL, out);
    evbuffer_free(out);
}

void
admin_send_error(struct evhttp_request *req, int code, const char *error, const char *message)
{
    json_t *body = json_pack("{s:s, s:s}", "error", error, "message", message);
    admin_send_json(req, code, body);
    json_decref(body);
}

static void
format_rfc3339(int64_t unix_s, char out[RFC3339_LEN])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
json_time(int64_t unix_s)
{
    char text[RFC3339_LEN];
    format_rfc3339(unix_s, text);
    return json_string(text);
}

/* ---- pending answers ------------------------------------------------- */

static struct admin_op *
op_new(enum admin_op_kind kind, struct config *cfg, struct evhttp_request *req)
{
    struct admin_op *op = xcalloc(1, sizeof(*op));
    op->kind = kind;
    op->req = req;
    op->cfg = config_ref(cfg);
    return op;
}

static void
op_free(struct admin_op *op)
{
    sodium_memzero(op->token, sizeof(op->token));
    config_unref(op->cfg);
    free(op);
}

static void answer(struct admin_op *op, struct evhttp_request *req, const struct redisReply *r);

static void
on_reply(void *arg, const struct redisReply *reply, const char *err)
{
    struct admin_op *op = arg;
    if (err != NULL || reply->type == REDIS_REPLY_ERROR) {
        log_warn("admin: session store: %s", err != NULL ? err : reply->str);
        admin_send_error(op->req, 503, "redis_unavailable", "the session store is unavailable");
    } else {
        answer(op, op->req, reply);
    }
    op_free(op);
}

static void
call_script(struct redis_client *rc, struct admin_op *op, const char *name, int nkeys,
            const char *const *keys, int nargs, const char *const *args)
{
    size_t keylens[4], arglens[8];
    for (int i = 0; i < nkeys; i++)
        keylens[i] = strlen(keys[i]);
    for (int i = 0; i < nargs; i++)
        arglens[i] = strlen(args[i]);
    redis_client_script(rc, redis_script_find(name), nkeys, keys, keylens, nargs, args, arglens,
                        on_reply, op);
}

/* ---- answers ----------------------------------------------------------- */

static void
answer_create(struct admin_op *op, struct evhttp_request *req)
{
    json_t *body = json_pack("{s:s, s:s, s:o}", "token", op->token, "session_id",
                             op->session_id, "expires_at", json_time(op->expires_at_s));
    admin_send_json(req, 201, body);
    json_decref(body);
}

static int64_t
reply_int(const struct redisReply *r)
{
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type == REDIS_REPLY_STRING)
        return strtoll(r->str, NULL, 10);
    return 0;
}

/* The list script's flat array: id, plan, created_at, expires_at, pttl. */
static void
answer_list(struct evhttp_request *req, const struct redisReply *r)
{
    json_t *sessions = json_array();
    int64_t now_ms = clock_wall_ms();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 5 <= r->elements; i += 5) {
        struct redisReply *const *e = r->element + i;
        const char *plan = e[1]->type == REDIS_REPLY_STRING ? e[1]->str : "";
        json_t *s = json_pack("{s:s, s:o, s:o, s:o, s:o}", "session_id",
                              e[0]->type == REDIS_REPLY_STRING ? e[0]->str : "", "plan",
                              plan[0] != '\0' ? json_string(plan) : json_null(), "created_at",
                              json_time(reply_int(e[2]) / 1000), "expires_at",
                              json_time(reply_int(e[3]) / 1000), "idle_expires_at",
                              json_time((now_ms + reply_int(e[4])) / 1000));
        json_array_append_new(sessions, s);
    }
    json_t *body = json_pack("{s:o}", "sessions", sessions);
    admin_send_json(req, 200, body);
    json_decref(body);
}

static void
answer(struct admin_op *op, struct evhttp_request *req, const struct redisReply *r)
{
    switch (op->kind) {
    case OP_CREATE:
        answer_create(op, req);
        break;
    case OP_LIST:
        answer_list(req, r);
        break;
    case OP_REVOKE:
        if (reply_int(r) == 0)
            admin_send_error(req, 404, "not_found", "no such session");
        else
            admin_send_json(req, 204, NULL);
        break;
    case OP_REVOKE_ALL:
        admin_send_json(req, 204, NULL);
        break;
    }
}

/* ---- requests ---------------------------------------------------------- */

json_t *
admin_read_json(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *p = (const char *)evbuffer_pullup(in, -1);
    json_error_t jerr;
    json_t *body = len > 0 ? json_loadb(p, len, 0, &jerr) : NULL;
    if (body == NULL || !json_is_object(body)) {
        json_decref(body);
        admin_send_error(req, 400, "bad_request", "the body must be a JSON object");
        return NULL;
    }
    return body;
}

static void
new_session_id(char out[TOKEN_JTI_MAX + 1])
{
    unsigned char raw[SESSION_ID_BYTES];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, TOKEN_JTI_MAX + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Checks {"user","plan"?,"ttl"?} into claims and *ttl_ms; answers 400 and
 * returns -1 when a field is wrong. */
static int
parse_create(struct evhttp_request *req, const struct config *cfg, json_t *body,
             struct token_claims *c, uint64_t *ttl_ms)
{
    json_t *user = json_object_get(body, "user");
    json_t *plan = json_object_get(body, "plan");
    json_t *ttl = json_object_get(body, "ttl");
    const char *why = NULL;
    if (!json_is_string(user) ||
        !session_user_valid(json_string_value(user), json_string_length(user)))
        why = BAD_USER;
    else if (plan != NULL && !json_is_null(plan) &&
             (!json_is_string(plan) || config_find_plan(cfg, json_string_value(plan)) == NULL))
        why = "plan is not defined in the configuration";
    else if (ttl != NULL && (!json_is_integer(ttl) || json_integer_value(ttl) <= 0 ||
                             json_integer_value(ttl) > 100LL * 365 * 86400))
        why = "ttl must be a positive whole number of seconds";
    if (why != NULL) {
        admin_send_error(req, 400, "bad_request", why);
        return -1;
    }
    memset(c, 0, sizeof(*c));
    snprintf(c->sub, sizeof(c->sub), "%s", json_string_value(user));
    if (json_is_string(plan))
        snprintf(c->plan, sizeof(c->plan), "%s", json_string_value(plan));
    *ttl_ms = ttl != NULL ? (uint64_t)json_integer_value(ttl) * 1000 : cfg->tokens.session_ttl_ms;
    return 0;
}

static void
handle_create(struct config *cfg, struct redis_client *rc, struct evhttp_request *req)
{
    json_t *body = admin_read_json(req);
    if (body == NULL)
        return;
    struct token_claims c;
    uint64_t ttl_ms;
    int rc_parse = parse_create(req, cfg, body, &c, &ttl_ms);
    json_decref(body);
    if (rc_parse != 0)
        return;
    int64_t now_ms = clock_wall_ms();
    new_session_id(c.jti);
    c.iat_s = now_ms / 1000;
    c.exp_s = c.iat_s + (int64_t)(cfg->tokens.max_lifetime_ms / 1000);
    struct admin_op *op = op_new(OP_CREATE, cfg, req);
    if (cfg->tokens.keyring == NULL ||
        token_mint(cfg->tokens.keyring, &c, op->token, sizeof(op->token)) < 0) {
        op_free(op);
        admin_send_error(req, 500, "cannot_sign",
                         "tokens.keys has no signing key (secret: or local:) first");
        return;
    }
    memcpy(op->session_id, c.jti, sizeof(op->session_id));
    op->expires_at_s = c.exp_s;
    char key[SESSION_KEY_MAX], index[SESSION_KEY_MAX];
    char created[24], expires[24], idle[24];
    session_key(key, cfg->redis.prefix, c.sub, c.jti);
    session_index_key(index, cfg->redis.prefix, c.sub);
    snprintf(created, sizeof(created), "%lld", (long long)now_ms);
    snprintf(expires, sizeof(expires), "%lld", (long long)c.exp_s * 1000);
    snprintf(idle, sizeof(idle), "%llu", (unsigned long long)ttl_ms);
    const char *keys[] = {key, index};
    const char *args[] = {c.jti, c.plan, created, expires, idle};
    call_script(rc, op, "session_create", 2, keys, 5, args);
}

/* Splits "/v1/users/{user}/sessions[/{id}]"; returns -1 when path is not
 * of that shape. user is percent-decoded (owned by the caller, free()). */
static int
split_user_path(const char *path, char **user, const char **id)
{
    const char *p = path + strlen("/v1/users/");
    const char *slash = strchr(p, '/');
    if (slash == NULL || slash == p || strncmp(slash, "/sessions", 9) != 0)
        return -1;
    const char *rest = slash + 9;
    if (rest[0] != '\0' && (rest[0] != '/' || rest[1] == '\0' || strchr(rest + 1, '/') != NULL))
        return -1;
    char *raw = xstrndup(p, (size_t)(slash - p));
    size_t len = 0;
    *user = evhttp_uridecode(raw, 0, &len);
    free(raw);
    *id = rest[0] == '/' ? rest + 1 : NULL;
    if (*user != NULL && strlen(*user) != len)
        (*user)[0] = '\0'; /* a decoded NUL: "alice%00x" must not name alice (400 below) */
    return *user != NULL ? 0 : -1;
}

static bool
session_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > TOKEN_JTI_MAX)
        return false;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == n;
}

static void
handle_user(struct config *cfg, struct redis_client *rc, struct evhttp_request *req,
            const char *user, const char *id)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    bool ok_method = id != NULL ? cmd == EVHTTP_REQ_DELETE
                                : cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_DELETE;
    if (!ok_method) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          id != NULL ? "DELETE" : "GET, DELETE");
        admin_send_error(req, 405, "method_not_allowed", "method not allowed here");
        return;
    }
    if (!session_user_valid(user, strlen(user))) {
        admin_send_error(req, 400, "bad_request", BAD_USER);
        return;
    }
    if (id != NULL && !session_id_valid(id)) {
        admin_send_error(req, 404, "not_found", "no such session");
        return;
    }
    char key[SESSION_KEY_MAX], index[SESSION_KEY_MAX], prefix[SESSION_KEY_MAX];
    session_index_key(index, cfg->redis.prefix, user);
    session_key_prefix(prefix, cfg->redis.prefix, user);
    if (id != NULL) {
        session_key(key, cfg->redis.prefix, user, id);
        const char *keys[] = {key, index};
        const char *args[] = {id};
        call_script(rc, op_new(OP_REVOKE, cfg, req), "session_revoke", 2, keys, 1, args);
        return;
    }
    const char *keys[] = {index};
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)clock_wall_ms());
    const char *args[] = {prefix, now};
    if (cmd == EVHTTP_REQ_GET)
        call_script(rc, op_new(OP_LIST, cfg, req), "session_list", 1, keys, 2, args);
    else
        call_script(rc, op_new(OP_REVOKE_ALL, cfg, req), "session_revoke_all", 1, keys, 1, args);
}

bool
admin_sessions_handle(struct config *cfg, struct redis_client *rc, struct evhttp_request *req,
                      const char *path)
{
    if (strcmp(path, "/v1/sessions") == 0) {
        if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
            admin_send_error(req, 405, "method_not_allowed", "use POST to create a session");
            return true;
        }
        handle_create(cfg, rc, req);
        return true;
    }
    if (strncmp(path, "/v1/users/", 10) != 0)
        return false;
    char *user;
    const char *id;
    if (split_user_path(path, &user, &id) != 0)
        return false;
    handle_user(cfg, rc, req, user, id);
    free(user);
    return true;
}
