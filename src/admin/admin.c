/*
 * admin.c - the admin listener (SPEC sections 8, 11) on the main thread's
 * loop, served with libevent's evhttp: the admin API is not the hot path,
 * so a general HTTP server is worth more here than our own parser.
 *
 *   GET /healthz  liveness, always 200
 *   GET /readyz   200 when Redis answers and every upstream has a healthy
 *                 server, else 503; both with the details (health.c)
 *   GET /metrics  Prometheus text (metrics.c), no token
 *   /v1/...       admin token required: sessions (admin_sessions.c); the
 *                 and the cache purge
 */
#include "admin/admin.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admin/admin_cache.h"
#include "admin/admin_limits.h"
#include "admin/admin_sessions.h"
#include "admin/health.h"
#include "admin/metrics.h"
#include "config/config.h"
#include "net/listener.h"
#include "sluice.h"
#include "util/clock.h"
#include "util/log.h"

#define ADMIN_TIMEOUT_S 10
#define ADMIN_MAX_HEADERS_SIZE (16 * 1024)
#define ADMIN_MAX_BODY_SIZE (64 * 1024)

struct admin {
    struct event_base *base;      /* borrowed; the main thread's */
    struct config *cfg;           /* owns a reference */
    struct evhttp *http;          /* owns (and its listener); NULL: no admin listener */
    struct listener_guard *guard; /* owns; pauses the listener when fds run out */
    struct health *health;        /* owns */
};

typedef void admin_handler_cb(struct admin *admin, struct evhttp_request *req);

static void
send_body(struct evhttp_request *req, int code, const char *content_type, struct evbuffer *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    /* NULL reason: evhttp supplies the standard phrase for the code. */
    evhttp_send_reply(req, code, NULL, body);
}

static void
send_json(struct evhttp_request *req, int code, const char *json)
{
    struct evbuffer *body = evbuffer_new();
    evbuffer_add_printf(body, "%s\n", json);
    send_body(req, code, "application/json", body);
    evbuffer_free(body);
}

/* Names come from the config and are ASCII in practice; escape anyway so
 * the body stays valid JSON whatever the file said. */
static void
add_json_string(struct evbuffer *out, const char *s)
{
    evbuffer_add(out, "\"", 1);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            evbuffer_add_printf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            evbuffer_add_printf(out, "\\u%04x", c);
        else
            evbuffer_add(out, s, 1);
    }
    evbuffer_add(out, "\"", 1);
}

static void
handle_healthz(struct admin *admin, struct evhttp_request *req)
{
    send_json(req, HTTP_OK, "{\"status\":\"ok\"}");
}

static void
add_redis_status(struct admin *admin, struct evbuffer *out, bool *ready)
{
    struct health_redis_status rs;
    health_redis_status(admin->health, &rs);
    *ready = *ready && rs.up;
    evbuffer_add_printf(out, "\"redis\":{\"status\":\"%s\",\"latency_ms\":", rs.up ? "up" : "down");
    if (rs.latency_ms >= 0)
        evbuffer_add_printf(out, "%.3f}", rs.latency_ms);
    else
        evbuffer_add_printf(out, "null}");
}

static void
add_upstreams_status(struct admin *admin, struct evbuffer *out, bool *ready)
{
    const struct config *cfg = admin->cfg;
    int64_t now_ms = clock_now_ms();
    evbuffer_add_printf(out, "\"upstreams\":{");
    for (size_t u = 0; u < cfg->nupstreams; u++) {
        const struct config_upstream *up = &cfg->upstreams[u];
        size_t healthy = health_upstream_healthy(up, now_ms);
        *ready = *ready && healthy > 0;
        if (u > 0)
            evbuffer_add(out, ",", 1);
        add_json_string(out, up->name);
        evbuffer_add_printf(out, ":{\"healthy\":%zu,\"servers\":{", healthy);
        for (size_t i = 0; i < up->nservers; i++) {
            if (i > 0)
                evbuffer_add(out, ",", 1);
            add_json_string(out, up->servers[i].text ? up->servers[i].text : "");
            evbuffer_add_printf(out, ":\"%s\"", health_server_up(up, i, now_ms) ? "up" : "down");
        }
        evbuffer_add_printf(out, "}}");
    }
    evbuffer_add(out, "}", 1);
}

static void
handle_readyz(struct admin *admin, struct evhttp_request *req)
{
    bool ready = true;
    struct evbuffer *details = evbuffer_new();
    add_redis_status(admin, details, &ready);
    evbuffer_add(details, ",", 1);
    add_upstreams_status(admin, details, &ready);

    struct evbuffer *body = evbuffer_new();
    evbuffer_add_printf(body, "{\"status\":\"%s\",", ready ? "ready" : "degraded");
    evbuffer_add_buffer(body, details);
    evbuffer_add(body, "}\n", 2);
    send_body(req, ready ? HTTP_OK : 503, "application/json", body);
    evbuffer_free(body);
    evbuffer_free(details);
}

