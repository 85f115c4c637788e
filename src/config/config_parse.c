/*
 * config_parse.c - the schema of the config file (SPEC sections 3 and 11):
 * one directive table per YAML mapping, the defaults, and the cross-checks a
 * table cannot say (limits, route names, keys against the token format).
 *
 *   file --config_yaml_load--> document --section tables--> struct config
 *                                               |
 *                                               +--> errors, sorted by position,
 *                                                    "FILE:LINE:COL: message"
 *
 * Each table is {name, setter, offset, arg, required} (twemproxy's
 * nc_conf.c, h2o's configurator). config_yaml_parse_map() checks every key
 * against its table first (unknown and duplicate keys), then runs the
 * setters in TABLE order, not file order: upstreams and plans are therefore
 * known when routes refer to them, wherever the file puts them. The walker,
 * error collection and ${VAR} expansion are config_yaml.c's; addresses,
 * CIDRs, methods and header values are config_value.c's.
 */
#include "config/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_value.h"
#include "config/config_yaml.h"
#include "sluice.h"
#include "tokens/token.h"

#define WORKERS_MAX 1024

/* ---- listeners and workers ---------------------------------------------- */

/* listen: one address or a list of them. */
static void
set_listen(struct config_yaml *y, yaml_node_t *val, void *base,
           const struct config_yaml_directive *d, const char *where)
{
    struct config *cfg = base;

    if (val->type != YAML_SEQUENCE_NODE) {
        cfg->listen = xcalloc(1, sizeof(*cfg->listen));
        cfg->nlisten = 1;
        config_value_resolve_addr(y, val, where, true, &cfg->listen[0]);
        return;
    }
    if (config_yaml_seq_len(val) == 0)
        config_yaml_error(y, val, "%s: needs at least one address", where);
    config_value_resolve_addrs(y, val, where, true, &cfg->listen, &cfg->nlisten);
}

static void
set_workers(struct config_yaml *y, yaml_node_t *val, void *base,
            const struct config_yaml_directive *d, const char *where)
{
    uint64_t v;
    if (val->type == YAML_SCALAR_NODE && strcmp(config_yaml_raw(val), "auto") == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n > WORKERS_MAX)
            n = WORKERS_MAX;
        *CONFIG_YAML_FIELD(base, d, unsigned) = n < 1 ? 1 : (unsigned)n;
    } else if (config_yaml_get_u64(y, val, where, 1, WORKERS_MAX, &v) == 0) {
        *CONFIG_YAML_FIELD(base, d, unsigned) = (unsigned)v;
    }
}

/* ---- upstreams ---------------------------------------------------------- */

static void
set_servers(struct config_yaml *y, yaml_node_t *val, void *base,
            const struct config_yaml_directive *d, const char *where)
{
    struct config_upstream *up = base;

    if (config_yaml_check_list(y, val, where) < 0)
        return;
    if (config_yaml_list_len(val) == 0) {
        config_yaml_error(y, val, "%s: needs at least one server", where);
        return;
    }
    config_value_resolve_addrs(y, val, where, false, &up->servers, &up->nservers);
}

static const struct config_yaml_directive upstream_directives[] = {
    {"servers", set_servers, 0, NULL, true, .doc = "host:port of each server, used round robin",
     .example = "[127.0.0.1:9000]"},
    {"keepalive", config_yaml_set_uint, offsetof(struct config_upstream, keepalive), NULL, false,
     .doc = "idle connections kept per worker for reuse", .example = "64"},
    {"connect_timeout", config_yaml_set_dur32_pos,
     offsetof(struct config_upstream, connect_timeout_ms), NULL, false,
     .doc = "a server that does not accept in time is skipped (502 if none is left)",
     .example = "2s"},
    {"read_timeout", config_yaml_set_dur32_pos, offsetof(struct config_upstream, read_timeout_ms),
     NULL, false, .doc = "longest silence while waiting for the response (504); long for LLMs",
     .example = "300s"},
    {"idle_timeout", config_yaml_set_dur32_pos, offsetof(struct config_upstream, idle_timeout_ms),
     NULL, false, .doc = "pooled connections unused this long are closed", .example = "60s"},
    {"fail_timeout", config_yaml_set_dur32, offsetof(struct config_upstream, fail_timeout_ms), NULL,
     false, .doc = "a failed server is skipped this long (health checks may restore it sooner)",
     .example = "10s"},
    {"set_headers", config_value_set_headers, 0, NULL, false,
     .doc = "request headers set for this upstream, replacing the client's",
     .example = "{ authorization: \"Bearer ${OPENAI_API_KEY}\" }"},
};
static const struct config_yaml_section upstream_section = CONFIG_YAML_SECTION(upstream_directives);

static void
upstream_init(struct config_upstream *up, const char *name, unsigned index)
{
    memset(up, 0, sizeof(*up));
    up->name = xstrdup(name);
    up->index = index;
    up->keepalive = 64;
    up->connect_timeout_ms = 2000;
    up->read_timeout_ms = 300000;
    up->idle_timeout_ms = 60000;
    up->fail_timeout_ms = 10000;
}

static void
upstream_each(struct config_yaml *y, yaml_node_t *k, yaml_node_t *v, const char *where)
{
    struct config *cfg = y->cfg;
    cfg->upstreams = xrealloc(cfg->upstreams, (cfg->nupstreams + 1) * sizeof(*cfg->upstreams));
    struct config_upstream *up = &cfg->upstreams[cfg->nupstreams];
    upstream_init(up, config_yaml_raw(k), (unsigned)cfg->nupstreams);
    cfg->nupstreams++;
    config_yaml_parse_map(y, v, &upstream_section, up, where);
    up->server_down_until_ms = xcalloc(up->nservers, sizeof(*up->server_down_until_ms));
}

static void
set_upstreams(struct config_yaml *y, yaml_node_t *val, void *base,
              const struct config_yaml_directive *d, const char *where)
{
    config_yaml_each_named(y, val, where, upstream_each);
}

