/*
 * config.h - the gateway's configuration: parsed from YAML (config_parse.c),
 * validated completely, then immutable and shared by every worker.
 *
 * Lifetime: config_load() returns a config with one reference. Each worker
 * and each in-flight request holds a reference (config_ref/config_unref), so
 * a SIGHUP reload swaps the pointer and the old config is freed when the last
 * request that started under it has finished.
 *
 * Every pointer inside a struct config is owned by that config.
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "config/redis_url.h"

/* A host:port as written in the file, resolved once at load time. */
struct config_addr {
    char *text;                 /* owns; "127.0.0.1:8080" as written */
    struct sockaddr_storage sa; /* resolved numeric address */
    socklen_t sa_len;
};

/* A CIDR block of trusted_proxies ("10.0.0.0/8", "::1", "127.0.0.1"). */
struct config_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned prefix_len;
};

struct config_header {
    char *name;  /* owns; lowercased */
    char *value; /* owns; ${VAR} already expanded */
};

struct config_upstream {
    char *name;                  /* owns */
    unsigned index;              /* position in config.upstreams */
    struct config_addr *servers; /* owns; nservers >= 1 */
    size_t nservers;
    unsigned keepalive;          /* idle connections kept per worker; default 64 */
    uint32_t connect_timeout_ms; /* default 2s */
    uint32_t read_timeout_ms;    /* default 300s; max wait between response bytes */
    uint32_t idle_timeout_ms;    /* key idle_timeout, default 60s: pooled connection lifetime */
    uint32_t
        fail_timeout_ms; /* key fail_timeout, default 10s: a failed server is skipped this long */
    struct config_header *set_headers; /* owns */
    size_t nset_headers;
    /* The one mutable part, shared by every worker: per server, the monotonic
     * ms until which it is considered down (0 = up). Owns; nservers entries. */
    _Atomic int64_t *server_down_until_ms;
};

/* Methods as a bit set; config_method_bit("GET") == CONFIG_METHOD_GET. */
enum config_method {
    CONFIG_METHOD_GET = 1u << 0,
    CONFIG_METHOD_HEAD = 1u << 1,
    CONFIG_METHOD_POST = 1u << 2,
    CONFIG_METHOD_PUT = 1u << 3,
    CONFIG_METHOD_DELETE = 1u << 4,
    CONFIG_METHOD_PATCH = 1u << 5,
    CONFIG_METHOD_OPTIONS = 1u << 6,
    CONFIG_METHOD_CONNECT = 1u << 7,
    CONFIG_METHOD_TRACE = 1u << 8,
};

enum config_auth { CONFIG_AUTH_REQUIRED, CONFIG_AUTH_OPTIONAL, CONFIG_AUTH_NONE };
enum config_cache_scope { CONFIG_CACHE_SHARED, CONFIG_CACHE_USER };

struct config_cache {
    bool enabled;
    uint32_t ttl_ms;
    enum config_cache_scope scope;
    bool scope_set;   /* scope: was written (POST entries default to per user) */
    unsigned methods; /* CONFIG_METHOD_* bits; default GET|HEAD */
    uint32_t stale_while_revalidate_ms;
    uint32_t stale_if_error_ms;
};

struct config_route {
    char *name;        /* owns; defaults to "route<N>" */
    char *path_prefix; /* owns; default "/" */
    size_t path_prefix_len;
    unsigned methods;                 /* CONFIG_METHOD_* bits; 0 = any method */
    struct config_upstream *upstream; /* borrowed from config.upstreams */
    enum config_auth auth;            /* default required */
    char *plan;                       /* owns; may be NULL */
    bool idempotency;
    uint32_t idempotency_ttl_ms; /* default 24h */
    struct config_cache cache;
};

/* One limit of a plan (kept for the rate limiter of a later issue). */
enum config_limit_kind { CONFIG_LIMIT_REQUESTS, CONFIG_LIMIT_TOKENS, CONFIG_LIMIT_CONCURRENT };

struct config_limit {
    char *name; /* owns */
    enum config_limit_kind kind;
    uint64_t amount;    /* requests, tokens or concurrent */
    uint32_t window_ms; /* 0 for concurrent */
    unsigned precision; /* buckets per window, default 60 */
    uint64_t estimate;  /* tokens limits: default 1000 */
    void *_Atomic check_args_; /* private to ratelimit.c: its numbers printed once; owns */
};

/* A plan (or the anonymous block) has at most this many limits. */
#define CONFIG_PLAN_MAX_LIMITS 16

struct config_plan {
    char *name;                  /* owns */
    struct config_limit *limits; /* owns */
    size_t nlimits;
    /* Private to policy/ratelimit.c: the RateLimit-Policy line of these
     * limits, built on first use; owned (freed) by the config. */
    char *_Atomic policy_field_;
};

enum config_token_format { CONFIG_TOKENS_V4_PUBLIC, CONFIG_TOKENS_V4_LOCAL };
enum config_key_kind { CONFIG_KEY_SECRET, CONFIG_KEY_PUBLIC, CONFIG_KEY_LOCAL };