static void
handle_metrics(struct admin *admin, struct evhttp_request *req)
{
    struct evbuffer *body = evbuffer_new();
    metrics_render(body, admin->cfg);
    send_body(req, HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body);
    evbuffer_free(body);
}

/* "Authorization: Bearer <token>" (RFC 6750 §2.1); the scheme is
 * case-insensitive (RFC 9110 §11.1). Lengths are compared first, which
 * reveals only the token's length; the bytes are compared in constant time. */
static bool
admin_authorized(const struct admin *admin, struct evhttp_request *req)
{
    const char *token = admin->cfg->admin_token;
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (token == NULL || token[0] == '\0' || h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *got = h + 7;
    while (*got == ' ')
        got++;
    size_t got_len = strlen(got);
    while (got_len > 0 && (got[got_len - 1] == ' ' || got[got_len - 1] == '\t'))
        got_len--;
    size_t want_len = strlen(token);
    return got_len == want_len && sodium_memcmp(got, token, want_len) == 0;
}

static void
handle_v1(struct admin *admin, struct evhttp_request *req, const char *path)
{
    if (!admin_authorized(admin, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"sluice-admin\"");
        admin_send_error(req, 401, "unauthorized", "this endpoint needs the admin token");
        return;
    }
    struct redis_client *rc = health_redis(admin->health);
    if (admin_sessions_handle(admin->cfg, rc, req, path) ||
        admin_limits_handle(admin->cfg, rc, req, path) ||
        admin_cache_handle(admin->cfg, rc, req, path))
        return;
    admin_send_error(req, HTTP_NOTFOUND, "not_found", "no such admin endpoint");
}

static const struct {
    const char *path;
    admin_handler_cb *fn;
} get_routes[] = {
    {"/healthz", handle_healthz},
    {"/readyz", handle_readyz},
    {"/metrics", handle_metrics},
};

static void
admin_request_cb(struct evhttp_request *req, void *arg)
{
    struct admin *admin = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL || path[0] == '\0')
        path = "/";
    if (strcmp(path, "/v1") == 0 || strncmp(path, "/v1/", 4) == 0) {
        handle_v1(admin, req, path);
        return;
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(get_routes); i++) {
        if (strcmp(path, get_routes[i].path) != 0)
            continue;
        enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
        if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
            admin_send_error(req, HTTP_BADMETHOD, "method_not_allowed", "use GET or HEAD");
            return;
        }
        get_routes[i].fn(admin, req);
        return;
    }
    admin_send_error(req, HTTP_NOTFOUND, "not_found", "no such admin endpoint");
}

static struct evhttp *
admin_http_new(struct admin *admin, const struct config_addr *addr)
{
    struct evconnlistener *lev = evconnlistener_new_bind(
        admin->base, NULL, NULL, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        128, (const struct sockaddr *)&addr->sa, (int)addr->sa_len);
    if (lev == NULL) {
        log_error("admin: cannot listen on %s: %s", addr->text, strerror(errno));
        return NULL;
    }
    struct evhttp *http = evhttp_new(admin->base);
    if (evhttp_bind_listener(http, lev) == NULL) {
        log_error("admin: cannot serve on %s", addr->text);
        evconnlistener_free(lev);
        evhttp_free(http);
        return NULL;
    }
    admin->guard = listener_guard_new(lev, admin->base, "admin");
    /* Allow every method, so a wrong one gets our JSON 405, not evhttp's. */
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                         EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
    evhttp_set_timeout(http, ADMIN_TIMEOUT_S);
    evhttp_set_max_headers_size(http, ADMIN_MAX_HEADERS_SIZE);
    evhttp_set_max_body_size(http, ADMIN_MAX_BODY_SIZE);
    evhttp_set_gencb(http, admin_request_cb, admin);
    return http;
}

struct admin *
admin_new(struct event_base *base, struct config *cfg)
{
    struct admin *admin = xcalloc(1, sizeof(*admin));
    admin->base = base;
    admin->cfg = config_ref(cfg);
    if (cfg->admin_listen.text != NULL) {
        admin->http = admin_http_new(admin, &cfg->admin_listen);
        if (admin->http == NULL)
            goto fail;
        log_info("admin: listening on %s", cfg->admin_listen.text);
    }
    /* Health checks run even without an admin listener: the upstream
     * probes are what bring a failed server back before fail_timeout. */
    admin->health = health_new(base, admin->cfg);
    return admin;

fail:
    config_unref(admin->cfg);
    free(admin);
    return NULL;
}

void
admin_set_config(struct admin *admin, struct config *cfg)
{
    struct config *old = admin->cfg;
    admin->cfg = config_ref(cfg);
    health_set_config(admin->health, admin->cfg);
    config_unref(old);
}

void
admin_free(struct admin *admin)
{
    if (admin == NULL)
        return;
    if (admin->http != NULL)
        evhttp_free(admin->http);
    listener_guard_free(admin->guard);
    health_free(admin->health);
    config_unref(admin->cfg);
    free(admin);
}
