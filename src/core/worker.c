/*
 * worker.c - a worker thread: its event loop, listeners, pools, and the
 * messages main sends it (reload, stop).
 */
#include "core/worker.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "admin/metrics.h"
#include "config/config.h"
#include "core/req.h"
#include "net/conn.h"
#include "net/listener.h"
#include "redis/redis_client.h"
#include "policy/claims_cache.h"
#include "policy/cache_hot.h"
#include "policy/ratelimit.h"
#include "sluice.h"
#include "upstream/upstream_pool.h"
#include "util/accesslog.h"
#include "util/bufpool.h"
#include "util/log.h"

#define WORKER_BACKLOG 4096
#define WORKER_BUFFERS_KEPT 256
/* Room for the largest head plus a good read of body bytes. */
#define WORKER_BUF_MIN (64 * 1024)
/* Verified tokens remembered per worker: 4096 x ~0.5 KiB. */
#define WORKER_CLAIMS_SLOTS 4096
/* Idle connections are timed out by a sweep this often, not by a timer
 * each: the idle timeout is honoured within this much. */
#define WORKER_SWEEP_MS 100

/* The size of the worker's I/O buffers under cfg. */
static size_t
buf_size_for(const struct config *cfg)
{
    size_t size = cfg->http.max_header_size + 4096;
    return size > WORKER_BUF_MIN ? size : WORKER_BUF_MIN;
}

/* http.max_connections is shared evenly: SO_REUSEPORT spreads new
 * connections evenly across the workers' sockets. */
static bool
over_connection_cap(struct worker *w)
{
    unsigned cap = w->cfg->http.max_connections;
    if (cap == 0)
        return false;
    unsigned share = (cap + w->nworkers - 1) / w->nworkers;
    return w->nconns >= share;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
    struct worker *w = arg;
    if (w->draining) {
        close(fd);
        return;
    }
    conn_accept(w, fd, sa, (socklen_t)len, over_connection_cap(w));
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
    conn_sweep_idle(arg);
}

static void
free_listeners(struct worker *w)
{
    for (size_t i = 0; i < w->nlisteners; i++) {
        listener_guard_free(w->guards[i]);
        evconnlistener_free(w->listeners[i]);
    }
    w->nlisteners = 0;
}

static int
bind_listeners(struct worker *w)
{
    const struct config *cfg = w->cfg;
    w->listeners = xcalloc(cfg->nlisten, sizeof(*w->listeners));
    w->guards = xcalloc(cfg->nlisten, sizeof(*w->guards));
    for (size_t i = 0; i < cfg->nlisten; i++) {
        const struct config_addr *a = &cfg->listen[i];
        int fd = listener_bind((const struct sockaddr *)&a->sa, a->sa_len, WORKER_BACKLOG);
        if (fd < 0) {
            log_error("cannot listen on %s: %s", a->text, strerror(errno));
            return -1;
        }
        w->listeners[i] = evconnlistener_new(w->base, on_accept, w, LEV_OPT_CLOSE_ON_FREE, -1, fd);
        w->guards[i] = listener_guard_new(w->listeners[i], w->base, "listener");
        w->nlisteners++;
    }
    return 0;
}

static void
make_pools(struct worker *w)
{
    const struct config *cfg = w->cfg;
    w->pools = xcalloc(cfg->nupstreams, sizeof(*w->pools));
    for (size_t i = 0; i < cfg->nupstreams; i++)
        w->pools[i] = upstream_pool_new(w, &cfg->upstreams[i]);
}

static void
retire_pools(struct worker *w)
{
    for (size_t i = 0; w->pools != NULL && i < w->cfg->nupstreams; i++)
        upstream_pool_retire(w->pools[i]);
    free(w->pools);
    w->pools = NULL;
}

static void
open_access_log(struct worker *w)
{
    w->alog = access_log_new(w->base, w->cfg->log.access ? w->cfg->log.access : "stdout");
    if (w->alog == NULL) {
        log_error("cannot open access log %s: %s; logging to stderr", w->cfg->log.access,
                  strerror(errno));
        w->alog = access_log_new(w->base, "stderr");
    }
}

static void
open_redis(struct worker *w)
{
    char name[32];
    snprintf(name, sizeof(name), "worker %u", w->id);
    struct redis_client_options opt = {
        .target = &w->cfg->redis.target,
        .timeout_ms = w->cfg->redis.timeout_ms,
        .observe = metrics_record_redis,
        .slot_map_read = metrics_record_slot_map_refresh,
        .name = name,
        .seeds = w->cfg->redis.nodes,
        .nseeds = w->cfg->redis.nnodes,
        .sentinel_master = w->cfg->redis.sentinel.master,
        .sentinels = w->cfg->redis.sentinel.nodes,
        .nsentinels = w->cfg->redis.sentinel.nnodes,
    };
    w->redis = redis_client_new(w->base, &opt);
}

static bool
redis_changed(const struct config *a, const struct config *b)
{
    return !redis_target_equal(&a->redis.target, &b->redis.target) ||
           a->redis.timeout_ms != b->redis.timeout_ms ||
           !redis_seeds_equal(a->redis.nodes, a->redis.nnodes, b->redis.nodes, b->redis.nnodes) ||
           !redis_sentinel_equal(a->redis.sentinel.master, a->redis.sentinel.nodes,
                                 a->redis.sentinel.nnodes, b->redis.sentinel.master,
                                 b->redis.sentinel.nodes, b->redis.sentinel.nnodes);
}

