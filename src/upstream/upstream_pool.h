/*
 * upstream_pool.h - per worker and upstream: the choice of server (round
 * robin over servers not marked down), non-blocking connects, and the idle
 * keep-alive connections kept for reuse.
 *
 * A server that fails to connect is marked down for fail_timeout in the
 * shared health array (config.h), and skipped by every worker until then;
 * the admin thread's health checks mark it up again.
 */
#ifndef SLUICE_UPSTREAM_POOL_H
#define SLUICE_UPSTREAM_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "util/deadline.h"

struct worker;
struct config_upstream;
struct buf;
struct event;

struct upstream_pool;
struct upstream_conn;

/* Who drives a connection while it is lent out: the proxy (an exchange
 * for a client) or a fetch of the gateway's own (upstream_fetch.h). */
struct upstream_handler {
    void (*readable)(struct upstream_conn *uc);
    void (*writable)(struct upstream_conn *uc); /* also: a connect finished */
    void (*timeout)(struct upstream_conn *uc);
};

struct upstream_conn {
    struct upstream_pool *pool; /* borrowed; outlives its conns */
    unsigned server;            /* index in the upstream's servers */
    int fd;
    struct event *rev;        /* owns: EV_READ|EV_PERSIST */
    struct event *wev;        /* owns: EV_WRITE|EV_PERSIST */
    struct event *timer;      /* owns */
    struct deadline deadline; /* of the current wait; timer armed lazily */
    struct buf *in;           /* owns; NULL while idle */
    const struct upstream_handler *handler; /* static; NULL when idle */
    void *owner;              /* borrowed: the handler's exchange; NULL when idle */
    bool connecting;          /* connect() in progress */
    bool reused;              /* came from the idle list */
    bool reading, writing;
    struct upstream_conn *next_idle;
};

struct upstream_pool *upstream_pool_new(struct worker *w, const struct config_upstream *up);
/* Closes idle connections; the pool is freed once its last active
 * connection comes back (after a reload, in-flight requests finish). */
void upstream_pool_retire(struct upstream_pool *pool);

const struct config_upstream *upstream_pool_upstream(const struct upstream_pool *pool);

/* The *err of upstream_pool_acquire when the gateway itself ran out of
 * descriptors or ports: overload (503), not an upstream failure (502). */
extern const char UPSTREAM_ERR_LOCAL[];

/*
 * Returns a connection lent to owner: an idle one, or a new one whose
 * connect is under way (uc->connecting; handler->writable is called when
 * it finished). NULL when no server could even be tried; *err then says
 * why. exclude: a server index not to use (-1 for none). fresh: a new
 * connection even if an idle one is there (retrying after a stale one).
 */
struct upstream_conn *upstream_pool_acquire(struct upstream_pool *pool,
                                            const struct upstream_handler *handler, void *owner,
                                            int exclude, bool fresh, const char **err);

/* The exchange is over. reusable: the connection may carry another request. */
void upstream_pool_release(struct upstream_conn *uc, bool reusable);

/* A connect or I/O failure: marks the server down for fail_timeout. */
void upstream_pool_mark_failed(struct upstream_conn *uc);

void upstream_conn_want_read(struct upstream_conn *uc, bool on);
void upstream_conn_want_write(struct upstream_conn *uc, bool on);
void upstream_conn_set_deadline(struct upstream_conn *uc, uint32_t timeout_ms);
/* The connect that was under way (uc->connecting, now writable) succeeded. */
bool upstream_conn_connected(const struct upstream_conn *uc);
/* Reads once into uc->in; as conn_read. */
long upstream_conn_read(struct upstream_conn *uc);

struct event_base *upstream_pool_base(const struct upstream_pool *pool);

/* How many upstream servers are configured for the pool's upstream. */
unsigned upstream_pool_nservers(const struct upstream_pool *pool);

#endif
