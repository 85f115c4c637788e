/*
 * config.c - the life of a parsed configuration (references, freeing) and the
 * small value parsers the YAML reader and the request path share: methods,
 * durations, sizes and trusted-proxy CIDR blocks.
 *
 * Parsing the file itself lives in config_parse.c; this file has no libyaml.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sluice.h"
#include "tokens/token.h"

struct config *
config_ref(struct config *cfg)
{
    atomic_fetch_add_explicit(&cfg->refs_, 1, memory_order_relaxed);
    return cfg;
}

static void
addr_deinit(struct config_addr *a)
{
    free(a->text);
}

static void
limits_free(struct config_limit *limits, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(limits[i].name);
        free(atomic_load(&limits[i].check_args_));
    }
    free(limits);
}

static void
upstream_deinit(struct config_upstream *up)
{
    free(up->name);
    for (size_t i = 0; i < up->nservers; i++)
        addr_deinit(&up->servers[i]);
    free(up->servers);
    for (size_t i = 0; i < up->nset_headers; i++) {
        free(up->set_headers[i].name);
        free(up->set_headers[i].value);
    }
    free(up->set_headers);
    free(up->server_down_until_ms);
}

static void
route_deinit(struct config_route *r)
{
    free(r->name);
    free(r->path_prefix);
    free(r->plan);
}

static void
config_free(struct config *cfg)
{
    free(cfg->path);
    for (size_t i = 0; i < cfg->nlisten; i++)
        addr_deinit(&cfg->listen[i]);
    free(cfg->listen);
    addr_deinit(&cfg->admin_listen);
    free(cfg->admin_token);
    free(cfg->redis.url);
    free(cfg->redis.prefix);
    free(cfg->redis.nodes);
    free(cfg->redis.sentinel.master);
    free(cfg->redis.sentinel.nodes);
    for (size_t i = 0; i < cfg->tokens.nkeys; i++)
        if (cfg->tokens.keys[i].paserk != NULL) {
            /* k4.secret and k4.local strings are the keys themselves. */
            sodium_memzero(cfg->tokens.keys[i].paserk, strlen(cfg->tokens.keys[i].paserk));
            free(cfg->tokens.keys[i].paserk);
        }
    free(cfg->tokens.keys);
    token_keyring_free(cfg->tokens.keyring);
    free(cfg->tokens.header);
    free(cfg->tokens.cookie);
    free(cfg->http.trusted_proxies);
    free(cfg->log.access);
    free(cfg->log.level);
    for (size_t i = 0; i < cfg->nupstreams; i++)
        upstream_deinit(&cfg->upstreams[i]);
    free(cfg->upstreams);
    for (size_t i = 0; i < cfg->nplans; i++) {
        free(cfg->plans[i].name);
        limits_free(cfg->plans[i].limits, cfg->plans[i].nlimits);
        free(atomic_load(&cfg->plans[i].policy_field_));
    }
    free(cfg->plans);
    free(cfg->anonymous.key);
    limits_free(cfg->anonymous.limits, cfg->anonymous.nlimits);
    free(atomic_load(&cfg->anonymous.policy_field_));
    for (size_t i = 0; i < cfg->nroutes; i++)
        route_deinit(&cfg->routes[i]);
    free(cfg->routes);
    free(cfg);
}

void
config_unref(struct config *cfg)
{
    if (cfg == NULL)
        return;
    /* acq_rel: the thread that frees must see every other holder's reads done. */
    if (atomic_fetch_sub_explicit(&cfg->refs_, 1, memory_order_acq_rel) == 1)
        config_free(cfg);
}

static const struct {
    const char *name;
    unsigned bit;
} method_table[] = {
    {"GET", CONFIG_METHOD_GET},         {"HEAD", CONFIG_METHOD_HEAD},
    {"POST", CONFIG_METHOD_POST},       {"PUT", CONFIG_METHOD_PUT},
    {"DELETE", CONFIG_METHOD_DELETE},   {"PATCH", CONFIG_METHOD_PATCH},
    {"OPTIONS", CONFIG_METHOD_OPTIONS}, {"CONNECT", CONFIG_METHOD_CONNECT},
    {"TRACE", CONFIG_METHOD_TRACE},
};

unsigned
config_method_bit(const char *name, size_t len)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(method_table); i++) {
        const char *m = method_table[i].name;
        if (strlen(m) == len && memcmp(m, name, len) == 0)
            return method_table[i].bit;
    }
    return 0;
}

