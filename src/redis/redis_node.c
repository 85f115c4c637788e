/*
 * redis_node.c - one Redis connection of redis_node.h: a socket
 * this module drives with one persistent libevent event, hiredis's reply
 * reader and command formatter, and TLS (redis_tls.c) underneath when the
 * URL is rediss://. This file: writes, replies, timeouts, the interface;
 * redis_node_connect.c: the states up to READY and the break;
 * redis_pending.c: the queues (redis_node_internal.h joins them).
 *
 * Connection states:
 *
 *   DOWN --retry timer (backoff 50 ms doubling to 2 s)--> CONNECTING
 *    ^  \                                                  ^ | connect(2) done
 *    |   +-(on_locate set)--> LOCATING --redis_node_located-+ |
 *    |                                             (rediss) v
 *    +---- break: EOF, error, protocol error, ------- TLS handshake
 *    |     connect or setup timed out, stall              |
 *    |                                                    v
 *    +------------------------------------------- SETUP: AUTH, SELECT, ROLE
 *    |                                              (locating only: a master?),
 *    |                                              SCRIPT LOAD each (SHA checked);
 *    |                                              a subscriber: SUBSCRIBE instead
 *    |                                                    | last setup reply
 *    +------------------------------------------------ READY
 *
 * Queues of struct pending, each FIFO:
 *
 *   waiting   issued before READY (LOCATING too); formatted, not yet written. Moved to
 *             out + inflight on READY, failed with unavailable on a break.
 *   inflight  in out or written, one per reply to come, in order. A
 *             timed-out entry stays (its callback has fired) so that its
 *             late reply is read and dropped.
 *   failed    issued while DOWN; failed with unavailable from the defer
 *             event on the next loop turn, never inside the call.
 *
 * Writes: commands are appended to out and one flush event writes all of a
 * loop turn's commands with one write(2) (EV_WRITE only after EAGAIN).
 * Timeouts: one timer, armed for the earliest deadline; when it fires it
 * expires what is due and re-arms for the next (lazily: a reply never
 * touches the timer). A subscriber, which may hear nothing for hours, PINGs
 * after a second of silence and breaks after the stall limit.
 *
 * Callbacks never run inside redis_node_command/_script (except from
 * redis_node_free). They may issue commands; they must not free the
 * client: rc->dispatching counts the callbacks running, and _free asserts
 * it is zero.
 */
#include "redis/redis_node.h"

#include <errno.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/redis_url.h"
#include "redis/redis_node_internal.h"
#include "redis/redis_script.h"
#include "redis/resp.h"
#include "redis/redis_tls.h"
#include "redis/reply_arena.h"
#include "sluice.h"
#include "util/clock.h"
#include "util/log.h"

/* ---- retiring ---------------------------------------------------------------- */

void
node_maybe_retire(struct redis_node *rc)
{
    if (rc->retired && rc->nlive == 0)
        event_active(rc->defer, EV_TIMEOUT, 0);
}

/* ---- logging --------------------------------------------------------------- */

/* Logs transitions only, naming the server by address: the URL may hold
 * a password. */
void
node_log_state(struct redis_node *rc, bool up, const char *why)
{
    enum redis_logged now = up ? LOGGED_UP : LOGGED_DOWN;
    if (rc->logged == now)
        return;
    rc->logged = now;
    if (up)
        log_info("redis (%s): %s is up", rc->name, rc->where);
    else
        log_warn("redis (%s): %s is down: %s", rc->name, rc->where, why);
}

/* ---- socket I/O: the transport interface of redis_tls.h ------------------ */

