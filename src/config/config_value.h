/*
 * config_value.h - setters for the values of the config file that are more
 * than a scalar: host:port addresses (resolved at load time), trusted-proxy
 * CIDR blocks, HTTP header names, methods and header maps. The section tables
 * of config_parse.c point at them; each reports its own errors through y.
 */
#ifndef SLUICE_CONFIG_VALUE_H
#define SLUICE_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config_yaml.h"

struct config_addr;

/*
 * Parses "host:port" or "[v6]:port" and resolves it into out (once, at load
 * time: a name that stops resolving later does not break a running gateway).
 * An empty host (":8080") means every IPv4 address, allowed when allow_any.
 * Returns 0, or -1 after reporting an error and leaving out as it was.
 */
int config_value_resolve_addr(struct config_yaml *y, const yaml_node_t *n, const char *where,
                              bool allow_any, struct config_addr *out);
/* Resolves each item of list n into a new array *out of *nout (owned by the caller). */
void config_value_resolve_addrs(struct config_yaml *y, yaml_node_t *n, const char *where,
                                bool allow_any, struct config_addr **out, size_t *nout);

/* A struct config_addr field (empty host allowed). */
void config_value_set_addr(struct config_yaml *y, yaml_node_t *val, void *base,
                           const struct config_yaml_directive *d, const char *where);
/* A char * field: an HTTP token, kept lowercase. */
void config_value_set_header_name(struct config_yaml *y, yaml_node_t *val, void *base,
                                  const struct config_yaml_directive *d, const char *where);
/* An unsigned field of CONFIG_METHOD_* bits: [GET, POST] or a single method. */
void config_value_set_methods(struct config_yaml *y, yaml_node_t *val, void *base,
                              const struct config_yaml_directive *d, const char *where);
/* base is a struct config: http.trusted_proxies. */
void config_value_set_cidrs(struct config_yaml *y, yaml_node_t *val, void *base,
                            const struct config_yaml_directive *d, const char *where);
/* base is a struct config_upstream: set_headers, a name: value mapping. */
void config_value_set_headers(struct config_yaml *y, yaml_node_t *val, void *base,
                              const struct config_yaml_directive *d, const char *where);

#endif
