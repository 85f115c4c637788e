/*
 * fuzz_config.c - libFuzzer target for the configuration loader
 * (src/config/: libyaml, the directive tables, ${VAR} expansion,
 * validation), the operator's input that `sluice -t` and SIGHUP read.
 *
 * The input is written to an in-memory file (memfd) and loaded with
 * config_load() through its /proc/self/fd path, as `sluice -c` would, then
 * the config is referenced, unreferenced and freed. Checked:
 *
 *   - no crash, leak or undefined behaviour (ASan, UBSan, LeakSanitizer);
 *   - the contract of config_load() (SPEC sections 2, 11): NULL comes with
 *     at least one error line, every line "FILE:LINE:COL: message" with
 *     1-based numbers; a config comes with no error output and satisfies
 *     what the rest of sluice assumes of a validated config.
 *
 * Host names are resolved numerically only (getaddrinfo is wrapped with
 * -Wl,--wrap=getaddrinfo in meson.build), so a fuzzed "name:80" never
 * waits on DNS. A few environment variables are set for ${VAR} expansion;
 * tests/fuzz/config.dict names them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create, open_memstream */
#endif
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int __real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int memfd = -1;
static char memfd_path[64];

int
__wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                   struct addrinfo **res)
{
    struct addrinfo h = hints ? *hints : (struct addrinfo){0};
    h.ai_flags |= AI_NUMERICHOST;
    return __real_getaddrinfo(node, service, &h, res);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* the variables conf/ and the tests use, plus awkward values */
    setenv("SLUICE_ADMIN_TOKEN", "admin-token-123", 1);
    setenv("SLUICE_SECRET_KEY",
           "k4.secret.tMv7Q99M4hByfZU-SnEzB_oZu32fhQQUONnhG5QqN3Qeudu7vAR8A_1wYE4AcfCYfhayi3VyJcEf"
           "AEFdDiCxog",
           1);
    setenv("OPENAI_API_KEY", "sk-fuzz", 1);
    setenv("FUZZ_EMPTY", "", 1);
    setenv("FUZZ_DOLLAR", "${SLUICE_ADMIN_TOKEN}", 1); /* expanded once, never again */
    setenv("FUZZ_PORT", "8080", 1);
    setenv("FUZZ_ADDR", "127.0.0.1:9000", 1);
    setenv("FUZZ_YAML", "a: [b, {c: d}]\n- e", 1);
    unsetenv("FUZZ_UNSET");
    return 0;
}

/* Each line of err is "PATH:LINE:COL: message" with LINE, COL >= 1. */
static size_t
check_errors(const char *err, size_t len)
{
    size_t lines = 0, plen = strlen(memfd_path);
    const char *p = err, *end = err + len;

    CHECK(len == 0 || err[len - 1] == '\n');
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        CHECK(nl != NULL);
        CHECK((size_t)(nl - p) > plen + 1 && memcmp(p, memfd_path, plen) == 0 && p[plen] == ':');
        char *q;
        unsigned long line = strtoul(p + plen + 1, &q, 10);
        CHECK(line >= 1 && *q == ':');
        unsigned long col = strtoul(q + 1, &q, 10);
        CHECK(col >= 1 && q[0] == ':' && q[1] == ' ' && q + 2 < nl);
        lines++;
        p = nl + 1;
    }
    return lines;
}

/* What the workers, the router and the admin listener assume of a config
 * that config_load() accepted. */
static void
check_config(const struct config *cfg)
{
    CHECK(cfg->nlisten >= 1 && cfg->listen != NULL);
    for (size_t i = 0; i < cfg->nlisten; i++)
        CHECK(cfg->listen[i].text != NULL && cfg->listen[i].sa_len > 0);
    CHECK(cfg->workers >= 1);
    CHECK(cfg->redis.url != NULL && cfg->redis.prefix != NULL);
    CHECK(cfg->tokens.header != NULL && cfg->tokens.cookie != NULL);
    CHECK(cfg->http.max_header_size > 0 && cfg->http.max_body_size > 0);
    CHECK(cfg->log.access != NULL && cfg->log.level != NULL);
    for (size_t i = 0; i < cfg->nupstreams; i++) {
        const struct config_upstream *u = &cfg->upstreams[i];
        CHECK(u->name != NULL && u->index == i && u->nservers >= 1);
        CHECK(u->server_down_until_ms != NULL);
        for (size_t j = 0; j < u->nset_headers; j++)
            CHECK(u->set_headers[j].name != NULL && u->set_headers[j].value != NULL);
    }
    CHECK(cfg->nroutes >= 1);
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct config_route *r = &cfg->routes[i];
        CHECK(r->name != NULL && r->path_prefix != NULL);
        CHECK(strlen(r->path_prefix) == r->path_prefix_len);
        CHECK(r->upstream != NULL);
        CHECK(r->upstream >= cfg->upstreams && r->upstream < cfg->upstreams + cfg->nupstreams);
        if (r->plan != NULL)
            CHECK(config_find_plan(cfg, r->plan) != NULL);
    }
    for (size_t i = 0; i < cfg->nplans; i++)
        for (size_t j = 0; j < cfg->plans[i].nlimits; j++)
            CHECK(cfg->plans[i].limits[j].name != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memfd < 0) {
        memfd = memfd_create("fuzz_config.yaml", 0);
        CHECK(memfd >= 0);
        snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
    }
    CHECK(ftruncate(memfd, 0) == 0);
    CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);

    char *err = NULL;
    size_t err_len = 0;
    FILE *err_out = open_memstream(&err, &err_len);
    CHECK(err_out != NULL);
    struct config *cfg = config_load(memfd_path, err_out);
    CHECK(fclose(err_out) == 0);

    size_t nerr = check_errors(err, err_len);
    if (cfg == NULL) {
        CHECK(nerr >= 1);
    } else {
        CHECK(nerr == 0);
        check_config(cfg);
        CHECK(config_ref(cfg) == cfg);
        config_unref(cfg);
        config_unref(cfg);
    }
    free(err);
    return 0;
}
