/*
 * pipeline.h - the stages a request passes before it is forwarded, and the
 * hooks that run after its exchange. This is the seam that sessions, rate
 * limits and the cache plug into (SPEC sections 5-7).
 *
 *   head parsed -> route -> stage[0].run -> ... -> stage[n-1].run -> proxy
 *                                  |  (each may suspend on I/O, then resume)
 *                                  +-> req_fail / req_respond: answered here
 *   response head  -> stage.on_response_head (add headers, e.g. RateLimit)
 *   response bytes -> stage.on_response_body (observe, never buffer)
 *   exchange over  -> stage.on_done, for every stage whose run was called,
 *                     however it ended (complete, refused, client or upstream gone)
 *
 * A stage's run() must end, now or later from an I/O callback, with exactly
 * one call of req_next() or req_fail(). It may return before that: the
 * request is then suspended. If the client vanishes meanwhile, the request
 * stays alive until that call, which then finishes it instead.
 */
#ifndef SLUICE_PIPELINE_H
#define SLUICE_PIPELINE_H

#include <stddef.h>

#include "core/req.h"

struct stage {
    const char *name;
    void (*run)(struct req *req);
    /* Optional. The upstream's head is in req->resp_head; append lines to req->response_extra. */
    void (*on_response_head)(struct req *req);
    /* Optional. Bytes of the response body as they pass (chunk framing included). */
    void (*on_response_body)(struct req *req, const char *p, size_t len);
    /* Optional. Runs once after the exchange ended; req->outcome says how. */
    void (*on_done)(struct req *req);
};

/* The stages every request passes, in order (pipeline.c). */
extern const struct stage *const pipeline_stages[];
extern const size_t pipeline_nstages;

/* Called when the last stage passes the request on: the proxy's entry point
 * in the gateway, replaceable in unit tests. */
typedef void (*pipeline_forward_cb)(struct req *req);
/* Called when a request must be answered by the gateway. */
typedef void (*pipeline_reply_cb)(struct req *req, unsigned status, const char *error,
                                  const char *message);
/* Called when a suspended request resumes after its client vanished. */
typedef void (*pipeline_abandon_cb)(struct req *req);

struct pipeline_ops {
    pipeline_forward_cb forward;
    pipeline_reply_cb reply;
    pipeline_abandon_cb abandon;
};

/* Starts the stages with the given stage table (pipeline_stages in the
 * gateway). The ops outlive every request. */
void pipeline_start(struct req *req, const struct stage *const *stages, size_t nstages,
                    const struct pipeline_ops *ops);

/* The current stage is done with req: the next stage runs, or the proxy. */
void req_next(struct req *req);
/* The current stage answers req itself (a JSON error body). */
void req_fail(struct req *req, unsigned status, const char *error, const char *message);

/* Hooks: called by the proxy. */
void pipeline_response_head(struct req *req);
void pipeline_response_body(struct req *req, const char *p, size_t len);
void pipeline_done(struct req *req);

#endif
