/*
 * auth.h - the authentication stage (SPEC section 5).
 */
#ifndef SLUICE_AUTH_H
#define SLUICE_AUTH_H

#include "core/pipeline.h"
#include "http/http_credentials.h"

struct config;

extern const struct stage auth_stage;

/* Where cfg says the client's token travels (tokens.header, tokens.cookie):
 * read by the stage, stripped from every forwarded head. Borrows cfg. */
struct http_credentials auth_credentials(const struct config *cfg);

/* Answers 401 with error (missing_token, invalid_token, token_expired,
 * session_revoked) and the WWW-Authenticate challenge RFC 6750 §3.1 asks
 * for. Ends the current stage (req_fail). */
void auth_refuse(struct req *req, const char *error, const char *message);

#endif
