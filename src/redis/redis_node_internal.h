/*
 * redis_node_internal.h - what the files of one Redis connection share
 * (redis_node.c: the queues' I/O, replies, timeouts and the interface;
 * redis_node_connect.c: connecting, the connect sequence, breaking and
 * reconnecting; redis_pending.c: the command queues). Nothing outside
 * src/redis/redis_node*.c and redis_pending.c includes it.
 */
#ifndef SLUICE_REDIS_NODE_INTERNAL_H
#define SLUICE_REDIS_NODE_INTERNAL_H

#include <event2/util.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/redis_url.h"
#include "redis/redis_client.h"
#include "redis/redis_node.h"
#include "redis/redis_tls.h"

struct redisReply;
struct redisReader;
struct reply_arena;

#define REDIS_BACKOFF_MIN_MS 50
#define REDIS_BACKOFF_MAX_MS 2000
/* connect + TLS + setup must be done within max(this, redis.timeout) */
#define REDIS_CONNECT_MIN_MS 1000
/* A connection whose oldest command has had no reply this long (already
 * timed out for its caller) is wedged (half-open TCP, a stopped server):
 * start afresh. max(this, 10 x redis.timeout). */
#define REDIS_STALL_MIN_MS 2000
/* A subscriber hears nothing for long stretches: it PINGs after this much
 * silence, so that a wedged connection shows as one (the stall limit). */
#define REDIS_SUB_PING_MS 1000
#define REDIS_READ_CHUNK 16384

enum pending_kind {
    PENDING_USER,   /* redis_node_command */
    PENDING_SCRIPT, /* redis_node_script: keeps cmd for a NOSCRIPT retry */
    PENDING_SETUP,  /* AUTH, SELECT, SCRIPT LOAD of the connect sequence */
    PENDING_RELOAD, /* SCRIPT LOAD before a NOSCRIPT retry */
    PENDING_PROBE,  /* CLUSTER SLOTS of the connect sequence: handed to on_probe */
    PENDING_ASKING, /* ASKING before an -ASK redirected command; reply dropped */
    PENDING_ROLE,   /* ROLE of a located node's connect sequence: must say master */
};

struct pending {
    struct pending *next;
    enum pending_kind kind;
    redis_reply_cb cb; /* NULL for SETUP and RELOAD */
    void *arg;
    int64_t start_us;
    int64_t deadline_us;
    bool timed_out;                    /* its callback has fired; the reply is dropped */
    bool retried;                      /* SCRIPT: already reloaded once */
    bool asking;                       /* ASKING goes out right before it, each time it is sent */
    const char *what;                  /* SETUP: the command, for log lines */
    const struct redis_script *script; /* SCRIPT, SETUP/RELOAD of a script; static */
    char *cmd;                         /* owns; formatted; NULL once in out (but SCRIPT) */
    size_t cmd_len;
};

struct pending_list {
    struct pending *head, *tail;
};

enum redis_state { RS_DOWN, RS_LOCATING, RS_CONNECTING, RS_TLS, RS_SETUP, RS_READY };
enum redis_logged { LOGGED_NONE, LOGGED_UP, LOGGED_DOWN };

struct redis_node {
    struct event_base *base; /* borrowed */
    struct redis_target target;
    uint32_t timeout_ms;
    redis_observe_cb observe;
    char name[64];
    bool probe;
    redis_node_probe_cb on_probe;
    redis_node_idle_cb on_idle;
    redis_node_locate_cb on_locate;
    bool bare;
    char *subscribe; /* owns; the channel of a subscriber, else NULL */
    redis_node_message_cb on_message;
    void *owner;     /* borrowed */
    char where[300]; /* the server, for log lines */

