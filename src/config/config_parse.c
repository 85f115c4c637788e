/*
 * config_parse.c - reads the YAML file into a struct config and validates it
 * completely before anyone sees it (SPEC sections 3 and 11).
 *
 *   file --libyaml--> document tree --directive tables--> struct config
 *                                           |
 *                                           +--> errors, sorted by position,
 *                                                "FILE:LINE:COL: message"
 *
 * Each YAML mapping is described by a directive table {name, setter, offset,
 * arg, required} (twemproxy's nc_conf.c, h2o's configurator). parse_map()
 * checks every key against the table first (unknown and duplicate keys), then
 * runs the setters in TABLE order, not file order: upstreams and plans are
 * therefore known when routes refer to them, wherever the file puts them.
 * Errors are collected, not fatal, so one run reports every mistake; they
 * are sorted by position before printing.
 */
#include "config/config.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "sluice.h"
#include "util/strbuf.h"

#define WORKERS_MAX 1024
#define DIRECTIVES_MAX 16
#define WHERE_MAX 192

struct parse_error {
    size_t line, col; /* 0-based, from libyaml marks */
    size_t seq;       /* keeps equal positions in discovery order */
    char *msg;        /* owns */
};

struct parse {
    const char *path; /* borrowed from the caller */
    yaml_document_t doc;
    struct config *cfg;       /* being built; freed by the caller on error */
    struct parse_error *errs; /* owns */
    size_t nerrs;
};

struct directive;
typedef void (*config_set_cb)(struct parse *p, yaml_node_t *val, void *base,
                              const struct directive *d, const char *where);

struct directive {
    const char *name;
    config_set_cb set;
    size_t offset;   /* of the field inside base */
    const void *arg; /* setter-specific: a section, a name list */
    bool required;
};

struct section {
    const struct directive *d;
    size_t n;
};

#define SECTION(t)                                                                                 \
    {                                                                                              \
        (t), SL_ARRAY_LEN(t)                                                                       \
    }
#define FIELD(base, d, type) ((type *)(void *)((char *)(base) + (d)->offset))

/* ---- errors and tree access ------------------------------------------- */

