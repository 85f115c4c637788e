/*
 * test_config.c - the configuration contract of SPEC sections 3 and 11:
 * durations and sizes, a full file loads with the documented defaults, every
 * kind of mistake is reported as FILE:LINE:COL: message (all of them, not
 * just the first), and trusted-proxy CIDR matching for IPv4, IPv6 and
 * IPv4-mapped peers.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "tap.h"
#include "tokens/token.h"

/* A real key pair (sluice keygen): keys are decoded at load. */
#define TEST_SECRET                                                                                \
    "k4.secret.YGaxNMn3u3PdyxfYY7pWSmN5T7cBLI3lBdmuE6rgyQ-MwaMaKGit-G5RnNaTbohPhyMOQfEHUs3e1J892_"  \
    "4oFQ"

/* Writes text to a fresh temp file; the caller unlinks and frees the path. */
static char *
write_tmp(const char *text)
{
    char tmpl[] = "/tmp/sluice_test_config_XXXXXX";
    int fd = mkstemp(tmpl);
    size_t len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        perror("mkstemp/write");
        exit(2);
    }
    close(fd);
    return strdup(tmpl);
}

/* Loads text; *errs (caller frees) receives everything written to err_out. */
static struct config *
load_text(const char *text, char **errs, char **path_out)
{
    char *path = write_tmp(text);
    size_t len;
    FILE *err = open_memstream(errs, &len);
    struct config *cfg = config_load(path, err);
    fclose(err);
    unlink(path);
    if (path_out != NULL)
        *path_out = path;
    else
        free(path);
    return cfg;
}

