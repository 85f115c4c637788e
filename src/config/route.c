/*
 * route.c - picks a request's route: the first route, in file order, whose
 * path_prefix starts the path and whose methods allow the method.
 *
 *   conn -> http_parse -> [route] -> session -> ratelimit -> cache -> proxy
 *
 * A linear scan: configs hold tens of routes, and first-match-wins keeps the
 * order the operator wrote meaningful (as in nginx's regex locations).
 */
#include "config/route.h"

#include <string.h>

#include "config/config.h"

enum route_match_result
route_match(const struct config *cfg, const char *path, size_t path_len, unsigned method_bit,
            const struct config_route **out)
{
    bool path_matched = false;

    *out = NULL;
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct config_route *r = &cfg->routes[i];
        if (r->path_prefix_len > path_len || memcmp(r->path_prefix, path, r->path_prefix_len) != 0)
            continue;
        if (r->methods != 0 && (r->methods & method_bit) == 0) {
            path_matched = true;
            continue;
        }
        *out = r;
        return ROUTE_MATCHED;
    }
    return path_matched ? ROUTE_METHOD_NOT_ALLOWED : ROUTE_NOT_FOUND;
}