static void perr_at(struct parse *p, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void perr(struct parse *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void perr_va(struct parse *p, yaml_mark_t mark, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
perr_va(struct parse *p, yaml_mark_t mark, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    p->errs = xrealloc(p->errs, (p->nerrs + 1) * sizeof(*p->errs));
    p->errs[p->nerrs] = (struct parse_error){mark.line, mark.column, p->nerrs, xstrdup(buf)};
    p->nerrs++;
}

static void
perr_at(struct parse *p, yaml_mark_t mark, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    perr_va(p, mark, fmt, ap);
    va_end(ap);
}

/* Reports an error at node n (at the start of the file when n is NULL). */
static void
perr(struct parse *p, const yaml_node_t *n, const char *fmt, ...)
{
    yaml_mark_t zero = {0, 0, 0};
    va_list ap;
    va_start(ap, fmt);
    perr_va(p, n ? n->start_mark : zero, fmt, ap);
    va_end(ap);
}

static int
error_cmp(const void *a, const void *b)
{
    const struct parse_error *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
errors_flush(struct parse *p, FILE *out)
{
    if (p->nerrs > 0)
        qsort(p->errs, p->nerrs, sizeof(*p->errs), error_cmp);
    for (size_t i = 0; i < p->nerrs; i++) {
        if (out != NULL)
            fprintf(out, "%s:%zu:%zu: %s\n", p->path, p->errs[i].line + 1, p->errs[i].col + 1,
                    p->errs[i].msg);
        free(p->errs[i].msg);
    }
    free(p->errs);
}

static yaml_node_t *
node_at(struct parse *p, int index)
{
    return yaml_document_get_node(&p->doc, index);
}

static const char *
kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a scalar";
    }
}

/* "key:" with nothing after it, or ~ / null: YAML's way of saying nothing. */
static bool
is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

static const char *
raw(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static size_t
seq_len(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *
seq_item(struct parse *p, const yaml_node_t *n, size_t i)
{
    return node_at(p, n->data.sequence.items.start[i]);
}

static size_t
map_len(const yaml_node_t *n)
{
    return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

/* The value under key name in mapping n, or NULL. */
static yaml_node_t *
map_value(struct parse *p, const yaml_node_t *n, const char *name)
{
    for (size_t i = 0; i < map_len(n); i++) {
        yaml_node_t *k = node_at(p, n->data.mapping.pairs.start[i].key);
        if (k->type == YAML_SCALAR_NODE && strcmp(raw(k), name) == 0)
            return node_at(p, n->data.mapping.pairs.start[i].value);
    }
    return NULL;
}

static void
where_join(char *out, const char *where, const char *name)
{
    snprintf(out, WHERE_MAX, "%s%s%s", where, where[0] ? "." : "", name);
}

static void
where_index(char *out, const char *where, size_t i)
{
    snprintf(out, WHERE_MAX, "%s[%zu]", where, i);
}

/* ---- scalars ------------------------------------------------------------ */

/*
 * Appends the expansion of "${NAME}" starting at s (just past "${") to sb and
 * returns the number of bytes consumed, or 0 after reporting an error.
 */
static size_t
expand_var(struct parse *p, const yaml_node_t *n, const char *s, struct strbuf *sb)
{
    const char *close = strchr(s, '}');
    if (close == NULL) {
        perr(p, n, "unterminated ${ in '%s'", raw(n));
        return 0;
    }
    char *name = xstrndup(s, (size_t)(close - s));
    bool ok = name[0] != '\0' && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                              "0123456789_") == strlen(name);
    const char *v = ok ? getenv(name) : NULL;
    if (!ok)
        perr(p, n, "bad environment variable name '${%s}'", name);
    else if (v == NULL)
        perr(p, n, "environment variable %s is not set", name);
    else
        strbuf_append_str(sb, v);
    free(name);
    return v ? (size_t)(close - s) + 1 : 0;
}

/*
 * The scalar value of n with ${VAR} expanded, owned by the caller; NULL after
 * reporting an error (not a scalar, NUL byte, unset variable).
 */
static char *
scalar(struct parse *p, const yaml_node_t *n, const char *where)
{
    if (n->type != YAML_SCALAR_NODE) {
        perr(p, n, "%s: expected a scalar, got %s", where, kind_name(n));
        return NULL;
    }
    if (memchr(raw(n), '\0', n->data.scalar.length) != NULL) {
        perr(p, n, "%s: value contains a NUL byte", where);
        return NULL;
    }
    struct strbuf sb = {0};
    const char *s = raw(n);
    bool failed = false;
    while (*s != '\0') {
        const char *dollar = strstr(s, "${");
        if (dollar == NULL) {
            strbuf_append_str(&sb, s);
            break;
        }
        strbuf_append(&sb, s, (size_t)(dollar - s));
        size_t used = expand_var(p, n, dollar + 2, &sb);
        if (used == 0) {
            /* keep scanning so every unset variable is reported */
            failed = true;
            const char *close = strchr(dollar + 2, '}');
            if (close == NULL)
                break;
            used = (size_t)(close - (dollar + 2)) + 1;
        }
        s = dollar + 2 + used;
    }
    strbuf_append(&sb, "", 1);
    if (failed) {
        strbuf_deinit(&sb);
        return NULL;
    }
    return sb.p;
}

/* Like scalar(), but a missing or empty value is an error too. */
static char *
scalar_nonempty(struct parse *p, const yaml_node_t *n, const char *where)
{
    if (is_null(n)) {
        perr(p, n, "%s: needs a value", where);
        return NULL;
    }
    char *s = scalar(p, n, where);
    if (s != NULL && s[0] == '\0') {
        perr(p, n, "%s: must not be empty", where);
        free(s);
        return NULL;
    }
    return s;
}

static int
get_u64(struct parse *p, const yaml_node_t *n, const char *where, uint64_t min, uint64_t max,
        uint64_t *out)
{
    char *s = scalar_nonempty(p, n, where);
    if (s == NULL)
        return -1;
    bool digits = strspn(s, "0123456789") == strlen(s);
    unsigned long long v = digits ? strtoull(s, NULL, 10) : 0;
    int rc = 0;
    if (!digits || strlen(s) > 19 || v < min || v > max) {
        perr(p, n, "%s: '%s' is not an integer from %llu to %llu", where, s,
             (unsigned long long)min, (unsigned long long)max);
        rc = -1;
    }
    *out = v;
    free(s);
    return rc;
}

static int
get_duration(struct parse *p, const yaml_node_t *n, const char *where, uint64_t min, uint64_t max,
             uint64_t *out)
{
    char *s = scalar_nonempty(p, n, where);
    if (s == NULL)
        return -1;
    int rc = config_parse_duration_ms(s, out);
    if (rc < 0)
        perr(p, n, "%s: '%s' is not a duration (a whole number and ms, s, m, h or d)", where, s);
    else if (*out < min || *out > max) {
        perr(p, n, "%s: '%s' is out of range (%s)", where, s, min ? "must be > 0" : "too large");
        rc = -1;
    }
    free(s);
    return rc;
}

/* Index of the value in names (NULL-terminated), or -1 after an error. */
static int
get_oneof(struct parse *p, const yaml_node_t *n, const char *where, const char *const *names)
{
    char *s = scalar_nonempty(p, n, where);
    if (s == NULL)
        return -1;
    int idx = -1;
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(s, names[i]) == 0)
            idx = i;
    if (idx < 0) {
        char expect[160] = "";
        for (int i = 0; names[i] != NULL; i++)
            snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect), "%s%s",
                     i ? ", " : "", names[i]);
        perr(p, n, "%s: '%s' is not one of: %s", where, s, expect);
    }
    free(s);
    return idx;
}

/* ---- generic setters ---------------------------------------------------- */

static void
set_str(struct parse *p, yaml_node_t *val, void *base, const struct directive *d, const char *where)
{
    /* unlike set_str_nonempty, a quoted "" is accepted (redis prefix: "") */
    if (is_null(val)) {
        perr(p, val, "%s: needs a value", where);
        return;
    }
    char *s = scalar(p, val, where);
    if (s == NULL)
        return;
    free(*FIELD(base, d, char *));
    *FIELD(base, d, char *) = s;
}

static void
set_str_nonempty(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
                 const char *where)
{
    char *s = scalar_nonempty(p, val, where);
    if (s == NULL)
        return;
    free(*FIELD(base, d, char *));
    *FIELD(base, d, char *) = s;
}

/* A string that must be one of d->arg's names (kept as a string). */
static void
set_str_oneof(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
              const char *where)
{
    int i = get_oneof(p, val, where, d->arg);
    if (i < 0)
        return;
    free(*FIELD(base, d, char *));
    *FIELD(base, d, char *) = xstrdup(((const char *const *)d->arg)[i]);
}

/* An enum field; d->arg lists the names in enum order. */
static void
set_enum(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
         const char *where)
{
    int i = get_oneof(p, val, where, d->arg);
    if (i >= 0)
        *FIELD(base, d, int) = i;
}

static void
set_bool(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
         const char *where)
{
    static const char *const names[] = {"false", "true", "no", "yes", "off", "on", NULL};
    int i = get_oneof(p, val, where, names);
    if (i >= 0)
        *FIELD(base, d, bool) = i % 2 == 1;
}

static void
set_uint(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
         const char *where)
{
    uint64_t v;
    if (get_u64(p, val, where, 0, UINT32_MAX, &v) == 0)
        *FIELD(base, d, unsigned) = (unsigned)v;
}

static void
set_dur32(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
          const char *where)
{
    uint64_t v;
    if (get_duration(p, val, where, 0, UINT32_MAX, &v) == 0)
        *FIELD(base, d, uint32_t) = (uint32_t)v;
}

/* A duration that must be > 0 (a TTL or window of zero means nothing). */
static void
set_dur32_pos(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
              const char *where)
{
    uint64_t v;
    if (get_duration(p, val, where, 1, UINT32_MAX, &v) == 0)
        *FIELD(base, d, uint32_t) = (uint32_t)v;
}

static void
set_dur64(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
          const char *where)
{
    uint64_t v;
    if (get_duration(p, val, where, 1, UINT64_MAX, &v) == 0)
        *FIELD(base, d, uint64_t) = v;
}

static void
set_size(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
         const char *where)
{
    char *s = scalar_nonempty(p, val, where);
    if (s == NULL)
        return;
    size_t v;
    if (config_parse_size(s, &v) < 0 || v == 0)
        perr(p, val, "%s: '%s' is not a size (like 512, 32KiB, 10MiB, 1GiB)", where, s);
    else
        *FIELD(base, d, size_t) = v;
    free(s);
}

static int parse_map(struct parse *p, yaml_node_t *n, const struct section *sec, void *base,
                     const char *where);

/* A nested mapping; d->arg is its section, its offsets are from base. */
static void
set_section(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
            const char *where)
{
    parse_map(p, val, d->arg, FIELD(base, d, char), where);
}

/*
 * Checks every key of mapping n against sec (unknown, duplicate, missing
 * required), then runs the setters in table order. A null value counts as an
 * empty mapping ("http:" with everything commented out). Returns -1 when n is
 * not a mapping.
 */
static int
parse_map(struct parse *p, yaml_node_t *n, const struct section *sec, void *base, const char *where)
{
    yaml_node_t *vals[DIRECTIVES_MAX] = {0};
    char child[WHERE_MAX];

    SL_ASSERT(sec->n <= DIRECTIVES_MAX);
    if (is_null(n))
        goto required;
    if (n->type != YAML_MAPPING_NODE) {
        perr(p, n, "%s: expected a mapping, got %s", where[0] ? where : "top level", kind_name(n));
        return -1;
    }
    for (size_t i = 0; i < map_len(n); i++) {
        yaml_node_t *k = node_at(p, n->data.mapping.pairs.start[i].key);
        size_t j = 0;
        if (k->type != YAML_SCALAR_NODE) {
            perr(p, k, "%s: keys must be scalars, got %s", where, kind_name(k));
            continue;
        }
        while (j < sec->n && strcmp(sec->d[j].name, raw(k)) != 0)
            j++;
        if (j == sec->n)
            perr(p, k, "unknown key '%s'%s%s", raw(k), where[0] ? " in " : "", where);
        else if (vals[j] != NULL)
            perr(p, k, "duplicate key '%s'%s%s", raw(k), where[0] ? " in " : "", where);
        else
            vals[j] = node_at(p, n->data.mapping.pairs.start[i].value);
    }
    for (size_t j = 0; j < sec->n; j++) {
        if (vals[j] == NULL)
            continue;
        where_join(child, where, sec->d[j].name);
        sec->d[j].set(p, vals[j], base, &sec->d[j], child);
    }
required:
    for (size_t j = 0; j < sec->n; j++)
        if (sec->d[j].required && vals[j] == NULL)
            perr(p, n, "%s%smissing required key '%s'", where, where[0] ? ": " : "",
                 sec->d[j].name);
    return 0;
}

/* A list, or null for an empty one; -1 after an error. */
static int
check_list(struct parse *p, const yaml_node_t *n, const char *where)
{
    if (is_null(n) || n->type == YAML_SEQUENCE_NODE)
        return 0;
    perr(p, n, "%s: expected a list, got %s", where, kind_name(n));
    return -1;
}

static size_t
list_len(const yaml_node_t *n)
{
    return n->type == YAML_SEQUENCE_NODE ? seq_len(n) : 0;
}

/* ---- addresses ----------------------------------------------------------- */

/*
 * Parses "host:port" or "[v6]:port" and resolves it into out. An empty host
 * (":8080") means every IPv4 address, for listeners only.
 */
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

/*
 * Parses and resolves an address into out (once, at load time: a name that
 * stops resolving later does not break a running gateway). An empty host
 * (":8080") means every IPv4 address, for listeners only.
 */
static int
resolve_addr(struct parse *p, const yaml_node_t *n, const char *where, bool allow_any,
             struct config_addr *out)
{
    char *text = scalar_nonempty(p, n, where);
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
        perr(p, n, "%s: '%s' %s", where, text, bad);
    else if (rc != 0)
        perr(p, n, "%s: cannot resolve '%s': %s", where, host, gai_strerror(rc));
    free(s);
    if (bad != NULL || rc != 0) {
        free(text);
        return -1;
    }
    memcpy(&out->sa, res->ai_addr, res->ai_addrlen);
    out->sa_len = res->ai_addrlen;
    freeaddrinfo(res);
    free(out->text);
    out->text = text;
    return 0;
}

static void
set_addr(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
         const char *where)
{
    resolve_addr(p, val, where, true, FIELD(base, d, struct config_addr));
}

/* listen: one address or a list of them. */
static void
set_listen(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
           const char *where)
{
    struct config *cfg = base;
    char child[WHERE_MAX];

    if (val->type != YAML_SEQUENCE_NODE) {
        cfg->listen = xcalloc(1, sizeof(*cfg->listen));
        cfg->nlisten = 1;
        resolve_addr(p, val, where, true, &cfg->listen[0]);
        return;
    }
    if (seq_len(val) == 0)
        perr(p, val, "%s: needs at least one address", where);
    cfg->listen = xcalloc(seq_len(val), sizeof(*cfg->listen));
    cfg->nlisten = seq_len(val);
    for (size_t i = 0; i < seq_len(val); i++) {
        where_index(child, where, i);
        resolve_addr(p, seq_item(p, val, i), child, true, &cfg->listen[i]);
    }
}

static void
set_workers(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
            const char *where)
{
    uint64_t v;
    if (val->type == YAML_SCALAR_NODE && strcmp(raw(val), "auto") == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        *FIELD(base, d, unsigned) = n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : (unsigned)n;
    } else if (get_u64(p, val, where, 1, WORKERS_MAX, &v) == 0) {
        *FIELD(base, d, unsigned) = (unsigned)v;
    }
}

static void
set_cidrs(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
          const char *where)
{
    struct config *cfg = base;
    char child[WHERE_MAX];

    if (check_list(p, val, where) < 0)
        return;
    cfg->http.trusted_proxies = xcalloc(list_len(val), sizeof(struct config_cidr));
    for (size_t i = 0; i < list_len(val); i++) {
        yaml_node_t *item = seq_item(p, val, i);
        where_index(child, where, i);
        char *s = scalar_nonempty(p, item, child);
        if (s == NULL)
            continue;
        if (config_parse_cidr(s, &cfg->http.trusted_proxies[cfg->http.ntrusted_proxies]) < 0)
            perr(p, item, "%s: '%s' is not an IP address or CIDR block", child, s);
        else
            cfg->http.ntrusted_proxies++;
        free(s);
    }
}

/* ---- HTTP tokens, methods, headers ------------------------------------- */

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
header_name(struct parse *p, const yaml_node_t *n, const char *where)
{
    char *s = scalar_nonempty(p, n, where);
    if (s != NULL && !is_token(s)) {
        perr(p, n, "%s: '%s' is not a valid header name", where, s);
        free(s);
        return NULL;
    }
    if (s != NULL)
        lowercase(s);
    return s;
}

static void
set_header_name(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
                const char *where)
{
    char *s = header_name(p, val, where);
    if (s == NULL)
        return;
    free(*FIELD(base, d, char *));
    *FIELD(base, d, char *) = s;
}

static unsigned
method_bits(struct parse *p, const yaml_node_t *n, const char *where)
{
    char *s = scalar_nonempty(p, n, where);
    unsigned bit = s ? config_method_bit(s, strlen(s)) : 0;
    if (s != NULL && bit == 0)
        perr(p, n, "%s: unknown HTTP method '%s'", where, s);
    free(s);
    return bit;
}

/* methods: [GET, POST] (or a single method) */
static void
set_methods(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
            const char *where)
{
    char child[WHERE_MAX];
    unsigned bits = 0;

    if (val->type != YAML_SEQUENCE_NODE) {
        bits = method_bits(p, val, where);
    } else {
        for (size_t i = 0; i < seq_len(val); i++) {
            where_index(child, where, i);
            bits |= method_bits(p, seq_item(p, val, i), child);
        }
        if (seq_len(val) == 0)
            perr(p, val, "%s: needs at least one method", where);
    }
    if (bits != 0)
        *FIELD(base, d, unsigned) = bits;
}

static void
set_set_headers(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
                const char *where)
{
    struct config_upstream *up = base;
    char child[WHERE_MAX];

    if (is_null(val))
        return;
    if (val->type != YAML_MAPPING_NODE) {
        perr(p, val, "%s: expected a mapping, got %s", where, kind_name(val));
        return;
    }
    up->set_headers = xcalloc(map_len(val), sizeof(*up->set_headers));
    for (size_t i = 0; i < map_len(val); i++) {
        yaml_node_t *k = node_at(p, val->data.mapping.pairs.start[i].key);
        yaml_node_t *v = node_at(p, val->data.mapping.pairs.start[i].value);
        char *name = header_name(p, k, where);
        if (name == NULL)
            continue;
        where_join(child, where, name);
        char *value = scalar(p, v, child);
        if (value != NULL && strpbrk(value, "\r\n") != NULL) {
            /* a CR or LF would let the value inject headers upstream */
            perr(p, v, "%s: value must not contain CR or LF", child);
            free(value);
            value = NULL;
        }
        if (value == NULL) {
            free(name);
            continue;
        }
        up->set_headers[up->nset_headers++] = (struct config_header){name, value};
    }
}

/* ---- upstreams ---------------------------------------------------------- */

static void
set_servers(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
            const char *where)
{
    struct config_upstream *up = base;
    char child[WHERE_MAX];

    if (check_list(p, val, where) < 0)
        return;
    if (list_len(val) == 0) {
        perr(p, val, "%s: needs at least one server", where);
        return;
    }
    up->servers = xcalloc(seq_len(val), sizeof(*up->servers));
    up->nservers = seq_len(val);
    for (size_t i = 0; i < seq_len(val); i++) {
        where_index(child, where, i);
        resolve_addr(p, seq_item(p, val, i), child, false, &up->servers[i]);
    }
}

static const struct directive upstream_directives[] = {
    {"servers", set_servers, 0, NULL, true},
    {"keepalive", set_uint, offsetof(struct config_upstream, keepalive), NULL, false},
    {"connect_timeout", set_dur32_pos, offsetof(struct config_upstream, connect_timeout_ms), NULL,
     false},
    {"read_timeout", set_dur32_pos, offsetof(struct config_upstream, read_timeout_ms), NULL, false},
    {"idle_timeout", set_dur32_pos, offsetof(struct config_upstream, idle_timeout_ms), NULL, false},
    {"fail_timeout", set_dur32, offsetof(struct config_upstream, fail_timeout_ms), NULL, false},
    {"set_headers", set_set_headers, 0, NULL, false},
};
static const struct section upstream_section = SECTION(upstream_directives);

static void
upstream_init(struct config_upstream *up, const char *name, unsigned index)
{
    memset(up, 0, sizeof(*up));
    up->name = xstrdup(name);
    up->index = index;
    up->keepalive = 64;
    up->connect_timeout_ms = 2000;
    up->read_timeout_ms = 300000;
    up->idle_timeout_ms = 60000;
    up->fail_timeout_ms = 10000;
}

/*
 * Walks a "name: {...}" mapping (upstreams, plans), reporting non-scalar and
 * duplicate names; calls each(p, name_node, value_node, where) for the rest.
 */
static void
each_named(struct parse *p, yaml_node_t *val, const char *where,
           void (*each)(struct parse *, yaml_node_t *, yaml_node_t *, const char *))
{
    char child[WHERE_MAX];

    if (is_null(val))
        return;
    if (val->type != YAML_MAPPING_NODE) {
        perr(p, val, "%s: expected a mapping of names, got %s", where, kind_name(val));
        return;
    }
    for (size_t i = 0; i < map_len(val); i++) {
        yaml_node_t *k = node_at(p, val->data.mapping.pairs.start[i].key);
        if (k->type != YAML_SCALAR_NODE || raw(k)[0] == '\0') {
            perr(p, k, "%s: names must be non-empty scalars", where);
            continue;
        }
        if (map_value(p, val, raw(k)) != node_at(p, val->data.mapping.pairs.start[i].value)) {
            perr(p, k, "duplicate name '%s' in %s", raw(k), where);
            continue;
        }
        where_join(child, where, raw(k));
        each(p, k, node_at(p, val->data.mapping.pairs.start[i].value), child);
    }
}

static void
upstream_each(struct parse *p, yaml_node_t *k, yaml_node_t *v, const char *where)
{
    struct config *cfg = p->cfg;
    cfg->upstreams = xrealloc(cfg->upstreams, (cfg->nupstreams + 1) * sizeof(*cfg->upstreams));
    struct config_upstream *up = &cfg->upstreams[cfg->nupstreams];
    upstream_init(up, raw(k), (unsigned)cfg->nupstreams);
    cfg->nupstreams++;
    parse_map(p, v, &upstream_section, up, where);
    up->server_down_until_ms = xcalloc(up->nservers, sizeof(*up->server_down_until_ms));
}

static void
set_upstreams(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
              const char *where)
{
    each_named(p, val, where, upstream_each);
}

/* ---- plans and limits --------------------------------------------------- */

static void
set_amount(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
           const char *where)
{
    struct config_limit *lim = base;
    uint64_t v;
    if (get_u64(p, val, where, 1, UINT64_MAX, &v) < 0)
        return;
    lim->amount = v;
    lim->kind = (enum config_limit_kind)(intptr_t)d->arg;
}

static void
set_precision(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
              const char *where)
{
    uint64_t v;
    if (get_u64(p, val, where, 1, 100000, &v) == 0)
        ((struct config_limit *)base)->precision = (unsigned)v;
}

static void
set_u64(struct parse *p, yaml_node_t *val, void *base, const struct directive *d, const char *where)
{
    uint64_t v;
    if (get_u64(p, val, where, 1, UINT64_MAX, &v) == 0)
        *FIELD(base, d, uint64_t) = v;
}

static const struct directive limit_directives[] = {
    {"name", set_str_nonempty, offsetof(struct config_limit, name), NULL, true},
    {"requests", set_amount, 0, (const void *)(intptr_t)CONFIG_LIMIT_REQUESTS, false},
    {"tokens", set_amount, 0, (const void *)(intptr_t)CONFIG_LIMIT_TOKENS, false},
    {"concurrent", set_amount, 0, (const void *)(intptr_t)CONFIG_LIMIT_CONCURRENT, false},
    {"window", set_dur32_pos, offsetof(struct config_limit, window_ms), NULL, false},
    {"precision", set_precision, 0, NULL, false},
    {"estimate", set_u64, offsetof(struct config_limit, estimate), NULL, false},
};
static const struct section limit_section = SECTION(limit_directives);

/* The rules one table cannot say: exactly one amount, window iff windowed. */
static void
limit_check(struct parse *p, yaml_node_t *n, struct config_limit *lim, const char *where)
{
    static const char *const amounts[] = {"requests", "tokens", "concurrent"};
    int namounts = 0;
    yaml_node_t *window = map_value(p, n, "window");

    for (size_t i = 0; i < SL_ARRAY_LEN(amounts); i++)
        namounts += map_value(p, n, amounts[i]) != NULL;
    if (namounts != 1) {
        perr(p, n, "%s: needs exactly one of requests, tokens or concurrent", where);
        return;
    }
    if (lim->kind == CONFIG_LIMIT_CONCURRENT) {
        const char *extra[] = {"window", "precision", "estimate"};
        for (size_t i = 0; i < SL_ARRAY_LEN(extra); i++)
            if (map_value(p, n, extra[i]) != NULL)
                perr(p, map_value(p, n, extra[i]), "%s: %s does not apply to a concurrent limit",
                     where, extra[i]);
        lim->precision = 0;
        lim->estimate = 0;
        return;
    }
    if (window == NULL)
        perr(p, n, "%s: a %s limit needs a window", where, amounts[lim->kind]);
    else if (lim->window_ms != 0 && lim->precision > lim->window_ms)
        perr(p, map_value(p, n, "precision"), "%s: precision is finer than 1ms", where);
    if (lim->kind == CONFIG_LIMIT_REQUESTS && map_value(p, n, "estimate") != NULL)
        perr(p, map_value(p, n, "estimate"), "%s: estimate applies to tokens limits only", where);
    if (lim->kind == CONFIG_LIMIT_REQUESTS)
        lim->estimate = 0;
}

static void
parse_limits(struct parse *p, yaml_node_t *val, const char *where, struct config_limit **out,
             size_t *nout)
{
    char child[WHERE_MAX];

    if (check_list(p, val, where) < 0)
        return;
    *out = xcalloc(list_len(val), sizeof(**out));
    for (size_t i = 0; i < list_len(val); i++) {
        yaml_node_t *item = seq_item(p, val, i);
        struct config_limit *lim = &(*out)[*nout];
        where_index(child, where, i);
        *lim = (struct config_limit){.precision = 60, .estimate = 1000};
        (*nout)++;
        if (parse_map(p, item, &limit_section, lim, child) < 0 || is_null(item))
            continue;
        limit_check(p, item, lim, child);
        for (size_t j = 0; j + 1 < *nout && lim->name != NULL; j++)
            if ((*out)[j].name != NULL && strcmp((*out)[j].name, lim->name) == 0)
                perr(p, map_value(p, item, "name"), "%s: duplicate limit name '%s'", child,
                     lim->name);
    }
}

static void
set_plan_limits(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
                const char *where)
{
    struct config_plan *plan = base;
    parse_limits(p, val, where, &plan->limits, &plan->nlimits);
}

static const struct directive plan_directives[] = {
    {"limits", set_plan_limits, 0, NULL, true},
};
static const struct section plan_section = SECTION(plan_directives);

static void
plan_each(struct parse *p, yaml_node_t *k, yaml_node_t *v, const char *where)
{
    struct config *cfg = p->cfg;
    cfg->plans = xrealloc(cfg->plans, (cfg->nplans + 1) * sizeof(*cfg->plans));
    struct config_plan *plan = &cfg->plans[cfg->nplans++];
    *plan = (struct config_plan){.name = xstrdup(raw(k))};
    parse_map(p, v, &plan_section, plan, where);
}

static void
set_plans(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
          const char *where)
{
    each_named(p, val, where, plan_each);
}

static void
set_anon_limits(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
                const char *where)
{
    struct config *cfg = base;
    parse_limits(p, val, where, &cfg->anonymous.limits, &cfg->anonymous.nlimits);
}

static const char *const anon_keys[] = {"client_ip", NULL};
static const struct directive anonymous_directives[] = {
    {"key", set_str_oneof, offsetof(struct config, anonymous.key), anon_keys, false},
    {"limits", set_anon_limits, 0, NULL, false},
};
static const struct section anonymous_section = SECTION(anonymous_directives);

static void
set_anonymous(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
              const char *where)
{
    struct config *cfg = base;
    cfg->has_anonymous = true;
    cfg->anonymous.key = xstrdup("client_ip");
    parse_map(p, val, &anonymous_section, cfg, where);
}

/* ---- routes ------------------------------------------------------------- */

static void
set_path_prefix(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
                const char *where)
{
    struct config_route *r = base;
    char *s = scalar_nonempty(p, val, where);
    if (s != NULL && s[0] != '/') {
        perr(p, val, "%s: '%s' must start with '/'", where, s);
        free(s);
        s = NULL;
    }
    if (s == NULL)
        return;
    free(r->path_prefix);
    r->path_prefix = s;
    r->path_prefix_len = strlen(s);
}

static void
set_route_upstream(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
                   const char *where)
{
    struct config_route *r = base;
    char *s = scalar_nonempty(p, val, where);
    if (s == NULL)
        return;
    r->upstream = config_find_upstream(p->cfg, s);
    if (r->upstream == NULL)
        perr(p, val, "%s: upstream '%s' is not defined under upstreams", where, s);
    free(s);
}

static void
set_route_plan(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
               const char *where)
{
    struct config_route *r = base;
    char *s = scalar_nonempty(p, val, where);
    if (s == NULL)
        return;
    if (config_find_plan(p->cfg, s) == NULL)
        perr(p, val, "%s: plan '%s' is not defined under plans", where, s);
    free(r->plan);
    r->plan = s;
}

static const struct directive match_directives[] = {
    {"path_prefix", set_path_prefix, 0, NULL, false},
    {"methods", set_methods, offsetof(struct config_route, methods), NULL, false},
};
static const struct section match_section = SECTION(match_directives);

static const char *const scope_names[] = {"shared", "user", NULL};
static const struct directive cache_directives[] = {
    {"ttl", set_dur32_pos, offsetof(struct config_route, cache.ttl_ms), NULL, true},
    {"scope", set_enum, offsetof(struct config_route, cache.scope), scope_names, false},
    {"methods", set_methods, offsetof(struct config_route, cache.methods), NULL, false},
    {"stale_while_revalidate", set_dur32,
     offsetof(struct config_route, cache.stale_while_revalidate_ms), NULL, false},
    {"stale_if_error", set_dur32, offsetof(struct config_route, cache.stale_if_error_ms), NULL,
     false},
};
static const struct section cache_section = SECTION(cache_directives);

static void
set_cache(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
          const char *where)
{
    struct config_route *r = base;
    r->cache.enabled = true;
    parse_map(p, val, &cache_section, r, where);
}

static const char *const auth_names[] = {"required", "optional", "none", NULL};
static const struct directive route_directives[] = {
    {"name", set_str_nonempty, offsetof(struct config_route, name), NULL, false},
    {"match", set_section, 0, &match_section, false},
    {"upstream", set_route_upstream, 0, NULL, true},
    {"auth", set_enum, offsetof(struct config_route, auth), auth_names, false},
    {"plan", set_route_plan, 0, NULL, false},
    {"idempotency", set_bool, offsetof(struct config_route, idempotency), NULL, false},
    {"idempotency_ttl", set_dur32_pos, offsetof(struct config_route, idempotency_ttl_ms), NULL,
     false},
    {"cache", set_cache, 0, NULL, false},
};
static const struct section route_section = SECTION(route_directives);

static void
route_init(struct config_route *r)
{
    memset(r, 0, sizeof(*r));
    r->path_prefix = xstrdup("/");
    r->path_prefix_len = 1;
    r->auth = CONFIG_AUTH_REQUIRED;
    r->idempotency_ttl_ms = 24u * 3600 * 1000;
    r->cache.scope = CONFIG_CACHE_SHARED;
    r->cache.methods = CONFIG_METHOD_GET | CONFIG_METHOD_HEAD;
}

static void
route_name_check(struct parse *p, yaml_node_t *n, size_t i)
{
    struct config *cfg = p->cfg;
    struct config_route *r = &cfg->routes[i];
    char buf[32];

    if (r->name == NULL) {
        snprintf(buf, sizeof(buf), "route%zu", i);
        r->name = xstrdup(buf);
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(cfg->routes[j].name, r->name) != 0)
            continue;
        yaml_node_t *at = n->type == YAML_MAPPING_NODE ? map_value(p, n, "name") : NULL;
        perr(p, at ? at : n, "routes[%zu]: duplicate route name '%s'", i, r->name);
        break;
    }
}

