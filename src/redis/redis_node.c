/*
 * redis_node.c - one Redis connection of redis_node.h: a socket
 * this module drives with one persistent libevent event, hiredis's reply
 * reader and command formatter, and TLS (redis_tls.c) underneath when the
 * URL is rediss://.
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
 * touches the timer).
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
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/redis_url.h"
#include "redis/redis_script.h"
#include "redis/resp.h"
#include "redis/redis_tls.h"
#include "redis/reply_arena.h"
#include "sluice.h"
#include "util/clock.h"
#include "util/log.h"

#define REDIS_BACKOFF_MIN_MS 50
#define REDIS_BACKOFF_MAX_MS 2000
/* connect + TLS + setup must be done within max(this, redis.timeout) */
#define REDIS_CONNECT_MIN_MS 1000
/* A connection whose oldest command has had no reply this long (already
 * timed out for its caller) is wedged (half-open TCP, a stopped server):
 * start afresh. max(this, 10 x redis.timeout). */
#define REDIS_STALL_MIN_MS 2000
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
    bool timed_out; /* its callback has fired; the reply is dropped */
    bool retried;   /* SCRIPT: already reloaded once */
    bool asking;    /* ASKING goes out right before it, each time it is sent */
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
    void *owner; /* borrowed */
    char where[300]; /* the server, for log lines */

    enum redis_state state;
    int fd;                     /* owns; -1 when DOWN */
    struct event *io;           /* owns; persistent, re-assigned when io_what changes */
    short io_what;              /* what io waits for; 0 = not added */
    struct event *flush_ev;     /* owns; activated when out gains bytes */
    bool flush_scheduled;       /* flush_ev is active */
    struct event *timer;        /* owns; the earliest deadline */
    int64_t timer_at_us;        /* 0 = timer not pending */
    struct event *retry;        /* owns; reconnect after backoff */
    struct event *defer;        /* owns; delivers `failed`, reports a retired node idle */
    struct redisReader *reader; /* owns; one per connection */
    struct reply_arena *arena;  /* owns; the reader's replies, reset after each */
    struct redis_tls_ctx *tls_ctx; /* owns; rediss:// only, made at the first connect */
    struct redis_tls *tls;         /* owns; the connection's TLS session */
    enum redis_io_want tls_want;   /* what the handshake waits for */
    enum redis_io_want read_want;  /* READ normally; WRITE when TLS must write to read */
    enum redis_io_want write_want; /* while write_blocked */
    bool write_blocked;

    char *out; /* owns; formatted commands not yet written, from out_off */
    size_t out_len, out_off, out_cap;

    struct pending_list waiting, inflight, failed;
    unsigned nlive;        /* callers' commands whose callback has not fired */
    unsigned setup_left;   /* SETUP replies still to come */
    int64_t connect_deadline_us;
    uint32_t backoff_ms;
    enum redis_logged logged;
    int dispatching; /* callbacks running now */
    bool retired;
    bool closing; /* inside redis_node_free */
    struct redis_client_stats stats;
};

static void conn_start(struct redis_node *rc);
static void conn_break(struct redis_node *rc, const char *why);
static void timer_arm(struct redis_node *rc, int64_t at_us);

/* ---- queues ---------------------------------------------------------------- */

static void
list_push(struct pending_list *l, struct pending *p)
{
    p->next = NULL;
    if (l->tail != NULL)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
}

static struct pending *
list_pop(struct pending_list *l)
{
    struct pending *p = l->head;
    if (p != NULL) {
        l->head = p->next;
        if (l->head == NULL)
            l->tail = NULL;
        p->next = NULL;
    }
    return p;
}

/* Moves every entry of from to the end of to. */
static void
list_take(struct pending_list *to, struct pending_list *from)
{
    if (from->head == NULL)
        return;
    if (to->tail != NULL)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    from->head = from->tail = NULL;
}

static struct pending *
pending_new(struct redis_node *rc, enum pending_kind kind, redis_reply_cb cb, void *arg)
{
    struct pending *p = xcalloc(1, sizeof(*p));
    p->kind = kind;
    p->cb = cb;
    p->arg = arg;
    p->start_us = clock_now_us();
    p->deadline_us = p->start_us + (int64_t)rc->timeout_ms * 1000;
    return p;
}

