/*
 * ratelimit.h - the admission stage (SPEC sections 5, 6): the session
 * check and every limit of the caller's plan, in one EVALSHA of
 * lua/check.lua, before the request is forwarded.
 *
 *   caller: the session's user {u:USER} with its plan, else an anonymous
 *           caller {a:IP} with the anonymous limits, else nobody
 *     -> remembered refusal (policy/refusals.h)? 429 at once, no Redis
 *     -> check.lua: session alive? every limit admits? (charged only then)
 *     -> admitted: RateLimit fields on the response, req_next
 *        refused: 429 with Retry-After and {"error":"rate_limited",...}
 *        Redis failed: redis.on_error decides (closed: 503; open: the
 *        in-process fallback limiter, policy/fallback_limiter.h)
 *   exchange over (on_done): the real token usage is committed
 *   (lua/commit.lua) and concurrency slots are released (HDEL), pipelined,
 *   off the request's path.
 */
#ifndef SLUICE_RATELIMIT_H
#define SLUICE_RATELIMIT_H

#include <stdatomic.h>
#include <stdint.h>

#include "config/config.h"
#include "core/pipeline.h"

struct worker;

extern const struct stage ratelimit_stage;

/* A plan may have at most this many limits (config refuses more). */
#define RATELIMIT_MAX_LIMITS CONFIG_PLAN_MAX_LIMITS

/* How long a concurrency slot lives in Redis without renewal: a gateway
 * that crashed frees its slots within this time. A live one renews the
 * slots it holds every RATELIMIT_RENEW_MS. */
#define RATELIMIT_LEASE_MS 60000
#define RATELIMIT_LEASE_MS_STR "60000" /* the same, as check.lua takes it */
#define RATELIMIT_RENEW_MS 20000

/* Per-worker state: remembered refusals, the slots this worker holds. */
struct ratelimit_worker;
struct ratelimit_worker *ratelimit_worker_new(struct worker *w);
void ratelimit_worker_free(struct ratelimit_worker *rw);
/* A reload: what was remembered was decided under the old limits. */
void ratelimit_worker_reload(struct ratelimit_worker *rw);

/* Bumped by the admin API's limit reset: every worker forgets the
 * refusals it remembered. */
void ratelimit_forget_refusals(void);

#endif
