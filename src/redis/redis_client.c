/*
 * redis_client.c - the client of redis_client.h over one Redis or a Redis
 * Cluster. The connections are redis_node.c's; this file decides which
 * node a command goes to and follows the cluster's redirects.
 *
 *   command --route key--> slot (redis_slot.c) --slots[]--> node --> Redis
 *                                 ^                           |
 *                                 +--- -MOVED: slot is node's, resend
 *                                      -ASK: ASKING + resend, map kept
 *                                      -TRYAGAIN/-CLUSTERDOWN: resend
 *                                       after REDIS_BUSY_DELAY_MS, while
 *                                       the command's timeout allows
 *
 * Mode, decided by the first node (redis.url) at its first successful
 * connect, which sends CLUSTER SLOTS with its AUTH/SELECT/SCRIPT LOAD:
 *
 *   UNKNOWN --error reply--> SINGLE   every command goes to that node with
 *      |                              the caller's callback: as before
 *      +----slot array-----> CLUSTER  one node per master (all opened at
 *                                     once, on the same loop), each loading
 *                                     the scripts at its own connect
 *
 * While UNKNOWN (and in CLUSTER) a command travels as a struct ccmd that
 * keeps its bytes for a resend; its callback fires once, from the node
 * that gave the last answer, or with that node's err. A node that goes
 * away fails its own commands (redis_node.c) and reconnects by itself.
 *
 * The slot map is read again (CLUSTER SLOTS) once per change: after a
 * MOVED that names another owner than the map does (the MOVEDs of commands
 * sent before the first one arrived name the owner the map has by then,
 * and cost nothing), asked of the node that answered MOVED, which has
 * taken part in the change; one read at a time, at most one per
 * REDIS_REFRESH_MIN_MS (a MOVED meanwhile patches its own slot only).
 *
 * Sentinel (redis.sentinel): SINGLE from the start, its one node locating
 * (redis_node.h on_locate): before each connect it asks the Sentinels in
 * turn, one at a time, over a connection of its own to each (bare nodes,
 * on the same loop, kept open),
 *
 *   SENTINEL get-master-addr-by-name NAME --> [ip, port] --> node connects
 *        | error, nil, timeout: the next Sentinel; none left: the node
 *        v                      fails what waits and retries after backoff
 *
 * starting with the one that answered last.
 */
#include "redis/redis_client.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/redis_url.h"
#include "redis/redis_node.h"
#include "redis/redis_script.h"
#include "redis/redis_slot.h"
#include "redis/resp.h"
#include "sluice.h"
#include "util/clock.h"
#include "util/log.h"

#define REDIS_SCRIPT_ARGV_STACK 32
#define REDIS_MAX_NODES 128    /* masters of a cluster we keep connections to */
#define REDIS_MAX_REDIRECTS 5  /* MOVED/ASK hops of one command before its reply is the error */
#define REDIS_BUSY_DELAY_MS 25 /* before resending after -TRYAGAIN / -CLUSTERDOWN */
#define REDIS_BUSY_RETRIES                                                                         \
    40 /* resends after those, all within the command's timeout: a reshard                         \
        * moving a busy slot key batch by key batch can                                            \
        * split a tag for a few hundred ms */
#define REDIS_REFRESH_MIN_MS 100 /* between two reads of the slot map */
#define REDIS_NO_NODE 0xffff
#define REDIS_MAX_SENTINELS 16

const char redis_error_timeout[] = "redis: timed out";
const char redis_error_unavailable[] = "redis: unavailable";
const char redis_error_closed[] = "redis: client closed";

enum redis_mode { MODE_UNKNOWN, MODE_SINGLE, MODE_CLUSTER };

/* A caller's command while it may still be redirected. */
struct ccmd {
    struct ccmd *next;       /* in delayed */
    struct redis_client *rc; /* borrowed */
    redis_reply_cb cb;
    void *arg;
    const struct redis_script *script; /* static; NULL for a plain command */
    char *cmd;                         /* owns; the formatted command */
    size_t cmd_len;
    int64_t deadline_us; /* fixed at the first send: redirects do not extend it */
    unsigned slot;
    bool asking;      /* the next send is after an -ASK */
    bool sent_asking; /* the last send was: a TRYAGAIN retry is too */
    int busy_retries;
    int redirects;
    uint16_t node; /* index of the node it is (or is to be) sent to */
};