static bool
same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* In-flight requests keep the config they started with; new ones get cfg. */
static void
switch_config(struct worker *w, struct config *cfg)
{
    bool reopen_log = !same_string(w->cfg->log.access, cfg->log.access);
    bool reopen_redis = redis_changed(w->cfg, cfg);
    retire_pools(w);
    struct config *old = w->cfg;
    w->cfg = cfg;
    bufpool_set_size(w->bufs, buf_size_for(cfg));
    cache_hot_set_max_bytes(w->hot, cfg->http.hot_cache_size);
    make_pools(w);
    /* Claims were verified with the old key ring: a removed key must stop
     * verifying at once. */
    claims_cache_clear(w->claims);
    ratelimit_worker_reload(w->limits);
    /* Hot entries name their route by address: a new config's routes
     * must not meet the old ones'. */
    cache_hot_forget_all();
    if (reopen_log) {
        access_log_free(w->alog);
        open_access_log(w);
    }
    if (reopen_redis) {
        /* Commands in flight finish on the old client, which then frees
         * itself; new ones go to the new client. */
        redis_client_retire(w->redis);
        open_redis(w);
    }
    config_unref(old);
}

static void
begin_drain(struct worker *w)
{
    if (w->draining)
        return;
    w->draining = true;
    free_listeners(w);
    while (w->idle_head != NULL)
        conn_close(w->idle_head);
    struct conn *c = w->busy;
    while (c != NULL) {
        struct conn *next = c->next;
        conn_drain(c);
        c = next;
    }
    if (w->nconns == 0 && w->nbackground == 0)
        event_base_loopbreak(w->base);
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    uint64_t v;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        log_warn("worker %u: wake read failed: %s", w->id, strerror(errno));
    struct config *cfg = atomic_exchange(&w->next_cfg, NULL);
    if (cfg != NULL)
        switch_config(w, cfg);
    if (atomic_load(&w->stop_requested))
        begin_drain(w);
}

static void
wake(struct worker *w)
{
    uint64_t one = 1;
    if (write(w->wake_fd, &one, sizeof(one)) < 0)
        log_warn("worker %u: cannot wake: %s", w->id, strerror(errno));
}

struct worker *
worker_new(unsigned id, struct config *cfg)
{
    struct worker *w = xcalloc(1, sizeof(*w));
    w->id = id;
    w->nworkers = cfg->workers;
    w->cfg = config_ref(cfg);
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK); /* one thread per base */
    w->base = event_base_new_with_config(ec);
    event_config_free(ec);
    w->bufs = bufpool_new(buf_size_for(cfg), WORKER_BUFFERS_KEPT);
    w->metrics = metrics_shard_new();
    w->claims = claims_cache_new(WORKER_CLAIMS_SLOTS);
    w->limits = ratelimit_worker_new(w);
    w->hot = cache_hot_new(cfg->http.hot_cache_size);
    unsigned char seed[sizeof(w->rid_seed_hex) / 2];
    randombytes_buf(seed, sizeof(seed));
    for (size_t i = 0; i < sizeof(seed); i++) {
        w->rid_seed_hex[2 * i] = "0123456789abcdef"[seed[i] >> 4];
        w->rid_seed_hex[2 * i + 1] = "0123456789abcdef"[seed[i] & 15];
    }
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->wake_ev = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, on_wake, w);
    event_add(w->wake_ev, NULL);
    w->sweep_ev = event_new(w->base, -1, EV_PERSIST, on_sweep, w);
    struct timeval sweep_every = {0, WORKER_SWEEP_MS * 1000};
    event_add(w->sweep_ev, &sweep_every);
    open_access_log(w);
    make_pools(w);
    open_redis(w);
    if (bind_listeners(w) != 0) {
        worker_free(w);
        return NULL;
    }
    return w;
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    event_base_dispatch(w->base);
    /* The loop has ended: no callback of the client can be running. */
    redis_client_free(w->redis);
    w->redis = NULL;
    access_log_flush(w->alog);
    return NULL;
}

int
worker_start(struct worker *w)
{
    return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

void
worker_reload(struct worker *w, struct config *cfg)
{
    struct config *stale = atomic_exchange(&w->next_cfg, config_ref(cfg));
    if (stale != NULL)
        config_unref(stale);
    wake(w);
}

void
worker_stop(struct worker *w)
{
    atomic_store(&w->stop_requested, true);
    wake(w);
}

int
worker_join(struct worker *w, int64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return pthread_timedjoin_np(w->thread, NULL, &ts) == 0 ? 0 : -1;
}

void
worker_conn_closed(struct worker *w)
{
    w->nconns--;
    if (w->draining && w->nconns == 0 && w->nbackground == 0)
        event_base_loopbreak(w->base);
}

void
worker_background_begin(struct worker *w)
{
    w->nbackground++;
}

void
worker_background_end(struct worker *w)
{
    w->nbackground--;
    if (w->draining && w->nconns == 0 && w->nbackground == 0)
        event_base_loopbreak(w->base);
}

/* Only for a worker whose thread has ended or never started. */
void
worker_free(struct worker *w)
{
    free_listeners(w);
    free(w->listeners);
    free(w->guards);
    while (w->idle_head != NULL)
        conn_close(w->idle_head);
    while (w->busy != NULL)
        conn_close(w->busy);
    conn_timers_free(w);
    if (w->sweep_ev != NULL)
        event_free(w->sweep_ev);
    retire_pools(w);
    req_free_recycled(w);
    redis_client_free(w->redis);
    access_log_free(w->alog);
    event_free(w->wake_ev);
    close(w->wake_fd);
    struct config *pending = atomic_exchange(&w->next_cfg, NULL);
    if (pending != NULL)
        config_unref(pending);
    config_unref(w->cfg);
    ratelimit_worker_free(w->limits);
    cache_hot_free(w->hot);
    event_base_free(w->base);
    bufpool_free(w->bufs);
    claims_cache_free(w->claims);
    free(w);
}
