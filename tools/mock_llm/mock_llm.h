/*
 * mock_llm - a fast mock LLM upstream for the demo, tests and benchmarks.
 *
 * A small tool, so one hub header (as memcached.h) instead of one per file:
 *
 *   mock_llm.c     argv, signals, rlimit, listener, accept
 *   mock_conn.c    conn_*, out_*: one fd, raw events, input and output buffers
 *   mock_http.c    http_*: request head parser, chunked body decoder, query
 *   mock_routes.c  route_*: the endpoints and their timed jobs (SSE, drip)
 *   mock_util.c    buf_*, json_*, sha1/base64 for the WebSocket accept key
 *
 * Single-threaded. Per connection:
 *
 *   read() --> ibuf --> http_parse_head --> (body: CL / chunked, in place)
 *                                  |
 *                           route_dispatch --> obuf (+ fill 'x' bytes)
 *                                  |                  |
 *                    job timer (delay/SSE/drip)   writev() now; EV_WRITE
 *                                                 only after EAGAIN
 *
 * Pipelined requests are answered in order: the next request is not parsed
 * while a job runs or while output is blocked.
 */
#ifndef MOCK_LLM_H
#define MOCK_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event;
struct event_base;

#define HTTP_MAX_HEAD (1u << 20) /* larger request heads get 431 */
#define HTTP_MAX_HEADERS 128
#define HTTP_MAX_BODY (256u << 20) /* larger request bodies get 413 */

struct slice {
    const char *p; /* borrows the input buffer */
    size_t len;
};

/* Growable byte buffer; p is owned. */
struct buf {
    char *p;
    size_t len;
    size_t cap;
};

struct http_header {
    struct slice name;
    struct slice value;
};

struct http_req {
    struct slice method;
    struct slice target; /* path and query, as received */
    struct slice path;
    struct slice query;     /* after '?', may be empty */
    int minor;              /* HTTP/1.minor */
    size_t head_len;        /* bytes up to and including the blank line */
    int64_t content_length; /* -1: none */
    bool chunked;
    bool keep_alive;
    bool upgrade_ws;
    bool expect_continue;
    bool head_only; /* HEAD: no body in the answer */
    long delay_ms;  /* X-Mock-Delay-Ms, -1: none */
    struct slice ws_key;
    int nhdr;
    struct http_header hdr[HTTP_MAX_HEADERS];
};

enum http_parse_result {
    HTTP_PARSE_OK,
    HTTP_PARSE_INCOMPLETE,
    HTTP_PARSE_ERROR,
    HTTP_PARSE_TOO_LARGE,
};

/* State of an in-place chunked body decode; zeroed per request. */
struct http_chunked {
    size_t dec_len; /* decoded bytes, right after the head */
    size_t left;    /* data bytes left in the current chunk */
    int state;
};

enum job_kind {
    JOB_NONE,
    JOB_DELAY,    /* /delay/MS: a small JSON after MS */
    JOB_CHAT,     /* non-streamed completion after X-Mock-Delay-Ms */
    JOB_CHAT_SSE, /* streamed completion, one event per tick */
    JOB_SSE,      /* /sse: N events */
    JOB_DRIP,     /* /drip: Content-Length body, a piece per tick */
    JOB_RESET,    /* /reset-mid-body: RST after a short pause */
};

/* A response that is produced over time, driven by the conn's timer. */
struct job {
    enum job_kind kind;
    long interval_ms;
    long step;    /* next step to send */
    long steps;   /* total steps */
    size_t left;  /* drip: body bytes still to send */
    size_t piece; /* drip: bytes per tick */
    long prompt_tokens;
    long completion_tokens;
    int minor; /* of the request, for a head sent later */
    bool keep_alive;
    bool head_only;
    long reset_after; /* sse: events before an RST (0: none) */
};

struct conn {
    int fd;
    struct event *rev; /* owns: EV_READ|EV_PERSIST */
    struct event *wev; /* owns: EV_WRITE|EV_PERSIST, added only when blocked */
    struct event *tev; /* owns: job and linger timer, created on first use */
    struct buf in;     /* owns: unprocessed input; p may be the shared scratch */
    bool in_shared;    /* in.p borrows the shared read buffer */
    size_t head_scan;  /* where the search for the head end resumes */
    struct http_chunked ch;
    bool continue_sent;
    struct buf out; /* owns: bytes not yet written, from out_off */
    size_t out_off;
    size_t fill_left; /* 'x' bytes to write after out */
    bool chunked_out; /* current streamed response uses chunked framing */
    struct job job;
    bool blocked;             /* wev added, rev removed */
    bool closing;             /* close once output is written */
    bool rd_eof;              /* peer sent FIN */
    bool lingering;           /* FIN sent, draining input until the peer closes */
    bool tunnel;              /* after 101: echo every byte */
    bool drop_next;           /* /arm-drop: close on the next request, unanswered */
    bool dead;                /* free at the end of the current callback */
    struct conn *prev, *next; /* all live conns, for the exit cleanup */
};

/* mock_conn.c */
void conn_accept(struct event_base *base, int fd);
void conn_free_all(void);
void conn_job_start(struct conn *c, long delay_ms);
void conn_reset(struct conn *c);

/* mock_http.c */
enum http_parse_result http_parse_head(struct http_req *req, const char *p, size_t len,
                                       size_t *scan);
int http_chunked_advance(struct http_chunked *ch, char *p, size_t *len, size_t body_off);
long http_query_long(const struct http_req *req, const char *name, long dflt);
bool http_slice_eq(struct slice s, const char *lit);

/* mock_routes.c */
void route_init(void);
void route_dispatch(struct conn *c, const struct http_req *req, const char *body, size_t body_len);
/* True for a path answered on its head alone, its body left unread. */
bool route_answers_early(const struct http_req *req);
void route_job_tick(struct conn *c);
/* A request that arrived on a conn armed by /arm-drop (counted by /stats). */
void route_note_dropped(void);

/* mock_util.c: buffers abort on OOM, so callers never check */
void *xmalloc(size_t n);
void buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_str(struct buf *b, const char *s);
void buf_ulong(struct buf *b, unsigned long v);
void buf_free(struct buf *b);
void json_put_str(struct buf *b, const char *p, size_t n);
void ws_accept_key(const char *key, size_t key_len, char out[29]);

/* mock_conn.c, output: appended to c->out, written at the next flush. */
#define OUT_CHUNKED (-1)         /* out_head: chunked (close-delimited for 1.0) */
#define OUT_CLOSE_DELIMITED (-2) /* out_head: no length, body ends at close */
void out_head(struct conn *c, const struct http_req *req, int status, const char *ctype,
              int64_t content_length, const char *extra);
void out_chunk(struct conn *c, const char *p, size_t n);
void out_chunk_end(struct conn *c);
void out_reply(struct conn *c, const struct http_req *req, int status, const char *ctype,
               const char *body, size_t body_len);

#endif
