/*
 * redis_url.c - the redis.url parser (see redis_url.h). Pure: the config
 * calls it at load, so `sluice -t` reports a bad URL with its position, and
 * the Redis client gets a target that is known to be well formed.
 */
#include "config/redis_url.h"

#include <stdio.h>
#include <string.h>

#define REDIS_URL_DB_MAX (1u << 20)

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies [p, p+len) into out (size cap), decoding %XX as RFC 3986 §2.1. A
 * decoded NUL is refused: AUTH arguments are binary safe, our strings not. */
static int
copy_decoded(char *out, size_t cap, const char *p, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)p[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hexval(p[i + 1]), lo = hexval(p[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (n + 1 >= cap)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

static int
parse_uint(const char *p, size_t len, unsigned max, unsigned *out)
{
    unsigned v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

/* host, host:port, [v6] or [v6]:port. */
static int
parse_hostport(const char *p, size_t len, struct redis_target *t, const char **why)
{
    const char *host = p, *colon = NULL;
    size_t host_len;
    if (len > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', len);
        if (close == NULL) {
            *why = "an IPv6 host needs its closing ']'";
            return -1;
        }
        host = p + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < p + len) {
            if (close[1] != ':') {
                *why = "expected ':port' after ']'";
                return -1;
            }
            colon = close + 1;
        }
    } else {
        colon = memchr(p, ':', len);
        host_len = colon ? (size_t)(colon - p) : len;
    }
    if (host_len == 0 || host_len >= sizeof(t->host)) {
        *why = host_len == 0 ? "no host" : "host is too long";
        return -1;
    }
    memcpy(t->host, host, host_len);
    t->host[host_len] = '\0';
    unsigned port = t->port > 0 ? (unsigned)t->port : 6379; /* a caller's default */
    if (colon != NULL &&
        (parse_uint(colon + 1, (size_t)(p + len - colon - 1), 65535, &port) < 0 || port == 0)) {
        *why = "port must be 1-65535";
        return -1;
    }
    t->port = (int)port;
    return 0;
}

/* user:pass, :pass, or user (no password: no AUTH), as redis-py reads them. */
static int
parse_userinfo(const char *p, size_t len, struct redis_target *t, const char **why)
{
    const char *colon = memchr(p, ':', len);
    size_t user_len = colon ? (size_t)(colon - p) : len;
    *why = "bad user or password (too long, or a bad %XX escape)";
    if (copy_decoded(t->user, sizeof(t->user), p, user_len) < 0)
        return -1;
    if (colon == NULL)
        return 0;
    return copy_decoded(t->pass, sizeof(t->pass), colon + 1, (size_t)(p + len - colon - 1));
}

/* unix:///path.sock[?db=N]: the only query key we know is db. */
static int
parse_unix(const char *path, struct redis_target *t, const char **why)
{
    size_t len = strcspn(path, "?");
    if (len == 0 || path[0] != '/') {
        *why = "a unix socket path must be absolute (unix:///path.sock)";
        return -1;
    }
    if (len >= sizeof(t->path)) {
        *why = "socket path is too long";
        return -1;
    }
    memcpy(t->path, path, len);
    t->is_unix = true;
    const char *q = path + len;
    if (*q == '\0')
        return 0;
    if (strncmp(q, "?db=", 4) != 0 || parse_uint(q + 4, strlen(q + 4), REDIS_URL_DB_MAX, &t->db) < 0) {
        *why = "the only query of a unix:// URL is ?db=N";
        return -1;
    }
    return 0;
}

/* /db after the authority: "" and "/" mean db 0. */
static int
parse_db(const char *rest, struct redis_target *t, const char **why)
{
    if (*rest == '\0' || strcmp(rest, "/") == 0)
        return 0;
    if (*rest != '/' ||
        parse_uint(rest + 1, strlen(rest + 1), REDIS_URL_DB_MAX, &t->db) < 0) {
        *why = "expected /DB (a database number) after the host";
        return -1;
    }
    return 0;
}

int
redis_url_parse(const char *url, struct redis_target *t, const char **why)
{
    const char *ignored;
    if (why == NULL)
        why = &ignored;
    memset(t, 0, sizeof(*t));
    t->tls_opt.verify = true;
    if (strncmp(url, "unix://", 7) == 0)
        return parse_unix(url + 7, t, why);
    const char *auth;
    if (strncmp(url, "redis://", 8) == 0) {
        auth = url + 8;
    } else if (strncmp(url, "rediss://", 9) == 0) {
        auth = url + 9;
        t->tls = true;
    } else {
        *why = "not a redis://, rediss:// or unix:// URL";
        return -1;
    }
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++) {
        if (auth[i] == '@')
            at = auth + i; /* the last '@': a password may contain one unencoded */
    }
    if (at != NULL && parse_userinfo(auth, (size_t)(at - auth), t, why) < 0)
        return -1;
    const char *hp = at ? at + 1 : auth;
    if (parse_hostport(hp, (size_t)(auth + auth_len - hp), t, why) < 0)
        return -1;
    return parse_db(auth + auth_len, t, why);
}

static bool
same_tls(const struct redis_tls_options *a, const struct redis_tls_options *b)
{
    return a->verify == b->verify && strcmp(a->ca_file, b->ca_file) == 0 &&
           strcmp(a->cert_file, b->cert_file) == 0 && strcmp(a->key_file, b->key_file) == 0 &&
           strcmp(a->server_name, b->server_name) == 0;
}

int
redis_seed_parse(const char *s, int default_port, struct redis_seed *seed, const char **why)
{
    struct redis_target t;
    memset(&t, 0, sizeof(t));
    t.port = default_port;
    if (s[0] == '\0') {
        *why = "empty address";
        return -1;
    }
    if (parse_hostport(s, strlen(s), &t, why) < 0)
        return -1;
    memcpy(seed->host, t.host, sizeof(seed->host));
    seed->port = t.port;
    return 0;
}

bool
redis_seeds_equal(const struct redis_seed *a, size_t na, const struct redis_seed *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (a[i].port != b[i].port || strcmp(a[i].host, b[i].host) != 0)
            return false;
    return true;
}

bool
redis_sentinel_equal(const char *master_a, const struct redis_seed *a, size_t na,
                     const char *master_b, const struct redis_seed *b, size_t nb)
{
    if ((master_a == NULL) != (master_b == NULL))
        return false;
    return master_a == NULL || (strcmp(master_a, master_b) == 0 && redis_seeds_equal(a, na, b, nb));
}

bool
redis_target_equal(const struct redis_target *a, const struct redis_target *b)
{
    return a->is_unix == b->is_unix && a->tls == b->tls && strcmp(a->host, b->host) == 0 &&
           a->port == b->port && strcmp(a->path, b->path) == 0 &&
           strcmp(a->user, b->user) == 0 && strcmp(a->pass, b->pass) == 0 && a->db == b->db &&
           (!a->tls || same_tls(&a->tls_opt, &b->tls_opt));
}

void
redis_target_describe(const struct redis_target *t, char *out, size_t cap)
{
    if (t->is_unix)
        snprintf(out, cap, "%s", t->path);
    else if (strchr(t->host, ':') != NULL)
        snprintf(out, cap, "%s[%s]:%d", t->tls ? "tls " : "", t->host, t->port);
    else
        snprintf(out, cap, "%s%s:%d", t->tls ? "tls " : "", t->host, t->port);
}
