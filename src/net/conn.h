/*
 * conn.h - a client connection: reads request heads, runs each request
 * through the pipeline, answers the gateway's own replies, keeps the
 * connection alive between requests, and enforces the http: timeouts.
 *
 *            +------- next pipelined request -------+
 *            v                                      |
 *   IDLE -> HEAD -> STAGES -> EXCHANGE (proxy.c) ---+--> CLOSED
 *    ^  (no buffer)   \-> REPLY (our own answer) ---+
 *    +-- idle_timeout closes ------------------------
 *
 * While in EXCHANGE, proxy.c drives the socket: the layout is exposed for
 * it and for nothing else. The sockets are driven directly with persistent
 * libevent events (no bufferevents): one read per readiness into a pooled
 * buffer, writes go out at once, and EV_WRITE is armed only after EAGAIN.
 */
#ifndef SLUICE_CONN_H
#define SLUICE_CONN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event_struct.h>

#include "sluice.h"
#include "util/deadline.h"

struct worker;
struct req;
struct buf;
struct conn_timer;

enum conn_state {
    CONN_IDLE,     /* between requests: no buffer held */
    CONN_HEAD,     /* a head is arriving */
    CONN_STAGES,   /* the pipeline runs (maybe waiting on I/O) */
    CONN_EXCHANGE, /* proxy.c forwards */
    CONN_REPLY,    /* writing the gateway's own response (streamed: until the stage ends it) */
    CONN_TUNNEL,   /* upgraded: raw bytes both ways (proxy.c) */
    CONN_LINGER,   /* refused mid-upload: reading and dropping the rest (conn.c) */
};

/* Memory per idle connection matters (10,000 idle keep-alive clients are
 * ordinary): an idle conn is this struct alone, with its one event
 * embedded, no buffer and no timer. */
struct conn {
    struct event io;          /* owns (embedded): read and/or write readiness */
    struct worker *worker;    /* borrowed; outlives the conn */
    struct conn_timer *timer; /* owns while not idle (from the worker's pool); else NULL */
    struct buf *in;           /* owns; NULL while idle */
    struct req *req;          /* owns; the request in progress */
    struct conn *prev, *next; /* the worker's idle or busy list */
    struct deadline deadline; /* of the current wait; timer armed lazily */
    int64_t idle_since_ms;    /* monotonic; while idle */
    int64_t linger_until_ms;  /* monotonic; while lingering */
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } peer;
    int fd;
    enum conn_state state;
    bool reading;       /* io wants EV_READ */
    bool writing;       /* io wants EV_WRITE (armed after EAGAIN) */
    bool io_added;      /* io is added to the base */
    bool driving;       /* conn_drive is on the stack: closing waits */
    bool close_pending; /* conn_close was called while driving */
    bool close_after;   /* close once the current response is out */
    bool peer_trusted;
    bool idle_listed;  /* on the worker's idle list (else the busy list) */
    bool refuse;       /* over http.max_connections: answer 503 and close */
    bool peer_eof;     /* the client half-closed: answer what it sent, then close */
    bool linger;       /* the reply left a request body unread: linger, not close */
    bool streaming;    /* CONN_REPLY: a stage's streamed reply, more body to come */
    bool write_failed; /* a write to the client failed: it is gone */
};

/* Takes ownership of an accepted, non-blocking socket. refuse: the gateway
 * is at http.max_connections; the connection's first request is answered
 * 503 (with Retry-After) and the connection closed: a reply after reading
 * the request, rather than a reset, tells the client it may retry. */
void conn_accept(struct worker *w, int fd, const struct sockaddr *peer, socklen_t peer_len,
                 bool refuse);

/* Sets when the current wait times out (monotonic ms from now; 0: never).
 * Cheap to call on every read: the timer is only re-armed when needed. */
void conn_set_deadline(struct conn *c, uint32_t timeout_ms);

/* Turns reading/writing readiness on or off (no syscall when unchanged). */
void conn_want_read(struct conn *c, bool on);
/* The client has sent its last byte (read returned 0) after a whole
 * request: it may still read, so the requests it sent are answered and the
 * connection closes after them (RFC 9112 §9.6; as HAProxy does, nginx
 * instead aborts). Reading stops: level-triggered EOF would fire forever. */
void conn_peer_eof(struct conn *c);
void conn_want_write(struct conn *c, bool on);

/* Reads once into c->in. Returns bytes read, 0 on EOF, -1 on error,
 * -2 when nothing is available now or the buffer is full. */
ssize_t conn_read(struct conn *c);

/* The proxy is done with the current request: its done hooks ran. Continues
 * with the next pipelined request, or idles, or closes (close_after). */
void conn_exchange_done(struct conn *c);

/* Answers the current request with a JSON error, then continues as for
 * conn_exchange_done. */
void conn_reply_error(struct conn *c, unsigned status, const char *error, const char *message);
struct stage_reply;
/* The same with a stage's whole reply (pipeline.h). */
void conn_reply(struct conn *c, const struct stage_reply *reply);

/* Closes now; the current request (if any) ends as outcome says. */
void conn_close(struct conn *c);

/* Draining: closes the connection if it is between requests, else marks it
 * to close after the current response. */
void conn_drain(struct conn *c);

/* The peer's address as text into out (INET6_ADDRSTRLEN bytes); IPv4-mapped
 * IPv6 peers are shown as IPv4. */
struct sl_slice conn_peer_ip(const struct conn *c, char *out);

/* Closes idle connections past http.idle_timeout; the worker calls this
 * from a periodic timer. */
void conn_sweep_idle(struct worker *w);

/* Frees the worker's pool of connection timers (at worker exit). */
void conn_timers_free(struct worker *w);

#endif