/* ---- plans and limits --------------------------------------------------- */

static void
set_amount(struct config_yaml *y, yaml_node_t *val, void *base,
           const struct config_yaml_directive *d, const char *where)
{
    struct config_limit *lim = base;
    uint64_t v;
    if (config_yaml_get_u64(y, val, where, 1, UINT64_MAX, &v) < 0)
        return;
    lim->amount = v;
    lim->kind = (enum config_limit_kind)(intptr_t)d->arg;
}

static void
set_precision(struct config_yaml *y, yaml_node_t *val, void *base,
              const struct config_yaml_directive *d, const char *where)
{
    uint64_t v;
    if (config_yaml_get_u64(y, val, where, 1, 100000, &v) == 0)
        ((struct config_limit *)base)->precision = (unsigned)v;
}

static const struct config_yaml_directive limit_directives[] = {
    {"name", config_yaml_set_str_nonempty, offsetof(struct config_limit, name), NULL, true,
     .doc = "names the limit in headers, metrics and the admin API", .example = "per_minute"},
    {"requests", set_amount, 0, (const void *)(intptr_t)CONFIG_LIMIT_REQUESTS, false,
     .doc = "requests admitted per window (one of requests, tokens, concurrent)", .example = "60"},
    {"tokens", set_amount, 0, (const void *)(intptr_t)CONFIG_LIMIT_TOKENS, false,
     .doc = "LLM tokens per window, from usage.total_tokens", .example = "40000",
     .alternative = true},
    {"concurrent", set_amount, 0, (const void *)(intptr_t)CONFIG_LIMIT_CONCURRENT, false,
     .doc = "requests in flight (no window)", .example = "2", .alternative = true},
    {"window", config_yaml_set_dur32_pos, offsetof(struct config_limit, window_ms), NULL, false,
     .doc = "sliding window of requests and tokens limits", .example = "1m"},
    {"precision", set_precision, 0, NULL, false,
     .doc = "buckets per window: memory per user and limit", .example = "60"},
    {"estimate", config_yaml_set_u64, offsetof(struct config_limit, estimate), NULL, false,
     .doc = "tokens limits: reserved when the request has no max_tokens", .example = "1000",
     .alternative = true},
};
static const struct config_yaml_section limit_section = CONFIG_YAML_SECTION(limit_directives);

static bool
limit_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* The rules one table cannot say: exactly one amount, window iff windowed. */
static void
limit_check(struct config_yaml *y, yaml_node_t *n, struct config_limit *lim, const char *where)
{
    static const char *const amounts[] = {"requests", "tokens", "concurrent"};
    int namounts = 0;
    yaml_node_t *window = config_yaml_map_find(y, n, "window");

    for (size_t i = 0; i < SL_ARRAY_LEN(amounts); i++)
        namounts += config_yaml_map_find(y, n, amounts[i]) != NULL;
    if (namounts != 1) {
        config_yaml_error(y, n, "%s: needs exactly one of requests, tokens or concurrent", where);
        return;
    }
    if (lim->kind == CONFIG_LIMIT_CONCURRENT) {
        const char *extra[] = {"window", "precision", "estimate"};
        for (size_t i = 0; i < SL_ARRAY_LEN(extra); i++)
            if (config_yaml_map_find(y, n, extra[i]) != NULL)
                config_yaml_error(y, config_yaml_map_find(y, n, extra[i]),
                                  "%s: %s does not apply to a concurrent limit", where, extra[i]);
        lim->precision = 0;
        lim->estimate = 0;
        return;
    }
    if (window == NULL)
        config_yaml_error(y, n, "%s: a %s limit needs a window", where, amounts[lim->kind]);
    else if (lim->window_ms != 0 && lim->precision > lim->window_ms)
        config_yaml_error(y, config_yaml_map_find(y, n, "precision"),
                          "%s: precision is finer than 1ms", where);
    if (lim->kind == CONFIG_LIMIT_REQUESTS && config_yaml_map_find(y, n, "estimate") != NULL)
        config_yaml_error(y, config_yaml_map_find(y, n, "estimate"),
                          "%s: estimate applies to tokens limits only", where);
    if (lim->kind == CONFIG_LIMIT_REQUESTS)
        lim->estimate = 0;
}

static void
parse_limits(struct config_yaml *y, yaml_node_t *val, const char *where, struct config_limit **out,
             size_t *nout)
{
    char child[CONFIG_YAML_WHERE_MAX];

    if (config_yaml_check_list(y, val, where) < 0)
        return;
    if (config_yaml_list_len(val) > CONFIG_PLAN_MAX_LIMITS) {
        config_yaml_error(y, val, "%s: at most %d limits", where, CONFIG_PLAN_MAX_LIMITS);
        return;
    }
    *out = xcalloc(config_yaml_list_len(val), sizeof(**out));
    for (size_t i = 0; i < config_yaml_list_len(val); i++) {
        yaml_node_t *item = config_yaml_seq_item(y, val, i);
        struct config_limit *lim = &(*out)[*nout];
        config_yaml_where_index(child, where, i);
        *lim = (struct config_limit){.precision = 60, .estimate = 1000};
        (*nout)++;
        if (config_yaml_parse_map(y, item, &limit_section, lim, child) < 0 ||
            config_yaml_is_null(item))
            continue;
        limit_check(y, item, lim, child);
        if (lim->name != NULL && !limit_name_valid(lim->name))
            config_yaml_error(y, config_yaml_map_find(y, item, "name"),
                              "%s: a limit name is 1-64 of A-Z a-z 0-9 _ . - (it is quoted "
                              "in RateLimit fields and part of Redis field names)",
                              child);
        for (size_t j = 0; j + 1 < *nout && lim->name != NULL; j++)
            if ((*out)[j].name != NULL && strcmp((*out)[j].name, lim->name) == 0)
                config_yaml_error(y, config_yaml_map_find(y, item, "name"),
                                  "%s: duplicate limit name '%s'", child, lim->name);
    }
}