static void
set_routes(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
           const char *where)
{
    struct config *cfg = base;
    char child[WHERE_MAX];

    if (check_list(p, val, where) < 0)
        return;
    if (list_len(val) == 0) {
        perr(p, val, "no routes");
        return;
    }
    cfg->routes = xcalloc(seq_len(val), sizeof(*cfg->routes));
    for (size_t i = 0; i < seq_len(val); i++) {
        yaml_node_t *item = seq_item(p, val, i);
        where_index(child, where, i);
        route_init(&cfg->routes[i]);
        cfg->nroutes++;
        if (is_null(item))
            perr(p, item, "%s: empty route", child);
        else
            parse_map(p, item, &route_section, &cfg->routes[i], child);
        route_name_check(p, item, i);
    }
}

/* ---- sections of the top level ------------------------------------------ */

static const struct directive admin_directives[] = {
    {"listen", set_addr, offsetof(struct config, admin_listen), NULL, true},
    /* required: the admin API mints sessions, it must never be open */
    {"token", set_str_nonempty, offsetof(struct config, admin_token), NULL, true},
};
static const struct section admin_section = SECTION(admin_directives);

static void
set_redis_url(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
              const char *where)
{
    struct config *cfg = base;
    char *s = scalar_nonempty(p, val, where);
    if (s == NULL)
        return;
    if (strncmp(s, "redis://", 8) != 0 && strncmp(s, "unix://", 7) != 0) {
        perr(p, val, "%s: '%s' is not a redis:// or unix:// URL", where, s);
        free(s);
        return;
    }
    free(cfg->redis.url);
    cfg->redis.url = s;
}