static void
test_durations(void)
{
    static const struct {
        const char *in;
        int rc;
        uint64_t ms;
    } cases[] = {
        {"250ms", 0, 250},
        {"5s", 0, 5000},
        {"1m", 0, 60000},
        {"1h", 0, 3600000},
        {"1d", 0, 86400000},
        {"0s", 0, 0},
        {"300s", 0, 300000},
        {"30d", 0, 2592000000ull},
        {"", -1, 0},
        {"5", -1, 0},
        {"-1s", -1, 0},
        {"1.5s", -1, 0},
        {"5 s", -1, 0},
        {"s", -1, 0},
        {"1w", -1, 0},
        {"1 fortnight", -1, 0},
        {"+5s", -1, 0},
        {"5sec", -1, 0},
        {"99999999999999999999s", -1, 0},
        {"18446744073709551615d", -1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t ms = 12345;
        int rc = config_parse_duration_ms(cases[i].in, &ms);
        is_int(rc, cases[i].rc, "duration '%s' rc", cases[i].in);
        if (cases[i].rc == 0)
            is_int(ms, cases[i].ms, "duration '%s' value", cases[i].in);
    }
}

static void
test_sizes(void)
{
    static const struct {
        const char *in;
        int rc;
        size_t n;
    } cases[] = {
        {"512", 0, 512},
        {"32KiB", 0, 32768},
        {"10MiB", 0, 10485760},
        {"1GiB", 0, 1073741824},
        {"1k", 0, 1024},
        {"2KB", 0, 2048},
        {"3MB", 0, 3145728},
        {"1m", 0, 1048576},
        {"8B", 0, 8},
        {"", -1, 0},
        {"KiB", -1, 0},
        {"-1", -1, 0},
        {"1TiB", -1, 0},
        {"1.5k", -1, 0},
        {"1 KiB", -1, 0},
        {"99999999999999999999", -1, 0},
        {"18446744073709551615GiB", -1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 7;
        int rc = config_parse_size(cases[i].in, &n);
        is_int(rc, cases[i].rc, "size '%s' rc", cases[i].in);
        if (cases[i].rc == 0)
            is_int(n, cases[i].n, "size '%s' value", cases[i].in);
    }
}

static void
test_methods(void)
{
    is_int(config_method_bit("GET", 3), CONFIG_METHOD_GET, "GET");
    is_int(config_method_bit("POST", 4), CONFIG_METHOD_POST, "POST");
    is_int(config_method_bit("TRACE", 5), CONFIG_METHOD_TRACE, "TRACE");
    is_int(config_method_bit("get", 3), 0, "methods are case-sensitive");
    is_int(config_method_bit("GETX", 3), CONFIG_METHOD_GET, "length bounds the name");
    is_int(config_method_bit("BREW", 4), 0, "unknown method");
}

/* SPEC section 3's example, plus every other key. */
static const char full_yaml[] =
    "listen: [127.0.0.1:8080, \"[::1]:8443\"]\n"
    "workers: 2\n"
    "admin:\n"
    "  listen: 127.0.0.1:8081\n"
    "  token: ${SLUICE_TEST_ADMIN_TOKEN}\n"
    "redis:\n"
    "  url: redis://127.0.0.1:6379/0\n"
    "  prefix: \"sluice:\"\n"
    "  timeout: 100ms\n"
    "  on_error: open\n"
    "  nodes: [10.0.0.2:7000, redis-b, \"[::1]:7001\"]\n"
    "tokens:\n"
    "  format: paseto-v4-public\n"
    "  keys:\n"
    "    - secret: ${SLUICE_TEST_SECRET}\n"
    "    - public: k4.public.jMGjGihorfhuUZzWk26IT4cjDkHxB1LN3tSfPdv-KBU\n"
    "  header: X-Session\n"
    "  cookie: sess\n"
    "  session_ttl: 1h\n"
    "  sliding: false\n"
    "  max_lifetime: 30d\n"
    "upstreams:\n"
    "  llm:\n"
    "    servers: [127.0.0.1:9000, localhost:9001]\n"
    "    keepalive: 8\n"
    "    connect_timeout: 2s\n"
    "    read_timeout: 300s\n"
    "    idle_timeout: 30s\n"
    "    fail_timeout: 5s\n"
    "    set_headers: { Authorization: \"Bearer ${SLUICE_TEST_SECRET}x\" }\n"
    "plans:\n"
    "  free:\n"
    "    limits:\n"
    "      - { name: per_minute, requests: 60, window: 1m }\n"
    "      - { name: tokens_per_minute, tokens: 40000, window: 1m, precision: 12 }\n"
    "      - { name: in_flight, concurrent: 2 }\n"
    "anonymous:\n"
    "  key: client_ip\n"
    "  limits: [ { name: per_minute, requests: 20, window: 1m } ]\n"
    "routes:\n"
    "  - name: chat\n"
    "    match: { path_prefix: /v1/chat/completions, methods: [POST] }\n"
    "    upstream: llm\n"
    "    auth: required\n"
    "    plan: free\n"
    "    idempotency: true\n"
    "    idempotency_ttl: 1h\n"
    "  - match: { path_prefix: /v1/models }\n"
    "    upstream: llm\n"
    "    auth: optional\n"
    "    cache: { ttl: 60s, scope: user, methods: [GET, POST], stale_while_revalidate: 10s,"
    " stale_if_error: 1m }\n"
    "http:\n"
    "  max_header_size: 8KiB\n"
    "  max_body_size: 1MiB\n"
    "  header_timeout: 1s\n"
    "  body_timeout: 2s\n"
    "  idle_timeout: 3s\n"
    "  drain_timeout: 4s\n"
    "  trusted_proxies: [10.0.0.0/8, \"::1\"]\n"
    "log: { access: stderr, level: debug }\n";

static void
test_full_config(void)
{
    char *errs = NULL;
    setenv("SLUICE_TEST_ADMIN_TOKEN", "admintok", 1);
    setenv("SLUICE_TEST_SECRET", TEST_SECRET, 1);
    struct config *cfg = load_text(full_yaml, &errs, NULL);
    ok(cfg != NULL, "full config loads");
    if (cfg == NULL) {
        printf("# %s", errs);
        free(errs);
        return;
    }
    is_str(errs, "", "no errors printed");
    is_int(cfg->nlisten, 2, "two listeners");
    is_str(cfg->listen[1].text, "[::1]:8443", "IPv6 listener text");
    is_int(cfg->listen[1].sa.ss_family, AF_INET6, "IPv6 listener resolved");
    is_int(cfg->workers, 2, "workers");
    is_str(cfg->admin_token, "admintok", "${VAR} expanded");
    is_int(cfg->redis.on_error, CONFIG_ON_ERROR_OPEN, "on_error open");
    is_int(cfg->redis.nnodes, 3, "three redis.nodes seeds");
    is_str(cfg->redis.nodes[0].host, "10.0.0.2", "seed host");
    is_int(cfg->redis.nodes[0].port, 7000, "seed port");
    is_int(cfg->redis.nodes[1].port, 6379, "seed without port: 6379");
    is_str(cfg->redis.nodes[2].host, "::1", "IPv6 seed without []");
    is_int(cfg->tokens.nkeys, 2, "two keys");
    is_int(cfg->tokens.keys[0].kind, CONFIG_KEY_SECRET, "first key is secret");
    is_str(cfg->tokens.keys[0].paserk, TEST_SECRET, "key expanded");
    is_int(token_keyring_len(cfg->tokens.keyring), 2, "keys decoded into the ring");
    is_str(cfg->tokens.header, "x-session", "header lowercased");
    ok(!cfg->tokens.sliding, "sliding false");
    is_int(cfg->tokens.max_lifetime_ms, 30ull * 86400000, "max_lifetime");
    is_int(cfg->nupstreams, 1, "one upstream");
    struct config_upstream *up = &cfg->upstreams[0];
    is_int(up->nservers, 2, "two servers");
    ok(up->server_down_until_ms != NULL && up->server_down_until_ms[1] == 0, "down marks zeroed");
    is_int(up->keepalive, 8, "keepalive");
    is_int(up->fail_timeout_ms, 5000, "fail_timeout");
    is_str(up->set_headers[0].name, "authorization", "set_headers name lowercased");
    is_str(up->set_headers[0].value, "Bearer " TEST_SECRET "x", "set_headers value expanded");
    is_int(cfg->plans[0].nlimits, 3, "three limits");
    is_int(cfg->plans[0].limits[1].kind, CONFIG_LIMIT_TOKENS, "tokens limit");
    is_int(cfg->plans[0].limits[1].precision, 12, "precision");
    is_int(cfg->plans[0].limits[1].estimate, 1000, "estimate default");
    is_int(cfg->plans[0].limits[2].window_ms, 0, "concurrent has no window");
    ok(cfg->has_anonymous && cfg->anonymous.nlimits == 1, "anonymous limits");
    is_int(cfg->nroutes, 2, "two routes");
    is_str(cfg->routes[1].name, "route1", "default route name");
    is_int(cfg->routes[0].methods, CONFIG_METHOD_POST, "methods");
    ok(cfg->routes[0].upstream == up, "upstream resolved");
    is_str(cfg->routes[0].plan, "free", "plan");
    is_int(cfg->routes[0].idempotency_ttl_ms, 3600000, "idempotency_ttl");
    is_int(cfg->routes[1].auth, CONFIG_AUTH_OPTIONAL, "auth optional");
    ok(cfg->routes[1].cache.enabled, "cache enabled");
    is_int(cfg->routes[1].cache.scope, CONFIG_CACHE_USER, "cache scope");
    is_int(cfg->routes[1].cache.methods, CONFIG_METHOD_GET | CONFIG_METHOD_POST, "cache methods");
    is_int(cfg->routes[1].cache.stale_if_error_ms, 60000, "stale_if_error");
    is_int(cfg->http.max_header_size, 8192, "max_header_size");
    is_int(cfg->http.drain_timeout_ms, 4000, "drain_timeout");
    is_int(cfg->http.ntrusted_proxies, 2, "trusted proxies");
    is_str(cfg->log.access, "stderr", "log access");
    is_str(cfg->log.level, "debug", "log level");
    ok(config_ref(cfg) == cfg, "config_ref returns cfg");
    config_unref(cfg);
    config_unref(cfg);
    free(errs);
}

static void
test_defaults(void)
{
    char *errs = NULL;
    struct config *cfg = load_text("listen: 127.0.0.1:8080\n"
                                   "upstreams: { u: { servers: [127.0.0.1:1] } }\n"
                                   "routes: [ { upstream: u } ]\n",
                                   &errs, NULL);
    ok(cfg != NULL, "minimal config loads");
    if (cfg == NULL) {
        printf("# %s", errs);
        free(errs);
        return;
    }
    is_int(cfg->workers, 1, "workers default");
    ok(cfg->admin_listen.text == NULL, "no admin listener by default");
    is_str(cfg->redis.url, "redis://127.0.0.1:6379/0", "redis url default");
    is_str(cfg->redis.prefix, "sluice:", "redis prefix default");
    is_int(cfg->redis.timeout_ms, 100, "redis timeout default");
    is_int(cfg->redis.on_error, CONFIG_ON_ERROR_CLOSED, "on_error default");
    is_str(cfg->tokens.header, "authorization", "token header default");
    is_str(cfg->tokens.cookie, "sluice_session", "cookie default");
    is_int(cfg->tokens.session_ttl_ms, 3600000, "session_ttl default");
    ok(cfg->tokens.sliding, "sliding default");
    is_int(cfg->http.max_header_size, 32768, "max_header_size default");
    is_int(cfg->http.max_body_size, 10485760, "max_body_size default");
    is_int(cfg->http.header_timeout_ms, 10000, "header_timeout default");
    is_int(cfg->http.body_timeout_ms, 60000, "body_timeout default");
    is_int(cfg->http.idle_timeout_ms, 75000, "idle_timeout default");
    is_int(cfg->http.drain_timeout_ms, 30000, "drain_timeout default");
    is_int(cfg->upstreams[0].keepalive, 64, "keepalive default");
    is_int(cfg->upstreams[0].connect_timeout_ms, 2000, "connect_timeout default");
    is_int(cfg->upstreams[0].read_timeout_ms, 300000, "read_timeout default");
    is_int(cfg->upstreams[0].idle_timeout_ms, 60000, "upstream idle_timeout default");
    is_int(cfg->upstreams[0].fail_timeout_ms, 10000, "fail_timeout default");
    is_str(cfg->routes[0].name, "route0", "route name default");
    is_str(cfg->routes[0].path_prefix, "/", "path_prefix default");
    is_int(cfg->routes[0].methods, 0, "any method by default");
    is_int(cfg->routes[0].auth, CONFIG_AUTH_REQUIRED, "auth default");
    is_int(cfg->routes[0].idempotency_ttl_ms, 86400000, "idempotency_ttl default");
    ok(!cfg->routes[0].cache.enabled, "no cache by default");
    is_str(cfg->log.access, "stdout", "access log default");
    is_str(cfg->log.level, "info", "log level default");
    ok(!cfg->has_anonymous, "no anonymous section");
    config_unref(cfg);
    free(errs);
}

#define HEAD                                                                                       \
    "listen: 127.0.0.1:8080\n"                                                                     \
    "upstreams:\n"                                                                                 \
    "  llm:\n"                                                                                     \
    "    servers: [127.0.0.1:9000]\n"
/* HEAD is 4 lines: the first line after it is line 5. */

static const struct {
    const char *what;
    const char *yaml;
    const char *want; /* ":LINE:COL: message-substring" after the path */
} error_cases[] = {
    {"unknown top-level key", HEAD "routes: [ { upstream: llm } ]\nbogus: 1\n",
     ":6:1: unknown key 'bogus'"},
    {"unknown nested key",
     HEAD "routes:\n  - upstream: llm\n    match: { path_prefix: /, foo: 1 }\n",
     ":7:30: unknown key 'foo' in routes[0].match"},
    {"duplicate key", HEAD "routes: [ { upstream: llm, upstream: llm } ]\n",
     ":5:28: duplicate key 'upstream' in routes[0]"},
    {"bad duration", HEAD "routes: [ { upstream: llm } ]\nhttp:\n  header_timeout: 1 fortnight\n",
     ":7:19: http.header_timeout: '1 fortnight' is not a duration"},
    {"duration without unit", HEAD "routes: [ { upstream: llm } ]\nredis: { timeout: 100 }\n",
     ":6:19: redis.timeout: '100' is not a duration"},
    {"bad size", HEAD "routes: [ { upstream: llm } ]\nhttp: { max_body_size: 1.5MiB }\n",
     ":6:24: http.max_body_size: '1.5MiB' is not a size"},
    {"missing upstream", HEAD "routes:\n  - name: chat\n    upstream: nope\n",
     ":7:15: routes[0].upstream: upstream 'nope' is not defined"},
    {"missing plan", HEAD "routes: [ { upstream: llm, plan: gold } ]\n",
     ":5:34: routes[0].plan: plan 'gold' is not defined"},
    {"unset variable",
     HEAD "admin:\n  listen: 127.0.0.1:8081\n  token: ${SLUICE_TEST_UNSET_VAR}\n"
          "routes: [ { upstream: llm } ]\n",
     ":7:10: environment variable SLUICE_TEST_UNSET_VAR is not set"},
    {"wrong type", HEAD "workers: [1]\nroutes: [ { upstream: llm } ]\n",
     ":5:10: workers: expected a scalar, got a list"},
    {"workers zero", HEAD "workers: 0\nroutes: [ { upstream: llm } ]\n",
     ":5:10: workers: '0' is not an integer from 1 to 1024"},
    {"bad port", "listen: 127.0.0.1:99999\n",
     ":1:9: listen: '127.0.0.1:99999' needs a numeric port"},
    {"no port", "listen: localhost\n", ":1:9: listen: 'localhost' is not host:port"},
    {"named port", "listen: localhost:http\n", ":1:9: listen: 'localhost:http' needs a numeric"},
    {"unknown method", HEAD "routes: [ { upstream: llm, match: { methods: [GET, BREW] } } ]\n",
     ":5:52: routes[0].match.methods[1]: unknown HTTP method 'BREW'"},
    {"path_prefix without slash",
     HEAD "routes: [ { upstream: llm, match: { path_prefix: v1 } } ]\n",
     ":5:50: routes[0].match.path_prefix: 'v1' must start with '/'"},
    {"duplicate route name",
     HEAD "routes:\n  - { name: a, upstream: llm }\n  - { name: a, upstream: llm }\n",
     ":7:13: routes[1]: duplicate route name 'a'"},
    {"no routes key", HEAD, ":1:1: no routes"},
    {"empty routes", HEAD "routes: []\n", ":5:9: no routes"},
    {"missing listen",
     "upstreams: { u: { servers: [127.0.0.1:1] } }\nroutes: [ { upstream: u } ]\n",
     ":1:1: missing required key 'listen'"},
    {"missing servers",
     "listen: 127.0.0.1:1\nupstreams:\n  u: { keepalive: 1 }\nroutes: [ { upstream: u } ]\n",
     ":3:6: upstreams.u: missing required key 'servers'"},
    {"empty file", "", ":1:1: empty configuration"},
    {"top level not a mapping", "- a\n- b\n", ":1:1: the top level must be a mapping"},
    {"YAML syntax error", "listen: [a\nroutes: x\n", ":2:7: YAML syntax error"},
    {"limit without window",
     HEAD "plans:\n  p:\n    limits: [ { name: x, requests: 5 } ]\n"
          "routes: [ { upstream: llm } ]\n",
     ":7:15: plans.p.limits[0]: a requests limit needs a window"},
    {"concurrent with window",
     HEAD "plans:\n  p:\n    limits: [ { name: x, concurrent: 5, window: 1m } ]\n"
          "routes: [ { upstream: llm } ]\n",
     ":7:49: plans.p.limits[0]: window does not apply to a concurrent limit"},
    {"two amounts",
     HEAD "plans:\n  p:\n    limits: [ { name: x, requests: 5, tokens: 5, window: 1m } ]\n"
          "routes: [ { upstream: llm } ]\n",
     ":7:15: plans.p.limits[0]: needs exactly one of requests, tokens or concurrent"},
    {"bad key prefix",
     HEAD "tokens:\n  keys: [ { secret: k4.public.abc } ]\nroutes: [ { upstream: llm } ]\n",
     ":6:21: tokens.keys[0]: a secret key must be a PASERK string starting with k4.secret."},
    {"malformed key",
     HEAD "tokens:\n  keys: [ { secret: k4.secret.abc } ]\nroutes: [ { upstream: llm } ]\n",
     ":6:21: tokens.keys[0]: malformed secret key: needs k4.secret. followed by canonical "
     "base64url (no padding) of 64 bytes, seed then its public key"},
    {"local key for public format",
     HEAD "tokens:\n  keys: [ { local: k4.local.abc } ]\n"
          "routes: [ { upstream: llm } ]\n",
     ":6:13: tokens.keys[0]: a local key does not fit format paseto-v4-public"},
    {"bad enum", HEAD "routes: [ { upstream: llm, auth: maybe } ]\n",
     ":5:34: routes[0].auth: 'maybe' is not one of: required, optional, none"},
    {"bad header name",
     "listen: 127.0.0.1:1\nupstreams:\n  u:\n    servers: [127.0.0.1:1]\n"
     "    set_headers: { \"x bad\": v }\nroutes: [ { upstream: u } ]\n",
     ":5:20: upstreams.u.set_headers: 'x bad' is not a valid header name"},
    {"CR in header value",
     "listen: 127.0.0.1:1\nupstreams:\n  u:\n    servers: [127.0.0.1:1]\n"
     "    set_headers: { x-a: \"v\\r\\nx-evil: 1\" }\nroutes: [ { upstream: u } ]\n",
     ":5:25: upstreams.u.set_headers.x-a: value must not contain CR or LF"},
    {"bad trusted proxy",
     HEAD "routes: [ { upstream: llm } ]\nhttp: { trusted_proxies: [10.0.0.0/33] }\n",
     ":6:27: http.trusted_proxies[0]: '10.0.0.0/33' is not an IP address or CIDR block"},
    {"bad redis url", HEAD "routes: [ { upstream: llm } ]\nredis: { url: http://x }\n",
     ":6:15: redis.url: bad Redis URL: not a redis://, rediss:// or unix:// URL"},
    {"bad redis seed", HEAD "routes: [ { upstream: llm } ]\nredis: { nodes: [a:1, \"b:0\"] }\n",
     ":6:23: redis.nodes[1]: bad host:port 'b:0': port must be 1-65535"},
    {"sentinel without master",
     HEAD "routes: [ { upstream: llm } ]\nredis: { sentinel: { nodes: [a] } }\n",
     ":6:20: redis.sentinel: missing required key 'master'"},
    {"sentinel without nodes",
     HEAD "routes: [ { upstream: llm } ]\nredis: { sentinel: { master: m, nodes: [] } }\n",
     ":6:40: redis.sentinel.nodes: at least one Sentinel"},
    {"bad sentinel node",
     HEAD
     "routes: [ { upstream: llm } ]\nredis: { sentinel: { master: m, nodes: [\"a:99999\"] } }\n",
     ":6:41: redis.sentinel.nodes[0]: bad host:port 'a:99999': port must be 1-65535"},
    {"sentinel and cluster",
     HEAD
     "routes: [ { upstream: llm } ]\nredis: { nodes: [a], sentinel: { master: m, nodes: [b] } }\n",
     ":6:32: redis.sentinel: not with redis.nodes (a Redis Cluster has no Sentinel)"},
    {"sentinel and a unix url",
     HEAD "routes: [ { upstream: llm } ]\nredis: { url: \"unix:///r.sock\", sentinel: { master: m, "
          "nodes: [b] } }\n",
     ":6:43: redis.sentinel: redis.url must be redis:// or rediss:// (Sentinel gives the host and "
     "port)"},
    {"admin without token", HEAD "routes: [ { upstream: llm } ]\nadmin: { listen: 127.0.0.1:1 }\n",
     ":6:8: admin: missing required key 'token'"},
    /* GET and HEAD have the response's freshness; a POST entry only the ttl */
    {"POST cache without ttl", HEAD "routes: [ { upstream: llm, cache: { methods: [POST] } } ]\n",
     ":5:35: routes[0].cache: methods: [POST] needs a ttl"},
    /* a value quoted in a message cannot break its line (found by fuzz_config) */
    {"newline in a quoted value", HEAD "routes: [ { upstream: llm } ]\nworkers: \"1\\n2\\x01\"\n",
     ":6:10: workers: '1\\n2\\x01' is not an integer from 1 to 1024\n"},
};

static void
test_errors(void)
{
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        char *errs = NULL, *path = NULL, want[512];
        struct config *cfg = load_text(error_cases[i].yaml, &errs, &path);
        snprintf(want, sizeof(want), "%s%s", path, error_cases[i].want);
        ok(cfg == NULL, "%s: refused", error_cases[i].what);
        ok(strstr(errs, want) != NULL, "%s: reports %s", error_cases[i].what, error_cases[i].want);
        if (strstr(errs, want) == NULL)
            printf("#   got: %s", errs);
        config_unref(cfg);
        free(errs);
        free(path);
    }
}

/* One run reports every mistake, sorted by position. */
static void
test_all_errors_reported(void)
{
    char *errs = NULL;
    struct config *cfg = load_text(HEAD "routes:\n"
                                        "  - { upstream: nope, match: { path_prefix: x } }\n"
                                        "http: { header_timeout: soon, bogus: 1 }\n",
                                   &errs, NULL);
    ok(cfg == NULL, "several errors: refused");
    int lines = 0;
    for (const char *s = errs; (s = strchr(s, '\n')) != NULL; s++)
        lines++;
    is_int(lines, 4, "several errors: all four reported");
    const char *a = strstr(errs, "upstream 'nope'"), *b = strstr(errs, "must start with '/'");
    const char *c = strstr(errs, "'soon'"), *d = strstr(errs, "unknown key 'bogus'");
    ok(a && b && c && d && a < b && b < c && c < d, "several errors: in file order");
    if (lines != 4)
        printf("# %s", errs);
    free(errs);
}

/* ${VAR:-default}: the default when VAR is unset or empty (as sh). */
static void
test_env_default(void)
{
    static const struct {
        const char *token, *want, *what;
    } cases[] = {
        {"${SLUICE_TEST_UNSET_VAR:-demo-token}", "demo-token", "unset: the default"},
        {"${SLUICE_TEST_EMPTY_VAR:-demo-token}", "demo-token", "empty: the default"},
        {"${SLUICE_TEST_SET_VAR:-demo-token}", "from-env", "set: its value"},
        {"a${SLUICE_TEST_UNSET_VAR:-b}c${SLUICE_TEST_SET_VAR}", "abcfrom-env",
         "inside a value, next to another"},
        {"${SLUICE_TEST_UNSET_VAR:-with spaces, and: colons}", "with spaces, and: colons",
         "a default with spaces and colons"},
    };
    unsetenv("SLUICE_TEST_UNSET_VAR");
    setenv("SLUICE_TEST_EMPTY_VAR", "", 1);
    setenv("SLUICE_TEST_SET_VAR", "from-env", 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[512], *errs = NULL;
        snprintf(yaml, sizeof(yaml),
                 HEAD "admin:\n  listen: 127.0.0.1:8081\n  token: \"%s\"\n"
                      "routes: [ { upstream: llm } ]\n",
                 cases[i].token);
        struct config *cfg = load_text(yaml, &errs, NULL);
        ok(cfg != NULL, "${VAR:-default}, %s: loads", cases[i].what);
        if (cfg == NULL)
            printf("#   got: %s", errs);
        else
            is_str(cfg->admin_token, cases[i].want, "${VAR:-default}, %s", cases[i].what);
        config_unref(cfg);
        free(errs);
    }
    char *errs = NULL;
    struct config *cfg = load_text(HEAD "admin:\n  listen: 127.0.0.1:8081\n"
                                        "  token: \"${SLUICE TEST:-x}\"\n"
                                        "routes: [ { upstream: llm } ]\n",
                                   &errs, NULL);
    ok(cfg == NULL && strstr(errs, "bad environment variable name '${SLUICE TEST}'") != NULL,
       "${VAR:-default}: a bad name is still an error");
    if (errs != NULL && cfg != NULL)
        printf("#   got: %s", errs);
    config_unref(cfg);
    free(errs);
    unsetenv("SLUICE_TEST_EMPTY_VAR");
    unsetenv("SLUICE_TEST_SET_VAR");
}

static void
test_missing_file(void)
{
    char *errs = NULL;
    size_t len;
    FILE *err = open_memstream(&errs, &len);
    struct config *cfg = config_load("/nonexistent/sluice.yaml", err);
    fclose(err);
    ok(cfg == NULL, "missing file: refused");
    ok(strstr(errs, "/nonexistent/sluice.yaml:1:1: cannot open") != NULL, "missing file: message");
    free(errs);
    ok(config_load("/nonexistent/sluice.yaml", NULL) == NULL, "err_out may be NULL");
}

static void
sockaddr_of(const char *ip, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1)
        sin->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1)
        sin6->sin6_family = AF_INET6;
}