struct redis_client {
    struct event_base *base;    /* borrowed */
    struct redis_target target; /* redis.url: the first node, and every node's credentials */
    uint32_t timeout_ms;
    redis_observe_cb observe;
    redis_slot_map_cb slot_map_read;
    char name[64];
    enum redis_mode mode;

    struct redis_node *nodes[REDIS_MAX_NODES]; /* owns; [0] is redis.url's */
    char node_host[REDIS_MAX_NODES][256];
    int node_port[REDIS_MAX_NODES];
    size_t nnodes;
    uint16_t slots[REDIS_SLOT_COUNT]; /* node index by slot; REDIS_NO_NODE unknown */
    bool refreshing;                  /* a CLUSTER SLOTS is in flight */
    int64_t refresh_us;               /* when the last one was sent */
    uint16_t refresh_node;            /* where it was sent */

    struct redis_node *sentinels[REDIS_MAX_SENTINELS];   /* owns; bare nodes */
    struct redis_node *switch_subs[REDIS_MAX_SENTINELS]; /* owns; each one's +switch-master */
    struct redis_node *sub;                              /* owns; the subscriber, or NULL */
    redis_message_cb sub_cb;
    void *sub_arg;
    size_t sub_at; /* on a cluster: the node the subscriber last connected to */
    size_t nsentinels;
    char master[256];     /* the name the Sentinels know the master by */
    size_t sentinel_at;   /* the one to ask next */
    size_t sentinel_left; /* of this lookup, still to ask */
    bool looking;         /* a SENTINEL command is in flight */

    struct ccmd *delayed_head, *delayed_tail; /* waiting to be resent after -TRYAGAIN */
    struct event *delay_timer;                /* owns */
    struct event *defer;                      /* owns; frees a retired client */
    unsigned ndelayed;
    int dispatching; /* callbacks running now */
    bool retired;
    bool closing;
};

static void node_send(struct redis_client *rc, struct ccmd *c);

/* ---- nodes ----------------------------------------------------------------- */

static void on_probe(void *owner, struct redis_node *n, const redisReply *r);
static void on_idle(void *owner);

static uint16_t
node_add_probing(struct redis_client *rc, const char *host, size_t host_len, int port, bool probe)
{
    for (size_t i = 0; i < rc->nnodes; i++)
        if (rc->node_port[i] == port && strlen(rc->node_host[i]) == host_len &&
            memcmp(rc->node_host[i], host, host_len) == 0)
            return (uint16_t)i;
    if (rc->nnodes == REDIS_MAX_NODES || host_len >= sizeof(rc->node_host[0]))
        return REDIS_NO_NODE;
    size_t i = rc->nnodes++;
    memcpy(rc->node_host[i], host, host_len);
    rc->node_host[i][host_len] = '\0';
    rc->node_port[i] = port;
    struct redis_target t = rc->target;
    if (i > 0) {
        /* the same credentials, TLS settings (and server name) as redis.url */
        t.is_unix = false;
        memcpy(t.host, rc->node_host[i], host_len + 1);
        t.port = port;
    }
    struct redis_node_options opt = {
        .target = &t,
        .timeout_ms = rc->timeout_ms,
        .observe = rc->observe,
        .name = rc->name,
        .probe = probe,
        .on_probe = on_probe,
        .on_idle = on_idle,
        .owner = rc,
    };
    rc->nodes[i] = redis_node_new(rc->base, &opt);
    if (rc->retired)
        redis_node_retire(rc->nodes[i]); /* a redirect after retire: no reconnects */
    return (uint16_t)i;
}

static uint16_t
node_add(struct redis_client *rc, const char *host, size_t host_len, int port)
{
    return node_add_probing(rc, host, host_len, port, false);
}

/* A node for keyless commands and the slot map: a ready one if any. */
static uint16_t
any_node(const struct redis_client *rc)
{
    for (size_t i = 0; i < rc->nnodes; i++)
        if (redis_node_ready(rc->nodes[i]))
            return (uint16_t)i;
    return 0;
}

