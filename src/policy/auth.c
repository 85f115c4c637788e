/*
 * auth.c - the authentication stage (SPEC section 5): the first stage,
 * and the first that waits on Redis.
 *
 *   token from Authorization: Bearer / the session cookie
 *     -> claims: the worker's claims cache, else token_verify (in-process;
 *        a forged, tampered, expired or garbage token is refused here,
 *        before any Redis command)
 *     -> req_next, with the identity set (X-Sluice-User/Session/Plan for
 *        the upstream); the ratelimit stage then checks the session in
 *        Redis, in the one EVALSHA that also checks its limits
 *
 * auth: required needs all of it; optional treats a missing token as
 * anonymous but refuses a bad one; none never looks.
 */
#include "policy/auth.h"

#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/worker.h"
#include "http/http_credentials.h"
#include "policy/claims_cache.h"
#include "tokens/token.h"
#include "util/clock.h"

#define WWW_AUTH_MISSING "WWW-Authenticate: Bearer realm=\"sluice\"\r\n"
#define WWW_AUTH_INVALID "WWW-Authenticate: Bearer realm=\"sluice\", error=\"invalid_token\"\r\n"

struct http_credentials
auth_credentials(const struct config *cfg)
{
    const char *h = cfg->tokens.header != NULL ? cfg->tokens.header : "";
    const char *c = cfg->tokens.cookie != NULL ? cfg->tokens.cookie : "";
    return (struct http_credentials){{h, strlen(h)}, {c, strlen(c)}};
}

/* RFC 6750 §3.1: a request without credentials gets the challenge without
 * an error code; one with bad credentials gets error="invalid_token". */
void
auth_refuse(struct req *req, const char *error, const char *message)
{
    bool missing = strcmp(error, "missing_token") == 0;
    strbuf_append_str(&req->response_extra, missing ? WWW_AUTH_MISSING : WWW_AUTH_INVALID);
    req_fail(req, 401, error, message);
}

/* Claims from the worker's cache, else verified now (and remembered). */
static enum token_result
claims_for(struct req *req, struct sl_slice token, struct token_claims *claims)
{
    struct claims_cache *cache = req->worker->claims;
    int64_t now_s = clock_wall_ms() / 1000;
    unsigned char digest[CLAIMS_CACHE_DIGEST_BYTES];
    claims_cache_digest(cache, token.p, token.len, digest);
    const struct token_keyring *ring = req->cfg->tokens.keyring;
    switch (claims_cache_get(cache, digest, ring, now_s, claims)) {
    case CLAIMS_CACHE_VALID:
        return TOKEN_OK;
    case CLAIMS_CACHE_REFUSED:
        return TOKEN_INVALID;
    case CLAIMS_CACHE_MISS:
        break;
    }
    if (ring == NULL)
        return TOKEN_INVALID;
    enum token_result r = token_verify(ring, token.p, token.len, now_s, claims);
    if (r == TOKEN_OK)
        claims_cache_put(cache, digest, ring, claims);
    else if (r == TOKEN_INVALID)
        claims_cache_put_refused(cache, digest, ring, now_s);
    return r;
}

/* The plan that applies: the session's own when the config still has it,
 * else the route's (SPEC section 6). */
static const char *
effective_plan(const struct req *req, const struct token_claims *claims)
{
    if (claims->plan[0] != '\0' && config_find_plan(req->cfg, claims->plan) != NULL)
        return claims->plan;
    return req->route->plan != NULL ? req->route->plan : "";
}

static void
add_upstream_field(struct req *req, const char *name, const char *value)
{
    if (value[0] == '\0')
        return;
    strbuf_append_str(&req->upstream_extra, name);
    strbuf_append_str(&req->upstream_extra, value);
    strbuf_append(&req->upstream_extra, "\r\n", 2);
}

/* set_identity copies whole arrays: the claims and the identity agree. */
_Static_assert(TOKEN_SUB_MAX == REQ_USER_MAX, "a user fits the request's identity");
_Static_assert(TOKEN_JTI_MAX == REQ_SESSION_MAX, "a session id fits the request's identity");

static void
set_identity(struct req *req, const struct token_claims *claims)
{
    struct req_identity *id = &req->id;
    memcpy(id->user, claims->sub, sizeof(id->user));
    memcpy(id->session, claims->jti, sizeof(id->session));
    const char *plan = effective_plan(req, claims);
    size_t n = strlen(plan);
    if (n >= sizeof(id->plan))
        n = sizeof(id->plan) - 1;
    memcpy(id->plan, plan, n);
    id->plan[n] = '\0';
    add_upstream_field(req, "X-Sluice-User: ", id->user);
    add_upstream_field(req, "X-Sluice-Session: ", id->session);
    add_upstream_field(req, "X-Sluice-Plan: ", id->plan);
}

static void
auth_run(struct req *req)
{
    enum config_auth mode = req->route != NULL ? req->route->auth : CONFIG_AUTH_NONE;
    if (mode == CONFIG_AUTH_NONE) {
        req_next(req);
        return;
    }
    struct http_credentials where = auth_credentials(req->cfg);
    struct sl_slice token = http_credentials_token(&req->head, &where);
    if (token.len == 0) {
        if (mode == CONFIG_AUTH_OPTIONAL) {
            req_next(req); /* anonymous */
            return;
        }
        auth_refuse(req, "missing_token", "this route requires a session token");
        return;
    }
    struct token_claims claims;
    enum token_result r = claims_for(req, token, &claims);
    if (r == TOKEN_EXPIRED) {
        auth_refuse(req, "token_expired", "the session token has expired");
        return;
    }
    if (r != TOKEN_OK) {
        auth_refuse(req, "invalid_token", "the session token is not valid");
        return;
    }
    set_identity(req, &claims);
    /* Its session is checked in Redis by the next stage, in the same call
     * as its limits (policy/ratelimit.h): one round trip. */
    req_next(req);
}

const struct stage auth_stage = {
    .name = "auth",
    .run = auth_run,
};
