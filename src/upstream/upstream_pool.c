/*
 * upstream_pool.c - server choice, connects, and idle keep-alive
 * connections for one upstream in one worker.
 *
 *   acquire: idle list (LIFO: the warmest connection) or connect()
 *   release: reusable and room left -> idle list, else close
 *   idle:    the read event stays armed, so an upstream that closes an idle
 *            connection is noticed and the connection dropped
 */
#include "upstream/upstream_pool.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "sluice.h"
#include "core/worker.h"
#include "util/bufpool.h"
#include "util/clock.h"
#include "util/log.h"

const char UPSTREAM_ERR_LOCAL[] = "the gateway is out of sockets; try again";

/* How long an idle connection beyond `keepalive` is kept for reuse. */
#define UPSTREAM_SURPLUS_LINGER_MS 1000

struct upstream_pool {
    struct worker *worker;            /* borrowed */
    const struct config_upstream *up; /* borrowed from the config the pool was made for */
    unsigned next_server;             /* round robin */
    struct upstream_conn *idle;       /* owns: LIFO list */
    unsigned nidle;
    unsigned nactive;
    bool retired;
};

struct upstream_pool *
upstream_pool_new(struct worker *w, const struct config_upstream *up)
{
    struct upstream_pool *pool = xcalloc(1, sizeof(*pool));
    pool->worker = w;
    pool->up = up;
    return pool;
}

const struct config_upstream *
upstream_pool_upstream(const struct upstream_pool *pool)
{
    return pool->up;
}

struct event_base *
upstream_pool_base(const struct upstream_pool *pool)
{
    return pool->worker->base;
}

unsigned
upstream_pool_nservers(const struct upstream_pool *pool)
{
    return (unsigned)pool->up->nservers;
}

static void
conn_free(struct upstream_conn *uc)
{
    event_free(uc->rev);
    event_free(uc->wev);
    event_free(uc->timer);
    if (uc->fd >= 0)
        close(uc->fd);
    bufpool_release(uc->pool->worker->bufs, uc->in);
    free(uc);
}

static void
unlink_idle(struct upstream_pool *pool, struct upstream_conn *uc)
{
    struct upstream_conn **pp = &pool->idle;
    while (*pp != NULL && *pp != uc)
        pp = &(*pp)->next_idle;
    if (*pp == uc) {
        *pp = uc->next_idle;
        pool->nidle--;
    }
}

static void
maybe_free_pool(struct upstream_pool *pool)
{
    if (pool->retired && pool->nactive == 0 && pool->nidle == 0)
        free(pool);
}

void
upstream_pool_retire(struct upstream_pool *pool)
{
    pool->retired = true;
    while (pool->idle != NULL) {
        struct upstream_conn *uc = pool->idle;
        pool->idle = uc->next_idle;
        pool->nidle--;
        conn_free(uc);
    }
    maybe_free_pool(pool);
}

void
upstream_conn_want_read(struct upstream_conn *uc, bool on)
{
    if (on == uc->reading)
        return;
    uc->reading = on;
    if (on)
        event_add(uc->rev, NULL);
    else
        event_del(uc->rev);
}

void
upstream_conn_want_write(struct upstream_conn *uc, bool on)
{
    if (on == uc->writing)
        return;
    uc->writing = on;
    if (on)
        event_add(uc->wev, NULL);
    else
        event_del(uc->wev);
}

static void
arm_timer(struct upstream_conn *uc, int64_t wait_ms)
{
    struct timeval tv = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
    event_add(uc->timer, &tv);
}

void
upstream_conn_set_deadline(struct upstream_conn *uc, uint32_t timeout_ms)
{
    if (timeout_ms == 0) {
        deadline_clear(&uc->deadline); /* the common call on the request path */
        return;
    }
    int64_t wait_ms = deadline_set(&uc->deadline, timeout_ms, clock_now_ms());
    if (wait_ms >= 0)
        arm_timer(uc, wait_ms);
}