    enum redis_state state;
    int fd;                        /* owns; -1 when DOWN */
    struct event *io;              /* owns; persistent, re-assigned when io_what changes */
    short io_what;                 /* what io waits for; 0 = not added */
    struct event *flush_ev;        /* owns; activated when out gains bytes */
    bool flush_scheduled;          /* flush_ev is active */
    struct event *timer;           /* owns; the earliest deadline */
    int64_t timer_at_us;           /* 0 = timer not pending */
    struct event *retry;           /* owns; reconnect after backoff */
    struct event *defer;           /* owns; delivers `failed`, reports a retired node idle */
    struct event *keepalive;       /* owns; a subscriber's PING timer, else NULL */
    int64_t heard_us;              /* a subscriber: when its connection last read a byte */
    struct redisReader *reader;    /* owns; one per connection */
    struct reply_arena *arena;     /* owns; the reader's replies, reset after each */
    struct redis_tls_ctx *tls_ctx; /* owns; rediss:// only, made at the first connect */
    struct redis_tls *tls;         /* owns; the connection's TLS session */
    enum redis_io_want tls_want;   /* what the handshake waits for */
    enum redis_io_want read_want;  /* READ normally; WRITE when TLS must write to read */
    enum redis_io_want write_want; /* while write_blocked */
    bool write_blocked;

    char *out; /* owns; formatted commands not yet written, from out_off */
    size_t out_len, out_off, out_cap;

    struct pending_list waiting, inflight, failed;
    unsigned nlive;      /* callers' commands whose callback has not fired */
    unsigned setup_left; /* SETUP replies still to come */
    int64_t connect_deadline_us;
    uint32_t backoff_ms;
    enum redis_logged logged;
    int dispatching; /* callbacks running now */
    bool retired;
    bool closing; /* inside redis_node_free */
    struct redis_client_stats stats;
};

/* ---- redis_pending.c: FIFO queues of struct pending ---------------------- */

void pending_list_push(struct pending_list *l, struct pending *p);
struct pending *pending_list_pop(struct pending_list *l);
/* Moves every entry of from to the end of to. */
void pending_list_take(struct pending_list *to, struct pending_list *from);
struct pending *pending_new(struct redis_node *rc, enum pending_kind kind, redis_reply_cb cb,
                            void *arg);
/* The command's bytes, owned by p (kept for a NOSCRIPT retry). */
void pending_encode(struct pending *p, int argc, const char *const *argv, const size_t *lens);
void pending_free(struct pending *p);
bool pending_has_callback(const struct pending *p);
/* Runs p's callback (once: p is marked, or freed by the caller). */
void pending_deliver(struct redis_node *rc, struct pending *p, const struct redisReply *reply,
                     const char *err);
/* Fails and frees every entry of l, in order. */
void pending_fail_all(struct redis_node *rc, struct pending_list *l, const char *err);

/* ---- redis_node.c --------------------------------------------------------- */

void node_maybe_retire(struct redis_node *rc);
void node_log_state(struct redis_node *rc, bool up, const char *why);
/* Re-assigns the io event for what the state waits for. */
void node_io_update(struct redis_node *rc);
/* Puts p's command in out and p in inflight. */
void node_send_pending(struct redis_node *rc, struct pending *p);
/* A command the node itself sends (argv of NUL-terminated strings). */
void node_send_internal(struct redis_node *rc, enum pending_kind kind, const char *what,
                        const struct redis_script *script, int argc, const char **argv,
                        const size_t *argvlen);
void node_send_script_load(struct redis_node *rc, enum pending_kind kind,
                           const struct redis_script *s);
void node_timer_arm(struct redis_node *rc, int64_t at_us);

/* ---- redis_node_connect.c ------------------------------------------------- */

/* Starts a connect; never runs a callback (commands wait in `waiting`). */
void node_conn_start(struct redis_node *rc);
/* Closes the connection and fails what it held (redis_node_connect.c). */
void node_conn_break(struct redis_node *rc, const char *why);
/* connect(2) is done: TLS, or the connect sequence. */
void node_connected(struct redis_node *rc);
void node_tls_step(struct redis_node *rc);
void node_become_ready(struct redis_node *rc);
/* A reply to the connect sequence (PENDING_SETUP, PENDING_ROLE). */
void node_setup_reply(struct redis_node *rc, struct pending *p, const struct redisReply *r);
uint32_t node_connect_limit_ms(const struct redis_node *rc);
/* The retry timer's event: reconnect (or locate first). */
void node_on_retry(evutil_socket_t fd, short what, void *arg);

#endif
