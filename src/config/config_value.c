/*
 * config_value.c - setters for config values with a syntax of their own:
 * addresses (split and resolved once at load time), trusted-proxy CIDR
 * blocks, HTTP header names (RFC 9110 §5.6.2 tokens), methods and the
 * set_headers map. The YAML walking and error reporting are config_yaml.c's.
 */
#include "config/config_value.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "sluice.h"

/* ---- addresses ---------------------------------------------------------- */

/* Splits "host:port" or "[v6]:port" in place; NULL or the reason it is bad. */
static const char *
split_host_port(char *s, bool allow_any, char **host, char **port)
{
    char *colon = strrchr(s, ':');

    if (colon == NULL)
        return "is not host:port";
    *colon = '\0';
    *host = s;
    *port = colon + 1;
    if (s[0] == '[' && colon > s + 1 && colon[-1] == ']') {
        (*host)++;
        colon[-1] = '\0';
    } else if (strchr(s, ':') != NULL) {
        return "is not host:port (write IPv6 addresses as [addr]:port)";
    }
    size_t plen = strlen(*port);
    if (plen == 0 || plen > 5 || strspn(*port, "0123456789") != plen || atoi(*port) < 1 ||
        atoi(*port) > 65535)
        return "needs a numeric port from 1 to 65535";
    if ((*host)[0] == '\0' && !allow_any)
        return "needs a host";
    return NULL;
}

int
config_value_resolve_addr(struct config_yaml *y, const yaml_node_t *n, const char *where,
                          bool allow_any, struct config_addr *out)
{
    char *text = config_yaml_scalar_nonempty(y, n, where);
    if (text == NULL)
        return -1;
    char *s = xstrdup(text), *host, *port;
    const char *bad = split_host_port(s, allow_any, &host, &port);
    struct addrinfo hints = {0}, *res = NULL;
    int rc = 0;
    if (bad == NULL) {
        hints.ai_family = host[0] ? AF_UNSPEC : AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV | (host[0] ? 0 : AI_PASSIVE);
        rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    }
    if (bad != NULL)
        config_yaml_error(y, n, "%s: '%s' %s", where, text, bad);
    else if (rc != 0)
        config_yaml_error(y, n, "%s: cannot resolve '%s': %s", where, host, gai_strerror(rc));
    free(s);
    if (bad != NULL || rc != 0) {
        free(text);
        return -1;
    }
    memcpy(&out->sa, res->ai_addr, res->ai_addrlen);
    out->sa_len = res->ai_addrlen;
    freeaddrinfo(res);
    config_yaml_replace_str(&out->text, text);
    return 0;
}

void
config_value_resolve_addrs(struct config_yaml *y, yaml_node_t *n, const char *where, bool allow_any,
                           struct config_addr **out, size_t *nout)
{
    char child[CONFIG_YAML_WHERE_MAX];
    size_t len = config_yaml_list_len(n);

    *out = xcalloc(len, sizeof(**out));
    *nout = len;
    for (size_t i = 0; i < len; i++) {
        config_yaml_where_index(child, where, i);
        config_value_resolve_addr(y, config_yaml_seq_item(y, n, i), child, allow_any, &(*out)[i]);
    }
}

void
config_value_set_addr(struct config_yaml *y, yaml_node_t *val, void *base,
                      const struct config_yaml_directive *d, const char *where)
{
    config_value_resolve_addr(y, val, where, true, CONFIG_YAML_FIELD(base, d, struct config_addr));
}

void
config_value_set_cidrs(struct config_yaml *y, yaml_node_t *val, void *base,
                       const struct config_yaml_directive *d, const char *where)
{
    struct config *cfg = base;
    char child[CONFIG_YAML_WHERE_MAX];

    if (config_yaml_check_list(y, val, where) < 0)
        return;
    cfg->http.trusted_proxies = xcalloc(config_yaml_list_len(val), sizeof(struct config_cidr));
    for (size_t i = 0; i < config_yaml_list_len(val); i++) {
        yaml_node_t *item = config_yaml_seq_item(y, val, i);
        config_yaml_where_index(child, where, i);
        char *s = config_yaml_scalar_nonempty(y, item, child);
        if (s == NULL)
            continue;
        if (config_parse_cidr(s, &cfg->http.trusted_proxies[cfg->http.ntrusted_proxies]) < 0)
            config_yaml_error(y, item, "%s: '%s' is not an IP address or CIDR block", child, s);
        else
            cfg->http.ntrusted_proxies++;
        free(s);
    }
}

