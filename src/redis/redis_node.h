/*
 * redis_node.h - one connection to one Redis server, private to
 * redis_client.c: pipelined commands, one write per loop turn, per-command
 * timeouts, reconnect with backoff, AUTH/SELECT/SCRIPT LOAD at connect and
 * the NOSCRIPT reload. redis_client.c puts one node under a single Redis
 * and one per master under a Redis Cluster, and routes between them.
 *
 * Callbacks follow redis_client.h: exactly once per command, never inside
 * the call that started it (but from redis_node_free), err NULL with a
 * reply or one of redis_error_* without.
 */
#ifndef SLUICE_REDIS_NODE_H
#define SLUICE_REDIS_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "redis/redis_client.h"

struct redis_node;

/* The node's answer to CLUSTER SLOTS in its connect sequence (probe on):
 * an array on a cluster node, an error elsewhere. Runs before the node is
 * ready, so the owner decides where queued commands go before they leave. */
typedef void (*redis_node_probe_cb)(void *owner, struct redis_node *n,
                                    const struct redisReply *reply);
/* A retired node holds no caller's command any more: the owner may free it
 * (from another event). May be called more than once. */
typedef void (*redis_node_idle_cb)(void *owner);
/* A locating node (Sentinel's master, a cluster's subscriber) is about to
 * connect: the owner finds the server's address and answers with
 * redis_node_located, inside this call or from another event. It is called
 * from the node's own retry event only, never inside a redis_node_ call. */
typedef void (*redis_node_locate_cb)(void *owner, struct redis_node *n);
/* A subscriber's message (redis_message_cb of redis_client.h). */
typedef void (*redis_node_message_cb)(void *owner, const char *msg, size_t len);

struct redis_node_options {
    const struct redis_target *target; /* copied */
    uint32_t timeout_ms;
    redis_observe_cb observe;
    const char *name;
    bool probe; /* send CLUSTER SLOTS at connect (until redis_node_set_probe) */
    redis_node_probe_cb on_probe;
    redis_node_idle_cb on_idle;
    /* Set: the node asks on_locate where to connect before each connect
     * (target's host and port are replaced by the answer), checks with
     * ROLE that the server is a master, and treats a -READONLY reply (the
     * server was demoted) as a break: that command fails with
     * redis_error_unavailable, the connection closes, a lookup follows. */
    redis_node_locate_cb on_locate;
    bool bare; /* no AUTH, SELECT or SCRIPT LOAD at connect: a Sentinel */
    /* Set: a subscriber. Its connect sequence ends with SUBSCRIBE of this
     * channel (copied) instead of SCRIPT LOAD; each message published on it
     * goes to on_message, and on_message(NULL) says it subscribed (again:
     * what was published while it was down is lost). It takes no commands.
     * It PINGs when it has heard nothing for a second, and breaks (then
     * reconnects) when the silence lasts the stall limit: a half-open
     * connection would otherwise leave it deaf for good. */
    const char *subscribe;
    redis_node_message_cb on_message;
    void *owner; /* borrowed; passed to the callbacks */
};

struct redis_node *redis_node_new(struct event_base *base, const struct redis_node_options *opt);

/* Fails every pending command with redis_error_closed inside this call. */
void redis_node_free(struct redis_node *n);

/* Stops reconnecting; on_idle fires once no caller's command is pending. */
void redis_node_retire(struct redis_node *n);

/* The answer to on_locate: host (NUL-terminated, copied) and port, or host
 * NULL and why (static or copied) when it was not found; then the node
 * fails what waits for it with redis_error_unavailable and tries again
 * after its backoff. Ignored unless the node is locating. */
void redis_node_located(struct redis_node *n, const char *host, int port, const char *why);

/* Sentinel says the master is now host:port (+switch-master): a locating
 * node that is connected elsewhere breaks (its commands fail with
 * redis_error_unavailable), and a lookup starts now rather than after the
 * backoff. Ignored by a node that does not locate, is looking up already,
 * or is connected there. */
void redis_node_master_moved(struct redis_node *n, const char *host, int port);

void redis_node_set_probe(struct redis_node *n, bool probe);
void redis_node_stats(const struct redis_node *n, struct redis_client_stats *out);
bool redis_node_ready(const struct redis_node *n);
/* Callers' commands whose callback has not fired. */
unsigned redis_node_live(const struct redis_node *n);
/* "host:port", for log lines and the owner's node table. */
const char *redis_node_where(const struct redis_node *n);

/*
 * Queues one formatted command (cmd: cmd_len bytes of RESP, owned by the
 * node from now on). script: the command is an EVALSHA of it (NOSCRIPT
 * reloads it and retries once), or NULL. asking: ASKING goes right before
 * it on the wire (a cluster -ASK redirect). deadline_us: when it times
 * out (clock_now_us() scale), 0 = now + the node's timeout.
 */
void redis_node_send(struct redis_node *n, const struct redis_script *script, char *cmd,
                     size_t cmd_len, bool asking, int64_t deadline_us, redis_reply_cb cb,
                     void *arg);

#endif