/* "host:port" of a redirect (Redis writes the host as an IP, or "" for
 * "the address you reached me at", and an IPv6 address without []); the
 * port follows the last ':'. */
static uint16_t
node_of_addr(struct redis_client *rc, const char *s, size_t len, uint16_t from)
{
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ':')
            colon = s + i;
    if (colon == NULL)
        return REDIS_NO_NODE;
    int port = atoi(colon + 1);
    if (port <= 0 || port > 65535)
        return REDIS_NO_NODE;
    size_t hlen = (size_t)(colon - s);
    if (hlen == 0)
        return node_add(rc, rc->node_host[from], strlen(rc->node_host[from]), port);
    return node_add(rc, s, hlen, port);
}

/* Reads a CLUSTER SLOTS reply into the slot map; -1 if it is not one.
 * Each entry: start, end, [ip, port, id...] of the master, replicas. */
static int
slots_load(struct redis_client *rc, const redisReply *r, uint16_t from)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return -1;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER ||
            e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2)
            continue;
        const redisReply *m = e->element[2];
        if (m->element[0]->type != REDIS_REPLY_STRING || m->element[1]->type != REDIS_REPLY_INTEGER)
            continue;
        long long lo = e->element[0]->integer, hi = e->element[1]->integer;
        if (lo < 0 || hi >= REDIS_SLOT_COUNT || lo > hi)
            continue;
        int port = (int)m->element[1]->integer;
        uint16_t n =
            m->element[0]->len == 0 || (m->element[0]->len == 1 && m->element[0]->str[0] == '?')
                ? node_add(rc, rc->node_host[from], strlen(rc->node_host[from]), port)
                : node_add(rc, m->element[0]->str, m->element[0]->len, port);
        for (long long s = lo; s <= hi; s++)
            rc->slots[s] = n;
    }
    return 0;
}

/* A probing node's CLUSTER SLOTS answer (redis.url's or a redis.nodes
 * seed), inside its connect sequence: the mode is decided once, before any
 * command leaves. Only redis.url's node makes the client single-Redis;
 * then the seeds, unused, are closed (other nodes than n: safe here). */
static void
on_probe(void *owner, struct redis_node *n, const redisReply *r)
{
    struct redis_client *rc = owner;
    redis_node_set_probe(n, false);
    if (rc->mode != MODE_UNKNOWN)
        return;
    uint16_t from = 0;
    while (from < rc->nnodes && rc->nodes[from] != n)
        from++;
    if (r->type == REDIS_REPLY_ARRAY) {
        rc->mode = MODE_CLUSTER;
        slots_load(rc, r, from);
        for (size_t i = 0; i < rc->nnodes; i++)
            redis_node_set_probe(rc->nodes[i], false);
        log_info("redis (%s): %s is a cluster node: %zu masters", rc->name, redis_node_where(n),
                 rc->nnodes);
        return;
    }
    if (from != 0)
        return; /* a seed that is no cluster node: redis.url's node decides */
    rc->mode = MODE_SINGLE;
    for (size_t i = 1; i < rc->nnodes; i++)
        redis_node_free(rc->nodes[i]);
    rc->nnodes = 1;
}

static void
on_refresh(void *arg, const redisReply *r, const char *err)
{
    struct redis_client *rc = arg;
    rc->refreshing = false;
    if (err == NULL && !rc->closing)
        slots_load(rc, r, rc->refresh_node);
}

/* Reads the slot map again from node `from` (REDIS_NO_NODE: any ready
 * one); one CLUSTER SLOTS at a time, at most one per REDIS_REFRESH_MIN_MS
 * (a MOVED patches its own slot meanwhile). */
static void
slots_refresh(struct redis_client *rc, uint16_t from)
{
    int64_t now = clock_now_us();
    if (rc->refreshing || rc->closing || rc->retired ||
        now - rc->refresh_us < REDIS_REFRESH_MIN_MS * 1000)
        return;
    rc->refreshing = true;
    rc->refresh_us = now;
    const char *argv[] = {"CLUSTER", "SLOTS"};
    size_t lens[] = {7, 5};
    size_t len = resp_encoded_len(2, lens);
    char *cmd = xmalloc(len);
    resp_encode(cmd, 2, argv, lens);
    rc->refresh_node =
        from != REDIS_NO_NODE && redis_node_ready(rc->nodes[from]) ? from : any_node(rc);
    if (rc->slot_map_read != NULL)
        rc->slot_map_read(rc->name);
    redis_node_send(rc->nodes[rc->refresh_node], NULL, cmd, len, false, 0, on_refresh, rc);
}

