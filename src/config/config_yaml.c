/*
 * config_yaml.c - the generic half of the config reader: loads the libyaml
 * document, collects errors with their position (sorted before printing, so
 * the output reads top to bottom whatever order the tables ran in), expands
 * ${VAR} and ${VAR:-default} in scalars, and applies directive tables to
 * mappings.
 *
 * The schema itself (which keys, which setters) is config_parse.c's.
 */
#include "config/config_yaml.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "sluice.h"
#include "util/strbuf.h"

struct config_yaml_error {
    size_t line, col; /* 0-based, from libyaml marks */
    size_t seq;       /* keeps equal positions in discovery order */
    char *msg;        /* owns */
};

/* ---- lifetime and errors ------------------------------------------------ */

void
config_yaml_init(struct config_yaml *y, const char *path, struct config *cfg)
{
    *y = (struct config_yaml){.path = path, .cfg = cfg};
}

static void
errors_free(struct config_yaml *y)
{
    for (size_t i = 0; i < y->nerrs_; i++)
        free(y->errs_[i].msg);
    free(y->errs_);
    y->errs_ = NULL;
    y->nerrs_ = 0;
}

void
config_yaml_deinit(struct config_yaml *y)
{
    if (y->loaded_)
        yaml_document_delete(&y->doc_);
    y->loaded_ = false;
    errors_free(y);
}

static void error_va(struct config_yaml *y, yaml_mark_t mark, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
error_va(struct config_yaml *y, yaml_mark_t mark, const char *fmt, va_list ap)
{
    char buf[512], msg[4 * sizeof(buf)];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    /* Messages quote values, and a value (a quoted YAML scalar, an
     * expanded ${VAR}) may hold a newline or another control byte: escape
     * them, so each error stays one "FILE:LINE:COL: message" line. */
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)buf; *p != '\0'; p++) {
        if (*p >= 0x20 && *p != 0x7f)
            msg[o++] = (char)*p;
        else if (*p == '\n' || *p == '\t' || *p == '\r')
            o += (size_t)snprintf(msg + o, 3, "\\%c", *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
        else
            o += (size_t)snprintf(msg + o, 5, "\\x%02x", *p);
    }
    msg[o] = '\0';
    y->errs_ = xrealloc(y->errs_, (y->nerrs_ + 1) * sizeof(*y->errs_));
    y->errs_[y->nerrs_] =
        (struct config_yaml_error){mark.line, mark.column, y->nerrs_, xstrdup(msg)};
    y->nerrs_++;
}

