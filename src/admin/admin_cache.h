/*
 * admin_cache.h - POST /v1/cache/purge (SPEC section 8), O(1) per route:
 *
 *   {"route":"models"}                  the route's generation moves on:
 *                                       every entry of it is gone at once
 *   {"path":"/v1/models?x=1"}           that URL's entry on every shared
 *   {"route":"models","path":"/v1/m"}   cache route (or on that route)
 *   {}                                  every cache route
 *
 * 200 {"purged":N} (routes purged, or entries dropped for a path); 404
 * for a route that is not a cache route; 400 for a bad body or path.
 */
#ifndef SLUICE_ADMIN_CACHE_H
#define SLUICE_ADMIN_CACHE_H

#include <stdbool.h>

struct evhttp_request;
struct config;
struct redis_client;

bool admin_cache_handle(struct config *cfg, struct redis_client *rc, struct evhttp_request *req,
                        const char *path);

#endif