static void
set_plan_limits(struct config_yaml *y, yaml_node_t *val, void *base,
                const struct config_yaml_directive *d, const char *where)
{
    struct config_plan *plan = base;
    parse_limits(y, val, where, &plan->limits, &plan->nlimits);
}

static const struct config_yaml_directive plan_directives[] = {
    {"limits", set_plan_limits, 0, NULL, true, .doc = "every limit of the plan, checked at once",
     .shape = CONFIG_YAML_LIST, .sub = &limit_section},
};
static const struct config_yaml_section plan_section = CONFIG_YAML_SECTION(plan_directives);

static void
plan_each(struct config_yaml *y, yaml_node_t *k, yaml_node_t *v, const char *where)
{
    struct config *cfg = y->cfg;
    cfg->plans = xrealloc(cfg->plans, (cfg->nplans + 1) * sizeof(*cfg->plans));
    struct config_plan *plan = &cfg->plans[cfg->nplans++];
    *plan = (struct config_plan){.name = xstrdup(config_yaml_raw(k))};
    config_yaml_parse_map(y, v, &plan_section, plan, where);
}

static void
set_plans(struct config_yaml *y, yaml_node_t *val, void *base,
          const struct config_yaml_directive *d, const char *where)
{
    config_yaml_each_named(y, val, where, plan_each);
}

static void
set_anon_limits(struct config_yaml *y, yaml_node_t *val, void *base,
                const struct config_yaml_directive *d, const char *where)
{
    struct config *cfg = base;
    parse_limits(y, val, where, &cfg->anonymous.limits, &cfg->anonymous.nlimits);
}

static const char *const anon_keys[] = {"client_ip", NULL};
static const struct config_yaml_directive anonymous_directives[] = {
    {"key", config_yaml_set_str_oneof, offsetof(struct config, anonymous.key), anon_keys, false,
     .doc = "what an anonymous caller is counted by", .example = "client_ip"},
    {"limits", set_anon_limits, 0, NULL, false, .doc = "limits of anonymous callers",
     .shape = CONFIG_YAML_LIST, .sub = &limit_section},
};
static const struct config_yaml_section anonymous_section =
    CONFIG_YAML_SECTION(anonymous_directives);

static void
set_anonymous(struct config_yaml *y, yaml_node_t *val, void *base,
              const struct config_yaml_directive *d, const char *where)
{
    struct config *cfg = base;
    cfg->has_anonymous = true;
    cfg->anonymous.key = xstrdup("client_ip");
    config_yaml_parse_map(y, val, &anonymous_section, cfg, where);
}

/* ---- routes ------------------------------------------------------------- */

static void
set_path_prefix(struct config_yaml *y, yaml_node_t *val, void *base,
                const struct config_yaml_directive *d, const char *where)
{
    struct config_route *r = base;
    char *s = config_yaml_scalar_nonempty(y, val, where);
    if (s != NULL && s[0] != '/') {
        config_yaml_error(y, val, "%s: '%s' must start with '/'", where, s);
        free(s);
        s = NULL;
    }
    if (s == NULL)
        return;
    config_yaml_replace_str(&r->path_prefix, s);
    r->path_prefix_len = strlen(s);
}

static void
set_route_upstream(struct config_yaml *y, yaml_node_t *val, void *base,
                   const struct config_yaml_directive *d, const char *where)
{
    struct config_route *r = base;
    char *s = config_yaml_scalar_nonempty(y, val, where);
    if (s == NULL)
        return;
    r->upstream = config_find_upstream(y->cfg, s);
    if (r->upstream == NULL)
        config_yaml_error(y, val, "%s: upstream '%s' is not defined under upstreams", where, s);
    free(s);
}

static void
set_route_plan(struct config_yaml *y, yaml_node_t *val, void *base,
               const struct config_yaml_directive *d, const char *where)
{
    char *s = config_yaml_scalar_nonempty(y, val, where);
    if (s == NULL)
        return;
    if (config_find_plan(y->cfg, s) == NULL)
        config_yaml_error(y, val, "%s: plan '%s' is not defined under plans", where, s);
    config_yaml_replace_str(CONFIG_YAML_FIELD(base, d, char *), s);
}

static const struct config_yaml_directive match_directives[] = {
    {"path_prefix", set_path_prefix, 0, NULL, false, .doc = "the path starts with this",
     .example = "/v1/chat/completions"},
    {"methods", config_value_set_methods, offsetof(struct config_route, methods), NULL, false,
     .doc = "methods allowed (default: all)", .example = "[GET, POST]"},
};
static const struct config_yaml_section match_section = CONFIG_YAML_SECTION(match_directives);

static const char *const scope_names[] = {"shared", "user", NULL};
static const struct config_yaml_directive cache_directives[] = {
    {"ttl", config_yaml_set_dur32_pos, offsetof(struct config_route, cache.ttl_ms), NULL, false,
     .doc = "freshness when the upstream gives none (needed with methods: [POST])",
     .example = "60s"},
    {"scope", config_yaml_set_enum, offsetof(struct config_route, cache.scope), scope_names, false,
     .doc = "shared, or user: entries are kept per user", .example = "shared"},
    {"methods", config_value_set_methods, offsetof(struct config_route, cache.methods), NULL, false,
     .doc = "cached methods; POST keys entries by the request body", .example = "[GET, HEAD]"},
    {"stale_while_revalidate", config_yaml_set_dur32,
     offsetof(struct config_route, cache.stale_while_revalidate_ms), NULL, false,
     .doc = "default when the response's Cache-Control has none", .example = "0s"},
    {"stale_if_error", config_yaml_set_dur32,
     offsetof(struct config_route, cache.stale_if_error_ms), NULL, false,
     .doc = "default when the response's Cache-Control has none", .example = "0s"},
};
static const struct config_yaml_section cache_section = CONFIG_YAML_SECTION(cache_directives);