/* The command's bytes, owned by p (kept for a NOSCRIPT retry). */
static void
encode(struct pending *p, int argc, const char *const *argv, const size_t *lens)
{
    p->cmd_len = resp_encoded_len(argc, lens);
    p->cmd = xmalloc(p->cmd_len);
    resp_encode(p->cmd, argc, argv, lens);
}

static void
pending_free(struct pending *p)
{
    free(p->cmd);
    free(p);
}

static bool
has_callback(const struct pending *p)
{
    return p->cb != NULL && !p->timed_out;
}

/* Runs p's callback (once: p is marked, or freed by the caller). */
static void
deliver(struct redis_node *rc, struct pending *p, const struct redisReply *reply,
        const char *err)
{
    SL_ASSERT(has_callback(p));
    p->timed_out = true; /* from now on "its callback has fired" */
    rc->nlive--;
    if (rc->observe != NULL)
        rc->observe(err ? 0 : (uint64_t)(clock_now_us() - p->start_us), err != NULL);
    rc->dispatching++;
    p->cb(p->arg, reply, err);
    rc->dispatching--;
}

/* Fails and frees every entry of l, in order. */
static void
fail_all(struct redis_node *rc, struct pending_list *l, const char *err)
{
    struct pending *p;
    while ((p = list_pop(l)) != NULL) {
        if (has_callback(p))
            deliver(rc, p, NULL, err);
        pending_free(p);
    }
}

static void
maybe_retire(struct redis_node *rc)
{
    if (rc->retired && rc->nlive == 0)
        event_active(rc->defer, EV_TIMEOUT, 0);
}

/* ---- logging --------------------------------------------------------------- */

/* Logs transitions only, naming the server by address: the URL may hold
 * a password. */
