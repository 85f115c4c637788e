/*
 * test_route.c - route_match: first match wins in file order, prefixes are
 * byte prefixes of the path, methods filter (0 = any), and a path that only
 * matched on a refused method is told apart from no match at all.
 */
#include <string.h>

#include "config/config.h"
#include "config/route.h"
#include "tap.h"

#define ROUTE(n, prefix, m)                                                                        \
    {                                                                                              \
        .name = (n), .path_prefix = (prefix), .path_prefix_len = sizeof(prefix) - 1,               \
        .methods = (m)                                                                             \
    }

static struct config_route routes[] = {
    ROUTE("chat", "/v1/chat/completions", CONFIG_METHOD_POST),
    ROUTE("models", "/v1/models", CONFIG_METHOD_GET | CONFIG_METHOD_HEAD),
    ROUTE("v1", "/v1/", 0),
    ROUTE("admin_only_delete", "/admin", CONFIG_METHOD_DELETE),
};

static const struct {
    const char *path;
    unsigned method;
    enum route_match_result want;
    const char *route; /* NULL when not ROUTE_MATCHED */
} cases[] = {
    {"/v1/chat/completions", CONFIG_METHOD_POST, ROUTE_MATCHED, "chat"},
    {"/v1/chat/completions/x", CONFIG_METHOD_POST, ROUTE_MATCHED, "chat"},
    /* GET on the chat path falls through to the catch-all /v1/ route */
    {"/v1/chat/completions", CONFIG_METHOD_GET, ROUTE_MATCHED, "v1"},
    {"/v1/models", CONFIG_METHOD_GET, ROUTE_MATCHED, "models"},
    {"/v1/models", CONFIG_METHOD_HEAD, ROUTE_MATCHED, "models"},
    {"/v1/models", CONFIG_METHOD_POST, ROUTE_MATCHED, "v1"},
    {"/v1/other", CONFIG_METHOD_PUT, ROUTE_MATCHED, "v1"},
    {"/v1", CONFIG_METHOD_GET, ROUTE_NOT_FOUND, NULL},
    {"/v2/models", CONFIG_METHOD_GET, ROUTE_NOT_FOUND, NULL},
    {"", CONFIG_METHOD_GET, ROUTE_NOT_FOUND, NULL},
    {"/V1/models", CONFIG_METHOD_GET, ROUTE_NOT_FOUND, NULL},
    {"/admin/x", CONFIG_METHOD_DELETE, ROUTE_MATCHED, "admin_only_delete"},
    {"/admin/x", CONFIG_METHOD_GET, ROUTE_METHOD_NOT_ALLOWED, NULL},
    {"/admin", CONFIG_METHOD_POST, ROUTE_METHOD_NOT_ALLOWED, NULL},
};

static void
test_table(void)
{
    struct config cfg = {.routes = routes, .nroutes = sizeof(routes) / sizeof(routes[0])};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct config_route *r = (const void *)&cfg; /* must be overwritten */
        enum route_match_result res =
            route_match(&cfg, cases[i].path, strlen(cases[i].path), cases[i].method, &r);
        is_int(res, cases[i].want, "%s (method bit %u): result", cases[i].path, cases[i].method);
        is_str(r ? r->name : NULL, cases[i].route, "%s (method bit %u): route", cases[i].path,
               cases[i].method);
    }
}

static void
test_path_len_bounds_match(void)
{
    struct config cfg = {.routes = routes, .nroutes = sizeof(routes) / sizeof(routes[0])};
    const struct config_route *r;
    /* path is not NUL-terminated: only path_len bytes may be looked at */
    const char buf[] = "/v1/models?x=1";
    is_int(route_match(&cfg, buf, 3, CONFIG_METHOD_GET, &r), ROUTE_NOT_FOUND,
           "path_len cuts the path");
    is_int(route_match(&cfg, buf, 10, CONFIG_METHOD_GET, &r), ROUTE_MATCHED, "exact length");
    is_str(r->name, "models", "exact length: models");
}

static void
test_first_match_wins(void)
{
    struct config_route two[] = {
        ROUTE("first", "/", 0),
        ROUTE("second", "/v1/models", 0),
    };
    struct config cfg = {.routes = two, .nroutes = 2};
    const struct config_route *r;
    is_int(route_match(&cfg, "/v1/models", 10, CONFIG_METHOD_GET, &r), ROUTE_MATCHED, "matched");
    is_str(r->name, "first", "an earlier, shorter prefix wins over a longer later one");

    struct config empty = {0};
    is_int(route_match(&empty, "/", 1, CONFIG_METHOD_GET, &r), ROUTE_NOT_FOUND, "no routes");
    ok(r == NULL, "no routes: *out is NULL");
}

int
main(void)
{
    test_table();
    test_path_len_bounds_match();
    test_first_match_wins();
    return tap_done();
}