static void
set_cache(struct config_yaml *y, yaml_node_t *val, void *base,
          const struct config_yaml_directive *d, const char *where)
{
    struct config_route *r = base;
    r->cache.enabled = true;
    config_yaml_parse_map(y, val, &cache_section, r, where);
    /* POST entries are per user unless the operator said shared (SPEC 7). */
    r->cache.scope_set = config_yaml_map_find(y, val, "scope") != NULL;
    /* A POST entry's freshness is the route's ttl alone (SPEC section 11);
     * GET and HEAD have the response's own, or none (not stored). */
    if ((r->cache.methods & CONFIG_METHOD_POST) && config_yaml_map_find(y, val, "ttl") == NULL)
        config_yaml_error(y, val, "%s: methods: [POST] needs a ttl", where);
}

static const char *const auth_names[] = {"required", "optional", "none", NULL};
static const struct config_yaml_directive route_directives[] = {
    {"name", config_yaml_set_str_nonempty, offsetof(struct config_route, name), NULL, false,
     .doc = "names the route in logs, metrics and cache purges (default routeN)",
     .example = "chat"},
    {"match", config_yaml_set_section, 0, &match_section, false,
     .doc = "which requests take this route; first match wins", .shape = CONFIG_YAML_MAP,
     .sub = &match_section},
    {"upstream", set_route_upstream, 0, NULL, true, .doc = "a name under upstreams",
     .example = "llm"},
    {"auth", config_yaml_set_enum, offsetof(struct config_route, auth), auth_names, false,
     .doc = "required, optional or none", .example = "required"},
    {"plan", set_route_plan, offsetof(struct config_route, plan), NULL, false,
     .doc = "a name under plans, when the session names none", .example = "free"},
    {"idempotency", config_yaml_set_bool, offsetof(struct config_route, idempotency), NULL, false,
     .doc = "replay POSTs that carry an Idempotency-Key", .example = "true"},
    {"idempotency_ttl", config_yaml_set_dur32_pos,
     offsetof(struct config_route, idempotency_ttl_ms), NULL, false,
     .doc = "how long an idempotency record lives", .example = "24h"},
    {"cache", set_cache, 0, NULL, false, .doc = "answer GET and HEAD from the cache in Redis",
     .shape = CONFIG_YAML_MAP, .sub = &cache_section},
};
static const struct config_yaml_section route_section = CONFIG_YAML_SECTION(route_directives);

static void
route_init(struct config_route *r)
{
    memset(r, 0, sizeof(*r));
    r->path_prefix = xstrdup("/");
    r->path_prefix_len = 1;
    r->auth = CONFIG_AUTH_REQUIRED;
    r->idempotency_ttl_ms = 24u * 3600 * 1000;
    r->cache.scope = CONFIG_CACHE_SHARED;
    r->cache.methods = CONFIG_METHOD_GET | CONFIG_METHOD_HEAD;
}

static void
route_name_check(struct config_yaml *y, yaml_node_t *n, size_t i)
{
    struct config *cfg = y->cfg;
    struct config_route *r = &cfg->routes[i];
    char buf[32];

    if (r->name == NULL) {
        snprintf(buf, sizeof(buf), "route%zu", i);
        r->name = xstrdup(buf);
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(cfg->routes[j].name, r->name) != 0)
            continue;
        yaml_node_t *at = n->type == YAML_MAPPING_NODE ? config_yaml_map_find(y, n, "name") : NULL;
        config_yaml_error(y, at ? at : n, "routes[%zu]: duplicate route name '%s'", i, r->name);
        break;
    }
}

static void
set_routes(struct config_yaml *y, yaml_node_t *val, void *base,
           const struct config_yaml_directive *d, const char *where)
{
    struct config *cfg = base;
    char child[CONFIG_YAML_WHERE_MAX];

    if (config_yaml_check_list(y, val, where) < 0)
        return;
    if (config_yaml_list_len(val) == 0) {
        config_yaml_error(y, val, "no routes");
        return;
    }
    cfg->routes = xcalloc(config_yaml_seq_len(val), sizeof(*cfg->routes));
    for (size_t i = 0; i < config_yaml_seq_len(val); i++) {
        yaml_node_t *item = config_yaml_seq_item(y, val, i);
        config_yaml_where_index(child, where, i);
        route_init(&cfg->routes[i]);
        cfg->nroutes++;
        if (config_yaml_is_null(item))
            config_yaml_error(y, item, "%s: empty route", child);
        else
            config_yaml_parse_map(y, item, &route_section, &cfg->routes[i], child);
        route_name_check(y, item, i);
    }
}

/* ---- sections of the top level ------------------------------------------ */

static const struct config_yaml_directive admin_directives[] = {
    {"listen", config_value_set_addr, offsetof(struct config, admin_listen), NULL, true,
     .doc = "admin API, /metrics, /healthz, /readyz", .example = "127.0.0.1:8081"},
    /* required: the admin API mints sessions, it must never be open */
    {"token", config_yaml_set_str_nonempty, offsetof(struct config, admin_token), NULL, true,
     .doc = "Authorization: Bearer <token> for /v1/*", .example = "${SLUICE_ADMIN_TOKEN}"},
};
static const struct config_yaml_section admin_section = CONFIG_YAML_SECTION(admin_directives);

/* Parsed here, not only stored, so `sluice -t` reports a bad URL at its
 * position. Runs before the tls section (table order), which then fills
 * target.tls_opt. */
static void
set_redis_url(struct config_yaml *y, yaml_node_t *val, void *base,
              const struct config_yaml_directive *d, const char *where)
{
    struct config *cfg = base;
    const char *why;
    char *s = config_yaml_scalar_nonempty(y, val, where);
    if (s == NULL)
        return;
    if (redis_url_parse(s, &cfg->redis.target, &why) < 0) {
        /* the URL may hold a password: name the problem, not the value */
        config_yaml_error(y, val, "%s: bad Redis URL: %s", where, why);
        free(s);
        return;
    }
    config_yaml_replace_str(CONFIG_YAML_FIELD(base, d, char *), s);
}