static void
log_state(struct redis_node *rc, bool up, const char *why)
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
static void
io_update(struct redis_node *rc)
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
            conn_break(rc, rc->tls ? redis_tls_error(rc->tls) : strerror(errno));
            return -1;
        }
        rc->write_blocked = true;
        rc->write_want = want;
        io_update(rc);
        return 0;
    }
    rc->out_off = rc->out_len = 0;
    if (rc->write_blocked) {
        rc->write_blocked = false;
        io_update(rc);
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
static void
send_pending(struct redis_node *rc, struct pending *p)
{
    if (p->asking) {
        static const char asking[] = "*1\r\n$6\r\nASKING\r\n";
        struct pending *a = pending_new(rc, PENDING_ASKING, NULL, NULL);
        out_append(rc, asking, sizeof(asking) - 1);
        list_push(&rc->inflight, a);
    }
    out_append(rc, p->cmd, p->cmd_len);
    if (p->kind != PENDING_SCRIPT) {
        free(p->cmd);
        p->cmd = NULL;
    }
    list_push(&rc->inflight, p);
    flush_schedule(rc);
}

/* A command the client itself sends (argv of NUL-terminated strings). */
static void
send_internal(struct redis_node *rc, enum pending_kind kind, const char *what,
              const struct redis_script *script, int argc, const char **argv,
              const size_t *argvlen)
{
    struct pending *p = pending_new(rc, kind, NULL, NULL);
    p->what = what;
    p->script = script;
    encode(p, argc, argv, argvlen);
    send_pending(rc, p);
}

static void
send_script_load(struct redis_node *rc, enum pending_kind kind, const struct redis_script *s)
{
    const char *argv[] = {"SCRIPT", "LOAD", s->body};
    size_t lens[] = {6, 4, s->body_len};
    send_internal(rc, kind, "SCRIPT LOAD", s, 3, argv, lens);
}

/* ---- connecting ------------------------------------------------------------ */

static void
become_ready(struct redis_node *rc)
{
    rc->state = RS_READY;
    rc->backoff_ms = REDIS_BACKOFF_MIN_MS;
    log_state(rc, true, NULL);
    if (rc->subscribe != NULL) {
        rc->dispatching++;
        rc->on_message(rc->owner, NULL, 0);
        rc->dispatching--;
        return;
    }
    struct pending *p;
    while ((p = list_pop(&rc->waiting)) != NULL)
        send_pending(rc, p);
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

/* AUTH, SELECT and SCRIPT LOAD go out as one pipeline; callers' commands
 * wait until all have answered, so none runs unauthenticated. */
static void
setup_start(struct redis_node *rc)
{
    const struct redis_target *t = &rc->target;
    rc->state = RS_SETUP;
    rc->reader = reply_arena_reader(rc->arena);
    rc->read_want = REDIS_IO_WANT_READ;
    io_update(rc);
    rc->setup_left = 0;
    if (rc->bare && rc->subscribe == NULL) {
        become_ready(rc);
        return;
    }
    if (t->pass[0] != '\0' && !rc->bare) {
        /* AUTH user pass (Redis 6 ACL) or AUTH pass */
        const char *argv[3] = {"AUTH", t->user, t->pass};
        size_t lens[3] = {4, strlen(t->user), strlen(t->pass)};
        if (t->user[0] == '\0') {
            argv[1] = t->pass;
            lens[1] = lens[2];
        }
        send_internal(rc, PENDING_SETUP, "AUTH", NULL, t->user[0] ? 3 : 2, argv, lens);
        rc->setup_left++;
    }
    if (t->db != 0 && !rc->bare) {
        char db[16];
        snprintf(db, sizeof(db), "%u", t->db);
        const char *argv[] = {"SELECT", db};
        size_t lens[] = {6, strlen(db)};
        send_internal(rc, PENDING_SETUP, "SELECT", NULL, 2, argv, lens);
        rc->setup_left++;
    }
    if (rc->on_locate != NULL) {
        /* Sentinel's answer may be stale (a failover under way, a
         * partitioned sentinel): only a master will do. */
        const char *argv[] = {"ROLE"};
        size_t lens[] = {4};
        send_internal(rc, PENDING_ROLE, "ROLE", NULL, 1, argv, lens);
        rc->setup_left++;
    }
    if (rc->subscribe != NULL) {
        const char *argv[] = {"SUBSCRIBE", rc->subscribe};
        size_t lens[] = {9, strlen(rc->subscribe)};
        send_internal(rc, PENDING_SETUP, "SUBSCRIBE", NULL, 2, argv, lens);
        rc->setup_left++;
        return;
    }
    if (rc->probe) {
        const char *argv[] = {"CLUSTER", "SLOTS"};
        size_t lens[] = {7, 5};
        send_internal(rc, PENDING_PROBE, "CLUSTER SLOTS", NULL, 2, argv, lens);
        rc->setup_left++;
    }
    for (size_t i = 0; i < redis_script_count; i++) {
        send_script_load(rc, PENDING_SETUP, &redis_script_table[i]);
        rc->setup_left++;
    }
    if (rc->setup_left == 0)
        become_ready(rc);
}

static void
tls_step(struct redis_node *rc)
{
    char err[256];
    if (redis_tls_handshake(rc->tls, &rc->tls_want, err, sizeof(err)) == 0) {
        setup_start(rc);
        return;
    }
    if (rc->tls_want == REDIS_IO_ERROR) {
        conn_break(rc, err);
        return;
    }
    io_update(rc);
}

static void
on_connected(struct redis_node *rc)
{
    if (!rc->target.tls) {
        setup_start(rc);
        return;
    }
    rc->tls = redis_tls_new(rc->tls_ctx, rc->fd);
    rc->state = RS_TLS;
    tls_step(rc);
}

/* A socket connecting to the target; -1 with why set. The name is
 * resolved with getaddrinfo, which blocks: it runs only on (re)connects,
 * and redis.url names an address or a name in /etc/hosts in practice. */
static int
socket_connect(struct redis_node *rc, bool *done, const char **why)
{
    const struct redis_target *t = &rc->target;
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    if (t->is_unix) {
        struct sockaddr_un *su = (struct sockaddr_un *)&ss;
        su->sun_family = AF_UNIX;
        snprintf(su->sun_path, sizeof(su->sun_path), "%s", t->path);
        len = sizeof(*su);
    } else {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
        char port[8];
        snprintf(port, sizeof(port), "%d", t->port);
        int gai = getaddrinfo(t->host, port, &hints, &res);
        if (gai != 0) {
            *why = gai_strerror(gai);
            return -1;
        }
        memcpy(&ss, res->ai_addr, res->ai_addrlen);
        len = res->ai_addrlen;
        freeaddrinfo(res);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (!t->is_unix) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    *done = connect(fd, (struct sockaddr *)&ss, len) == 0;
    if (!*done && errno != EINPROGRESS) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}

static uint32_t
connect_limit_ms(const struct redis_node *rc)
{
    return rc->timeout_ms > REDIS_CONNECT_MIN_MS ? rc->timeout_ms : REDIS_CONNECT_MIN_MS;
}

static void
retry_schedule(struct redis_node *rc)
{
    if (rc->retired)
        return;
    struct timeval tv = {rc->backoff_ms / 1000, (rc->backoff_ms % 1000) * 1000};
    evtimer_add(rc->retry, &tv);
    rc->backoff_ms =
        rc->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS : rc->backoff_ms * 2;
}

/* Starts a connect; never runs a callback (commands wait in `waiting`). */
static void
conn_start(struct redis_node *rc)
{
    char err[256];
    const char *why = err;
    SL_ASSERT(rc->state == RS_DOWN || rc->state == RS_LOCATING);
    if (rc->target.tls && rc->tls_ctx == NULL) {
        rc->tls_ctx = redis_tls_ctx_new(&rc->target.tls_opt, rc->target.host, err, sizeof(err));
        if (rc->tls_ctx == NULL)
            goto fail;
    }
    bool done;
    int fd = socket_connect(rc, &done, &why);
    if (fd < 0)
        goto fail;
    rc->fd = fd;
    rc->state = RS_CONNECTING;
    rc->connect_deadline_us = clock_now_us() + (int64_t)connect_limit_ms(rc) * 1000;
    timer_arm(rc, rc->connect_deadline_us);
    if (done)
        on_connected(rc);
    else
        io_update(rc);
    return;

fail:
    if (rc->state == RS_LOCATING) {
        conn_break(rc, why); /* commands wait: fail them */
        return;
    }
    log_state(rc, false, why);
    retry_schedule(rc);
}

/* DOWN (or new) -> LOCATING: commands wait while the owner looks up the
 * address, within the connect limit. */
static void
locate_start(struct redis_node *rc)
{
    rc->state = RS_LOCATING;
    rc->connect_deadline_us = clock_now_us() + (int64_t)connect_limit_ms(rc) * 1000;
    timer_arm(rc, rc->connect_deadline_us);
    rc->on_locate(rc->owner, rc);
}

/*
 * Closes the connection and fails every command it held (and every one
 * waiting for it) with redis_error_unavailable, each exactly once, after
 * the client is already DOWN: a callback that issues a command gets it
 * failed on the next turn, and never sees a half-closed client.
 */
static void
conn_break(struct redis_node *rc, const char *why_in)
{
    struct pending_list dead = {NULL, NULL};
    char why[320];
    snprintf(why, sizeof(why), "%s", why_in); /* why_in may live in rc->tls, freed below */
    if (rc->io_what != 0)
        event_del(rc->io);
    rc->io_what = 0;
    redis_tls_free(rc->tls);
    rc->tls = NULL;
    if (rc->fd >= 0)
        close(rc->fd);
    rc->fd = -1;
    if (rc->reader != NULL)
        redisReaderFree(rc->reader);
    rc->reader = NULL;
    rc->out_off = rc->out_len = 0;
    rc->write_blocked = false;
    rc->state = RS_DOWN;
    log_state(rc, false, why);
    list_take(&dead, &rc->inflight);
    list_take(&dead, &rc->waiting);
    retry_schedule(rc);
    fail_all(rc, &dead, redis_error_unavailable);
    maybe_retire(rc);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct redis_node *rc = arg;
    if (rc->retired)
        return;
    if (rc->on_locate != NULL && rc->state <= RS_LOCATING)
        locate_start(rc);
    else if (rc->state == RS_DOWN)
        conn_start(rc);
}

/* ---- replies --------------------------------------------------------------- */

/* A reply to our own connect sequence; breaks the connection when Redis
 * refuses it (the down line says why: wrong password, unknown db...). */
static void
setup_reply(struct redis_node *rc, struct pending *p, const redisReply *r)
{
    char why[300];
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "%s refused: %.*s", p->what, (int)r->len, r->str);
        conn_break(rc, why);
        return;
    }
    if (p->script != NULL && (r->type != REDIS_REPLY_STRING || r->len != 40 ||
                              memcmp(r->str, p->script->sha1, 40) != 0)) {
        snprintf(why, sizeof(why), "SCRIPT LOAD %s: Redis names it by another SHA1",
                 p->script->name);
        conn_break(rc, why);
        return;
    }
    if (p->kind == PENDING_ROLE &&
        (r->type != REDIS_REPLY_ARRAY || r->elements == 0 ||
         r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "master") != 0)) {
        conn_break(rc, "ROLE: not a master (the located address is out of date)");
        return;
    }
    if (--rc->setup_left == 0)
        become_ready(rc);
}

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
        setup_reply(rc, p, r);
        break;
    case PENDING_RELOAD:
    case PENDING_ASKING:
        break; /* an error shows in the reply of the command that follows */
    case PENDING_PROBE:
        if (rc->on_probe != NULL)
            rc->on_probe(rc->owner, rc, r);
        if (--rc->setup_left == 0)
            become_ready(rc);
        break;
    case PENDING_SCRIPT:
        if (has_callback(p) && is_noscript(r) && !p->retried) {
            /* Redis restarted or SCRIPT FLUSH: load it, then the same
             * EVALSHA again, pipelined in that order; once only. */
            p->retried = true;
            send_script_load(rc, PENDING_RELOAD, p->script);
            send_pending(rc, p);
            return;
        }
        __attribute__((fallthrough)); /* then delivered like any reply */
    case PENDING_USER:
        if (rc->on_locate != NULL && is_readonly(r)) {
            /* demoted to a replica by a failover: this command did not
             * run; it and those behind it fail, and the master is looked
             * up again (then the connection's end is the break's) */
            if (has_callback(p))
                deliver(rc, p, NULL, redis_error_unavailable);
            pending_free(p);
            if (rc->state >= RS_SETUP)
                conn_break(rc, "READONLY: demoted to a replica");
            return;
        }
        if (has_callback(p))
            deliver(rc, p, r, NULL);
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
            conn_break(rc, why);
            return -1;
        }
        if (r == NULL)
            return 0;
        if (rc->subscribe != NULL && rc->state == RS_READY) {
            push_reply(rc, r);
            reply_arena_reset(rc->arena); /* never freeReplyObject: the arena's */
            continue;
        }
        struct pending *p = list_pop(&rc->inflight);
        if (p == NULL) {
            reply_arena_reset(rc->arena);
            conn_break(rc, "protocol error: a reply to no command");
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
            conn_break(rc, n == 0 ? "connection closed by Redis"
                                  : rc->tls ? redis_tls_error(rc->tls) : strerror(errno));
            return;
        }
        if (want != rc->read_want) {
            rc->read_want = want;
            io_update(rc);
        }
        break;
    }
    maybe_retire(rc);
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
            conn_break(rc, strerror(err));
        else
            on_connected(rc);
        return;
    }
    if (rc->state == RS_TLS) {
        tls_step(rc);
        return;
    }
    /* TLS may want to read to write and the reverse: try both, cheaply. */
    if (rc->write_blocked && ((what & ev_of(rc->write_want)) || rc->tls) && flush_out(rc) < 0)
        return;
    if (rc->read_want == REDIS_IO_WANT_READ ? (what & EV_READ) || rc->tls : (what & EV_WRITE))
        read_all(rc);
}

