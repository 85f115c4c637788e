/*
 * config_yaml.h - the generic half of the config reader (config_parse.c is
 * the other): a libyaml document, errors collected with their position and
 * printed sorted as "FILE:LINE:COL: message", scalars with ${VAR} expanded,
 * and the walker that applies a directive table to a YAML mapping.
 *
 *   config_yaml_load --> document --config_yaml_parse_map(section)--> setters
 *                                                  |
 *                            config_yaml_error --> +--> errors, by position
 *
 * Nothing here knows the schema: the section tables live in config_parse.c
 * and config_value.c. Errors are collected, never fatal, so one run reports
 * every mistake. Every "where" argument is the dotted path of the value
 * ("routes[2].cache.ttl"), used to prefix messages; "" is the top level.
 */
#ifndef SLUICE_CONFIG_YAML_H
#define SLUICE_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <yaml.h>

struct config;
struct config_yaml_error;

#define CONFIG_YAML_WHERE_MAX 192     /* bytes of a "where" path, with its NUL */
#define CONFIG_YAML_DIRECTIVES_MAX 16 /* keys of one section */

/* One parse of one file; lives on the caller's stack (config_yaml_init/_deinit). */
struct config_yaml {
    const char *path;                /* borrowed from the caller; prefixes every error */
    struct config *cfg;              /* borrowed: being built, for setters that need it */
    yaml_document_t doc_;            /* private; valid once config_yaml_load succeeded */
    bool loaded_;                    /* private */
    struct config_yaml_error *errs_; /* private; owns */
    size_t nerrs_;                   /* private */
};

struct config_yaml_directive;

/* Stores val (the node under d->name) into base; reports its own errors. */
typedef void (*config_yaml_set_cb)(struct config_yaml *y, yaml_node_t *val, void *base,
                                   const struct config_yaml_directive *d, const char *where);

/* How a directive's value is laid out, for the generated reference. */
enum config_yaml_shape {
    CONFIG_YAML_SCALAR, /* example is the whole value */
    CONFIG_YAML_MAP,    /* sub's keys, nested */
    CONFIG_YAML_NAMED,  /* example names one entry; sub's keys under it */
    CONFIG_YAML_LIST,   /* one item: sub's keys, or example when sub is NULL */
};

/*
 * One key of a mapping: {name, setter, offset, arg, required} (twemproxy,
 * h2o), then what the reference says of it: `sluice --help-config` and
 * conf/sluice.reference.yaml are printed from these tables alone
 * (config_doc.c), so a key cannot be added without its documentation.
 */
struct config_yaml_directive {
    const char *name;
    config_yaml_set_cb set;
    size_t offset;   /* of the field inside base */
    const void *arg; /* setter-specific: a section, a name list */
    bool required;
    const char *doc;     /* one line */
    const char *example; /* YAML: the default where there is one */
    enum config_yaml_shape shape;
    const struct config_yaml_section *sub; /* MAP, NAMED, LIST of mappings */
    bool alternative;                      /* printed commented out: it excludes another key */
};

struct config_yaml_section {
    const struct config_yaml_directive *d; /* borrowed: a static table */
    size_t n;
};

#define CONFIG_YAML_SECTION(t)                                                                     \
    {                                                                                              \
        (t), SL_ARRAY_LEN(t)                                                                       \
    }
#define CONFIG_YAML_FIELD(base, d, type) ((type *)(void *)((char *)(base) + (d)->offset))

/* ---- lifetime and errors ------------------------------------------------ */

/* path and cfg are borrowed and must outlive y. */
void config_yaml_init(struct config_yaml *y, const char *path, struct config *cfg);
/* Frees the document and any errors not yet flushed. */
void config_yaml_deinit(struct config_yaml *y);

/* Reads the first YAML document of f; -1 after reporting a syntax error. */
int config_yaml_load(struct config_yaml *y, FILE *f);
/* The document's root node; NULL for an empty document. */
yaml_node_t *config_yaml_root(struct config_yaml *y);