static const char *const on_error_names[] = {"closed", "open", NULL};
static const struct directive redis_directives[] = {
    {"url", set_redis_url, 0, NULL, false},
    {"prefix", set_str, offsetof(struct config, redis.prefix), NULL, false},
    {"timeout", set_dur32_pos, offsetof(struct config, redis.timeout_ms), NULL, false},
    {"on_error", set_enum, offsetof(struct config, redis.on_error), on_error_names, false},
};
static const struct section redis_section = SECTION(redis_directives);

/* One entry of tokens.keys: exactly one of secret, public or local. */
static void
parse_key(struct parse *p, yaml_node_t *n, const char *where, struct config_key *key)
{
    static const char *const kinds[] = {"secret", "public", "local"};
    char prefix[16];

    if (n->type != YAML_MAPPING_NODE || map_len(n) != 1) {
        perr(p, n, "%s: expected one of { secret: ... }, { public: ... }, { local: ... }", where);
        return;
    }
    yaml_node_t *k = node_at(p, n->data.mapping.pairs.start[0].key);
    yaml_node_t *v = node_at(p, n->data.mapping.pairs.start[0].value);
    size_t kind = 0;
    while (kind < SL_ARRAY_LEN(kinds) &&
           (k->type != YAML_SCALAR_NODE || strcmp(raw(k), kinds[kind]) != 0))
        kind++;
    if (kind == SL_ARRAY_LEN(kinds)) {
        perr(p, k, "unknown key '%s' in %s", k->type == YAML_SCALAR_NODE ? raw(k) : "?", where);
        return;
    }
    char *s = scalar_nonempty(p, v, where);
    snprintf(prefix, sizeof(prefix), "k4.%s.", kinds[kind]);
    if (s != NULL && (strncmp(s, prefix, strlen(prefix)) != 0 || s[strlen(prefix)] == '\0'))
        perr(p, v, "%s: a %s key must be a PASERK string starting with %s", where, kinds[kind],
             prefix);
    else if (s != NULL &&
             (p->cfg->tokens.format == CONFIG_TOKENS_V4_LOCAL) != (kind == CONFIG_KEY_LOCAL))
        perr(p, k, "%s: a %s key does not fit format %s", where, kinds[kind],
             p->cfg->tokens.format == CONFIG_TOKENS_V4_LOCAL ? "paseto-v4-local"
                                                             : "paseto-v4-public");
    else if (s != NULL) {
        key->kind = (enum config_key_kind)kind;
        key->paserk = s;
        return;
    }
    free(s);
}

