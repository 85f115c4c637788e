/*
 * test_redis_url.c - redis.url forms (config/redis_url.h), table-driven.
 */
#include <string.h>

#include "../tap.h"
#include "config/redis_url.h"

struct url_case {
    const char *url;
    int rc;
    bool is_unix, tls;
    const char *host;
    int port;
    const char *path, *user, *pass;
    unsigned db;
};

static const struct url_case cases[] = {
    {"redis://127.0.0.1:6379/0", 0, false, false, "127.0.0.1", 6379, "", "", "", 0},
    {"redis://localhost", 0, false, false, "localhost", 6379, "", "", "", 0},
    {"redis://localhost/", 0, false, false, "localhost", 6379, "", "", "", 0},
    {"redis://h:7000/3", 0, false, false, "h", 7000, "", "", "", 3},
    {"redis://:secret@h", 0, false, false, "h", 6379, "", "", "secret", 0},
    {"redis://alice:s3cr%40t%3A@h:6380/2", 0, false, false, "h", 6380, "", "alice", "s3cr@t:", 2},
    {"redis://alice:p@ss@h", 0, false, false, "h", 6379, "", "alice", "p@ss", 0},
    {"redis://us%65r:pw@h", 0, false, false, "h", 6379, "", "user", "pw", 0},
    {"redis://[::1]:6390/1", 0, false, false, "::1", 6390, "", "", "", 1},
    {"redis://[::1]", 0, false, false, "::1", 6379, "", "", "", 0},
    {"rediss://cache.example:6380/0", 0, false, true, "cache.example", 6380, "", "", "", 0},
    {"rediss://u:p@h", 0, false, true, "h", 6379, "", "u", "p", 0},
    {"unix:///run/redis.sock", 0, true, false, "", 0, "/run/redis.sock", "", "", 0},
    {"unix:///run/redis.sock?db=5", 0, true, false, "", 0, "/run/redis.sock", "", "", 5},
    /* malformed */
    {.url = "http://h", .rc = -1},
    {.url = "redis://", .rc = -1},
    {.url = "redis://:pw@", .rc = -1},
    {.url = "redis://h:0", .rc = -1},
    {.url = "redis://h:65536", .rc = -1},
    {.url = "redis://h:port", .rc = -1},
    {.url = "redis://h/db", .rc = -1},
    {.url = "redis://h/1/2", .rc = -1},
    {.url = "redis://[::1", .rc = -1},
    {.url = "redis://[::1]x", .rc = -1},
    {.url = "redis://:bad%zz@h", .rc = -1},
    {.url = "redis://:trunc%4@h", .rc = -1},
    {.url = "redis://:nul%00@h", .rc = -1},
    {.url = "unix://relative.sock", .rc = -1},
    {.url = "unix://", .rc = -1},
    {.url = "unix:///s.sock?db=x", .rc = -1},
    {.url = "unix:///s.sock?timeout=1", .rc = -1},
};

static void
test_cases(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct url_case *c = &cases[i];
        struct redis_target t;
        const char *why = NULL;
        int rc = redis_url_parse(c->url, &t, &why);
        is_int(rc, c->rc, "%s: %s", c->url, c->rc == 0 ? "parses" : "refused");
        if (rc != 0) {
            ok(why != NULL && why[0] != '\0', "%s: says why (%s)", c->url, why ? why : "-");
            continue;
        }
        ok(t.is_unix == c->is_unix && t.tls == c->tls, "%s: kind", c->url);
        is_str(t.host, c->host, "%s: host", c->url);
        is_int(t.port, c->port, "%s: port", c->url);
        is_str(t.path, c->path, "%s: path", c->url);
        is_str(t.user, c->user, "%s: user", c->url);
        is_str(t.pass, c->pass, "%s: password", c->url);
        is_int(t.db, c->db, "%s: db", c->url);
        ok(t.tls_opt.verify, "%s: verify defaults to true", c->url);
    }
}

static void
test_equal_and_describe(void)
{
    struct redis_target a, b;
    char buf[300];
    redis_url_parse("redis://:pw@h:1/2", &a, NULL);
    redis_url_parse("redis://:pw@h:1/2", &b, NULL);
    ok(redis_target_equal(&a, &b), "same URL: equal");
    redis_url_parse("redis://:other@h:1/2", &b, NULL);
    ok(!redis_target_equal(&a, &b), "another password: not equal");
    redis_url_parse("rediss://h:1", &a, NULL);
    redis_url_parse("rediss://h:1", &b, NULL);
    strcpy(b.tls_opt.server_name, "other");
    ok(!redis_target_equal(&a, &b), "another TLS server_name: not equal");
    redis_target_describe(&a, buf, sizeof(buf));
    is_str(buf, "tls h:1", "describe: tls host:port");
    redis_url_parse("redis://:secret@[::1]:7", &a, NULL);
    redis_target_describe(&a, buf, sizeof(buf));
    is_str(buf, "[::1]:7", "describe: IPv6 in brackets, no password");
}

int
main(void)
{
    test_cases();
    test_equal_and_describe();
    return tap_done();
}