struct config_key {
    enum config_key_kind kind;
    char *paserk; /* owns; "k4.secret...." as written (expanded) */
};

enum config_on_error { CONFIG_ON_ERROR_CLOSED, CONFIG_ON_ERROR_OPEN };

struct config_yaml_section;
struct token_keyring;

struct config {
    char *path; /* owns; the file it came from */

    struct config_addr *listen; /* owns; nlisten >= 1 */
    size_t nlisten;
    unsigned workers; /* >= 1; "auto" resolved to the core count */

    struct config_addr admin_listen; /* admin_listen.text == NULL: no admin listener */
    char *admin_token;               /* owns; may be NULL */

    struct {
        char *url;                  /* owns; default redis://127.0.0.1:6379/0 */
        struct redis_target target; /* url parsed at load, with redis.tls */
        struct redis_seed *nodes;   /* owns; redis.nodes: cluster seeds besides url */
        size_t nnodes;
        struct config_sentinel {
            char *master;             /* owns; NULL: no redis.sentinel */
            struct redis_seed *nodes; /* owns; the Sentinels, nnodes >= 1 */
            size_t nnodes;
        } sentinel;
        char *prefix;        /* owns; default "sluice:" */
        uint32_t timeout_ms; /* default 100ms */
        enum config_on_error on_error;
    } redis;

    struct {
        enum config_token_format format;
        struct config_key *keys; /* owns */
        size_t nkeys;
        /* owns; keys decoded at load. NULL without tokens.keys: then
         * every token is invalid and auth: required routes answer 401. */
        struct token_keyring *keyring;
        char *header;             /* owns; default "authorization" */
        char *cookie;             /* owns; default "sluice_session" */
        uint32_t session_ttl_ms;  /* default 1h */
        bool sliding;             /* default true */
        uint64_t max_lifetime_ms; /* default 30d */
    } tokens;

    struct {
        size_t max_header_size;              /* default 32KiB */
        size_t max_body_size;                /* default 10MiB */
        uint32_t header_timeout_ms;          /* default 10s */
        uint32_t body_timeout_ms;            /* default 60s */
        uint32_t idle_timeout_ms;            /* default 75s */
        uint32_t drain_timeout_ms;           /* default 30s */
        unsigned max_connections;            /* client connections, all workers; 0: no cap */
        size_t hot_cache_size;               /* per worker, cache entries in memory; 16MiB */
        struct config_cidr *trusted_proxies; /* owns */
        size_t ntrusted_proxies;
    } http;

    struct {
        char *access; /* owns; "stdout" (default), "stderr", "off" or a path */
        char *level;  /* owns; "info" (default), "debug", "warn", "error" */
    } log;

    struct config_upstream *upstreams; /* owns */
    size_t nupstreams;
    struct config_plan *plans; /* owns */
    size_t nplans;

    bool has_anonymous;
    struct {
        char *key;                   /* owns; "client_ip" */
        struct config_limit *limits; /* owns */
        size_t nlimits;
        char *_Atomic policy_field_; /* as config_plan's */
    } anonymous;

    struct config_route *routes; /* owns; first match wins */
    size_t nroutes;

    _Atomic int refs_; /* private: reference count */
};

/*
 * Parses and validates FILE. On success returns a config with one reference.
 * On failure returns NULL and writes "FILE:LINE:COL: message" lines (every
 * error found, 1-based) to err_out, which may be NULL.
 */
struct config *config_load(const char *path, FILE *err_out);
/* The directive table of the whole file, for config_doc.c. */
const struct config_yaml_section *config_parse_schema(void);

struct config *config_ref(struct config *cfg);
void config_unref(struct config *cfg);

/* "GET" -> CONFIG_METHOD_GET; 0 when unknown. Case-sensitive (RFC 9110 §9.1). */
unsigned config_method_bit(const char *name, size_t len);

/* Parses "250ms", "5s", "1m", "1h", "1d" into milliseconds; -1 when malformed. */
int config_parse_duration_ms(const char *s, uint64_t *out_ms);
/* Parses "32KiB", "10MiB", "1GiB", "512" (bytes), also "KB"/"MB"/"k"/"m"; -1 when malformed.
 * Every unit is binary: k = KB = KiB = 1024 (as in nginx). */
int config_parse_size(const char *s, size_t *out);
/* Parses "10.0.0.0/8", "::1/128" or a bare address (full-length prefix); -1 when malformed. */
int config_parse_cidr(const char *s, struct config_cidr *out);

/* The plan named name, borrowed from cfg; NULL when there is none. */
const struct config_plan *config_find_plan(const struct config *cfg, const char *name);
/* The upstream named name, borrowed from cfg; NULL when there is none. */
struct config_upstream *config_find_upstream(const struct config *cfg, const char *name);

/* True when addr (AF_INET/AF_INET6 sockaddr) falls in one of cfg's trusted proxies. */
bool config_is_trusted_proxy(const struct config *cfg, const struct sockaddr *addr);

#endif
