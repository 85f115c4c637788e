/*
 * main.c - the command line (SPEC section 2), signals, and wiring: the
 * main thread owns the config, the admin listener and the signal
 * handlers; the workers own every client and upstream connection.
 *
 *   main thread:  signals -> reload / stop -> workers (eventfd messages)
 *                 admin listener (/healthz /readyz /metrics)
 *   worker N:     listen (SO_REUSEPORT) -> conn -> pipeline -> proxy
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "config/config.h"
#include "config/config_doc.h"
#include "core/worker.h"
#include "net/listener.h"
#include "tokens/keygen.h"
#include "sluice.h"
#include "util/clock.h"
#include "util/log.h"

struct gateway {
    const char *config_path;
    struct config *cfg;      /* owns a reference: the current config */
    struct event_base *base; /* owns */
    struct worker **workers; /* owns */
    unsigned nworkers;
    struct admin *admin;                     /* owns; NULL without admin.listen */
    struct event *sighup, *sigterm, *sigint; /* owns */
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: sluice -c FILE        run the gateway\n"
                 "       sluice -t -c FILE     check the configuration\n"
                 "       sluice -V             print the version\n"
                 "       sluice -h, --help     print this usage\n"
                 "       sluice --help-config  print every configuration key, documented\n"
                 "       sluice keygen [--local]  print a new PASERK k4 key\n");
}

static void
apply_log_level(const struct config *cfg)
{
    enum log_level level;
    if (cfg->log.level != NULL && log_level_parse(cfg->log.level, &level) == 0)
        log_set_level(level);
}

/* Settings that are valid but deserve a line in the log. */
static void
warn_config(const struct config *cfg)
{
    if (cfg->redis.target.tls && !cfg->redis.target.tls_opt.verify)
        log_warn("redis.tls.verify is false: the Redis server's certificate is not checked");
}

static bool
same_addresses(const struct config *a, const struct config *b)
{
    if (a->nlisten != b->nlisten || a->workers != b->workers)
        return false;
    for (size_t i = 0; i < a->nlisten; i++) {
        if (strcmp(a->listen[i].text, b->listen[i].text) != 0)
            return false;
    }
    return true;
}

static void
reload(struct gateway *gw)
{
    log_info("SIGHUP: reloading %s", gw->config_path);
    struct config *cfg = config_load(gw->config_path, stderr);
    if (cfg == NULL) {
        log_error("reload refused: %s has errors; keeping the running configuration",
                  gw->config_path);
        return;
    }
    if (!same_addresses(gw->cfg, cfg))
        log_warn("listen and workers changes take effect only after a restart");
    apply_log_level(cfg);
    warn_config(cfg);
    for (unsigned i = 0; i < gw->nworkers; i++)
        worker_reload(gw->workers[i], cfg);
    if (gw->admin != NULL)
        admin_set_config(gw->admin, cfg);
    config_unref(gw->cfg);
    gw->cfg = cfg;
    log_info("configuration reloaded");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct gateway *gw = arg;
    if (sig == SIGHUP) {
        reload(gw);
        return;
    }
    log_info("%s: draining (up to %ums)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
             (unsigned)gw->cfg->http.drain_timeout_ms);
    for (unsigned i = 0; i < gw->nworkers; i++)
        worker_stop(gw->workers[i]);
    event_base_loopbreak(gw->base);
}

/* Binds every worker's listeners; nothing runs yet, so a failure can
 * still be undone. */
static int
create_workers(struct gateway *gw)
{
    gw->nworkers = gw->cfg->workers;
    gw->workers = xcalloc(gw->nworkers, sizeof(*gw->workers));
    for (unsigned i = 0; i < gw->nworkers; i++) {
        gw->workers[i] = worker_new(i, gw->cfg);
        if (gw->workers[i] == NULL)
            return -1;
    }
    return 0;
}