/* ---- Sentinel --------------------------------------------------------------- */

static void sentinel_ask(struct redis_client *rc);

/* [ip, port] into host (cap bytes) and *port; -1 if the reply is not that. */
static int
sentinel_addr(const redisReply *r, char *host, size_t cap, int *port)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[0]->len == 0 || r->element[0]->len >= cap)
        return -1;
    int p = atoi(r->element[1]->str);
    if (p <= 0 || p > 65535)
        return -1;
    memcpy(host, r->element[0]->str, r->element[0]->len + 1);
    *port = p;
    return 0;
}

static void
on_sentinel(void *arg, const redisReply *r, const char *err)
{
    struct redis_client *rc = arg;
    char host[256];
    int port;
    rc->looking = false;
    if (rc->closing)
        return;
    if (err == NULL && sentinel_addr(r, host, sizeof(host), &port) == 0) {
        /* nodes that are not locating ignore it */
        redis_node_located(rc->nodes[0], host, port, NULL);
        if (rc->sub != NULL)
            redis_node_located(rc->sub, host, port, NULL);
        return;
    }
    log_debug("redis (%s): Sentinel %s: no address of %s: %s", rc->name,
              redis_node_where(rc->sentinels[rc->sentinel_at]), rc->master,
              err                          ? err
              : r->type == REDIS_REPLY_NIL ? "unknown master"
                                           : "unexpected reply");
    rc->sentinel_at = (rc->sentinel_at + 1) % rc->nsentinels;
    if (rc->sentinel_left > 0) {
        sentinel_ask(rc);
        return;
    }
    redis_node_located(rc->nodes[0], NULL, 0, "no Sentinel knows the master");
    if (rc->sub != NULL)
        redis_node_located(rc->sub, NULL, 0, "no Sentinel knows the master");
}

static void
sentinel_ask(struct redis_client *rc)
{
    const char *argv[] = {"SENTINEL", "get-master-addr-by-name", rc->master};
    size_t lens[] = {8, 23, strlen(rc->master)};
    size_t len = resp_encoded_len(3, lens);
    char *cmd = xmalloc(len);
    resp_encode(cmd, 3, argv, lens);
    rc->looking = true;
    rc->sentinel_left--;
    redis_node_send(rc->sentinels[rc->sentinel_at], NULL, cmd, len, false, 0, on_sentinel, rc);
}

/* "+switch-master <name> <old ip> <old port> <new ip> <new port>" from a
 * Sentinel: our master moved, so the data nodes look it up now instead of
 * after their backoff (a failover then costs its own time only). */
static void
on_switch(void *owner, const char *msg, size_t len)
{
    struct redis_client *rc = owner;
    char name[128], host[256];
    int port;
    if (msg == NULL || len >= 512)
        return;
    char text[512];
    memcpy(text, msg, len);
    text[len] = '\0';
    if (sscanf(text, "%127s %*s %*s %255s %d", name, host, &port) != 3 ||
        strcmp(name, rc->master) != 0 || port <= 0 || port > 65535)
        return;
    log_info("redis (%s): Sentinel: %s moved to %s:%d", rc->name, rc->master, host, port);
    redis_node_master_moved(rc->nodes[0], host, port);
    if (rc->sub != NULL)
        redis_node_master_moved(rc->sub, host, port);
}

/* The data node is about to connect: where is the master? One lookup at a
 * time; one under way answers this request too. */
static void
on_locate(void *owner, struct redis_node *n)
{
    struct redis_client *rc = owner;
    (void)n;
    if (rc->looking || rc->closing)
        return;
    rc->sentinel_left = rc->nsentinels;
    sentinel_ask(rc);
}

