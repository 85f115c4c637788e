/*
 * admin_limits.h - a user's limits in the admin API (SPEC sections 8, 11):
 *
 *   GET    /v1/users/{user}/limits[?plan=NAME]
 *          200 {"limits":[{"name","limit","used","window","reset"}]}
 *          (window and reset in seconds; the plan is ?plan=, else the
 *          plan of the user's newest session, else the first plan that
 *          holds usage; none: an empty list)
 *   DELETE /v1/users/{user}/limits   204: every limit of every plan reset,
 *          and every gateway forgets the refusals it remembered
 */
#ifndef SLUICE_ADMIN_LIMITS_H
#define SLUICE_ADMIN_LIMITS_H

#include <stdbool.h>

struct evhttp_request;
struct config;
struct redis_client;

/* Handles req when path is /v1/users/{user}/limits and returns true;
 * false (nothing sent) otherwise. Ownership as admin_sessions_handle. */
bool admin_limits_handle(struct config *cfg, struct redis_client *rc, struct evhttp_request *req,
                         const char *path);

#endif
