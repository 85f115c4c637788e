/*
 * health.c - active health checks of Redis and of the upstream servers,
 * run on the main thread's loop by the admin module (see health.h).
 *
 * Redis: a PING every 1 s through the main thread's redis_client (which
 * this module owns and lends to the admin API: health_redis). The client
 * connects, times out and reconnects by itself (redis_client.h); Redis is
 * "up" while the last PING was answered within redis.timeout.
 *
 * Upstream probes write the same server_down_until_ms array that workers
 * write on passive failures, so the two must not undo each other: a
 * successful probe clears a mark only if that mark was set before the probe
 * started (a mark is always set to "then + fail_timeout").
 */
#include "admin/health.h"

#include <errno.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin/metrics.h"
#include "policy/cache_forget.h"
#include "redis/redis_client.h"
#include "sluice.h"
#include "util/clock.h"
#include "util/log.h"

#define HEALTH_REDIS_PING_MS 1000
#define HEALTH_PROBE_INTERVAL_MS 2000

/* One upstream server's active check. */
struct probe {
    struct health *h;           /* borrowed; owns this probe */
    struct config_upstream *up; /* borrowed from h->cfg */
    size_t server;
    int fd;           /* owns; -1 when no connect is in flight */
    struct event *ev; /* owns; NULL when no connect is in flight */
    int64_t started_ms;
};

struct health {
    struct event_base *base; /* borrowed */
    struct config *cfg;      /* borrowed; the admin holds the reference */

    struct redis_client *redis;  /* owns; the main thread's client (health_redis) */
    struct redis_target target;  /* what redis was made for, to notice a change */
    uint32_t redis_timeout_ms;
    struct redis_seed *seeds; /* owns; a copy of redis.nodes, as target */
    char *sentinel_master;        /* owns; a copy of redis.sentinel, as target; may be NULL */
    struct redis_seed *sentinels; /* owns */
    size_t nsentinels;
    size_t nseeds;
    bool ping_pending;
    int64_t ping_sent_us;
    bool redis_up;
    double latency_ms;
    struct event *redis_tick; /* owns; persistent, every HEALTH_REDIS_PING_MS */

    struct probe *probes; /* owns; one per server of every upstream */
    size_t nprobes;
    struct event *probe_tick; /* owns; persistent, every HEALTH_PROBE_INTERVAL_MS */
};

static void
ms_to_tv(uint32_t ms, struct timeval *tv)
{
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (ms % 1000) * 1000;
}

/* ---- Redis PING ----------------------------------------------------------- */

/* The client logs up/down and counts errors and latency (its observe
 * callback); this only keeps what /readyz reports. */
static void
redis_on_ping(void *arg, const struct redisReply *reply, const char *err)
{
    struct health *h = arg;
    h->ping_pending = false;
    if (err == redis_error_closed)
        return; /* the client is being replaced or freed */
    if (err != NULL || reply->type == REDIS_REPLY_ERROR) {
        h->redis_up = false;
        return;
    }
    h->latency_ms = (double)(clock_now_us() - h->ping_sent_us) / 1000.0;
    h->redis_up = true;
}

static void
redis_send_ping(struct health *h)
{
    static const char *const argv[] = {"PING"};
    static const size_t lens[] = {4};
    if (h->ping_pending)
        return; /* still within redis.timeout: the client will answer */
    h->ping_pending = true;
    h->ping_sent_us = clock_now_us();
    redis_client_command(h->redis, NULL, 0, 1, argv, lens, redis_on_ping, h);
}

static void
redis_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    redis_send_ping(arg);
}