static ssize_t
io_read(struct redis_node *rc, void *buf, size_t len, enum redis_io_want *want)
{
    if (rc->tls != NULL)
        return redis_tls_read(rc->tls, buf, len, want);
    ssize_t n;
    do
        n = read(rc->fd, buf, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        *want = errno == EAGAIN || errno == EWOULDBLOCK ? REDIS_IO_WANT_READ : REDIS_IO_ERROR;
    return n;
}

static ssize_t
io_write(struct redis_node *rc, const void *buf, size_t len, enum redis_io_want *want)
{
    if (rc->tls != NULL)
        return redis_tls_write(rc->tls, buf, len, want);
    ssize_t n;
    do
        n = send(rc->fd, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        *want = errno == EAGAIN || errno == EWOULDBLOCK ? REDIS_IO_WANT_WRITE : REDIS_IO_ERROR;
    return n;
}

static short
ev_of(enum redis_io_want w)
{
    return w == REDIS_IO_WANT_WRITE ? EV_WRITE : EV_READ;
}

static void on_io(evutil_socket_t fd, short what, void *arg);

/* Re-assigns the one io event when the wanted set changes (conn.c does the
 * same): on the hot path it does not, EV_WRITE is wanted only after EAGAIN. */
void
node_io_update(struct redis_node *rc)
{
    short what = 0;
    if (rc->state == RS_CONNECTING)
        what = EV_WRITE;
    else if (rc->state == RS_TLS)
        what = ev_of(rc->tls_want);
    else if (rc->state >= RS_SETUP)
        what = (short)(ev_of(rc->read_want) | (rc->write_blocked ? ev_of(rc->write_want) : 0));
    if (what == rc->io_what)
        return;
    if (rc->io_what != 0)
        event_del(rc->io);
    rc->io_what = what;
    if (what == 0)
        return;
    event_assign(rc->io, rc->base, rc->fd, (short)(what | EV_PERSIST), on_io, rc);
    event_add(rc->io, NULL);
}

static void
out_append(struct redis_node *rc, const char *s, size_t len)
{
    if (rc->out_off == rc->out_len)
        rc->out_off = rc->out_len = 0;
    if (rc->out_len + len > rc->out_cap) {
        rc->out_cap = rc->out_cap * 2 > rc->out_len + len ? rc->out_cap * 2 : rc->out_len + len;
        rc->out = xrealloc(rc->out, rc->out_cap);
    }
    memcpy(rc->out + rc->out_len, s, len);
    rc->out_len += len;
}

static void
flush_schedule(struct redis_node *rc)
{
    if (rc->flush_scheduled || rc->write_blocked)
        return;
    rc->flush_scheduled = true;
    event_active(rc->flush_ev, EV_WRITE, 0);
}

/* Writes out until it is empty or the socket is full; -1 after a break. */
static int
flush_out(struct redis_node *rc)
{
    while (rc->out_off < rc->out_len) {
        enum redis_io_want want;
        ssize_t n = io_write(rc, rc->out + rc->out_off, rc->out_len - rc->out_off, &want);
        if (n > 0) {
            rc->stats.writes++;
            rc->out_off += (size_t)n;
            continue;
        }
        if (want == REDIS_IO_ERROR) {
            node_conn_break(rc, rc->tls ? redis_tls_error(rc->tls) : strerror(errno));
            return -1;
        }
        rc->write_blocked = true;
        rc->write_want = want;
        node_io_update(rc);
        return 0;
    }
    rc->out_off = rc->out_len = 0;
    if (rc->write_blocked) {
        rc->write_blocked = false;
        node_io_update(rc);
    }
    return 0;
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct redis_node *rc = arg;
    rc->flush_scheduled = false;
    if (rc->state >= RS_SETUP && !rc->write_blocked)
        flush_out(rc);
}

/* Puts p's command in out and p in inflight: its reply is the next after
 * those already there. */
void
node_send_pending(struct redis_node *rc, struct pending *p)
{
    if (p->asking) {
        static const char asking[] = "*1\r\n$6\r\nASKING\r\n";
        struct pending *a = pending_new(rc, PENDING_ASKING, NULL, NULL);
        out_append(rc, asking, sizeof(asking) - 1);
        pending_list_push(&rc->inflight, a);
    }
    out_append(rc, p->cmd, p->cmd_len);
    if (p->kind != PENDING_SCRIPT) {
        free(p->cmd);
        p->cmd = NULL;
    }
    pending_list_push(&rc->inflight, p);
    flush_schedule(rc);
}

/* A command the client itself sends (argv of NUL-terminated strings). */
void
node_send_internal(struct redis_node *rc, enum pending_kind kind, const char *what,
                   const struct redis_script *script, int argc, const char **argv,
                   const size_t *argvlen)
{
    struct pending *p = pending_new(rc, kind, NULL, NULL);
    p->what = what;
    p->script = script;
    pending_encode(p, argc, argv, argvlen);
    node_send_pending(rc, p);
}

void
node_send_script_load(struct redis_node *rc, enum pending_kind kind, const struct redis_script *s)
{
    const char *argv[] = {"SCRIPT", "LOAD", s->body};
    size_t lens[] = {6, 4, s->body_len};
    node_send_internal(rc, kind, "SCRIPT LOAD", s, 3, argv, lens);
}

/* A subscriber's push: ["message", channel, payload] (the rest, such as a
 * late subscribe confirmation, is not a message). */
static void
push_reply(struct redis_node *rc, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") != 0 ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return;
    rc->dispatching++;
    rc->on_message(rc->owner, r->element[2]->str, r->element[2]->len);
    rc->dispatching--;
}

/* ---- replies --------------------------------------------------------------- */

static bool
is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->len >= 8 && memcmp(r->str, "NOSCRIPT", 8) == 0;
}

static bool
is_readonly(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->len >= 8 && memcmp(r->str, "READONLY", 8) == 0;
}

/* Handles one reply to p (popped from inflight); p is freed or re-sent. */
static void
handle_reply(struct redis_node *rc, struct pending *p, const redisReply *r)
{
    switch (p->kind) {
    case PENDING_SETUP:
    case PENDING_ROLE:
        node_setup_reply(rc, p, r);
        break;
    case PENDING_RELOAD:
    case PENDING_ASKING:
        break; /* an error shows in the reply of the command that follows */
    case PENDING_PROBE:
        if (rc->on_probe != NULL)
            rc->on_probe(rc->owner, rc, r);
        if (--rc->setup_left == 0)
            node_become_ready(rc);
        break;
    case PENDING_SCRIPT:
        if (pending_has_callback(p) && is_noscript(r) && !p->retried) {
            /* Redis restarted or SCRIPT FLUSH: load it, then the same
             * EVALSHA again, pipelined in that order; once only. */
            p->retried = true;
            node_send_script_load(rc, PENDING_RELOAD, p->script);
            node_send_pending(rc, p);
            return;
        }
        __attribute__((fallthrough)); /* then delivered like any reply */
    case PENDING_USER:
        if (rc->on_locate != NULL && is_readonly(r)) {
            /* demoted to a replica by a failover: this command did not
             * run; it and those behind it fail, and the master is looked
             * up again (then the connection's end is the break's) */
            if (pending_has_callback(p))
                pending_deliver(rc, p, NULL, redis_error_unavailable);
            pending_free(p);
            if (rc->state >= RS_SETUP)
                node_conn_break(rc, "READONLY: demoted to a replica");
            return;
        }
        if (pending_has_callback(p))
            pending_deliver(rc, p, r, NULL);
        break;
    }
    pending_free(p);
}

/* Hands every complete reply to its command; -1 when the connection broke. */
static int
dispatch_replies(struct redis_node *rc)
{
    for (;;) {
        void *r = NULL;
        if (redisReaderGetReply(rc->reader, &r) != REDIS_OK) {
            char why[160];
            snprintf(why, sizeof(why), "protocol error: %s", rc->reader->errstr);
            node_conn_break(rc, why);
            return -1;
        }
        if (r == NULL)
            return 0;
        if (rc->subscribe != NULL && rc->state == RS_READY) {
            push_reply(rc, r);
            reply_arena_reset(rc->arena); /* never freeReplyObject: the arena's */
            continue;
        }
        struct pending *p = pending_list_pop(&rc->inflight);
        if (p == NULL) {
            reply_arena_reset(rc->arena);
            node_conn_break(rc, "protocol error: a reply to no command");
            return -1;
        }
        handle_reply(rc, p, r);
        reply_arena_reset(rc->arena); /* r is gone, as the callbacks were told */
        if (rc->state < RS_SETUP)
            return -1;
    }
}

static void
read_all(struct redis_node *rc)
{
    char buf[REDIS_READ_CHUNK];
    for (;;) {
        enum redis_io_want want;
        ssize_t n = io_read(rc, buf, sizeof(buf), &want);
        if (n > 0) {
            rc->stats.reads++;
            if (rc->keepalive != NULL)
                rc->heard_us = clock_now_us(); /* a subscriber's silence is timed */
            redisReaderFeed(rc->reader, buf, (size_t)n);
            if (dispatch_replies(rc) < 0)
                return;
            /* A short plain read drained the socket; TLS may hold more
             * decrypted bytes than the socket shows, so read on. */
            if (rc->tls == NULL && (size_t)n < sizeof(buf))
                break;
            continue;
        }
        if (n == 0 || want == REDIS_IO_ERROR) {
            node_conn_break(rc, n == 0    ? "connection closed by Redis"
                                : rc->tls ? redis_tls_error(rc->tls)
                                          : strerror(errno));
            return;
        }
        if (want != rc->read_want) {
            rc->read_want = want;
            node_io_update(rc);
        }
        break;
    }
    node_maybe_retire(rc);
}

static void
on_io(evutil_socket_t fd, short what, void *arg)
{
    struct redis_node *rc = arg;
    if (rc->state == RS_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err != 0)
            node_conn_break(rc, strerror(err));
        else
            node_connected(rc);
        return;
    }
    if (rc->state == RS_TLS) {
        node_tls_step(rc);
        return;
    }
    /* TLS may want to read to write and the reverse: try both, cheaply. */
    if (rc->write_blocked && ((what & ev_of(rc->write_want)) || rc->tls) && flush_out(rc) < 0)
        return;
    if (rc->read_want == REDIS_IO_WANT_READ ? (what & EV_READ) || rc->tls : (what & EV_WRITE))
        read_all(rc);
}