static void error_at(struct config_yaml *y, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
error_at(struct config_yaml *y, yaml_mark_t mark, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_va(y, mark, fmt, ap);
    va_end(ap);
}

void
config_yaml_error(struct config_yaml *y, const yaml_node_t *n, const char *fmt, ...)
{
    yaml_mark_t zero = {0, 0, 0};
    va_list ap;
    va_start(ap, fmt);
    error_va(y, n ? n->start_mark : zero, fmt, ap);
    va_end(ap);
}

static int
error_cmp(const void *a, const void *b)
{
    const struct config_yaml_error *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t
config_yaml_errors_flush(struct config_yaml *y, FILE *out)
{
    size_t n = y->nerrs_;

    if (n > 0)
        qsort(y->errs_, n, sizeof(*y->errs_), error_cmp);
    for (size_t i = 0; i < n && out != NULL; i++)
        fprintf(out, "%s:%zu:%zu: %s\n", y->path, y->errs_[i].line + 1, y->errs_[i].col + 1,
                y->errs_[i].msg);
    errors_free(y);
    return n;
}

int
config_yaml_load(struct config_yaml *y, FILE *f)
{
    yaml_parser_t parser;
    int rc = 0;

    SL_ASSERT(!y->loaded_);
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (yaml_parser_load(&parser, &y->doc_)) {
        y->loaded_ = true;
    } else {
        /* problem_mark is where libyaml gave up; context says what it was in */
        error_at(y, parser.problem_mark, "YAML syntax error: %s%s%s",
                 parser.problem ? parser.problem : "cannot read the file",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        rc = -1;
    }
    yaml_parser_delete(&parser);
    return rc;
}

yaml_node_t *
config_yaml_root(struct config_yaml *y)
{
    return y->loaded_ ? yaml_document_get_root_node(&y->doc_) : NULL;
}

/* ---- tree access -------------------------------------------------------- */

static yaml_node_t *
node_at(struct config_yaml *y, int index)
{
    return yaml_document_get_node(&y->doc_, index);
}

const char *
config_yaml_kind_name(const yaml_node_t *n)
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

bool
config_yaml_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

const char *
config_yaml_raw(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

size_t
config_yaml_seq_len(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *
config_yaml_seq_item(struct config_yaml *y, const yaml_node_t *n, size_t i)
{
    return node_at(y, n->data.sequence.items.start[i]);
}

size_t
config_yaml_map_len(const yaml_node_t *n)
{
    return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

yaml_node_t *
config_yaml_map_key(struct config_yaml *y, const yaml_node_t *n, size_t i)
{
    return node_at(y, n->data.mapping.pairs.start[i].key);
}

yaml_node_t *
config_yaml_map_value(struct config_yaml *y, const yaml_node_t *n, size_t i)
{
    return node_at(y, n->data.mapping.pairs.start[i].value);
}

yaml_node_t *
config_yaml_map_find(struct config_yaml *y, const yaml_node_t *n, const char *name)
{
    for (size_t i = 0; i < config_yaml_map_len(n); i++) {
        yaml_node_t *k = config_yaml_map_key(y, n, i);
        if (k->type == YAML_SCALAR_NODE && strcmp(config_yaml_raw(k), name) == 0)
            return config_yaml_map_value(y, n, i);
    }
    return NULL;
}

void
config_yaml_where_join(char *out, const char *where, const char *name)
{
    snprintf(out, CONFIG_YAML_WHERE_MAX, "%s%s%s", where, where[0] ? "." : "", name);
}

void
config_yaml_where_index(char *out, const char *where, size_t i)
{
    snprintf(out, CONFIG_YAML_WHERE_MAX, "%s[%zu]", where, i);
}

/* ---- scalars ------------------------------------------------------------ */

/*
 * Appends the expansion of "${NAME}" or "${NAME:-default}" starting at s
 * (just past "${") to sb and returns the number of bytes consumed, or 0
 * after reporting an error. As in sh, the default (the text up to the
 * first '}', taken as it is) stands in when NAME is unset or empty.
 */
static size_t
expand_var(struct config_yaml *y, const yaml_node_t *n, const char *s, struct strbuf *sb)
{
    const char *close = strchr(s, '}');
    if (close == NULL) {
        config_yaml_error(y, n, "unterminated ${ in '%s'", config_yaml_raw(n));
        return 0;
    }
    const char *sep = strstr(s, ":-");
    if (sep != NULL && sep > close)
        sep = NULL;
    const char *name_end = sep != NULL ? sep : close;
    char *name = xstrndup(s, (size_t)(name_end - s));
    bool ok = name[0] != '\0' && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                              "0123456789_") == strlen(name);
    const char *v = ok ? getenv(name) : NULL;
    bool use_default = sep != NULL && (v == NULL || v[0] == '\0');
    if (!ok)
        config_yaml_error(y, n, "bad environment variable name '${%s}'", name);
    else if (use_default)
        strbuf_append(sb, sep + 2, (size_t)(close - (sep + 2)));
    else if (v == NULL)
        config_yaml_error(y, n, "environment variable %s is not set", name);
    else
        strbuf_append_str(sb, v);
    free(name);
    return ok && (v != NULL || use_default) ? (size_t)(close - s) + 1 : 0;
}

char *
config_yaml_scalar(struct config_yaml *y, const yaml_node_t *n, const char *where)
{
    if (n->type != YAML_SCALAR_NODE) {
        config_yaml_error(y, n, "%s: expected a scalar, got %s", where, config_yaml_kind_name(n));
        return NULL;
    }
    if (memchr(config_yaml_raw(n), '\0', n->data.scalar.length) != NULL) {
        config_yaml_error(y, n, "%s: value contains a NUL byte", where);
        return NULL;
    }
    struct strbuf sb = {0};
    const char *s = config_yaml_raw(n);
    bool failed = false;
    while (*s != '\0') {
        const char *dollar = strstr(s, "${");
        if (dollar == NULL) {
            strbuf_append_str(&sb, s);
            break;
        }
        strbuf_append(&sb, s, (size_t)(dollar - s));
        size_t used = expand_var(y, n, dollar + 2, &sb);
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

char *
config_yaml_scalar_nonempty(struct config_yaml *y, const yaml_node_t *n, const char *where)
{
    if (config_yaml_is_null(n)) {
        config_yaml_error(y, n, "%s: needs a value", where);
        return NULL;
    }
    char *s = config_yaml_scalar(y, n, where);
    if (s != NULL && s[0] == '\0') {
        config_yaml_error(y, n, "%s: must not be empty", where);
        free(s);
        return NULL;
    }
    return s;
}

int
config_yaml_get_u64(struct config_yaml *y, const yaml_node_t *n, const char *where, uint64_t min,
                    uint64_t max, uint64_t *out)
{
    char *s = config_yaml_scalar_nonempty(y, n, where);
    if (s == NULL)
        return -1;
    bool digits = strspn(s, "0123456789") == strlen(s);
    unsigned long long v = digits ? strtoull(s, NULL, 10) : 0;
    int rc = 0;
    if (!digits || strlen(s) > 19 || v < min || v > max) {
        config_yaml_error(y, n, "%s: '%s' is not an integer from %llu to %llu", where, s,
                          (unsigned long long)min, (unsigned long long)max);
        rc = -1;
    }
    *out = v;
    free(s);
    return rc;
}

int
config_yaml_get_duration(struct config_yaml *y, const yaml_node_t *n, const char *where,
                         uint64_t min, uint64_t max, uint64_t *out)
{
    char *s = config_yaml_scalar_nonempty(y, n, where);
    if (s == NULL)
        return -1;
    int rc = config_parse_duration_ms(s, out);
    if (rc < 0) {
        config_yaml_error(y, n, "%s: '%s' is not a duration (a whole number and ms, s, m, h or d)",
                          where, s);
    } else if (*out < min || *out > max) {
        config_yaml_error(y, n, "%s: '%s' is out of range (%s)", where, s,
                          min ? "must be > 0" : "too large");
        rc = -1;
    }
    free(s);
    return rc;
}

int
config_yaml_get_oneof(struct config_yaml *y, const yaml_node_t *n, const char *where,
                      const char *const *names)
{
    char *s = config_yaml_scalar_nonempty(y, n, where);
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
        config_yaml_error(y, n, "%s: '%s' is not one of: %s", where, s, expect);
    }
    free(s);
    return idx;
}

void
config_yaml_replace_str(char **slot, char *s)
{
    free(*slot);
    *slot = s;
}

/* ---- walking ------------------------------------------------------------ */

/* Matches each key of mapping n to its directive in sec; vals[j] gets its value. */
static void
map_match_keys(struct config_yaml *y, yaml_node_t *n, const struct config_yaml_section *sec,
               const char *where, yaml_node_t **vals)
{
    const char *in = where[0] ? " in " : "";

    for (size_t i = 0; i < config_yaml_map_len(n); i++) {
        yaml_node_t *k = config_yaml_map_key(y, n, i);
        size_t j = 0;
        if (k->type != YAML_SCALAR_NODE) {
            config_yaml_error(y, k, "%s: keys must be scalars, got %s", where,
                              config_yaml_kind_name(k));
            continue;
        }
        while (j < sec->n && strcmp(sec->d[j].name, config_yaml_raw(k)) != 0)
            j++;
        if (j == sec->n)
            config_yaml_error(y, k, "unknown key '%s'%s%s", config_yaml_raw(k), in, where);
        else if (vals[j] != NULL)
            config_yaml_error(y, k, "duplicate key '%s'%s%s", config_yaml_raw(k), in, where);
        else
            vals[j] = config_yaml_map_value(y, n, i);
    }
}

int
config_yaml_parse_map(struct config_yaml *y, yaml_node_t *n, const struct config_yaml_section *sec,
                      void *base, const char *where)
{
    yaml_node_t *vals[CONFIG_YAML_DIRECTIVES_MAX] = {0};
    char child[CONFIG_YAML_WHERE_MAX];

    SL_ASSERT(sec->n <= CONFIG_YAML_DIRECTIVES_MAX);
    if (!config_yaml_is_null(n)) {
        if (n->type != YAML_MAPPING_NODE) {
            config_yaml_error(y, n, "%s: expected a mapping, got %s",
                              where[0] ? where : "top level", config_yaml_kind_name(n));
            return -1;
        }
        map_match_keys(y, n, sec, where, vals);
    }
    for (size_t j = 0; j < sec->n; j++) {
        if (vals[j] == NULL)
            continue;
        config_yaml_where_join(child, where, sec->d[j].name);
        sec->d[j].set(y, vals[j], base, &sec->d[j], child);
    }
    for (size_t j = 0; j < sec->n; j++)
        if (sec->d[j].required && vals[j] == NULL)
            config_yaml_error(y, n, "%s%smissing required key '%s'", where, where[0] ? ": " : "",
                              sec->d[j].name);
    return 0;
}

int
config_yaml_check_list(struct config_yaml *y, const yaml_node_t *n, const char *where)
{
    if (config_yaml_is_null(n) || n->type == YAML_SEQUENCE_NODE)
        return 0;
    config_yaml_error(y, n, "%s: expected a list, got %s", where, config_yaml_kind_name(n));
    return -1;
}

size_t
config_yaml_list_len(const yaml_node_t *n)
{
    return n->type == YAML_SEQUENCE_NODE ? config_yaml_seq_len(n) : 0;
}

void
config_yaml_each_named(struct config_yaml *y, yaml_node_t *val, const char *where,
                       config_yaml_each_cb each)
{
    char child[CONFIG_YAML_WHERE_MAX];

    if (config_yaml_is_null(val))
        return;
    if (val->type != YAML_MAPPING_NODE) {
        config_yaml_error(y, val, "%s: expected a mapping of names, got %s", where,
                          config_yaml_kind_name(val));
        return;
    }
    for (size_t i = 0; i < config_yaml_map_len(val); i++) {
        yaml_node_t *k = config_yaml_map_key(y, val, i);
        yaml_node_t *v = config_yaml_map_value(y, val, i);
        if (k->type != YAML_SCALAR_NODE || config_yaml_raw(k)[0] == '\0') {
            config_yaml_error(y, k, "%s: names must be non-empty scalars", where);
            continue;
        }
        /* the first occurrence of a name is the one map_find returns */
        if (config_yaml_map_find(y, val, config_yaml_raw(k)) != v) {
            config_yaml_error(y, k, "duplicate name '%s' in %s", config_yaml_raw(k), where);
            continue;
        }
        config_yaml_where_join(child, where, config_yaml_raw(k));
        each(y, k, v, child);
    }
}

/* ---- generic setters ---------------------------------------------------- */

void
config_yaml_set_str(struct config_yaml *y, yaml_node_t *val, void *base,
                    const struct config_yaml_directive *d, const char *where)
{
    /* unlike set_str_nonempty, a quoted "" is accepted (redis prefix: "") */
    if (config_yaml_is_null(val)) {
        config_yaml_error(y, val, "%s: needs a value", where);
        return;
    }
    char *s = config_yaml_scalar(y, val, where);
    if (s != NULL)
        config_yaml_replace_str(CONFIG_YAML_FIELD(base, d, char *), s);
}

void
config_yaml_set_str_nonempty(struct config_yaml *y, yaml_node_t *val, void *base,
                             const struct config_yaml_directive *d, const char *where)
{
    char *s = config_yaml_scalar_nonempty(y, val, where);
    if (s != NULL)
        config_yaml_replace_str(CONFIG_YAML_FIELD(base, d, char *), s);
}

void
config_yaml_set_str_oneof(struct config_yaml *y, yaml_node_t *val, void *base,
                          const struct config_yaml_directive *d, const char *where)
{
    const char *const *names = d->arg;
    int i = config_yaml_get_oneof(y, val, where, names);
    if (i >= 0)
        config_yaml_replace_str(CONFIG_YAML_FIELD(base, d, char *), xstrdup(names[i]));
}

void
config_yaml_set_enum(struct config_yaml *y, yaml_node_t *val, void *base,
                     const struct config_yaml_directive *d, const char *where)
{
    int i = config_yaml_get_oneof(y, val, where, d->arg);
    if (i >= 0)
        *CONFIG_YAML_FIELD(base, d, int) = i;
}

void
config_yaml_set_bool(struct config_yaml *y, yaml_node_t *val, void *base,
                     const struct config_yaml_directive *d, const char *where)
{
    static const char *const names[] = {"false", "true", "no", "yes", "off", "on", NULL};
    int i = config_yaml_get_oneof(y, val, where, names);
    if (i >= 0)
        *CONFIG_YAML_FIELD(base, d, bool) = i % 2 == 1;
}

void
config_yaml_set_uint(struct config_yaml *y, yaml_node_t *val, void *base,
                     const struct config_yaml_directive *d, const char *where)
{
    uint64_t v;
    if (config_yaml_get_u64(y, val, where, 0, UINT32_MAX, &v) == 0)
        *CONFIG_YAML_FIELD(base, d, unsigned) = (unsigned)v;
}

void
config_yaml_set_u64(struct config_yaml *y, yaml_node_t *val, void *base,
                    const struct config_yaml_directive *d, const char *where)
{
    uint64_t v;
    if (config_yaml_get_u64(y, val, where, 1, UINT64_MAX, &v) == 0)
        *CONFIG_YAML_FIELD(base, d, uint64_t) = v;
}

void
config_yaml_set_dur32(struct config_yaml *y, yaml_node_t *val, void *base,
                      const struct config_yaml_directive *d, const char *where)
{
    uint64_t v;
    if (config_yaml_get_duration(y, val, where, 0, UINT32_MAX, &v) == 0)
        *CONFIG_YAML_FIELD(base, d, uint32_t) = (uint32_t)v;
}

void
config_yaml_set_dur32_pos(struct config_yaml *y, yaml_node_t *val, void *base,
                          const struct config_yaml_directive *d, const char *where)
{
    uint64_t v;
    if (config_yaml_get_duration(y, val, where, 1, UINT32_MAX, &v) == 0)
        *CONFIG_YAML_FIELD(base, d, uint32_t) = (uint32_t)v;
}

void
config_yaml_set_dur64(struct config_yaml *y, yaml_node_t *val, void *base,
                      const struct config_yaml_directive *d, const char *where)
{
    uint64_t v;
    if (config_yaml_get_duration(y, val, where, 1, UINT64_MAX, &v) == 0)
        *CONFIG_YAML_FIELD(base, d, uint64_t) = v;
}

static void
set_size(struct config_yaml *y, yaml_node_t *val, void *base, const struct config_yaml_directive *d,
         const char *where, bool zero_ok)
{
    char *s = config_yaml_scalar_nonempty(y, val, where);
    if (s == NULL)
        return;
    size_t v;
    if (config_parse_size(s, &v) < 0 || (v == 0 && !zero_ok))
        config_yaml_error(y, val, "%s: '%s' is not a size (like 512, 32KiB, 10MiB, 1GiB)", where,
                          s);
    else
        *CONFIG_YAML_FIELD(base, d, size_t) = v;
    free(s);
}

void
config_yaml_set_size(struct config_yaml *y, yaml_node_t *val, void *base,
                     const struct config_yaml_directive *d, const char *where)
{
    set_size(y, val, base, d, where, false);
}

void
config_yaml_set_size0(struct config_yaml *y, yaml_node_t *val, void *base,
                      const struct config_yaml_directive *d, const char *where)
{
    set_size(y, val, base, d, where, true);
}

void
config_yaml_set_section(struct config_yaml *y, yaml_node_t *val, void *base,
                        const struct config_yaml_directive *d, const char *where)
{
    config_yaml_parse_map(y, val, d->arg, CONFIG_YAML_FIELD(base, d, char), where);
}