bool
upstream_conn_connected(const struct upstream_conn *uc)
{
    int err = 0;
    socklen_t len = sizeof(err);
    return getsockopt(uc->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

long
upstream_conn_read(struct upstream_conn *uc)
{
    if (uc->in == NULL)
        uc->in = bufpool_acquire(uc->pool->worker->bufs);
    return buf_read(uc->in, uc->fd);
}

static void
drop_idle(struct upstream_conn *uc)
{
    struct upstream_pool *pool = uc->pool;
    unlink_idle(pool, uc);
    conn_free(uc);
    maybe_free_pool(pool);
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
    struct upstream_conn *uc = arg;
    if (uc->handler == NULL) {
        /* Idle: any readiness means the upstream closed it or misbehaved. */
        drop_idle(uc);
        return;
    }
    if (what & EV_WRITE)
        uc->handler->writable(uc);
    else
        uc->handler->readable(uc);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct upstream_conn *uc = arg;
    int64_t wait_ms;
    enum deadline_state st = deadline_fired(&uc->deadline, clock_now_ms(), &wait_ms);
    if (st == DEADLINE_REARM)
        arm_timer(uc, wait_ms);
    if (st != DEADLINE_EXPIRED)
        return;
    if (uc->handler == NULL)
        drop_idle(uc);
    else
        uc->handler->timeout(uc);
}

/* Round robin over servers not marked down; when all are down, plain round
 * robin, so a recovered server is found even before a health check. */
static int
pick_server(struct upstream_pool *pool, int exclude)
{
    const struct config_upstream *up = pool->up;
    int64_t now = clock_now_ms();
    unsigned n = (unsigned)up->nservers;
    for (unsigned tries = 0; tries < n; tries++) {
        unsigned i = pool->next_server++ % n;
        if ((int)i == exclude)
            continue;
        if (atomic_load_explicit(&up->server_down_until_ms[i], memory_order_relaxed) <= now)
            return (int)i;
    }
    if (n == 1 && exclude == 0)
        return -1;
    unsigned i = pool->next_server++ % n;
    if ((int)i == exclude)
        i = pool->next_server++ % n;
    return (int)i;
}

static struct upstream_conn *
conn_new(struct upstream_pool *pool, unsigned server, int fd)
{
    struct event_base *base = pool->worker->base;
    struct upstream_conn *uc = xcalloc(1, sizeof(*uc));
    uc->pool = pool;
    uc->server = server;
    uc->fd = fd;
    deadline_init(&uc->deadline);
    uc->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_event, uc);
    uc->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_event, uc);
    uc->timer = evtimer_new(base, on_timer, uc);
    return uc;
}

/* *local_failure: the failure is this machine's (no descriptor, no local
 * port), which says nothing about the server's health. */
static struct upstream_conn *
connect_server(struct upstream_pool *pool, unsigned server, const char **err, bool *local_failure)
{
    const struct config_addr *addr = &pool->up->servers[server];
    *local_failure = false;
    int fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = UPSTREAM_ERR_LOCAL;
        *local_failure = true;
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = connect(fd, (const struct sockaddr *)&addr->sa, addr->sa_len);
    if (rc < 0 && errno != EINPROGRESS) {
        *local_failure = errno == EAGAIN || errno == EADDRNOTAVAIL;
        *err = *local_failure ? UPSTREAM_ERR_LOCAL : "connect failed";
        close(fd);
        return NULL;
    }
    struct upstream_conn *uc = conn_new(pool, server, fd);
    uc->connecting = rc < 0;
    return uc;
}

struct upstream_conn *
upstream_pool_acquire(struct upstream_pool *pool, const struct upstream_handler *handler,
                      void *owner, int exclude, bool fresh, const char **err)
{
    struct upstream_conn *uc = pool->idle;
    if (uc != NULL && exclude < 0 && !fresh) {
        pool->idle = uc->next_idle;
        pool->nidle--;
        uc->next_idle = NULL;
        uc->reused = true;
    } else {
        uc = NULL;
        for (unsigned tries = 0; uc == NULL && tries < pool->up->nservers; tries++) {
            int server = pick_server(pool, exclude);
            if (server < 0)
                break;
            bool local_failure;
            uc = connect_server(pool, (unsigned)server, err, &local_failure);
            if (uc == NULL && local_failure)
                break; /* out of descriptors here: not the server's fault */
            if (uc == NULL) {
                atomic_store(&pool->up->server_down_until_ms[server],
                             clock_now_ms() + pool->up->fail_timeout_ms);
                exclude = server;
            }
        }
        if (uc == NULL) {
            if (*err == NULL)
                *err = "no upstream server available";
            return NULL;
        }
    }
    uc->handler = handler;
    uc->owner = owner;
    pool->nactive++;
    return uc;
}

void
upstream_pool_mark_failed(struct upstream_conn *uc)
{
    const struct config_upstream *up = uc->pool->up;
    atomic_store(&up->server_down_until_ms[uc->server], clock_now_ms() + up->fail_timeout_ms);
    log_warn("upstream %s server %s failed; skipped for %ums", up->name,
             up->servers[uc->server].text, (unsigned)up->fail_timeout_ms);
}

void
upstream_pool_release(struct upstream_conn *uc, bool reusable)
{
    struct upstream_pool *pool = uc->pool;
    pool->nactive--;
    uc->handler = NULL;
    uc->owner = NULL;
    uc->connecting = false;
    if (!reusable || pool->retired || (uc->in != NULL && buf_len(uc->in) > 0)) {
        conn_free(uc);
        maybe_free_pool(pool);
        return;
    }
    bufpool_release(pool->worker->bufs, uc->in);
    uc->in = NULL;
    upstream_conn_want_write(uc, false);
    upstream_conn_want_read(uc, true);
    /* Past `keepalive` idle connections, a connection is kept only briefly:
     * under a burst it is reused within milliseconds, and closing it would
     * only mean a new connect for the next request (HAProxy purges its
     * idle pool the same way). Once the burst ends, the surplus closes. */
    bool surplus = pool->nidle >= pool->up->keepalive;
    uint32_t linger_ms = pool->up->idle_timeout_ms;
    if (surplus && linger_ms > UPSTREAM_SURPLUS_LINGER_MS)
        linger_ms = UPSTREAM_SURPLUS_LINGER_MS;
    upstream_conn_set_deadline(uc, linger_ms);
    uc->next_idle = pool->idle;
    pool->idle = uc;
    pool->nidle++;
}