/* ---- timeouts -------------------------------------------------------------- */

static void
timer_arm(struct redis_node *rc, int64_t at_us)
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
    while ((p = list_pop(&rc->waiting)) != NULL)
        list_push(p->deadline_us <= now ? &due : &keep, p);
    rc->waiting = keep;
    fail_all(rc, &due, redis_error_timeout);
    return keep.head ? keep.head->deadline_us : 0;
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
        if (!has_callback(p))
            continue;
        if (p->deadline_us <= now)
            deliver(rc, p, NULL, redis_error_timeout);
        else
            next = min_deadline(next, p->deadline_us);
    }
    struct pending *head = rc->inflight.head;
    if (head != NULL && !has_callback(head)) {
        uint32_t stall_ms = rc->timeout_ms * 10 > REDIS_STALL_MIN_MS ? rc->timeout_ms * 10
                                                                     : REDIS_STALL_MIN_MS;
        next = min_deadline(next, head->start_us + (int64_t)stall_ms * 1000);
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
        conn_break(rc, rc->state == RS_SETUP      ? "no reply to AUTH/SELECT/SCRIPT LOAD in time"
                       : rc->state == RS_LOCATING ? "no address from Sentinel in time"
                                                  : "connect timed out");
    }
    int64_t next = expire_waiting(rc, now);
    if (rc->state >= RS_LOCATING && rc->state < RS_READY)
        next = min_deadline(next, rc->connect_deadline_us);
    int64_t in = rc->state >= RS_SETUP ? expire_inflight(rc, now) : 0;
    if (in != 0 && in <= now && rc->inflight.head != NULL && !has_callback(rc->inflight.head)) {
        conn_break(rc, "no reply in time: the connection looks wedged");
        in = 0;
    }
    next = min_deadline(next, in);
    if (next != 0)
        timer_arm(rc, next);
    maybe_retire(rc);
}