static void
test_trusted_proxies(void)
{
    static const struct {
        const char *ip;
        bool trusted;
    } cases[] = {
        {"10.1.2.3", true},       {"10.255.255.255", true},  {"11.0.0.1", false},
        {"9.255.255.255", false}, {"192.168.1.7", true},     {"192.168.1.8", false},
        {"172.16.5.5", true},     {"172.32.0.1", false},     {"::1", true},
        {"::2", false},           {"::ffff:10.9.9.9", true}, {"::ffff:11.9.9.9", false},
        {"2001:db8:1::5", true},  {"2001:db9::", false},     {"fe80::1", false},
    };
    char *errs = NULL;
    struct config *cfg = load_text(HEAD "routes: [ { upstream: llm } ]\n"
                                        "http:\n  trusted_proxies: [10.0.0.0/8, 192.168.1.7, "
                                        "172.16.0.0/12, \"::1\", \"2001:db8::/32\"]\n",
                                   &errs, NULL);
    ok(cfg != NULL, "trusted_proxies config loads");
    if (cfg == NULL) {
        printf("# %s", errs);
        free(errs);
        return;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sockaddr_storage ss;
        sockaddr_of(cases[i].ip, &ss);
        is_int(config_is_trusted_proxy(cfg, (struct sockaddr *)&ss), cases[i].trusted, "trusted %s",
               cases[i].ip);
    }
    ok(!config_is_trusted_proxy(cfg, NULL), "NULL peer is not trusted");
    config_unref(cfg);
    free(errs);

    struct config_cidr c;
    ok(config_parse_cidr("10.1.2.3/8", &c) == 0 && c.addr[1] == 0 && c.prefix_len == 8,
       "host bits cleared");
    ok(config_parse_cidr("::1", &c) == 0 && c.family == AF_INET6 && c.prefix_len == 128,
       "bare IPv6 is /128");
    ok(config_parse_cidr("10.0.0.0/", &c) < 0, "empty prefix refused");
    ok(config_parse_cidr("::/129", &c) < 0, "IPv6 prefix > 128 refused");
    ok(config_parse_cidr("example.com", &c) < 0, "names refused");
}

int
main(void)
{
    test_durations();
    test_sizes();
    test_methods();
    test_full_config();
    test_defaults();
    test_errors();
    test_all_errors_reported();
    test_env_default();
    test_missing_file();
    test_trusted_proxies();
    return tap_done();
}