/* (Re)creates the client for h->cfg; the first PING waits for its connect. */
static void
redis_configure(struct health *h)
{
    memcpy(&h->target, &h->cfg->redis.target, sizeof(h->target));
    h->redis_timeout_ms = h->cfg->redis.timeout_ms;
    free(h->seeds);
    h->nseeds = h->cfg->redis.nnodes;
    h->seeds = xcalloc(h->nseeds + 1, sizeof(*h->seeds));
    if (h->nseeds > 0)
        memcpy(h->seeds, h->cfg->redis.nodes, h->nseeds * sizeof(*h->seeds));
    free(h->sentinel_master);
    free(h->sentinels);
    h->sentinel_master =
        h->cfg->redis.sentinel.master ? xstrdup(h->cfg->redis.sentinel.master) : NULL;
    h->nsentinels = h->cfg->redis.sentinel.nnodes;
    h->sentinels = xcalloc(h->nsentinels + 1, sizeof(*h->sentinels));
    if (h->nsentinels > 0)
        memcpy(h->sentinels, h->cfg->redis.sentinel.nodes, h->nsentinels * sizeof(*h->sentinels));
    struct redis_client_options opt = {
        .target = &h->target,
        .timeout_ms = h->redis_timeout_ms,
        .observe = metrics_record_redis,
        .slot_map_read = metrics_record_slot_map_refresh,
        .name = "admin",
        .seeds = h->seeds,
        .nseeds = h->nseeds,
        .sentinel_master = h->sentinel_master,
        .sentinels = h->sentinels,
        .nsentinels = h->nsentinels,
    };
    h->redis = redis_client_new(h->base, &opt);
    cache_forget_listen(h->redis, h->cfg->redis.prefix);
    h->redis_up = false;
    h->latency_ms = -1;
    redis_send_ping(h);
}

/* ---- upstream probes -------------------------------------------------- */

static void
probe_record(struct probe *p, bool ok, const char *why)
{
    _Atomic int64_t *slot = &p->up->server_down_until_ms[p->server];
    int64_t now = clock_now_ms();
    bool was_up = health_server_up(p->up, p->server, now);
    if (ok) {
        int64_t cur = atomic_load(slot);
        /* A mark set after this probe started (cur - fail_timeout is when
         * it was set) is newer news than our connect: keep it. If a worker
         * writes meanwhile, the exchange fails and its mark stands. */
        if (cur != 0 && cur - (int64_t)p->up->fail_timeout_ms <= p->started_ms)
            atomic_compare_exchange_strong(slot, &cur, 0);
    } else {
        atomic_store(slot, now + (int64_t)p->up->fail_timeout_ms);
    }
    bool is_up = health_server_up(p->up, p->server, now);
    if (was_up != is_up)
        log_warn("upstream %s: server %s is %s%s%s", p->up->name, p->up->servers[p->server].text,
                 is_up ? "up" : "down", why ? ": " : "", why ? why : "");
}

static void
probe_finish(struct probe *p, bool ok, const char *why)
{
    if (p->ev != NULL) {
        event_free(p->ev);
        p->ev = NULL;
    }
    close(p->fd);
    p->fd = -1;
    probe_record(p, ok, why);
}

static void
probe_cb(evutil_socket_t fd, short what, void *arg)
{
    struct probe *p = arg;
    if (what & EV_TIMEOUT) {
        probe_finish(p, false, "connect timed out");
        return;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    probe_finish(p, err == 0, err ? strerror(err) : NULL);
}

static void
probe_start(struct probe *p)
{
    if (p->fd >= 0)
        return; /* the last connect is still in flight (connect_timeout > interval) */
    const struct config_addr *addr = &p->up->servers[p->server];
    int fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return; /* out of descriptors says nothing about the server */
    p->fd = fd;
    p->started_ms = clock_now_ms();
    if (connect(fd, (const struct sockaddr *)&addr->sa, addr->sa_len) == 0) {
        probe_finish(p, true, NULL);
        return;
    }
    if (errno != EINPROGRESS) {
        probe_finish(p, false, strerror(errno));
        return;
    }
    uint32_t timeout_ms = p->up->connect_timeout_ms ? p->up->connect_timeout_ms : 2000;
    struct timeval tv;
    ms_to_tv(timeout_ms, &tv);
    p->ev = event_new(p->h->base, fd, EV_WRITE, probe_cb, p);
    event_add(p->ev, &tv);
}

static void
probe_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct health *h = arg;
    for (size_t i = 0; i < h->nprobes; i++)
        probe_start(&h->probes[i]);
}