/* A file name of redis.tls, into a fixed-size field; it must be readable
 * now, so a typo is found by `sluice -t`, not at the first connect. */
static void
set_tls_file(struct config_yaml *y, yaml_node_t *val, void *base,
             const struct config_yaml_directive *d, const char *where)
{
    char *s = config_yaml_scalar_nonempty(y, val, where);
    if (s == NULL)
        return;
    if (strlen(s) >= REDIS_URL_PATH_MAX)
        config_yaml_error(y, val, "%s: file name is too long", where);
    else if (access(s, R_OK) != 0)
        config_yaml_error(y, val, "%s: cannot read '%s': %s", where, s, strerror(errno));
    else
        memcpy(CONFIG_YAML_FIELD(base, d, char), s, strlen(s) + 1);
    free(s);
}

static void
set_tls_server_name(struct config_yaml *y, yaml_node_t *val, void *base,
                    const struct config_yaml_directive *d, const char *where)
{
    struct redis_tls_options *o = base;
    char *s = config_yaml_scalar_nonempty(y, val, where);
    if (s == NULL)
        return;
    if (strlen(s) >= sizeof(o->server_name))
        config_yaml_error(y, val, "%s: name is too long", where);
    else
        memcpy(o->server_name, s, strlen(s) + 1);
    free(s);
}

static const struct config_yaml_directive redis_tls_directives[] = {
    {"ca_file", set_tls_file, offsetof(struct redis_tls_options, ca_file), NULL, false,
     .doc = "PEM CA certificates the server's certificate must chain to (default: the system "
            "store)",
     .example = "/etc/ssl/certs/ca-certificates.crt", .alternative = true},
    {"cert_file", set_tls_file, offsetof(struct redis_tls_options, cert_file), NULL, false,
     .doc = "PEM client certificate, for servers that require one (mutual TLS; no default)",
     .example = "/etc/sluice/redis-client.crt", .alternative = true},
    {"key_file", set_tls_file, offsetof(struct redis_tls_options, key_file), NULL, false,
     .doc = "PEM private key of cert_file (no default)", .example = "/etc/sluice/redis-client.key",
     .alternative = true},
    {"server_name", set_tls_server_name, 0, NULL, false,
     .doc = "name the certificate must carry, and the SNI sent (default: the URL's host)",
     .example = "redis.internal", .alternative = true},
    {"verify", config_yaml_set_bool, offsetof(struct redis_tls_options, verify), NULL, false,
     .doc = "check the server's certificate and name; false is for tests only (logged)",
     .example = "true"},
};
static const struct config_yaml_section redis_tls_section =
    CONFIG_YAML_SECTION(redis_tls_directives);

static void
set_redis_tls(struct config_yaml *y, yaml_node_t *val, void *base,
              const struct config_yaml_directive *d, const char *where)
{
    struct redis_tls_options *o = CONFIG_YAML_FIELD(base, d, struct redis_tls_options);
    if (config_yaml_parse_map(y, val, &redis_tls_section, o, where) < 0)
        return;
    if ((o->cert_file[0] == '\0') != (o->key_file[0] == '\0'))
        config_yaml_error(y, val, "%s: cert_file and key_file go together", where);
}

/* A prefix with a brace would move the hash tag out of the caller's name
 * (Redis Cluster hashes the first {...}), and keys are built in fixed
 * buffers (policy/session_keys.h). */
static void
set_redis_prefix(struct config_yaml *y, yaml_node_t *val, void *base,
                 const struct config_yaml_directive *d, const char *where)
{
    config_yaml_set_str(y, val, base, d, where);
    const char *p = ((struct config *)base)->redis.prefix;
    if (p != NULL && (strlen(p) > 256 || strpbrk(p, "{}") != NULL))
        config_yaml_error(y, val, "%s: at most 256 bytes, without '{' or '}'", where);
}

/* A host:port list into *list (owned), checked here so `sluice -t` names a
 * bad item; an item without a port gets default_port. */
static void
set_seed_list(struct config_yaml *y, yaml_node_t *val, const char *where, int default_port,
              struct redis_seed **list, size_t *n)
{
    char child[CONFIG_YAML_WHERE_MAX];
    if (config_yaml_check_list(y, val, where) < 0)
        return;
    free(*list);
    *list = xcalloc(config_yaml_list_len(val) + 1, sizeof(**list));
    *n = 0;
    for (size_t i = 0; i < config_yaml_list_len(val); i++) {
        yaml_node_t *item = config_yaml_seq_item(y, val, i);
        config_yaml_where_index(child, where, i);
        char *s = config_yaml_scalar_nonempty(y, item, child);
        const char *why;
        if (s == NULL)
            continue;
        if (redis_seed_parse(s, default_port, &(*list)[*n], &why) < 0)
            config_yaml_error(y, item, "%s: bad host:port '%s': %s", child, s, why);
        else
            (*n)++;
        free(s);
    }
}

static void
set_redis_nodes(struct config_yaml *y, yaml_node_t *val, void *base,
                const struct config_yaml_directive *d, const char *where)
{
    struct config *cfg = base;
    set_seed_list(y, val, where, 6379, &cfg->redis.nodes, &cfg->redis.nnodes);
}

static void
set_sentinel_nodes(struct config_yaml *y, yaml_node_t *val, void *base,
                   const struct config_yaml_directive *d, const char *where)
{
    struct config_sentinel *sn = base;
    set_seed_list(y, val, where, 26379, &sn->nodes, &sn->nnodes);
    if (config_yaml_list_len(val) == 0)
        config_yaml_error(y, val, "%s: at least one Sentinel", where);
}