static void
start_workers(struct gateway *gw)
{
    /* Workers inherit a mask without the handled signals: they reach main. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    for (unsigned i = 0; i < gw->nworkers; i++) {
        if (worker_start(gw->workers[i]) != 0) {
            log_error("cannot start worker thread %u", i);
            _exit(1);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void
watch_signals(struct gateway *gw)
{
    gw->sighup = evsignal_new(gw->base, SIGHUP, on_signal, gw);
    gw->sigterm = evsignal_new(gw->base, SIGTERM, on_signal, gw);
    gw->sigint = evsignal_new(gw->base, SIGINT, on_signal, gw);
    event_add(gw->sighup, NULL);
    event_add(gw->sigterm, NULL);
    event_add(gw->sigint, NULL);
}

/* Startup failed before any thread ran: undo everything, so the exit is
 * clean (and leak-checkers agree). */
static int
abandon_startup(struct gateway *gw)
{
    for (unsigned i = 0; gw->workers != NULL && i < gw->nworkers; i++) {
        if (gw->workers[i] != NULL)
            worker_free(gw->workers[i]);
    }
    free(gw->workers);
    admin_free(gw->admin);
    event_free(gw->sighup);
    event_free(gw->sigterm);
    event_free(gw->sigint);
    event_base_free(gw->base);
    config_unref(gw->cfg);
    return 1;
}

/* Waits for the workers to drain; what is left after drain_timeout is
 * closed by the exit itself. */
static void
join_workers(struct gateway *gw)
{
    int64_t deadline = clock_now_ms() + gw->cfg->http.drain_timeout_ms;
    for (unsigned i = 0; i < gw->nworkers; i++) {
        int64_t left = deadline - clock_now_ms();
        if (worker_join(gw->workers[i], left > 0 ? left : 0) != 0) {
            log_warn("drain timeout: closing the connections left");
            return;
        }
    }
    log_info("drained; exiting");
}

static int
run(const char *path)
{
    struct gateway gw = {.config_path = path};
    gw.cfg = config_load(path, stderr);
    if (gw.cfg == NULL)
        return 1;
    apply_log_level(gw.cfg);
    warn_config(gw.cfg);
    signal(SIGPIPE, SIG_IGN);
    listener_raise_fd_limit();
    gw.base = event_base_new();
    /* Signals are watched before any port accepts: a SIGHUP that follows
     * the first connection must not kill the process. */
    watch_signals(&gw);
    if (create_workers(&gw) != 0)
        return abandon_startup(&gw);
    if (gw.cfg->admin_listen.text != NULL) {
        gw.admin = admin_new(gw.base, gw.cfg);
        if (gw.admin == NULL)
            return abandon_startup(&gw);
    }
    start_workers(&gw);
    for (size_t i = 0; i < gw.cfg->nlisten; i++)
        log_info("sluice %s listening on %s (%u worker%s)", SLUICE_VERSION, gw.cfg->listen[i].text,
                 gw.cfg->workers, gw.cfg->workers == 1 ? "" : "s");
    event_base_dispatch(gw.base);
    join_workers(&gw);
    fflush(stdout);
    /* Exit without tearing down workers that may still hold connections. */
    _exit(0);
}

static int
check_config(const char *path)
{
    struct config *cfg = config_load(path, stderr);
    if (cfg == NULL)
        return 1;
    printf("%s: configuration is valid\n", path);
    config_unref(cfg);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *path = NULL;
    bool test_only = false;
    int opt;
    if (sodium_init() < 0) {
        fprintf(stderr, "sluice: libsodium failed to initialise\n");
        return 1;
    }
    if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
        return keygen_main(argc - 1, argv + 1);
    if (argc == 2 && strcmp(argv[1], "--help-config") == 0) {
        config_doc_print(stdout);
        return 0;
    }
    static const struct option long_options[] = {{"help", no_argument, NULL, 'h'},
                                                 {NULL, 0, NULL, 0}};
    while ((opt = getopt_long(argc, argv, "c:tVh", long_options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 't':
            test_only = true;
            break;
        case 'V':
            printf("sluice %s\n", SLUICE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return 2;
    }
    return test_only ? check_config(path) : run(path);
}