/* Records an error at node n (at the start of the file when n is NULL). */
void config_yaml_error(struct config_yaml *y, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Writes every recorded error to out (may be NULL), sorted by position and
 * 1-based, then forgets them. Returns how many there were.
 */
size_t config_yaml_errors_flush(struct config_yaml *y, FILE *out);

/* ---- tree access: nodes are borrowed from the document ------------------ */

const char *config_yaml_kind_name(const yaml_node_t *n);
/* "key:" with nothing after it, or ~ / null: YAML's way of saying nothing. */
bool config_yaml_is_null(const yaml_node_t *n);
/* The unexpanded text of scalar n. */
const char *config_yaml_raw(const yaml_node_t *n);
size_t config_yaml_seq_len(const yaml_node_t *n);
yaml_node_t *config_yaml_seq_item(struct config_yaml *y, const yaml_node_t *n, size_t i);
size_t config_yaml_map_len(const yaml_node_t *n);
yaml_node_t *config_yaml_map_key(struct config_yaml *y, const yaml_node_t *n, size_t i);
yaml_node_t *config_yaml_map_value(struct config_yaml *y, const yaml_node_t *n, size_t i);
/* The value under key name in mapping n, or NULL. */
yaml_node_t *config_yaml_map_find(struct config_yaml *y, const yaml_node_t *n, const char *name);

/* out (CONFIG_YAML_WHERE_MAX bytes) = "where.name" / "where[i]". */
void config_yaml_where_join(char *out, const char *where, const char *name);
void config_yaml_where_index(char *out, const char *where, size_t i);

/* ---- scalars: each returns NULL or -1 after reporting an error ----------- */

/* The scalar value of n with ${VAR} expanded; owned by the caller. */
char *config_yaml_scalar(struct config_yaml *y, const yaml_node_t *n, const char *where);
/* Like config_yaml_scalar(), but a missing or empty value is an error too. */
char *config_yaml_scalar_nonempty(struct config_yaml *y, const yaml_node_t *n, const char *where);
int config_yaml_get_u64(struct config_yaml *y, const yaml_node_t *n, const char *where,
                        uint64_t min, uint64_t max, uint64_t *out);
int config_yaml_get_duration(struct config_yaml *y, const yaml_node_t *n, const char *where,
                             uint64_t min, uint64_t max, uint64_t *out);
/* Index of the value in names (NULL-terminated). */
int config_yaml_get_oneof(struct config_yaml *y, const yaml_node_t *n, const char *where,
                          const char *const *names);

/* Frees *slot and stores s (owned) in it. */
void config_yaml_replace_str(char **slot, char *s);

/* ---- walking ------------------------------------------------------------ */

/*
 * Checks every key of mapping n against sec (unknown, duplicate, missing
 * required), then runs the setters in TABLE order, not file order. A null
 * value counts as an empty mapping. Returns -1 when n is not a mapping.
 */
int config_yaml_parse_map(struct config_yaml *y, yaml_node_t *n,
                          const struct config_yaml_section *sec, void *base, const char *where);

/* 0 for a list or null (an empty list); -1 after an error. */
int config_yaml_check_list(struct config_yaml *y, const yaml_node_t *n, const char *where);
/* Items of a list checked by config_yaml_check_list (0 for null). */
size_t config_yaml_list_len(const yaml_node_t *n);

typedef void (*config_yaml_each_cb)(struct config_yaml *y, yaml_node_t *name, yaml_node_t *val,
                                    const char *where);
/*
 * Walks a "name: {...}" mapping (upstreams, plans), reporting non-scalar and
 * duplicate names; calls each(y, name, value, where) for the rest, in order.
 */
void config_yaml_each_named(struct config_yaml *y, yaml_node_t *val, const char *where,
                            config_yaml_each_cb each);

/* ---- generic setters: store into CONFIG_YAML_FIELD(base, d, ...) -------- */

/* char *; a quoted "" is accepted (redis prefix: "") */
void config_yaml_set_str(struct config_yaml *y, yaml_node_t *val, void *base,
                         const struct config_yaml_directive *d, const char *where);
void config_yaml_set_str_nonempty(struct config_yaml *y, yaml_node_t *val, void *base,
                                  const struct config_yaml_directive *d, const char *where);
/* char *, one of d->arg's NULL-terminated names */
void config_yaml_set_str_oneof(struct config_yaml *y, yaml_node_t *val, void *base,
                               const struct config_yaml_directive *d, const char *where);
/* an enum; d->arg lists the names in enum order */
void config_yaml_set_enum(struct config_yaml *y, yaml_node_t *val, void *base,
                          const struct config_yaml_directive *d, const char *where);
void config_yaml_set_bool(struct config_yaml *y, yaml_node_t *val, void *base,
                          const struct config_yaml_directive *d, const char *where);
/* unsigned, 0 to UINT32_MAX */
void config_yaml_set_uint(struct config_yaml *y, yaml_node_t *val, void *base,
                          const struct config_yaml_directive *d, const char *where);
/* uint64_t, > 0 */
void config_yaml_set_u64(struct config_yaml *y, yaml_node_t *val, void *base,
                         const struct config_yaml_directive *d, const char *where);
/* uint32_t ms */
void config_yaml_set_dur32(struct config_yaml *y, yaml_node_t *val, void *base,
                           const struct config_yaml_directive *d, const char *where);
/* uint32_t ms, > 0 (a TTL or window of zero means nothing) */
void config_yaml_set_dur32_pos(struct config_yaml *y, yaml_node_t *val, void *base,
                               const struct config_yaml_directive *d, const char *where);
/* uint64_t ms, > 0 */
void config_yaml_set_dur64(struct config_yaml *y, yaml_node_t *val, void *base,
                           const struct config_yaml_directive *d, const char *where);
/* size_t bytes, > 0 */
void config_yaml_set_size(struct config_yaml *y, yaml_node_t *val, void *base,
                          const struct config_yaml_directive *d, const char *where);
/* The same, 0 allowed ("none"). */
void config_yaml_set_size0(struct config_yaml *y, yaml_node_t *val, void *base,
                           const struct config_yaml_directive *d, const char *where);
/* a nested mapping; d->arg is its section, whose offsets are from the field */
void config_yaml_set_section(struct config_yaml *y, yaml_node_t *val, void *base,
                             const struct config_yaml_directive *d, const char *where);

#endif