/* ---- timeouts -------------------------------------------------------------- */

void
node_timer_arm(struct redis_node *rc, int64_t at_us)
{
    if (rc->timer_at_us != 0 && rc->timer_at_us <= at_us)
        return;
    int64_t now = clock_now_us();
    int64_t d = at_us > now ? at_us - now : 0;
    struct timeval tv = {(time_t)(d / 1000000), (suseconds_t)(d % 1000000)};
    evtimer_add(rc->timer, &tv);
    rc->timer_at_us = at_us;
}

static int64_t
min_deadline(int64_t a, int64_t b)
{
    return a == 0 || (b != 0 && b < a) ? b : a;
}

/* Fails the waiting commands that are due; returns the next deadline. */
static int64_t
expire_waiting(struct redis_node *rc, int64_t now)
{
    struct pending_list keep = {NULL, NULL}, due = {NULL, NULL};
    struct pending *p;
    while ((p = pending_list_pop(&rc->waiting)) != NULL)
        pending_list_push(p->deadline_us <= now ? &due : &keep, p);
    rc->waiting = keep;
    pending_fail_all(rc, &due, redis_error_timeout);
    return keep.head ? keep.head->deadline_us : 0;
}

/* How long the oldest command (a subscriber: the connection) may go
 * without a reply before the connection counts as wedged. */
