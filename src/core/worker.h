/*
 * worker.h - one thread with its own event loop, listening sockets
 * (SO_REUSEPORT), buffer pool, upstream pools, access log and metrics
 * shard. Nothing on the request path is shared between workers except the
 * immutable config and the upstream health array.
 *
 * The main thread talks to a worker only through worker_reload() and
 * worker_stop(), which post a message the worker reads from an eventfd.
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct config;
struct event_base;
struct event;
struct evconnlistener;
struct bufpool;
struct access_log;
struct metrics_shard;
struct upstream_pool;
struct conn;
struct listener_guard;
struct conn_timer;
struct req;
struct claims_cache;
struct redis_client;
struct ratelimit_worker;
struct cache_hot;

struct worker {
    unsigned id;
    unsigned nworkers; /* how many were started: they share http.max_connections */
    pthread_t thread;
    struct event_base *base;         /* owns */
    struct config *cfg;              /* owns a reference: new requests start under it */
    struct config *_Atomic next_cfg; /* owns a reference once posted by main */
    _Atomic bool stop_requested;
    int wake_fd;                       /* owns: eventfd main -> worker */
    struct event *wake_ev;             /* owns */
    struct evconnlistener **listeners; /* owns */
    size_t nlisteners;
    struct listener_guard **guards;     /* owns: one per listener (EMFILE pauses) */
    struct bufpool *bufs;               /* owns */
    struct upstream_pool **pools;       /* owns; one per cfg->upstreams entry */
    struct access_log *alog;            /* owns */
    struct redis_client *redis;         /* owns; on base; replaced (old one retired) on a
                                           reload that changes redis.url/tls/timeout */
    struct metrics_shard *metrics;      /* borrowed: process-wide registry */
    struct claims_cache *claims;        /* owns: verified tokens (policy/claims_cache.h) */
    struct ratelimit_worker *limits;    /* owns: refusals, held slots (policy/ratelimit.h) */
    struct cache_hot *hot;              /* owns: hot cache entries (policy/cache_hot.h) */
    struct conn *idle_head, *idle_tail; /* borrowed: idle connections, oldest first */
    struct conn *busy;                  /* borrowed: connections with a request */
    unsigned nconns;
    unsigned nbackground; /* exchanges of the gateway's own (cache refreshes) */
    struct conn_timer *free_timers; /* owns: timers of connections that went idle */
    struct event *sweep_ev;         /* owns: periodic idle sweep */
    bool draining;
    struct req *recycled_reqs; /* owns: finished requests kept for reuse */
    unsigned nrecycled_reqs;
    char rid_seed_hex[16]; /* request ids: a random seed, in hex, then a counter */
    uint64_t rid_counter;
};

/* A background exchange begins or ends: a draining worker waits for them
 * as for its connections. */
void worker_background_begin(struct worker *w);
void worker_background_end(struct worker *w);

/* Creates the worker and binds its listening sockets; the thread is not
 * started yet. Returns NULL (after logging) when binding fails. */
struct worker *worker_new(unsigned id, struct config *cfg);
int worker_start(struct worker *w);
/* Posts a new config (takes a reference); in-flight requests keep theirs. */
void worker_reload(struct worker *w, struct config *cfg);
/* Stops accepting and drains; the thread ends when no connection is left. */
void worker_stop(struct worker *w);
/* Joins the thread, waiting at most timeout_ms; returns -1 on timeout. */
int worker_join(struct worker *w, int64_t timeout_ms);
void worker_free(struct worker *w);

/* Called by conn.c when a connection closes, so a draining worker can end. */
void worker_conn_closed(struct worker *w);

#endif
