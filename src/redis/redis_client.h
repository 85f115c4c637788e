/*
 * redis_client.h - the one way sluice talks to Redis: an asynchronous,
 * pipelined client on an event loop the caller owns (one per worker, one
 * for the admin thread). Sessions, limits and the cache all go through it.
 *
 *   caller --redis_client_command / redis_client_script--> queue
 *        (commands of one loop turn are written with one write)
 *   socket --read--> redisReader --> replies, in order --> callbacks
 *
 * Every command names the key that decides where it runs (route_key): on a
 * single Redis it is ignored, on a Redis Cluster it picks the node that
 * owns its hash slot (redis_slot.h), and -MOVED/-ASK redirects are
 * followed. Callers never see nodes or connections. Which of the two the
 * client talks to is found at its first connect (CLUSTER SLOTS).
 *
 * With Sentinel (options.sentinel_master) it is a single Redis whose
 * address the Sentinels give, asked again before every reconnect and after
 * a -READONLY reply, so the client follows a failover: meanwhile commands
 * fail with redis_error_unavailable (or time out), as when Redis is down.
 *
 * The protocol is hiredis's: its reply reader (redisReader) and command
 * formatter (redisFormatCommandArgv) over a socket this module drives with
 * a libevent event, so TLS (OpenSSL, rediss://) sits under it unchanged.
 *
 * Callbacks fire exactly once per command, never inside the call that
 * started it, with err NULL and reply set, or err one of the static
 * strings below and reply NULL. A Redis error reply (-ERR ...) is a reply,
 * not an err: the caller reads reply->type == REDIS_REPLY_ERROR. The reply
 * is only valid for the duration of the callback: copy what you need.
 *
 * A callback may issue new commands on the client that called it, but must
 * never free or retire it (redis_client_free asserts this): free it from
 * another event, as its owner (the worker, the admin) does.
 */
#ifndef SLUICE_REDIS_CLIENT_H
#define SLUICE_REDIS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redisReply;
struct redis_client;
struct redis_target;

/* err strings: compare by pointer. */
extern const char redis_error_timeout[];     /* no reply within redis.timeout */
extern const char redis_error_unavailable[]; /* not connected (down, reconnecting) */
extern const char redis_error_closed[];      /* the client was freed with the command pending */

typedef void (*redis_reply_cb)(void *arg, const struct redisReply *reply, const char *err);

/* Observes round trips (for sluice_redis_duration_seconds and
 * sluice_redis_errors_total); may be NULL. */
typedef void (*redis_observe_cb)(uint64_t duration_us, bool error);

/* Observes a read of a cluster's slot map after the first (a MOVED that
 * told the client something new, or a node gone), for
 * sluice_redis_slot_map_refreshes_total; name is the client's. May be NULL. */
typedef void (*redis_slot_map_cb)(const char *name);

struct redis_client_options {
    const struct redis_target *target; /* copied; parsed from redis.url (config/redis_url.h) */
    uint32_t timeout_ms;               /* per command, from redis.timeout */
    redis_observe_cb observe;
    redis_slot_map_cb slot_map_read;
    const char *name; /* for log lines and metrics: "worker 0", "admin" */
    /* redis.nodes: more nodes of a cluster to probe at the first connect
     * (copied); none for a single Redis. */
    const struct redis_seed *seeds;
    size_t nseeds;
    /* redis.sentinel: the master named sentinel_master, as the Sentinels
     * (copied) name it; then there are no seeds, and target gives the
     * credentials, db and TLS but not the address. NULL: no Sentinel. */
    const char *sentinel_master;
    const struct redis_seed *sentinels;
    size_t nsentinels;
};

/* Creates the client and starts connecting (no callback runs inside this
 * call). On connect it authenticates, selects the database, and loads
 * every script of lua/ (SCRIPT LOAD); commands sent while connecting wait
 * for it (within their timeout). Reconnects with backoff when Redis goes
 * away; every command in flight then fails with redis_error_unavailable. */
struct redis_client *redis_client_new(struct event_base *base,
                                      const struct redis_client_options *opt);

/* Fails every pending command with redis_error_closed, inside this call
 * (the one exception to the rule above: the loop may be ending), then
 * closes the socket and removes every event. */
void redis_client_free(struct redis_client *rc);

/* For a reload that changed redis.url or redis.tls: the owner stops
 * using rc (a new client takes its place) and rc frees itself, from its
 * own deferred event, once every command it holds has had its callback
 * (replies or timeouts: within redis.timeout, or at once when down). It
 * does not reconnect meanwhile. Not from inside one of rc's callbacks. */
void redis_client_retire(struct redis_client *rc);

/* Counters for tests and debugging: socket writes and reads, commands. */
struct redis_client_stats {
    uint64_t writes;   /* write(2) / SSL_write calls that moved bytes */
    uint64_t reads;    /* read(2) / SSL_read calls that moved bytes */
    uint64_t commands; /* callers' commands queued */
};
void redis_client_stats(const struct redis_client *rc, struct redis_client_stats *out);

/* True while connected and the scripts are loaded. */
bool redis_client_ready(const struct redis_client *rc);

/* Queues one command. argv[i] has argvlen[i] bytes (binary safe); both are
 * copied before this returns. route_key (route_key_len bytes) is the key
 * the command touches, or NULL for a keyless command (PING). */
void redis_client_command(struct redis_client *rc, const char *route_key, size_t route_key_len,
                          int argc, const char *const *argv, const size_t *argvlen,
                          redis_reply_cb cb, void *arg);

/* The scripts of lua/, embedded at build; see redis_script.h. */
struct redis_script;

/* Queues a command the caller formatted itself (redis/resp.h), taking cmd
 * (malloc'd, cmd_len bytes): a large argument is then copied once, straight
 * into the command (a stored cache entry), not into an argv first. script:
 * the script cmd runs by EVALSHA (retried as redis_client_script's are on
 * -NOSCRIPT), or NULL. route_key as redis_client_command's. */
void redis_client_send(struct redis_client *rc, const struct redis_script *script,
                       const char *route_key, size_t route_key_len, char *cmd, size_t cmd_len,
                       redis_reply_cb cb, void *arg);

/* EVALSHA script nkeys keys... args...; on -NOSCRIPT (Redis restarted or
 * flushed) the script is loaded again and the call retried once, invisible
 * to the caller. The first key routes the call. */
void redis_client_script(struct redis_client *rc, const struct redis_script *script, int nkeys,
                         const char *const *keys, const size_t *keylens, int nargs,
                         const char *const *args, const size_t *arglens, redis_reply_cb cb,
                         void *arg);

/* What a subscription hears: a message published on its channel (len
 * bytes, not NUL-terminated), or msg NULL when it has (re)subscribed, so
 * that whatever was published while it was not connected is lost. */
typedef void (*redis_message_cb)(void *arg, const char *msg, size_t len);

/* Subscribes to channel (copied) on a connection of its own, kept up with
 * the same reconnects and Sentinel lookups as the client's; at most one
 * per client, ended by redis_client_retire or _free. Pub/sub is
 * fire-and-forget: use it for news whose loss costs only time. */
void redis_client_subscribe(struct redis_client *rc, const char *channel, redis_message_cb cb,
                            void *arg);

#endif