static void
set_keys(struct parse *p, yaml_node_t *val, void *base, const struct directive *d,
         const char *where)
{
    struct config *cfg = base;
    char child[WHERE_MAX];

    if (check_list(p, val, where) < 0)
        return;
    cfg->tokens.keys = xcalloc(list_len(val), sizeof(*cfg->tokens.keys));
    for (size_t i = 0; i < list_len(val); i++) {
        struct config_key key = {0};
        where_index(child, where, i);
        parse_key(p, seq_item(p, val, i), child, &key);
        if (key.paserk != NULL)
            cfg->tokens.keys[cfg->tokens.nkeys++] = key;
    }
}

/* format comes before keys: keys are checked against it */
static const char *const format_names[] = {"paseto-v4-public", "paseto-v4-local", NULL};
static const struct directive tokens_directives[] = {
    {"format", set_enum, offsetof(struct config, tokens.format), format_names, false},
    {"keys", set_keys, 0, NULL, false},
    {"header", set_header_name, offsetof(struct config, tokens.header), NULL, false},
    {"cookie", set_str_nonempty, offsetof(struct config, tokens.cookie), NULL, false},
    {"session_ttl", set_dur32_pos, offsetof(struct config, tokens.session_ttl_ms), NULL, false},
    {"sliding", set_bool, offsetof(struct config, tokens.sliding), NULL, false},
    {"max_lifetime", set_dur64, offsetof(struct config, tokens.max_lifetime_ms), NULL, false},
};
static const struct section tokens_section = SECTION(tokens_directives);