static uint32_t
stall_limit_ms(const struct redis_node *rc)
{
    return rc->timeout_ms * 10 > REDIS_STALL_MIN_MS ? rc->timeout_ms * 10 : REDIS_STALL_MIN_MS;
}

/* Times out the written commands that are due (they stay in inflight for
 * their late reply); returns the next deadline, or when the oldest one's
 * silence makes the connection wedged. */
static int64_t
expire_inflight(struct redis_node *rc, int64_t now)
{
    int64_t next = 0;
    /* Callbacks may append to inflight, never remove: walking on is safe. */
    for (struct pending *p = rc->inflight.head; p != NULL; p = p->next) {
        if (!pending_has_callback(p))
            continue;
        if (p->deadline_us <= now)
            pending_deliver(rc, p, NULL, redis_error_timeout);
        else
            next = min_deadline(next, p->deadline_us);
    }
    struct pending *head = rc->inflight.head;
    if (head != NULL && !pending_has_callback(head)) {
        next = min_deadline(next, head->start_us + (int64_t)stall_limit_ms(rc) * 1000);
    }
    return next;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct redis_node *rc = arg;
    int64_t now = clock_now_us();
    rc->timer_at_us = 0;
    if (rc->state >= RS_LOCATING && rc->state < RS_READY && now >= rc->connect_deadline_us) {
        node_conn_break(rc, rc->state == RS_SETUP ? "no reply to AUTH/SELECT/SCRIPT LOAD in time"
                            : rc->state == RS_LOCATING ? "no address from Sentinel in time"
                                                       : "connect timed out");
    }
    int64_t next = expire_waiting(rc, now);
    if (rc->state >= RS_LOCATING && rc->state < RS_READY)
        next = min_deadline(next, rc->connect_deadline_us);
    int64_t in = rc->state >= RS_SETUP ? expire_inflight(rc, now) : 0;
    if (in != 0 && in <= now && rc->inflight.head != NULL &&
        !pending_has_callback(rc->inflight.head)) {
        node_conn_break(rc, "no reply in time: the connection looks wedged");
        in = 0;
    }
    next = min_deadline(next, in);
    if (next != 0)
        node_timer_arm(rc, next);
    node_maybe_retire(rc);
}

