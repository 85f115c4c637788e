/*
 * route.h - picks the route for a request: first match wins (SPEC section 3).
 * Pure: no I/O, safe to fuzz.
 */
#ifndef SLUICE_ROUTE_H
#define SLUICE_ROUTE_H

#include <stddef.h>

struct config;
struct config_route;

enum route_match_result { ROUTE_MATCHED, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED };

/*
 * Finds the first route whose path_prefix is a prefix of path (the path part
 * of the request target, without query) and whose methods include method_bit.
 * *out borrows from cfg. ROUTE_METHOD_NOT_ALLOWED when some route matched the
 * path but none the method (answered 404 all the same, see README).
 */
enum route_match_result route_match(const struct config *cfg, const char *path, size_t path_len,
                                    unsigned method_bit, const struct config_route **out);

#endif