static const struct directive http_directives[] = {
    {"max_header_size", set_size, offsetof(struct config, http.max_header_size), NULL, false},
    {"max_body_size", set_size, offsetof(struct config, http.max_body_size), NULL, false},
    {"header_timeout", set_dur32_pos, offsetof(struct config, http.header_timeout_ms), NULL, false},
    {"body_timeout", set_dur32_pos, offsetof(struct config, http.body_timeout_ms), NULL, false},
    {"idle_timeout", set_dur32_pos, offsetof(struct config, http.idle_timeout_ms), NULL, false},
    {"drain_timeout", set_dur32, offsetof(struct config, http.drain_timeout_ms), NULL, false},
    {"trusted_proxies", set_cidrs, 0, NULL, false},
};
static const struct section http_section = SECTION(http_directives);

static const char *const level_names[] = {"debug", "info", "warn", "error", NULL};
static const struct directive log_directives[] = {
    /* "stdout", "stderr", "off" or a file path */
    {"access", set_str_nonempty, offsetof(struct config, log.access), NULL, false},
    {"level", set_str_oneof, offsetof(struct config, log.level), level_names, false},
};
static const struct section log_section = SECTION(log_directives);

/* Table order is evaluation order: upstreams and plans before routes. */
static const struct directive top_directives[] = {
    {"listen", set_listen, 0, NULL, true},
    {"workers", set_workers, offsetof(struct config, workers), NULL, false},
    {"admin", set_section, 0, &admin_section, false},
    {"redis", set_section, 0, &redis_section, false},
    {"tokens", set_section, 0, &tokens_section, false},
    {"http", set_section, 0, &http_section, false},
    {"log", set_section, 0, &log_section, false},
    {"upstreams", set_upstreams, 0, NULL, false},
    {"plans", set_plans, 0, NULL, false},
    {"anonymous", set_anonymous, 0, NULL, false},
    {"routes", set_routes, 0, NULL, false},
};
static const struct section top_section = SECTION(top_directives);

