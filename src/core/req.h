/*
 * req.h - one request's state from its head to the end of its exchange.
 *
 * A req is created by the client connection when a head has been parsed,
 * runs the stages (pipeline.h), is forwarded by the proxy, and is freed by
 * req_finish() after the "done" hooks have seen how it ended. Its head's
 * slices borrow the client connection's input buffer, which is not moved or
 * reused until the head has been forwarded.
 */
#ifndef SLUICE_REQ_H
#define SLUICE_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http_parse.h"
#include "util/strbuf.h"

struct conn;
struct worker;
struct config;
struct config_route;
struct upstream_conn;
struct stage;
struct pipeline_ops;

#define PIPELINE_MAX_STAGES 8
#define REQ_USER_MAX 256   /* SPEC section 9: user names are 1-256 bytes */
#define REQ_SESSION_MAX 128
#define REQ_PLAN_MAX 128

/* Who a request is for, as the auth stage established it. Owned by the
 * request (not by a stage), so the done hooks and the access log can read
 * it until req_finish() returns, whatever a stage freed before. */
struct req_identity {
    char user[REQ_USER_MAX + 1];       /* "": anonymous */
    char session[REQ_SESSION_MAX + 1]; /* "": none */
    char plan[REQ_PLAN_MAX + 1];       /* "": no plan */
};

/* How an exchange ended, for the done hooks. */
enum req_outcome {
    REQ_OUTCOME_COMPLETE,        /* the response reached the client whole */
    REQ_OUTCOME_REFUSED,         /* answered by the gateway itself (error or stage) */
    REQ_OUTCOME_CLIENT_GONE,     /* the client vanished before the end */
    REQ_OUTCOME_UPSTREAM_FAILED, /* the upstream failed or timed out */
};

struct req {
    struct conn *conn;                /* borrowed; NULL once the client is gone */
    struct worker *worker;            /* borrowed; outlives req */
    struct config *cfg;               /* owns a reference */
    const struct config_route *route; /* borrowed from cfg; NULL: no route */

    char *head_buf; /* owns: the head's bytes once req_keep_head ran */
    size_t head_buf_cap;
    /* The target as routed and forwarded: the normalised path (http_path.h)
     * then the client's query. Both borrow head_buf, after the head. */
    struct sl_slice target;
    struct sl_slice path;
    struct http_msg_parser body_parser; /* frames the request body */
    bool head_only;                     /* HEAD: the response has no body */

    char request_id[129];
    size_t request_id_len;

    /* Stages */
    const struct stage *const *stages_; /* private: borrowed table */
    size_t nstages_;
    const struct pipeline_ops *ops_;       /* private: borrowed */
    unsigned stages_run_;                  /* private: how many stages' run() were called */
    unsigned stage;                        /* index of the stage running now */
    bool in_stage;                         /* a stage runs and has not answered yet */
    void *stage_data[PIPELINE_MAX_STAGES]; /* owned by each stage */
    struct strbuf upstream_extra;          /* header lines stages add upstream */
    struct strbuf response_extra;          /* header lines stages add to the response */
    struct req_identity id;                /* set by the auth stage */
    const char *cache_status;              /* static; NULL: not a cache route */
    bool cache_post_;                      /* private to the cache stage: a cached POST */
    const char *limit_decision;            /* static; NULL: no limits applied */

    /* Exchange */
    struct upstream_conn *up; /* owns while forwarding */
    struct strbuf out;        /* owns: the head for upstream */
    size_t out_sent;
    size_t body_pending; /* request body bytes framed at conn->in's start, unsent */
    struct http_msg_parser resp_parser;
    struct strbuf resp_out; /* owns: the head for the client */
    size_t resp_out_sent;
    size_t resp_pending; /* response bytes framed at up->in's start, unsent */
    bool resp_head_parsed;
    bool resp_head_sent; /* some response byte reached the client */
    bool tunnel;         /* 101: raw bytes both ways */
    bool req_body_done;
    bool resp_done;
    bool retried;
    bool close_after; /* the client connection ends with this exchange */
    /* A stage needs the response whole even if the client leaves (the
     * cache, for the misses that follow this one's stream): a client that
     * goes once the request is sent and the head came leaves the exchange
     * running to its end, without it (proxy_detach). */
    bool keep_exchange;
    bool detached; /* private to proxy.c: it runs on with no client */

    /* Accounting */
    unsigned status;
    uint64_t bytes_out;
    int64_t start_us;
    bool reached_upstream;
    int64_t upstream_start_us; /* 0 when the access log is off: nothing reads it */
    int64_t upstream_us;
    enum req_outcome outcome;
    struct req *next_recycled_; /* private: worker's free list */

    /* Last, so that recycling a req clears only what precedes them
     * (http_parse_head resets a head itself). */
    struct http_head head;      /* slices borrow conn's input buffer, then head_buf */
    struct http_head resp_head; /* slices borrow up's buffer until the head is built */
};

#endif

/* Creates a request on conn under the worker's current config (a reference
 * is taken). Owned by the caller (the conn) until req_finish(). Requests
 * are recycled per worker, with their buffers' memory. */
struct req *req_new(struct conn *conn, struct worker *w);

/* Frees the worker's recycled requests (at worker exit). */
void req_free_recycled(struct worker *w);

/* Copies the head (which starts at head_start) into the request's own
 * storage and points its slices there, so the connection's buffer can
 * move on. The storage has head.target.len bytes more after the head, for
 * the normalised target (never longer than the client's). */
void req_keep_head(struct req *req, const char *head_start);

/* Ends the request: the done hooks run, the access log line and metrics
 * are written, and req is freed. */
void req_finish(struct req *req);

/* Fills request_id from the client's X-Request-Id when well-formed, else
 * generates one. */
void req_assign_id(struct req *req);
/* Fills request_id with a new one (a head too broken to trust its own). */
void req_generate_id(struct req *req);
