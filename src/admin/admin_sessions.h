/*
 * admin_sessions.h - the admin session API (SPEC sections 8, 11), behind
 * the admin token (checked by admin.c before these run):
 *
 *   POST   /v1/sessions                      {"user","plan"?,"ttl"?} -> 201
 *   GET    /v1/users/{user}/sessions         -> 200 {"sessions":[...]}
 *   DELETE /v1/users/{user}/sessions/{id}    -> 204, 404 unknown
 *   DELETE /v1/users/{user}/sessions         -> 204
 *
 * Each is one script call on the user's hash tag (lua/session_*.lua),
 * answered from its Redis callback.
 */
#ifndef SLUICE_ADMIN_SESSIONS_H
#define SLUICE_ADMIN_SESSIONS_H

#include <stdbool.h>

struct evhttp_request;
struct config;
struct redis_client;

/* Handles req when path is one of the endpoints above and returns true;
 * returns false (nothing sent) for any other path. cfg is referenced for
 * as long as the answer waits on Redis; rc is borrowed and must outlive
 * every pending answer (it fails them when freed). */
bool admin_sessions_handle(struct config *cfg, struct redis_client *rc, struct evhttp_request *req,
                           const char *path);

/* Sends {"error":error,"message":message} with code: the admin API's error
 * shape, the same as the gateway's. */
void admin_send_error(struct evhttp_request *req, int code, const char *error,
                      const char *message);

/* Sends body (NULL: none) as JSON with code; the body stays the caller's. */
struct json_t;
void admin_send_json(struct evhttp_request *req, int code, struct json_t *body);

/* The request's body as a JSON object (the caller owns it); NULL after
 * answering 400. */
struct json_t *admin_read_json(struct evhttp_request *req);

#endif