static void
sentinels_open(struct redis_client *rc, const struct redis_client_options *opt)
{
    char name[80];
    snprintf(name, sizeof(name), "%s, sentinel", rc->name);
    snprintf(rc->master, sizeof(rc->master), "%s", opt->sentinel_master);
    for (size_t i = 0; i < opt->nsentinels && i < REDIS_MAX_SENTINELS; i++) {
        /* plain TCP, no password: redis.url's credentials are the data node's */
        struct redis_target t;
        memset(&t, 0, sizeof(t));
        snprintf(t.host, sizeof(t.host), "%s", opt->sentinels[i].host);
        t.port = opt->sentinels[i].port;
        struct redis_node_options o = {
            .target = &t, .timeout_ms = rc->timeout_ms, .name = name, .bare = true};
        rc->sentinels[rc->nsentinels] = redis_node_new(rc->base, &o);
        o.subscribe = "+switch-master";
        o.on_message = on_switch;
        o.owner = rc;
        rc->switch_subs[rc->nsentinels++] = redis_node_new(rc->base, &o);
    }
    struct redis_node_options opt_data = {
        .target = &rc->target,
        .timeout_ms = rc->timeout_ms,
        .observe = rc->observe,
        .name = rc->name,
        .on_idle = on_idle,
        .on_locate = on_locate,
        .owner = rc,
    };
    rc->mode = MODE_SINGLE;
    rc->nodes[0] = redis_node_new(rc->base, &opt_data);
    rc->nnodes = 1;
}

/* ---- commands --------------------------------------------------------------- */

static void
ccmd_finish(struct redis_client *rc, struct ccmd *c, const redisReply *r, const char *err)
{
    rc->dispatching++;
    c->cb(c->arg, r, err);
    rc->dispatching--;
    free(c->cmd);
    free(c);
}

static bool
error_is(const redisReply *r, const char *word)
{
    size_t n = strlen(word);
    return r->type == REDIS_REPLY_ERROR && r->len > n && memcmp(r->str, word, n) == 0 &&
           r->str[n] == ' ';
}

/* "MOVED 3999 127.0.0.1:6381" / "ASK ...": slot and node; -1 if malformed. */
static int
parse_redirect(struct redis_client *rc, const redisReply *r, uint16_t from, unsigned *slot,
               uint16_t *node)
{
    const char *sp = memchr(r->str, ' ', r->len);
    if (sp == NULL)
        return -1;
    const char *end = r->str + r->len;
    char *after;
    unsigned long s = strtoul(sp + 1, &after, 10);
    if (after == sp + 1 || after >= end || *after != ' ' || s >= REDIS_SLOT_COUNT)
        return -1;
    *slot = (unsigned)s;
    *node = node_of_addr(rc, after + 1, (size_t)(end - after - 1), from);
    return *node == REDIS_NO_NODE ? -1 : 0;
}

static void
delay_push(struct redis_client *rc, struct ccmd *c)
{
    c->next = NULL;
    if (rc->delayed_tail != NULL)
        rc->delayed_tail->next = c;
    else
        rc->delayed_head = c;
    rc->delayed_tail = c;
    rc->ndelayed++;
    if (!evtimer_pending(rc->delay_timer, NULL)) {
        struct timeval tv = {0, REDIS_BUSY_DELAY_MS * 1000};
        evtimer_add(rc->delay_timer, &tv);
    }
}

static void
on_delay(evutil_socket_t fd, short what, void *arg)
{
    struct redis_client *rc = arg;
    struct ccmd *c = rc->delayed_head;
    rc->delayed_head = rc->delayed_tail = NULL;
    while (c != NULL) {
        struct ccmd *next = c->next;
        rc->ndelayed--;
        node_send(rc, c);
        c = next;
    }
}

