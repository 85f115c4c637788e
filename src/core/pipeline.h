/*
 * pipeline.h - the stages a request passes before it is forwarded, and the
 * hooks that run after its exchange. This is the seam that sessions, rate
 * limits and the cache plug into (SPEC sections 5-7).
 *
 *   head parsed -> route -> stage[0].run -> ... -> stage[n-1].run -> proxy
 *                                  |  (each may suspend on I/O, then resume)
 *                                  +-> req_fail / req_reply: answered here
 *                                      (.stream: its body pushed later,
 *                                       req_stream_push ... req_stream_end)
 *   request bytes  -> stage.on_request_body (the decoded payload as it is
 *                     forwarded: chunk framing removed; observe, never buffer)
 *   response head  -> stage.on_response_head (add headers, e.g. RateLimit)
 *   response bytes -> stage.on_response_body (the decoded payload: chunk
 *                     framing removed; observe, never buffer)
 *   exchange over  -> stage.on_done, for every stage whose run was called,
 *                     however it ended (complete, refused, client or upstream gone)
 *
 * A stage's run() must end, now or later from an I/O callback, with exactly
 * one call of req_next(), req_fail() or req_reply(). It may return before
 * that: the request is then suspended (it still counts as its connection's
 * request for http.max_connections and for a drain, and the client is still
 * answered if it half-closes meanwhile). If the client vanishes, the
 * request stays alive until that call, which then finishes it instead.
 *
 * Ownership: that call hands req back. It may forward, answer, finish and
 * free (or recycle) req before it returns, so the stage must not touch req,
 * or anything req owns, after it: read what you need first. The one
 * exception is a streamed reply (stage_reply.stream): the stage pushes to
 * req until it ends it or req's on_done runs, whichever comes first. A stage that
 * waits on Redis relies on the Redis layer's timeout (redis.timeout) to be
 * called back; the connection's backstop deadline (redis.timeout + 1 s)
 * only closes a connection whose stage broke that promise.
 *
 * Every hook (the body observers, on_response_head, on_response_replace,
 * on_upstream_failed, on_done) runs only for a stage that set its
 * req->stage_data[] for the request: a stage with nothing to do for it
 * leaves that NULL, and a plain proxied request then costs no hook call
 * at all (they were a twentieth of its user-space instructions).
 *
 * Hooks run only for stages whose run() was called, in stage order
 * (on_done in reverse): on_response_head once, for the final head (never a
 * 1xx interim one; a 101 that opens a tunnel counts); on_done exactly once,
 * however the exchange ended, also when the gateway answered itself, for a
 * stage whose stage_data is set by then.
 */
#ifndef SLUICE_PIPELINE_H
#define SLUICE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/req.h"

struct stage {
    const char *name;
    void (*run)(struct req *req);
    /* Optional. The request body's payload as the proxy forwards it, after
     * the last stage passed the request on: every byte once, in order,
     * chunk framing removed (a tunnel's bytes from the client, as they
     * are). The bytes that came with the head (req_body_at_hand) are
     * shown too, when they are forwarded. It has all been shown when the
     * body ended (http_msg_complete(&req->body_parser)); a body cut short
     * ends the exchange without it. */
    void (*on_request_body)(struct req *req, const char *p, size_t len);
    /* Optional. The upstream's head is in req->resp_head; append lines to req->response_extra. */
    void (*on_response_head)(struct req *req);
    /* Optional. The response body's payload as it passes, chunk framing
     * removed (a tunnel's bytes from upstream, as they are). */
    void (*on_response_body)(struct req *req, const char *p, size_t len);
    /* Optional. The upstream's final head is in req->resp_head and its
     * response has no body (a 304 to a conditional request the stage
     * added): a stage may return a response to answer with instead (the
     * revalidated entry), owned by it until on_done; NULL: it passes. */
    const struct http_stored_response *(*on_response_replace)(struct req *req);
    /* Optional. The upstream failed (connect, timeout, reset) before any
     * response byte reached the client: a stage may return a response to
     * answer with instead (stale-if-error), owned by it until on_done;
     * NULL: the gateway's error stands. */
    const struct http_stored_response *(*on_upstream_failed)(struct req *req);
    /* Optional. Runs once after the exchange ended; req->outcome says how. */
    void (*on_done)(struct req *req);
};

/* The stages every request passes, in order (pipeline.c). */
extern const struct stage *const pipeline_stages[];
extern const size_t pipeline_nstages;

/* Called when the last stage passes the request on: the proxy's entry point
 * in the gateway, replaceable in unit tests. */