static const struct config_yaml_directive redis_sentinel_directives[] = {
    {"master", config_yaml_set_str_nonempty, offsetof(struct config_sentinel, master), NULL, true,
     .doc = "the name the Sentinels monitor the master by", .example = "mymaster"},
    {"nodes", set_sentinel_nodes, 0, NULL, true,
     .doc = "the Sentinels, asked in turn (host:port; port 26379 by default)",
     .example = "[10.0.0.2:26379, 10.0.0.3:26379, 10.0.0.4:26379]"},
};
static const struct config_yaml_section redis_sentinel_section =
    CONFIG_YAML_SECTION(redis_sentinel_directives);

/* Runs after url and nodes (table order): a Sentinel's master is one
 * Redis at a TCP address, so neither a cluster nor a unix socket. */
static void
set_redis_sentinel(struct config_yaml *y, yaml_node_t *val, void *base,
                   const struct config_yaml_directive *d, const char *where)
{
    struct config *cfg = base;
    if (config_yaml_parse_map(y, val, &redis_sentinel_section, &cfg->redis.sentinel, where) < 0)
        return;
    if (cfg->redis.nnodes > 0)
        config_yaml_error(y, val, "%s: not with redis.nodes (a Redis Cluster has no Sentinel)",
                          where);
    else if (cfg->redis.target.is_unix)
        config_yaml_error(y, val,
                          "%s: redis.url must be redis:// or rediss:// (Sentinel gives "
                          "the host and port)",
                          where);
}

static const char *const on_error_names[] = {"closed", "open", NULL};
static const struct config_yaml_directive redis_directives[] = {
    {"url", set_redis_url, offsetof(struct config, redis.url), NULL, false,
     .doc = "redis://[user:pass@]host:port/db, rediss:// (TLS) or unix:///path.sock[?db=N]",
     .example = "redis://127.0.0.1:6379/0"},
    {"tls", set_redis_tls, offsetof(struct config, redis.target.tls_opt), NULL, false,
     .doc = "TLS settings of a rediss:// URL", .shape = CONFIG_YAML_MAP,
     .sub = &redis_tls_section},
    {"nodes", set_redis_nodes, 0, NULL, false,
     .doc = "Redis Cluster: more nodes to find it from when url's is down (host:port list)",
     .example = "[10.0.0.2:6379, 10.0.0.3:6379]", .alternative = true},
    {"sentinel", set_redis_sentinel, 0, NULL, false,
     /* a scalar example, so the reference prints it commented out */
     .doc = "Redis Sentinel: the master (by name) is where the Sentinels (host:port, "
            "26379) say, followed across failovers; url gives credentials, db, TLS",
     .example = "{ master: mymaster, nodes: [10.0.0.2:26379, 10.0.0.3:26379, 10.0.0.4:26379] }",
     .alternative = true},
    {"prefix", set_redis_prefix, offsetof(struct config, redis.prefix), NULL, false,
     .doc = "starts every key", .example = "\"sluice:\""},
    {"timeout", config_yaml_set_dur32_pos, offsetof(struct config, redis.timeout_ms), NULL, false,
     .doc = "a reply slower than this counts as Redis unavailable", .example = "100ms"},
    {"on_error", config_yaml_set_enum, offsetof(struct config, redis.on_error), on_error_names,
     false, .doc = "closed: 503 without Redis; open: admit with a local fallback limiter",
     .example = "closed"},
};
static const struct config_yaml_section redis_section = CONFIG_YAML_SECTION(redis_directives);

_Static_assert((int)CONFIG_KEY_SECRET == (int)TOKEN_KEY_SECRET &&
                   (int)CONFIG_KEY_PUBLIC == (int)TOKEN_KEY_PUBLIC &&
                   (int)CONFIG_KEY_LOCAL == (int)TOKEN_KEY_LOCAL,
               "config and token key kinds agree");

static enum token_format
token_format_of(const struct config *cfg)
{
    return cfg->tokens.format == CONFIG_TOKENS_V4_LOCAL ? TOKEN_V4_LOCAL : TOKEN_V4_PUBLIC;
}

/* Decodes the key now, so that -t refuses bad base64, a wrong length or a
 * secret whose halves disagree, at the value's own line and column. */
static int
key_check(struct config_yaml *y, yaml_node_t *v, const char *where, enum config_key_kind kind,
          const char *paserk)
{
    char msg[256];

    if (token_key_check(token_format_of(y->cfg), (enum token_key_kind)kind, paserk, msg,
                        sizeof msg) == 0)
        return 0;
    config_yaml_error(y, v, "%s: %s", where, msg);
    return -1;
}

/* One entry of tokens.keys: exactly one of secret, public or local. */
static void
parse_key(struct config_yaml *y, yaml_node_t *n, const char *where, struct config_key *key)
{
    static const char *const kinds[] = {"secret", "public", "local"};
    char prefix[16];

    if (n->type != YAML_MAPPING_NODE || config_yaml_map_len(n) != 1) {
        config_yaml_error(
            y, n, "%s: expected one of { secret: ... }, { public: ... }, { local: ... }", where);
        return;
    }
    yaml_node_t *k = config_yaml_map_key(y, n, 0);
    yaml_node_t *v = config_yaml_map_value(y, n, 0);
    size_t kind = 0;
    while (kind < SL_ARRAY_LEN(kinds) &&
           (k->type != YAML_SCALAR_NODE || strcmp(config_yaml_raw(k), kinds[kind]) != 0))
        kind++;
    if (kind == SL_ARRAY_LEN(kinds)) {
        config_yaml_error(y, k, "unknown key '%s' in %s",
                          k->type == YAML_SCALAR_NODE ? config_yaml_raw(k) : "?", where);
        return;
    }
    char *s = config_yaml_scalar_nonempty(y, v, where);
    snprintf(prefix, sizeof(prefix), "k4.%s.", kinds[kind]);
    if (s != NULL && (strncmp(s, prefix, strlen(prefix)) != 0 || s[strlen(prefix)] == '\0'))
        config_yaml_error(y, v, "%s: a %s key must be a PASERK string starting with %s", where,
                          kinds[kind], prefix);
    else if (s != NULL &&
             (y->cfg->tokens.format == CONFIG_TOKENS_V4_LOCAL) != (kind == CONFIG_KEY_LOCAL))
        config_yaml_error(y, k, "%s: a %s key does not fit format %s", where, kinds[kind],
                          y->cfg->tokens.format == CONFIG_TOKENS_V4_LOCAL ? "paseto-v4-local"
                                                                          : "paseto-v4-public");
    else if (s != NULL && key_check(y, v, where, (enum config_key_kind)kind, s) == 0) {
        key->kind = (enum config_key_kind)kind;
        key->paserk = s;
        return;
    }
    free(s);
}