/* A node's answer to c: the caller's, or a redirect to follow. */
static void
on_reply(void *arg, const redisReply *r, const char *err)
{
    struct ccmd *c = arg;
    struct redis_client *rc = c->rc;
    if (err == redis_error_unavailable && rc->mode == MODE_CLUSTER)
        slots_refresh(rc, REDIS_NO_NODE); /* the node is down: a replica may be master by now */
    if (err != NULL || r->type != REDIS_REPLY_ERROR || rc->closing || rc->mode == MODE_SINGLE) {
        ccmd_finish(rc, c, r, err);
        return;
    }
    bool moved = error_is(r, "MOVED"), ask = error_is(r, "ASK");
    unsigned slot;
    uint16_t to;
    if ((moved || ask) && c->redirects < REDIS_MAX_REDIRECTS &&
        parse_redirect(rc, r, c->node, &slot, &to) == 0) {
        uint16_t from = c->node;
        c->redirects++;
        c->node = to;
        c->asking = ask;
        if (moved && rc->slots[slot] != to) {
            /* news: this slot, and likely others of the same change */
            rc->slots[slot] = to;
            slots_refresh(rc, from);
        }
        node_send(rc, c);
        return;
    }
    bool busy = (error_is(r, "TRYAGAIN") || error_is(r, "CLUSTERDOWN")) &&
                c->busy_retries < REDIS_BUSY_RETRIES &&
                clock_now_us() + REDIS_BUSY_DELAY_MS * 1000 < c->deadline_us;
    if (busy) {
        /* A multi-key command on a slot being migrated, some keys moved
         * already (TRYAGAIN), or a failover (CLUSTERDOWN): both end soon.
         * The same node again: it answers ASK or MOVED once it is over. */
        c->busy_retries++;
        c->asking = c->sent_asking;
        delay_push(rc, c);
        return;
    }
    ccmd_finish(rc, c, r, NULL);
}

/* Sends c to c->node (a copy of its bytes: the node owns what it gets). */
static void
node_send(struct redis_client *rc, struct ccmd *c)
{
    char *copy = xmalloc(c->cmd_len);
    memcpy(copy, c->cmd, c->cmd_len);
    bool asking = c->asking;
    c->asking = false;
    c->sent_asking = asking;
    redis_node_send(rc->nodes[c->node], c->script, copy, c->cmd_len, asking, c->deadline_us,
                    on_reply, c);
}

static uint16_t
route(struct redis_client *rc, const char *key, size_t key_len, unsigned *slot)
{
    if (rc->mode != MODE_CLUSTER || key == NULL)
        return rc->mode == MODE_CLUSTER ? any_node(rc) : 0;
    *slot = redis_slot_of(key, key_len);
    uint16_t n = rc->slots[*slot];
    return n == REDIS_NO_NODE ? any_node(rc) : n;
}

/* Takes cmd (owned). */
static void
submit(struct redis_client *rc, const char *key, size_t key_len, const struct redis_script *script,
       char *cmd, size_t cmd_len, redis_reply_cb cb, void *arg)
{
    if (rc->closing && rc->mode != MODE_SINGLE) {
        /* a callback of redis_client_free issuing more: the node it would
         * go to may be freed already; fail it now, as a node does */
        free(cmd);
        rc->dispatching++;
        cb(arg, NULL, redis_error_closed);
        rc->dispatching--;
        return;
    }
    if (rc->mode == MODE_SINGLE) {
        redis_node_send(rc->nodes[0], script, cmd, cmd_len, false, 0, cb, arg);
        return;
    }
    struct ccmd *c = xcalloc(1, sizeof(*c));
    c->rc = rc;
    c->cb = cb;
    c->arg = arg;
    c->script = script;
    c->cmd = cmd;
    c->cmd_len = cmd_len;
    c->deadline_us = clock_now_us() + (int64_t)rc->timeout_ms * 1000;
    c->node = route(rc, key, key_len, &c->slot);
    node_send(rc, c);
}

/* ---- lifetime ---------------------------------------------------------------- */

static bool
idle(const struct redis_client *rc)
{
    if (rc->ndelayed != 0)
        return false;
    for (size_t i = 0; i < rc->nnodes; i++)
        if (redis_node_live(rc->nodes[i]) != 0)
            return false;
    return true;
}

static void
on_idle(void *owner)
{
    struct redis_client *rc = owner;
    if (rc->retired && idle(rc))
        event_active(rc->defer, EV_TIMEOUT, 0);
}

static void
on_defer(evutil_socket_t fd, short what, void *arg)
{
    struct redis_client *rc = arg;
    if (rc->retired && idle(rc))
        redis_client_free(rc);
}

