/*
 * redis_url.h - where Redis is: redis.url parsed into a struct redis_target
 * (SPEC section 3), plus the redis.tls options that apply to rediss://.
 *
 *   redis://host[:port][/db]             plain TCP; port 6379, db 0
 *   redis://:pass@host[:port][/db]       AUTH pass
 *   redis://user:pass@host[:port][/db]   AUTH user pass (Redis 6 ACL)
 *   rediss://...                         the same over TLS (port 6379)
 *   unix:///path.sock[?db=N]             a unix socket
 *
 * user and password are percent-decoded (RFC 3986 §2.1), so a password may
 * hold any byte but NUL. An IPv6 host is written [::1]. The parser is pure
 * (no I/O, no allocation): the config validates redis.url at load with it.
 * A target is fixed-size and plain data, so it is copied by value.
 */
#ifndef SLUICE_REDIS_URL_H
#define SLUICE_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>

#define REDIS_URL_PATH_MAX 512 /* bytes of a file name in redis.tls, with its NUL */

/* redis.tls; used only when the URL is rediss://. Empty string = unset. */
struct redis_tls_options {
    char ca_file[REDIS_URL_PATH_MAX];   /* "": the system's default CA store */
    char cert_file[REDIS_URL_PATH_MAX]; /* client certificate (mutual TLS); "" = none */
    char key_file[REDIS_URL_PATH_MAX];  /* its private key; "" = none */
    char server_name[256];              /* checked against the certificate; "" = the URL's host */
    bool verify;                        /* default true: the server's certificate is checked */
};

struct redis_target {
    bool is_unix;
    bool tls;       /* rediss:// */
    char host[256]; /* without the [] of an IPv6 literal */
    int port;
    char path[108]; /* unix socket; sizeof(sockaddr_un.sun_path) on Linux */
    char user[128]; /* "" = none (AUTH with the password only) */
    char pass[256]; /* "" = no AUTH */
    unsigned db;
    struct redis_tls_options tls_opt;
};

/*
 * Parses url into *t (all of it overwritten; tls_opt gets its defaults).
 * Returns 0, or -1 with *why set to a static message saying what is wrong.
 */
int redis_url_parse(const char *url, struct redis_target *t, const char **why);

/* A seed of redis.nodes: another node of the same Redis Cluster, reached
 * with redis.url's credentials and TLS settings. */
struct redis_seed {
    char host[256];
    int port;
};

/* "host:port", "host" (default_port) or "[v6]:port" into *seed; 0, or -1
 * with *why. */
int redis_seed_parse(const char *s, int default_port, struct redis_seed *seed, const char **why);

/* True when the two lists hold the same seeds in the same order. */
bool redis_seeds_equal(const struct redis_seed *a, size_t na, const struct redis_seed *b,
                       size_t nb);

/* True when two redis.sentinel blocks (master NULL: none) are the same. */
bool redis_sentinel_equal(const char *master_a, const struct redis_seed *a, size_t na,
                          const char *master_b, const struct redis_seed *b, size_t nb);

/* True when a and b name the same server, credentials, db and TLS settings. */
bool redis_target_equal(const struct redis_target *a, const struct redis_target *b);

/* "host:port" or the socket path, for log lines (never the password). */
void redis_target_describe(const struct redis_target *t, char *out, size_t cap);

#endif
