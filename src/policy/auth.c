/*
 * auth.c - the authentication stage.
 *
 * Token verification and Redis sessions (SPEC section 5) are the next piece
 * of work. Until then this stage fails closed: a route with `auth: required`
 * is refused with the SPEC's 401 answers rather than silently let through.
 * Routes with `auth: optional` or `none` pass as anonymous.
 */
#include "policy/auth.h"

#include "config/config.h"

static bool
has_token(const struct req *req)
{
    const char *header = req->cfg->tokens.header ? req->cfg->tokens.header : "authorization";
    const struct http_header *h = http_head_find(&req->head, header);
    return h != NULL && h->value.len > 0;
}

static void
auth_run(struct req *req)
{
    if (req->route == NULL || req->route->auth != CONFIG_AUTH_REQUIRED) {
        req_next(req);
        return;
    }
    if (!has_token(req)) {
        strbuf_append_str(&req->response_extra, "WWW-Authenticate: Bearer realm=\"sluice\"\r\n");
        req_fail(req, 401, "missing_token", "this route requires a session token");
        return;
    }
    strbuf_append_str(&req->response_extra,
                      "WWW-Authenticate: Bearer realm=\"sluice\", error=\"invalid_token\"\r\n");
    req_fail(req, 401, "invalid_token", "session tokens are not verified by this build yet");
}

const struct stage auth_stage = {
    .name = "auth",
    .run = auth_run,
};