/* The decoded ring, once every key has passed key_check. */
static void
keyring_build(struct config_yaml *y, yaml_node_t *val, struct config *cfg)
{
    enum token_key_kind *kinds = xcalloc(cfg->tokens.nkeys + 1, sizeof *kinds);
    const char **paserks = xcalloc(cfg->tokens.nkeys + 1, sizeof *paserks);
    char msg[256];

    for (size_t i = 0; i < cfg->tokens.nkeys; i++) {
        kinds[i] = (enum token_key_kind)cfg->tokens.keys[i].kind;
        paserks[i] = cfg->tokens.keys[i].paserk;
    }
    cfg->tokens.keyring = token_keyring_new(token_format_of(cfg), kinds, paserks,
                                            cfg->tokens.nkeys, msg, sizeof msg);
    if (cfg->tokens.keyring == NULL)
        config_yaml_error(y, val, "tokens.keys: %s", msg);
    free(paserks);
    free(kinds);
}

static void
set_keys(struct config_yaml *y, yaml_node_t *val, void *base, const struct config_yaml_directive *d,
         const char *where)
{
    struct config *cfg = base;
    char child[CONFIG_YAML_WHERE_MAX];

    if (config_yaml_check_list(y, val, where) < 0)
        return;
    cfg->tokens.keys = xcalloc(config_yaml_list_len(val), sizeof(*cfg->tokens.keys));
    for (size_t i = 0; i < config_yaml_list_len(val); i++) {
        struct config_key key = {0};
        config_yaml_where_index(child, where, i);
        parse_key(y, config_yaml_seq_item(y, val, i), child, &key);
        if (key.paserk != NULL)
            cfg->tokens.keys[cfg->tokens.nkeys++] = key;
    }
    if (cfg->tokens.nkeys == config_yaml_list_len(val))
        keyring_build(y, val, cfg);
}

/* format comes before keys: keys are checked against it */
static const char *const format_names[] = {"paseto-v4-public", "paseto-v4-local", NULL};
static const struct config_yaml_directive tokens_directives[] = {
    {"format", config_yaml_set_enum, offsetof(struct config, tokens.format), format_names, false,
     .doc = "paseto-v4-public or paseto-v4-local", .example = "paseto-v4-public"},
    {"keys", set_keys, 0, NULL, false,
     .doc = "first key signs, every key verifies: secret, public (verify only) or local",
     .example = "secret: ${SLUICE_SECRET_KEY}", .shape = CONFIG_YAML_LIST},
    {"header", config_value_set_header_name, offsetof(struct config, tokens.header), NULL, false,
     .doc = "carries \"Bearer <token>\"", .example = "authorization"},
    {"cookie", config_yaml_set_str_nonempty, offsetof(struct config, tokens.cookie), NULL, false,
     .doc = "the token is also taken from this cookie", .example = "sluice_session"},
    {"session_ttl", config_yaml_set_dur32_pos, offsetof(struct config, tokens.session_ttl_ms), NULL,
     false, .doc = "a session unused this long is gone from Redis", .example = "1h"},
    {"sliding", config_yaml_set_bool, offsetof(struct config, tokens.sliding), NULL, false,
     .doc = "each use restarts the idle timer", .example = "true"},
    {"max_lifetime", config_yaml_set_dur64, offsetof(struct config, tokens.max_lifetime_ms), NULL,
     false, .doc = "the token's exp: the session's absolute end", .example = "30d"},
};
static const struct config_yaml_section tokens_section = CONFIG_YAML_SECTION(tokens_directives);

static const struct config_yaml_directive http_directives[] = {
    {"max_header_size", config_yaml_set_size, offsetof(struct config, http.max_header_size), NULL,
     false, .doc = "a larger request head is 431 (414 if its request line is)", .example = "32KiB"},
    {"max_body_size", config_yaml_set_size, offsetof(struct config, http.max_body_size), NULL,
     false, .doc = "a larger request body is 413", .example = "10MiB"},
    {"header_timeout", config_yaml_set_dur32_pos, offsetof(struct config, http.header_timeout_ms),
     NULL, false, .doc = "time to send the whole head, else 408", .example = "10s"},
    {"body_timeout", config_yaml_set_dur32_pos, offsetof(struct config, http.body_timeout_ms), NULL,
     false, .doc = "longest pause in a request body, else 408", .example = "60s"},
    {"idle_timeout", config_yaml_set_dur32_pos, offsetof(struct config, http.idle_timeout_ms), NULL,
     false, .doc = "idle keep-alive client connections are closed after this", .example = "75s"},
    {"drain_timeout", config_yaml_set_dur32, offsetof(struct config, http.drain_timeout_ms), NULL,
     false, .doc = "on SIGTERM, in-flight requests get this long", .example = "30s"},
    {"max_connections", config_yaml_set_uint, offsetof(struct config, http.max_connections), NULL,
     false, .doc = "client connections, all workers; over it 503 overloaded; 0: no cap",
     .example = "0"},
    {"hot_cache_size", config_yaml_set_size0, offsetof(struct config, http.hot_cache_size), NULL,
     false, .doc = "per worker: cache entries kept in memory for hits without Redis; 0: none",
     .example = "16MiB"},
    {"trusted_proxies", config_value_set_cidrs, 0, NULL, false,
     .doc = "peers (IP or CIDR) whose X-Forwarded-For is appended to, not replaced",
     .example = "[]"},
};
static const struct config_yaml_section http_section = CONFIG_YAML_SECTION(http_directives);