struct redis_client *
redis_client_new(struct event_base *base, const struct redis_client_options *opt)
{
    struct redis_client *rc = xcalloc(1, sizeof(*rc));
    rc->base = base;
    memcpy(&rc->target, opt->target, sizeof(rc->target));
    rc->timeout_ms = opt->timeout_ms ? opt->timeout_ms : 100;
    rc->observe = opt->observe;
    rc->slot_map_read = opt->slot_map_read;
    snprintf(rc->name, sizeof(rc->name), "%s", opt->name ? opt->name : "redis");
    memset(rc->slots, 0xff, sizeof(rc->slots));
    rc->delay_timer = evtimer_new(base, on_delay, rc);
    rc->defer = event_new(base, -1, 0, on_defer, rc);
    if (opt->sentinel_master != NULL && opt->nsentinels > 0) {
        sentinels_open(rc, opt);
        return rc;
    }
    node_add_probing(rc, rc->target.is_unix ? rc->target.path : rc->target.host,
                     strlen(rc->target.is_unix ? rc->target.path : rc->target.host),
                     rc->target.port, true);
    for (size_t i = 0; i < opt->nseeds; i++)
        node_add_probing(rc, opt->seeds[i].host, strlen(opt->seeds[i].host), opt->seeds[i].port,
                         true);
    return rc;
}

void
redis_client_free(struct redis_client *rc)
{
    if (rc == NULL)
        return;
    SL_ASSERT(rc->dispatching == 0); /* never from one of its own callbacks */
    rc->closing = true;
    struct ccmd *c = rc->delayed_head;
    rc->delayed_head = rc->delayed_tail = NULL;
    while (c != NULL) {
        struct ccmd *next = c->next;
        rc->ndelayed--;
        ccmd_finish(rc, c, NULL, redis_error_closed);
        c = next;
    }
    /* each fails its commands with closed; a ccmd then finishes (closing) */
    for (size_t i = 0; i < rc->nnodes; i++)
        redis_node_free(rc->nodes[i]);
    redis_node_free(rc->sub);
    /* a lookup in flight fails with closed: on_sentinel sees closing */
    for (size_t i = 0; i < rc->nsentinels; i++) {
        redis_node_free(rc->sentinels[i]);
        redis_node_free(rc->switch_subs[i]);
    }
    event_free(rc->delay_timer);
    event_free(rc->defer);
    free(rc);
}

void
redis_client_retire(struct redis_client *rc)
{
    SL_ASSERT(rc->dispatching == 0);
    rc->retired = true;
    /* A retired client's subscription ends now: its owner subscribes on
     * the client that takes its place. */
    redis_node_free(rc->sub);
    rc->sub = NULL;
    for (size_t i = 0; i < rc->nsentinels; i++) {
        redis_node_free(rc->switch_subs[i]);
        rc->switch_subs[i] = NULL;
    }
    for (size_t i = 0; i < rc->nnodes; i++)
        redis_node_retire(rc->nodes[i]);
    on_idle(rc);
}

void
redis_client_stats(const struct redis_client *rc, struct redis_client_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < rc->nnodes; i++) {
        struct redis_client_stats s;
        redis_node_stats(rc->nodes[i], &s);
        out->writes += s.writes;
        out->reads += s.reads;
        out->commands += s.commands;
    }
}

/* A cluster is ready when every master of the slot map is. */
bool
redis_client_ready(const struct redis_client *rc)
{
    if (rc->mode != MODE_CLUSTER)
        return redis_node_ready(rc->nodes[0]);
    for (size_t i = 0; i < rc->nnodes; i++) {
        bool used = false;
        for (size_t s = 0; s < REDIS_SLOT_COUNT && !used; s++)
            used = rc->slots[s] == i;
        if (used && !redis_node_ready(rc->nodes[i]))
            return false;
    }
    return true;
}

void
redis_client_command(struct redis_client *rc, const char *route_key, size_t route_key_len, int argc,
                     const char *const *argv, const size_t *argvlen, redis_reply_cb cb, void *arg)
{
    SL_ASSERT(cb != NULL && argc > 0);
    size_t len = resp_encoded_len(argc, argvlen);
    char *cmd = xmalloc(len);
    resp_encode(cmd, argc, argv, argvlen);
    submit(rc, route_key, route_key_len, NULL, cmd, len, cb, arg);
}

