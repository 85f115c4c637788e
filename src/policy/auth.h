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

#endif