/* A subscriber's silence: a PING after REDIS_SUB_PING_MS (any answer,
 * even an error, is heard), a break after the stall limit. */
static void
on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    struct redis_node *rc = arg;
    if (rc->state != RS_READY)
        return;
    int64_t quiet_ms = (clock_now_us() - rc->heard_us) / 1000;
    if (quiet_ms >= (int64_t)stall_limit_ms(rc)) {
        node_conn_break(rc, "no answer to PING in time: the connection looks wedged");
        return;
    }
    if (quiet_ms >= REDIS_SUB_PING_MS) {
        static const char ping[] = "*1\r\n$4\r\nPING\r\n";
        out_append(rc, ping, sizeof(ping) - 1);
        flush_schedule(rc);
    }
}

/* ---- deferred work --------------------------------------------------------- */

static void
on_defer(evutil_socket_t fd, short what, void *arg)
{
    struct redis_node *rc = arg;
    struct pending_list failed = rc->failed;
    rc->failed.head = rc->failed.tail = NULL;
    pending_fail_all(rc, &failed, redis_error_unavailable);
    if (rc->retired && rc->nlive == 0 && rc->on_idle != NULL)
        rc->on_idle(rc->owner);
}

/* ---- public ---------------------------------------------------------------- */

struct redis_node *
redis_node_new(struct event_base *base, const struct redis_node_options *opt)
{
    struct redis_node *rc = xcalloc(1, sizeof(*rc));
    rc->arena = reply_arena_new();
    rc->base = base;
    memcpy(&rc->target, opt->target, sizeof(rc->target));
    rc->timeout_ms = opt->timeout_ms ? opt->timeout_ms : 100;
    rc->observe = opt->observe;
    snprintf(rc->name, sizeof(rc->name), "%s", opt->name ? opt->name : "redis");
    rc->probe = opt->probe;
    rc->on_probe = opt->on_probe;
    rc->on_idle = opt->on_idle;
    rc->on_locate = opt->on_locate;
    rc->bare = opt->bare;
    rc->subscribe = opt->subscribe ? xstrdup(opt->subscribe) : NULL;
    rc->on_message = opt->on_message;
    rc->owner = opt->owner;
    redis_target_describe(&rc->target, rc->where, sizeof(rc->where));
    rc->fd = -1;
    rc->io = event_new(base, -1, 0, on_io, rc);
    rc->flush_ev = event_new(base, -1, 0, on_flush, rc);
    rc->timer = evtimer_new(base, on_timer, rc);
    rc->retry = evtimer_new(base, node_on_retry, rc);
    rc->defer = event_new(base, -1, 0, on_defer, rc);
    if (rc->subscribe != NULL) {
        rc->keepalive = event_new(base, -1, EV_PERSIST, on_keepalive, rc);
        struct timeval tv = {REDIS_SUB_PING_MS / 1000, (REDIS_SUB_PING_MS % 1000) * 1000};
        event_add(rc->keepalive, &tv);
    }
    rc->backoff_ms = REDIS_BACKOFF_MIN_MS;
    rc->state = RS_DOWN;
    if (rc->on_locate != NULL) {
        /* commands wait from now on; the owner is asked from the retry
         * event, not inside this call */
        rc->state = RS_LOCATING;
        rc->connect_deadline_us = clock_now_us() + (int64_t)node_connect_limit_ms(rc) * 1000;
        node_timer_arm(rc, rc->connect_deadline_us);
        event_active(rc->retry, EV_TIMEOUT, 0);
    } else {
        node_conn_start(rc);
    }
    return rc;
}