void
redis_client_send(struct redis_client *rc, const struct redis_script *script, const char *route_key,
                  size_t route_key_len, char *cmd, size_t cmd_len, redis_reply_cb cb, void *arg)
{
    SL_ASSERT(cb != NULL && cmd_len > 0);
    submit(rc, route_key, route_key_len, script, cmd, cmd_len, cb, arg);
}

void
redis_client_script(struct redis_client *rc, const struct redis_script *script, int nkeys,
                    const char *const *keys, const size_t *keylens, int nargs,
                    const char *const *args, const size_t *arglens, redis_reply_cb cb, void *arg)
{
    SL_ASSERT(cb != NULL && nkeys >= 0 && nargs >= 0);
    const char *sargv[REDIS_SCRIPT_ARGV_STACK];
    size_t slens[REDIS_SCRIPT_ARGV_STACK];
    size_t argc = 3 + (size_t)nkeys + (size_t)nargs;
    const char **argv = argc <= REDIS_SCRIPT_ARGV_STACK ? sargv : xmalloc(argc * sizeof(*argv));
    size_t *lens = argc <= REDIS_SCRIPT_ARGV_STACK ? slens : xmalloc(argc * sizeof(*lens));
    char nk[20];
    argv[0] = "EVALSHA", lens[0] = 7;
    argv[1] = script->sha1, lens[1] = 40;
    argv[2] = nk, lens[2] = resp_format_uint(nk, (size_t)nkeys);
    for (int i = 0; i < nkeys; i++)
        argv[3 + i] = keys[i], lens[3 + i] = keylens[i];
    for (int i = 0; i < nargs; i++)
        argv[3 + nkeys + i] = args[i], lens[3 + nkeys + i] = arglens[i];
    size_t len = resp_encoded_len((int)argc, lens);
    char *cmd = xmalloc(len);
    resp_encode(cmd, (int)argc, argv, lens);
    if (argv != sargv) {
        free(argv);
        free(lens);
    }
    submit(rc, nkeys > 0 ? keys[0] : NULL, nkeys > 0 ? keylens[0] : 0, script, cmd, len, cb, arg);
}

/* A cluster's subscriber is about to (re)connect: to the next master of
 * the map that is up, after the one it was on, since any node hears what
 * is published on any other (a dead redis.url node must not leave the
 * gateway deaf); before the map is known, to redis.url's node. Sentinel's
 * subscriber asks the Sentinels, like the data node. */
static void
on_sub_locate(void *owner, struct redis_node *n)
{
    struct redis_client *rc = owner;
    if (rc->nsentinels > 0) {
        on_locate(owner, n);
        return;
    }
    if (rc->mode != MODE_CLUSTER) {
        redis_node_located(n, rc->target.host, rc->target.port, NULL);
        return;
    }
    size_t pick = (rc->sub_at + 1) % rc->nnodes;
    for (size_t k = 1; k <= rc->nnodes; k++) {
        size_t i = (rc->sub_at + k) % rc->nnodes;
        if (redis_node_ready(rc->nodes[i])) {
            pick = i;
            break;
        }
    }
    rc->sub_at = pick;
    redis_node_located(n, rc->node_host[pick], rc->node_port[pick], NULL);
}

static void
on_sub_message(void *owner, const char *msg, size_t len)
{
    struct redis_client *rc = owner;
    rc->sub_cb(rc->sub_arg, msg, len);
}

/* On a connection of its own: to redis.url's server, Sentinel's master, or
 * on a cluster any master (on_sub_locate). A unix socket is no cluster
 * node: its subscriber keeps to the socket. */
void
redis_client_subscribe(struct redis_client *rc, const char *channel, redis_message_cb cb, void *arg)
{
    SL_ASSERT(rc->sub == NULL && !rc->retired && cb != NULL);
    char name[80];
    snprintf(name, sizeof(name), "%s, subscriber", rc->name);
    rc->sub_cb = cb;
    rc->sub_arg = arg;
    struct redis_node_options opt = {
        .target = &rc->target,
        .timeout_ms = rc->timeout_ms,
        .name = name,
        .on_locate = rc->target.is_unix && rc->nsentinels == 0 ? NULL : on_sub_locate,
        .subscribe = channel,
        .on_message = on_sub_message,
        .owner = rc,
    };
    rc->sub = redis_node_new(rc->base, &opt);
}