static const char *const level_names[] = {"debug", "info", "warn", "error", NULL};
static const struct config_yaml_directive log_directives[] = {
    {"access", config_yaml_set_str_nonempty, offsetof(struct config, log.access), NULL, false,
     .doc = "one JSON line per request: stdout, stderr, off or a file path", .example = "stdout"},
    {"level", config_yaml_set_str_oneof, offsetof(struct config, log.level), level_names, false,
     .doc = "error log on stderr: debug, info, warn or error", .example = "info"},
};
static const struct config_yaml_section log_section = CONFIG_YAML_SECTION(log_directives);

/* Table order is evaluation order: upstreams and plans before routes. */
static const struct config_yaml_directive top_directives[] = {
    {"listen", set_listen, 0, NULL, true, .doc = "address:port, or a list of them",
     .example = "127.0.0.1:8080"},
    {"workers", set_workers, offsetof(struct config, workers), NULL, false,
     .doc = "threads, each its own event loop; auto = one per core", .example = "1"},
    {"admin", config_yaml_set_section, 0, &admin_section, false,
     .doc = "the admin listener (optional)", .shape = CONFIG_YAML_MAP, .sub = &admin_section},
    {"redis", config_yaml_set_section, 0, &redis_section, false,
     .doc = "sessions, limits and the cache live here", .shape = CONFIG_YAML_MAP,
     .sub = &redis_section},
    {"tokens", config_yaml_set_section, 0, &tokens_section, false,
     .doc = "session tokens (PASETO v4)", .shape = CONFIG_YAML_MAP, .sub = &tokens_section},
    {"http", config_yaml_set_section, 0, &http_section, false, .doc = "limits on what clients send",
     .shape = CONFIG_YAML_MAP, .sub = &http_section},
    {"log", config_yaml_set_section, 0, &log_section, false, .doc = "logging",
     .shape = CONFIG_YAML_MAP, .sub = &log_section},
    {"upstreams", set_upstreams, 0, NULL, false, .doc = "backends, by name", .example = "llm",
     .shape = CONFIG_YAML_NAMED, .sub = &upstream_section},
    {"plans", set_plans, 0, NULL, false, .doc = "sets of limits, by name", .example = "free",
     .shape = CONFIG_YAML_NAMED, .sub = &plan_section},
    {"anonymous", set_anonymous, 0, NULL, false,
     .doc = "limits of callers without a token (none when absent)", .shape = CONFIG_YAML_MAP,
     .sub = &anonymous_section},
    {"routes", set_routes, 0, NULL, false, .doc = "first match wins", .shape = CONFIG_YAML_LIST,
     .sub = &route_section},
};
static const struct config_yaml_section top_section = CONFIG_YAML_SECTION(top_directives);

const struct config_yaml_section *
config_parse_schema(void)
{
    return &top_section;
}

/* ---- loading ------------------------------------------------------------ */

static struct config *
config_new(const char *path)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    atomic_init(&cfg->refs_, 1);
    cfg->path = xstrdup(path);
    cfg->workers = 1;
    cfg->redis.url = xstrdup("redis://127.0.0.1:6379/0");
    redis_url_parse(cfg->redis.url, &cfg->redis.target, NULL);
    cfg->redis.prefix = xstrdup("sluice:");
    cfg->redis.timeout_ms = 100;
    cfg->redis.on_error = CONFIG_ON_ERROR_CLOSED;
    cfg->tokens.format = CONFIG_TOKENS_V4_PUBLIC;
    cfg->tokens.header = xstrdup("authorization");
    cfg->tokens.cookie = xstrdup("sluice_session");
    cfg->tokens.session_ttl_ms = 3600u * 1000;
    cfg->tokens.sliding = true;
    cfg->tokens.max_lifetime_ms = 30ull * 86400 * 1000;
    cfg->http.max_header_size = 32u << 10;
    cfg->http.max_body_size = 10u << 20;
    cfg->http.hot_cache_size = 16u << 20;
    cfg->http.header_timeout_ms = 10000;
    cfg->http.body_timeout_ms = 60000;
    cfg->http.idle_timeout_ms = 75000;
    cfg->http.drain_timeout_ms = 30000;
    cfg->log.access = xstrdup("stdout");
    cfg->log.level = xstrdup("info");
    return cfg;
}

static void
parse_document(struct config_yaml *y)
{
    yaml_node_t *root = config_yaml_root(y);

    if (root == NULL) {
        config_yaml_error(y, NULL,
                          "empty configuration: expected a mapping with listen, upstreams, routes");
        return;
    }
    if (root->type != YAML_MAPPING_NODE) {
        config_yaml_error(y, root, "the top level must be a mapping, got %s",
                          config_yaml_kind_name(root));
        return;
    }
    config_yaml_parse_map(y, root, &top_section, y->cfg, "");
    if (config_yaml_map_find(y, root, "routes") == NULL)
        config_yaml_error(y, root, "no routes");
}

struct config *
config_load(const char *path, FILE *err_out)
{
    struct config_yaml y;
    FILE *f = fopen(path, "rb");

    if (f == NULL) {
        if (err_out != NULL)
            fprintf(err_out, "%s:1:1: cannot open: %s\n", path, strerror(errno));
        return NULL;
    }
    config_yaml_init(&y, path, config_new(path));
    if (config_yaml_load(&y, f) == 0)
        parse_document(&y);
    fclose(f);
    struct config *cfg = y.cfg;
    bool failed = config_yaml_errors_flush(&y, err_out) > 0;
    config_yaml_deinit(&y);
    if (failed) {
        config_unref(cfg);
        return NULL;
    }
    return cfg;
}