void
redis_node_free(struct redis_node *rc)
{
    if (rc == NULL)
        return;
    SL_ASSERT(rc->dispatching == 0); /* never from one of its own callbacks */
    rc->closing = true;
    pending_fail_all(rc, &rc->inflight, redis_error_closed);
    pending_fail_all(rc, &rc->waiting, redis_error_closed);
    pending_fail_all(rc, &rc->failed, redis_error_closed);
    event_free(rc->io);
    event_free(rc->flush_ev);
    event_free(rc->timer);
    event_free(rc->retry);
    event_free(rc->defer);
    if (rc->keepalive != NULL)
        event_free(rc->keepalive);
    redis_tls_free(rc->tls);
    redis_tls_ctx_free(rc->tls_ctx);
    if (rc->fd >= 0)
        close(rc->fd);
    if (rc->reader != NULL)
        redisReaderFree(rc->reader);
    reply_arena_free(rc->arena);
    free(rc->out);
    free(rc->subscribe);
    free(rc);
}

void
redis_node_retire(struct redis_node *rc)
{
    SL_ASSERT(rc->dispatching == 0);
    rc->retired = true;
    evtimer_del(rc->retry);
    node_maybe_retire(rc);
}

void
redis_node_stats(const struct redis_node *rc, struct redis_client_stats *out)
{
    *out = rc->stats;
}

bool
redis_node_ready(const struct redis_node *rc)
{
    return rc->state == RS_READY;
}

/* Queues p by state: READY out, waiting while connecting, failed when down. */
static void
submit(struct redis_node *rc, struct pending *p)
{
    rc->stats.commands++;
    rc->nlive++;
    if (rc->closing) {
        /* a callback of redis_node_free issuing more: fail it now */
        pending_deliver(rc, p, NULL, redis_error_closed);
        pending_free(p);
        return;
    }
    switch (rc->state) {
    case RS_READY:
        node_send_pending(rc, p);
        node_timer_arm(rc, p->deadline_us);
        break;
    case RS_LOCATING:
    case RS_CONNECTING:
    case RS_TLS:
    case RS_SETUP:
        pending_list_push(&rc->waiting, p);
        node_timer_arm(rc, p->deadline_us);
        break;
    case RS_DOWN:
        pending_list_push(&rc->failed, p);
        event_active(rc->defer, EV_TIMEOUT, 0);
        break;
    }
}

void
redis_node_send(struct redis_node *rc, const struct redis_script *script, char *cmd, size_t cmd_len,
                bool asking, int64_t deadline_us, redis_reply_cb cb, void *arg)
{
    SL_ASSERT(cb != NULL && cmd_len > 0 && rc->subscribe == NULL);
    struct pending *p = pending_new(rc, script ? PENDING_SCRIPT : PENDING_USER, cb, arg);
    p->script = script;
    p->cmd = cmd;
    p->cmd_len = cmd_len;
    p->asking = asking;
    if (deadline_us != 0)
        p->deadline_us = deadline_us;
    submit(rc, p);
}

void
redis_node_set_probe(struct redis_node *rc, bool probe)
{
    rc->probe = probe;
}

unsigned
redis_node_live(const struct redis_node *rc)
{
    return rc->nlive;
}

const char *
redis_node_where(const struct redis_node *rc)
{
    return rc->where;
}