/* ---- deferred work --------------------------------------------------------- */

static void
on_defer(evutil_socket_t fd, short what, void *arg)
{
    struct redis_node *rc = arg;
    struct pending_list failed = rc->failed;
    rc->failed.head = rc->failed.tail = NULL;
    fail_all(rc, &failed, redis_error_unavailable);
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
    rc->retry = evtimer_new(base, on_retry, rc);
    rc->defer = event_new(base, -1, 0, on_defer, rc);
    rc->backoff_ms = REDIS_BACKOFF_MIN_MS;
    rc->state = RS_DOWN;
    if (rc->on_locate != NULL) {
        /* commands wait from now on; the owner is asked from the retry
         * event, not inside this call */
        rc->state = RS_LOCATING;
        rc->connect_deadline_us = clock_now_us() + (int64_t)connect_limit_ms(rc) * 1000;
        timer_arm(rc, rc->connect_deadline_us);
        event_active(rc->retry, EV_TIMEOUT, 0);
    } else {
        conn_start(rc);
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
    fail_all(rc, &rc->inflight, redis_error_closed);
    fail_all(rc, &rc->waiting, redis_error_closed);
    fail_all(rc, &rc->failed, redis_error_closed);
    event_free(rc->io);
    event_free(rc->flush_ev);
    event_free(rc->timer);
    event_free(rc->retry);
    event_free(rc->defer);
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
    maybe_retire(rc);
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
        deliver(rc, p, NULL, redis_error_closed);
        pending_free(p);
        return;
    }
    switch (rc->state) {
    case RS_READY:
        send_pending(rc, p);
        timer_arm(rc, p->deadline_us);
        break;
    case RS_LOCATING:
    case RS_CONNECTING:
    case RS_TLS:
    case RS_SETUP:
        list_push(&rc->waiting, p);
        timer_arm(rc, p->deadline_us);
        break;
    case RS_DOWN:
        list_push(&rc->failed, p);
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
redis_node_located(struct redis_node *rc, const char *host, int port, const char *why)
{
    if (rc->state != RS_LOCATING || rc->closing)
        return;
    if (host == NULL || strlen(host) >= sizeof(rc->target.host)) {
        conn_break(rc, host == NULL ? why : "the located address is too long");
        return;
    }
    if (rc->target.is_unix || port != rc->target.port || strcmp(host, rc->target.host) != 0) {
        rc->target.is_unix = false;
        memcpy(rc->target.host, host, strlen(host) + 1);
        rc->target.port = port;
        /* its default server name is the host's */
        redis_tls_ctx_free(rc->tls_ctx);
        rc->tls_ctx = NULL;
        redis_target_describe(&rc->target, rc->where, sizeof(rc->where));
        log_info("redis (%s): located at %s", rc->name, rc->where);
    }
    conn_start(rc);
}

void
redis_node_master_moved(struct redis_node *rc, const char *host, int port)
{
    if (rc->on_locate == NULL || rc->closing || rc->retired || rc->state == RS_LOCATING)
        return;
    bool same = !rc->target.is_unix && rc->target.port == port && strcmp(rc->target.host, host) == 0;
    if (rc->state != RS_DOWN) {
        if (same)
            return; /* it found the new master already */
        conn_break(rc, "Sentinel: the master moved (+switch-master)");
    }
    /* a lookup now, not after the backoff */
    rc->backoff_ms = REDIS_BACKOFF_MIN_MS;
    evtimer_del(rc->retry);
    event_active(rc->retry, EV_TIMEOUT, 0);
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