/* ---- loading ------------------------------------------------------------ */

static struct config *
config_new(const char *path)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    atomic_init(&cfg->refs_, 1);
    cfg->path = xstrdup(path);
    cfg->workers = 1;
    cfg->redis.url = xstrdup("redis://127.0.0.1:6379/0");
    cfg->redis.prefix = xstrdup("sluice:");
    cfg->redis.timeout_ms = 100;
    cfg->redis.on_error = CONFIG_ON_ERROR_CLOSED;
    cfg->tokens.format = CONFIG_TOKENS_V4_PUBLIC;
    cfg->tokens.header = xstrdup("authorization");
    cfg->tokens.cookie = xstrdup("sluice_session");
    cfg->tokens.session_ttl_ms = 3600u * 1000;
    cfg->tokens.sliding = true;
    cfg->tokens.max_lifetime_ms = 30ull * 86400 * 1000;
    cfg->http.max_header_size = 32u << 10;
    cfg->http.max_body_size = 10u << 20;
    cfg->http.header_timeout_ms = 10000;
    cfg->http.body_timeout_ms = 60000;
    cfg->http.idle_timeout_ms = 75000;
    cfg->http.drain_timeout_ms = 30000;
    cfg->log.access = xstrdup("stdout");
    cfg->log.level = xstrdup("info");
    return cfg;
}