static void
probes_build(struct health *h)
{
    const struct config *cfg = h->cfg;
    h->nprobes = 0;
    for (size_t u = 0; u < cfg->nupstreams; u++)
        h->nprobes += cfg->upstreams[u].server_down_until_ms ? cfg->upstreams[u].nservers : 0;
    h->probes = xcalloc(h->nprobes ? h->nprobes : 1, sizeof(*h->probes));
    size_t n = 0;
    for (size_t u = 0; u < cfg->nupstreams; u++) {
        struct config_upstream *up = &cfg->upstreams[u];
        for (size_t i = 0; up->server_down_until_ms != NULL && i < up->nservers; i++)
            h->probes[n++] = (struct probe){.h = h, .up = up, .server = i, .fd = -1};
    }
}

/* Drops in-flight connects without recording anything. */
static void
probes_clear(struct health *h)
{
    for (size_t i = 0; i < h->nprobes; i++) {
        struct probe *p = &h->probes[i];
        if (p->ev != NULL)
            event_free(p->ev);
        if (p->fd >= 0)
            close(p->fd);
    }
    free(h->probes);
    h->probes = NULL;
    h->nprobes = 0;
}

/* ---- public ----------------------------------------------------------- */

struct health *
health_new(struct event_base *base, struct config *cfg)
{
    struct health *h = xcalloc(1, sizeof(*h));
    h->base = base;
    h->cfg = cfg;

    h->redis_tick = event_new(base, -1, EV_PERSIST, redis_tick_cb, h);
    struct timeval tv;
    ms_to_tv(HEALTH_REDIS_PING_MS, &tv);
    evtimer_add(h->redis_tick, &tv);
    redis_configure(h);

    probes_build(h);
    h->probe_tick = event_new(base, -1, EV_PERSIST, probe_tick_cb, h);
    ms_to_tv(HEALTH_PROBE_INTERVAL_MS, &tv);
    evtimer_add(h->probe_tick, &tv);
    /* A first round now, so a server that is down at start is known at once. */
    probe_tick_cb(-1, EV_TIMEOUT, h);
    return h;
}

void
health_set_config(struct health *h, struct config *cfg)
{
    probes_clear(h);
    h->cfg = cfg;
    probes_build(h);

    if (redis_target_equal(&cfg->redis.target, &h->target) &&
        cfg->redis.timeout_ms == h->redis_timeout_ms &&
        redis_seeds_equal(cfg->redis.nodes, cfg->redis.nnodes, h->seeds, h->nseeds) &&
        redis_sentinel_equal(cfg->redis.sentinel.master, cfg->redis.sentinel.nodes,
                             cfg->redis.sentinel.nnodes, h->sentinel_master, h->sentinels,
                             h->nsentinels))
        return;
    /* Freed, not retired: its PING (and any admin command) fails with
     * redis_error_closed now, which is simpler than telling a late PING
     * reply of the old client from one of the new. */
    redis_client_free(h->redis);
    redis_configure(h);
}

void
health_free(struct health *h)
{
    if (h == NULL)
        return;
    event_free(h->probe_tick);
    probes_clear(h);
    event_free(h->redis_tick);
    redis_client_free(h->redis);
    free(h->seeds);
    free(h->sentinel_master);
    free(h->sentinels);
    free(h);
}

struct redis_client *
health_redis(struct health *h)
{
    return h->redis;
}

void
health_redis_status(const struct health *h, struct health_redis_status *out)
{
    out->up = h->redis_up;
    out->latency_ms = out->up ? h->latency_ms : -1;
}

size_t
health_upstream_healthy(const struct config_upstream *up, int64_t now_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < up->nservers; i++)
        n += health_server_up(up, i, now_ms);
    return n;
}