/* ---- HTTP tokens, methods, headers -------------------------------------- */

/* RFC 9110 §5.6.2 tchar */
static bool
is_token(const char *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && strchr(extra, c) == NULL)
            return false;
    }
    return true;
}

static void
lowercase(char *s)
{
    for (; *s != '\0'; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* A header name: an HTTP token, kept lowercase for case-free comparison. */
static char *
header_name(struct config_yaml *y, const yaml_node_t *n, const char *where)
{
    char *s = config_yaml_scalar_nonempty(y, n, where);
    if (s != NULL && !is_token(s)) {
        config_yaml_error(y, n, "%s: '%s' is not a valid header name", where, s);
        free(s);
        return NULL;
    }
    if (s != NULL)
        lowercase(s);
    return s;
}

void
config_value_set_header_name(struct config_yaml *y, yaml_node_t *val, void *base,
                             const struct config_yaml_directive *d, const char *where)
{
    char *s = header_name(y, val, where);
    if (s != NULL)
        config_yaml_replace_str(CONFIG_YAML_FIELD(base, d, char *), s);
}

static unsigned
method_bits(struct config_yaml *y, const yaml_node_t *n, const char *where)
{
    char *s = config_yaml_scalar_nonempty(y, n, where);
    unsigned bit = s ? config_method_bit(s, strlen(s)) : 0;
    if (s != NULL && bit == 0)
        config_yaml_error(y, n, "%s: unknown HTTP method '%s'", where, s);
    free(s);
    return bit;
}

void
config_value_set_methods(struct config_yaml *y, yaml_node_t *val, void *base,
                         const struct config_yaml_directive *d, const char *where)
{
    char child[CONFIG_YAML_WHERE_MAX];
    unsigned bits = 0;

    if (val->type != YAML_SEQUENCE_NODE) {
        bits = method_bits(y, val, where);
    } else {
        for (size_t i = 0; i < config_yaml_seq_len(val); i++) {
            config_yaml_where_index(child, where, i);
            bits |= method_bits(y, config_yaml_seq_item(y, val, i), child);
        }
        if (config_yaml_seq_len(val) == 0)
            config_yaml_error(y, val, "%s: needs at least one method", where);
    }
    if (bits != 0)
        *CONFIG_YAML_FIELD(base, d, unsigned) = bits;
}

/* The value of one set_headers entry; NULL after an error. */
static char *
header_value(struct config_yaml *y, const yaml_node_t *n, const char *where)
{
    char *value = config_yaml_scalar(y, n, where);
    if (value != NULL && strpbrk(value, "\r\n") != NULL) {
        /* a CR or LF would let the value inject headers upstream */
        config_yaml_error(y, n, "%s: value must not contain CR or LF", where);
        free(value);
        return NULL;
    }
    return value;
}

void
config_value_set_headers(struct config_yaml *y, yaml_node_t *val, void *base,
                         const struct config_yaml_directive *d, const char *where)
{
    struct config_upstream *up = base;
    char child[CONFIG_YAML_WHERE_MAX];

    if (config_yaml_is_null(val))
        return;
    if (val->type != YAML_MAPPING_NODE) {
        config_yaml_error(y, val, "%s: expected a mapping, got %s", where,
                          config_yaml_kind_name(val));
        return;
    }
    up->set_headers = xcalloc(config_yaml_map_len(val), sizeof(*up->set_headers));
    for (size_t i = 0; i < config_yaml_map_len(val); i++) {
        char *name = header_name(y, config_yaml_map_key(y, val, i), where);
        if (name == NULL)
            continue;
        config_yaml_where_join(child, where, name);
        char *value = header_value(y, config_yaml_map_value(y, val, i), child);
        if (value == NULL) {
            free(name);
            continue;
        }
        up->set_headers[up->nset_headers++] = (struct config_header){name, value};
    }
}