/*
 * Reads the leading decimal digits of s into *out and points *end past them.
 * Only digits: strtoull would accept signs and spaces we want to refuse.
 */
static int
parse_digits(const char *s, uint64_t *out, const char **end)
{
    uint64_t v = 0;
    const char *p = s;

    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (p == s)
        return -1;
    *out = v;
    *end = p;
    return 0;
}

struct unit {
    const char *name;
    uint64_t mult;
};

static int
apply_unit(uint64_t n, const char *suffix, const struct unit *units, size_t nunits, uint64_t *out)
{
    for (size_t i = 0; i < nunits; i++) {
        if (strcmp(suffix, units[i].name) != 0)
            continue;
        if (units[i].mult != 0 && n > UINT64_MAX / units[i].mult)
            return -1;
        *out = n * units[i].mult;
        return 0;
    }
    return -1;
}

int
config_parse_duration_ms(const char *s, uint64_t *out_ms)
{
    /* A unit is required: a bare "30" is as likely seconds as milliseconds. */
    static const struct unit units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    uint64_t n;
    const char *end;

    if (parse_digits(s, &n, &end) < 0)
        return -1;
    return apply_unit(n, end, units, SL_ARRAY_LEN(units), out_ms);
}

int
config_parse_size(const char *s, size_t *out)
{
    static const struct unit units[] = {
        {"", 1},           {"B", 1},        {"k", 1u << 10},  {"K", 1u << 10},   {"KB", 1u << 10},
        {"KiB", 1u << 10}, {"m", 1u << 20}, {"M", 1u << 20},  {"MB", 1u << 20},  {"MiB", 1u << 20},
        {"g", 1u << 30},   {"G", 1u << 30}, {"GB", 1u << 30}, {"GiB", 1u << 30},
    };
    uint64_t n, v;
    const char *end;

    if (parse_digits(s, &n, &end) < 0)
        return -1;
    if (apply_unit(n, end, units, SL_ARRAY_LEN(units), &v) < 0 || v > SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

int
config_parse_cidr(const char *s, struct config_cidr *out)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
    unsigned max_len;

    if (hlen == 0 || hlen >= sizeof(host))
        return -1;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = AF_INET;
        max_len = 32;
    } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = AF_INET6;
        max_len = 128;
    } else {
        return -1;
    }
    out->prefix_len = max_len;
    if (slash != NULL) {
        uint64_t n;
        const char *end;
        if (parse_digits(slash + 1, &n, &end) < 0 || *end != '\0' || n > max_len)
            return -1;
        out->prefix_len = (unsigned)n;
    }
    /* Clear host bits so "10.1.2.3/8" means what the operator meant: 10/8. */
    for (unsigned bit = out->prefix_len; bit < max_len; bit++)
        out->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    return 0;
}

static bool
prefix_eq(const uint8_t *a, const uint8_t *b, unsigned prefix_len)
{
    unsigned full = prefix_len / 8, rest = prefix_len % 8;

    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

static bool
cidr_list_match(const struct config *cfg, int family, const uint8_t *addr)
{
    for (size_t i = 0; i < cfg->http.ntrusted_proxies; i++) {
        const struct config_cidr *c = &cfg->http.trusted_proxies[i];
        if (c->family == family && prefix_eq(c->addr, addr, c->prefix_len))
            return true;
    }
    return false;
}

bool
config_is_trusted_proxy(const struct config *cfg, const struct sockaddr *addr)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (addr == NULL)
        return false;
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)addr;
        return cidr_list_match(cfg, AF_INET, (const uint8_t *)&sin->sin_addr);
    }
    if (addr->sa_family != AF_INET6)
        return false;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)addr;
    const uint8_t *a6 = sin6->sin6_addr.s6_addr;
    if (cidr_list_match(cfg, AF_INET6, a6))
        return true;
    /* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; the operator
     * wrote them as IPv4, so match those entries too. */
    return memcmp(a6, v4mapped, sizeof(v4mapped)) == 0 && cidr_list_match(cfg, AF_INET, a6 + 12);
}

const struct config_plan *
config_find_plan(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nplans; i++)
        if (strcmp(cfg->plans[i].name, name) == 0)
            return &cfg->plans[i];
    return NULL;
}

struct config_upstream *
config_find_upstream(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nupstreams; i++)
        if (strcmp(cfg->upstreams[i].name, name) == 0)
            return &cfg->upstreams[i];
    return NULL;
}