typedef void (*pipeline_forward_cb)(struct req *req);
/* What a stage answers instead of forwarding: a JSON error body
 * {"error":"<error>","message":"<message>"<json_extra>}. Header lines for
 * the answer go to req->response_extra before the call (a Retry-After set
 * there is the only one the answer carries). */
struct http_stored_response;
struct stage_reply {
    unsigned status;
    const char *error;      /* machine code; NULL: from the status ("not_found") */
    const char *message;    /* human text; may be NULL */
    const char *json_extra; /* e.g. ,"limit":"per_minute","retry_after":3; may be NULL */
    /* Instead of the JSON error: a whole response of the stage's own (a
     * cache hit, a replay), sent with the same keep-alive, pipelining,
     * HEAD and backpressure rules as a proxied one, response_extra's lines
     * after its own; copied before anything is sent. NULL: the error. */
    const struct http_stored_response *stored;
    /* With stored: its head and stored->body go out now, chunked, and the
     * rest of the body later, through req_stream_push until req_stream_end:
     * a response the stage relays as it comes (a coalesced miss following
     * its leader's stream). Only for an HTTP/1.1 request that is not HEAD.
     * Unlike a proxied body it has no backpressure on its source: a reader
     * that falls CONN_STREAM_MAX_UNSENT_BYTES behind is closed; one whose
     * write fails is closed at once (its on_done runs). */
    bool stream;
};

/* Called when a request must be answered by the gateway. */
typedef void (*pipeline_reply_cb)(struct req *req, const struct stage_reply *reply);
/* Called when a suspended request resumes after its client vanished. */
typedef void (*pipeline_abandon_cb)(struct req *req);

/* A streamed reply's next body bytes, and its end (req_stream_push/_end). */
typedef void (*pipeline_stream_push_cb)(struct req *req, const char *p, size_t len);
typedef void (*pipeline_stream_end_cb)(struct req *req, bool whole);

struct pipeline_ops {
    pipeline_forward_cb forward;
    pipeline_reply_cb reply;
    pipeline_abandon_cb abandon;
    pipeline_stream_push_cb stream_push;
    pipeline_stream_end_cb stream_end;
};

/* Starts the stages with the given stage table (pipeline_stages in the
 * gateway). The ops outlive every request. */
void pipeline_start(struct req *req, const struct stage *const *stages, size_t nstages,
                    const struct pipeline_ops *ops);

/* The current stage is done with req: the next stage runs, or the proxy. */
void req_next(struct req *req);
/* The current stage answers req itself (a JSON error body). */
void req_fail(struct req *req, unsigned status, const char *error, const char *message);
/* The same, with the whole reply (reply and its strings are copied before
 * anything is sent: they may live on the caller's stack). */
void req_reply(struct req *req, const struct stage_reply *reply);

/* After req_reply with .stream: more of the body (copied). The request
 * stays the stage's to push to until it calls req_stream_end, or until its
 * on_done runs first (the client went away: the stage must then forget
 * req, and push no more). */
void req_stream_push(struct req *req, const char *p, size_t len);
/* The streamed body is over: whole (the last chunk goes out), or cut short
 * (the connection closes after what was sent: the client sees no end of the
 * body). May finish req, its on_done included, before it returns. */
void req_stream_end(struct req *req, bool whole);

/* The request body bytes that arrived with the head (at most the body's
 * Content-Length; a chunked body's bytes still framed), for a stage that
 * wants a bounded look (max_tokens) without holding the body back. Valid
 * until the stage ends; empty when none came. */
struct sl_slice req_body_at_hand(const struct req *req);

/* A stage that answers a request whose whole Content-Length body is at
 * hand (a cache hit for a POST) consumes it first, so the connection can
 * go on with the next request. False when it is not whole at hand (the
 * answer then closes the connection). */
bool req_consume_body_at_hand(struct req *req);

/* True when some stage that ran observes the response body. */
bool pipeline_observes_body(const struct req *req);
/* The same for the request body. */
bool pipeline_observes_request_body(const struct req *req);

/* Hooks: called by the proxy (pipeline_response_head for every head it
 * parses: interim 1xx heads are skipped here). */
void pipeline_request_body(struct req *req, const char *p, size_t len);
void pipeline_response_head(struct req *req);
void pipeline_response_body(struct req *req, const char *p, size_t len);
void pipeline_done(struct req *req);
/* The first answer a stage gives in place of an upstream failure, or NULL. */
const struct http_stored_response *pipeline_upstream_failed(struct req *req);
/* The first answer a stage gives in place of a body-less final response. */
const struct http_stored_response *pipeline_response_replace(struct req *req);

#endif