/* Reads the first YAML document of f; -1 after reporting a syntax error. */
static int
load_document(struct parse *p, FILE *f)
{
    yaml_parser_t parser;
    int rc = 0;

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &p->doc)) {
        /* problem_mark is where libyaml gave up; context says what it was in */
        perr_at(p, parser.problem_mark, "YAML syntax error: %s%s%s",
                parser.problem ? parser.problem : "cannot read the file", parser.context ? " " : "",
                parser.context ? parser.context : "");
        rc = -1;
    }
    yaml_parser_delete(&parser);
    return rc;
}

static void
parse_document(struct parse *p)
{
    yaml_node_t *root = yaml_document_get_root_node(&p->doc);

    if (root == NULL) {
        perr(p, NULL, "empty configuration: expected a mapping with listen, upstreams, routes");
        return;
    }
    if (root->type != YAML_MAPPING_NODE) {
        perr(p, root, "the top level must be a mapping, got %s", kind_name(root));
        return;
    }
    parse_map(p, root, &top_section, p->cfg, "");
    if (map_value(p, root, "routes") == NULL)
        perr(p, root, "no routes");
}

struct config *
config_load(const char *path, FILE *err_out)
{
    struct parse p = {.path = path};
    FILE *f = fopen(path, "rb");

    if (f == NULL) {
        if (err_out != NULL)
            fprintf(err_out, "%s:1:1: cannot open: %s\n", path, strerror(errno));
        return NULL;
    }
    p.cfg = config_new(path);
    if (load_document(&p, f) == 0) {
        parse_document(&p);
        yaml_document_delete(&p.doc);
    }
    fclose(f);
    bool failed = p.nerrs > 0;
    errors_flush(&p, err_out);
    if (failed) {
        config_unref(p.cfg);
        return NULL;
    }
    return p.cfg;
}
