/*
 * metrics.c - Prometheus counters and histograms, sharded per worker.
 *
 *   worker 0 -> shard 0 { mutex, requests table, upstream errors table }
 *   worker 1 -> shard 1 { ... }                    ^
 *   admin /metrics: lock list, lock each shard in turn, merge, render
 *
 * A shard's mutex is only ever contended by the scraper, so on the request
 * path it costs an uncontended lock (two atomic operations). Series are kept
 * in small open-addressing tables keyed by (label, label, status); labels
 * are copied in, so a reload that frees the config's route names cannot
 * leave a dangling key behind.
 *
 * Redis round-trip metrics are plain global atomics rather than a shard;
 * slot-map refreshes (rare) are a table of their own under one mutex.
 */
#include "admin/metrics.h"

#include <event2/buffer.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "admin/health.h"
#include "config/config.h"
#include "sluice.h"
#include "util/clock.h"

/* Upper bounds in microseconds, and the same as Prometheus "le" labels:
 * from a tenth of a millisecond (a Redis call on the same host) to ten
 * minutes (a long LLM stream), so neither end lands all in one bucket. */
static const uint64_t bucket_us[] = {100,      250,      500,       1000,      5000,      10000,
                                     25000,    50000,    100000,    250000,    500000,    1000000,
                                     2500000,  5000000,  10000000,  30000000,  60000000,  120000000,
                                     300000000, 600000000};
static const char *const bucket_le[] = {"0.0001", "0.00025", "0.0005", "0.001", "0.005", "0.01",
                                        "0.025",  "0.05",    "0.1",    "0.25",  "0.5",   "1",
                                        "2.5",    "5",       "10",     "30",    "60",    "120",
                                        "300",    "600"};
#define METRICS_NBUCKETS SL_ARRAY_LEN(bucket_us)

#define ADD_LIT(out, lit) evbuffer_add((out), (lit), sizeof(lit) - 1)

/* One time series (or, for requests, a counter plus its histogram). */
struct series {
    char *a; /* owns; route or upstream; NULL = empty slot */
    char *b; /* owns; kind for upstream errors, NULL for requests */
    unsigned status;
    uint64_t count;
    uint64_t sum_us;
    uint64_t buckets[METRICS_NBUCKETS]; /* not cumulative; +Inf is count */
};

struct series_table {
    struct series *slots; /* owns; cap is a power of two */
    size_t cap;
    size_t len;
};

struct metrics_shard {
    pthread_mutex_t mu; /* guards both tables; see file comment */
    struct series_table requests;
    struct series_table upstream_errors;
    struct series_table limit_decisions; /* a = limit, b = decision */
    struct series_table cache_results;   /* a = route, b = result */
    struct metrics_shard *next; /* borrowed link in the global list */
};

static pthread_mutex_t shards_mu = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_shard *shards; /* owns every shard until exit */

static _Atomic uint64_t redis_errors;
static _Atomic uint64_t redis_count;
static _Atomic uint64_t redis_sum_us;
static _Atomic uint64_t redis_buckets[METRICS_NBUCKETS];
static pthread_mutex_t slot_maps_mu = PTHREAD_MUTEX_INITIALIZER;
static struct series_table slot_maps; /* a = client; guarded by slot_maps_mu */

/* FNV-1a: short keys, no adversary (labels come from the config). */
static uint64_t
hash_str(uint64_t h, const char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (h ^ 0xff) * 1099511628211u;
}

static uint64_t
series_hash(const char *a, const char *b, unsigned status)
{
    uint64_t h = hash_str(14695981039346656037u, a);
    h = hash_str(h, b);
    return (h ^ status) * 1099511628211u;
}

static bool
series_matches(const struct series *s, const char *a, const char *b, unsigned status)
{
    if (s->status != status || strcmp(s->a, a) != 0)
        return false;
    if (s->b == NULL || b == NULL)
        return s->b == b;
    return strcmp(s->b, b) == 0;
}

/* Returns the slot for the key, empty (a == NULL) when absent. */
static struct series *
table_probe(struct series_table *t, const char *a, const char *b, unsigned status)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)series_hash(a, b, status) & mask;
    while (t->slots[i].a != NULL && !series_matches(&t->slots[i], a, b, status))
        i = (i + 1) & mask;
    return &t->slots[i];
}

static void
table_grow(struct series_table *t)
{
    struct series_table old = *t;
    t->cap = old.cap ? old.cap * 2 : 16;
    t->slots = xcalloc(t->cap, sizeof(*t->slots));
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].a != NULL)
            *table_probe(t, old.slots[i].a, old.slots[i].b, old.slots[i].status) = old.slots[i];
    }
    free(old.slots);
}

/* Finds or inserts the series; the key strings are copied on insert. */
static struct series *
table_get(struct series_table *t, const char *a, const char *b, unsigned status)
{
    if ((t->len + 1) * 10 > t->cap * 7)
        table_grow(t);
    struct series *s = table_probe(t, a, b, status);
    if (s->a == NULL) {
        s->a = xstrdup(a);
        s->b = b ? xstrdup(b) : NULL;
        s->status = status;
        t->len++;
    }
    return s;
}

static void
table_deinit(struct series_table *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        free(t->slots[i].a);
        free(t->slots[i].b);
    }
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static void
series_observe(uint64_t *buckets, uint64_t us)
{
    for (size_t i = 0; i < METRICS_NBUCKETS; i++) {
        if (us <= bucket_us[i]) {
            buckets[i]++;
            return;
        }
    }
}

struct metrics_shard *
metrics_shard_new(void)
{
    struct metrics_shard *shard = xcalloc(1, sizeof(*shard));
    pthread_mutex_init(&shard->mu, NULL);
    pthread_mutex_lock(&shards_mu);
    shard->next = shards;
    shards = shard;
    pthread_mutex_unlock(&shards_mu);
    return shard;
}

void
metrics_record_request(struct metrics_shard *shard, const char *route, unsigned status,
                       uint64_t duration_us)
{
    pthread_mutex_lock(&shard->mu);
    struct series *s = table_get(&shard->requests, route ? route : "", NULL, status);
    s->count++;
    s->sum_us += duration_us;
    series_observe(s->buckets, duration_us);
    pthread_mutex_unlock(&shard->mu);
}

void
metrics_record_upstream_error(struct metrics_shard *shard, const char *upstream, const char *kind)
{
    pthread_mutex_lock(&shard->mu);
    table_get(&shard->upstream_errors, upstream, kind, 0)->count++;
    pthread_mutex_unlock(&shard->mu);
}

void
metrics_record_limit(struct metrics_shard *shard, const char *limit, const char *decision)
{
    pthread_mutex_lock(&shard->mu);
    table_get(&shard->limit_decisions, limit, decision, 0)->count++;
    pthread_mutex_unlock(&shard->mu);
}

void
metrics_record_cache(struct metrics_shard *shard, const char *route, const char *result)
{
    pthread_mutex_lock(&shard->mu);
    table_get(&shard->cache_results, route, result, 0)->count++;
    pthread_mutex_unlock(&shard->mu);
}

void
metrics_record_redis(uint64_t duration_us, bool error)
{
    if (error) {
        atomic_fetch_add_explicit(&redis_errors, 1, memory_order_relaxed);
        return;
    }
    for (size_t i = 0; i < METRICS_NBUCKETS; i++) {
        if (duration_us <= bucket_us[i]) {
            atomic_fetch_add_explicit(&redis_buckets[i], 1, memory_order_relaxed);
            break;
        }
    }
    atomic_fetch_add_explicit(&redis_sum_us, duration_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&redis_count, 1, memory_order_relaxed);
}

void
metrics_record_slot_map_refresh(const char *client)
{
    pthread_mutex_lock(&slot_maps_mu);
    table_get(&slot_maps, client, NULL, 0)->count++;
    pthread_mutex_unlock(&slot_maps_mu);
}

/* Adds src's series into dst (the render's private merge table). */
static void
table_merge(struct series_table *dst, const struct series_table *src)
{
    for (size_t i = 0; i < src->cap; i++) {
        const struct series *s = &src->slots[i];
        if (s->a == NULL)
            continue;
        struct series *d = table_get(dst, s->a, s->b, s->status);
        d->count += s->count;
        d->sum_us += s->sum_us;
        for (size_t k = 0; k < METRICS_NBUCKETS; k++)
            d->buckets[k] += s->buckets[k];
    }
}

/* Histograms are merged by route only: status would multiply the bucket
 * series by the number of distinct statuses for little insight. */
static void
table_merge_by_route(struct series_table *dst, const struct series_table *src)
{
    for (size_t i = 0; i < src->cap; i++) {
        const struct series *s = &src->slots[i];
        if (s->a == NULL)
            continue;
        struct series *d = table_get(dst, s->a, NULL, 0);
        d->count += s->count;
        d->sum_us += s->sum_us;
        for (size_t k = 0; k < METRICS_NBUCKETS; k++)
            d->buckets[k] += s->buckets[k];
    }
}

static int
series_cmp(const void *x, const void *y)
{
    const struct series *p = x, *q = y;
    int c = strcmp(p->a, q->a);
    if (c == 0 && p->b != NULL && q->b != NULL)
        c = strcmp(p->b, q->b);
    if (c == 0)
        c = (p->status > q->status) - (p->status < q->status);
    return c;
}

/* Packs the used slots to the front, sorted, so the output is stable. */
static size_t
table_sort(struct series_table *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].a != NULL)
            t->slots[n++] = t->slots[i];
    }
    for (size_t i = n; i < t->cap; i++)
        memset(&t->slots[i], 0, sizeof(t->slots[i]));
    if (n > 0)
        qsort(t->slots, n, sizeof(*t->slots), series_cmp);
    return n;
}

/* Label values escape backslash, double quote and newline (exposition format 0.0.4). */
static void
add_label_value(struct evbuffer *out, const char *v)
{
    const char *run = v;
    for (; *v != '\0'; v++) {
        const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
        if (esc == NULL)
            continue;
        evbuffer_add(out, run, (size_t)(v - run));
        evbuffer_add(out, esc, 2);
        run = v + 1;
    }
    evbuffer_add(out, run, (size_t)(v - run));
}

static void
add_header(struct evbuffer *out, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static double
us_to_s(uint64_t us)
{
    return (double)us / 1e6;
}

/* One histogram: cumulative buckets, then _sum and _count. label may be NULL. */
static void
add_histogram(struct evbuffer *out, const char *name, const char *label, const char *value,
              const uint64_t *buckets, uint64_t sum_us, uint64_t count)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= METRICS_NBUCKETS; i++) {
        cum = i < METRICS_NBUCKETS ? cum + buckets[i] : count;
        evbuffer_add_printf(out, "%s_bucket{", name);
        if (label != NULL) {
            evbuffer_add_printf(out, "%s=\"", label);
            add_label_value(out, value);
            ADD_LIT(out, "\",");
        }
        evbuffer_add_printf(out, "le=\"%s\"} %llu\n", i < METRICS_NBUCKETS ? bucket_le[i] : "+Inf",
                            (unsigned long long)cum);
    }
    const char *suffix[] = {"_sum", "_count"};
    for (size_t k = 0; k < 2; k++) {
        evbuffer_add_printf(out, "%s%s", name, suffix[k]);
        if (label != NULL) {
            evbuffer_add_printf(out, "{%s=\"", label);
            add_label_value(out, value);
            ADD_LIT(out, "\"}");
        }
        if (k == 0)
            evbuffer_add_printf(out, " %.6f\n", us_to_s(sum_us));
        else
            evbuffer_add_printf(out, " %llu\n", (unsigned long long)count);
    }
}

static void
render_requests(struct evbuffer *out, struct series_table *by_status, struct series_table *by_route)
{
    add_header(out, "sluice_requests_total", "counter", "Requests answered, by route and status.");
    size_t n = table_sort(by_status);
    for (size_t i = 0; i < n; i++) {
        const struct series *s = &by_status->slots[i];
        ADD_LIT(out, "sluice_requests_total{route=\"");
        add_label_value(out, s->a);
        evbuffer_add_printf(out, "\",status=\"%u\"} %llu\n", s->status,
                            (unsigned long long)s->count);
    }
    add_header(out, "sluice_request_duration_seconds", "histogram",
               "Time from the first request byte to the last response byte.");
    n = table_sort(by_route);
    for (size_t i = 0; i < n; i++) {
        const struct series *s = &by_route->slots[i];
        add_histogram(out, "sluice_request_duration_seconds", "route", s->a, s->buckets, s->sum_us,
                      s->count);
    }
}

/* A counter family with two labels, a and b of each series. */
static void
render_pairs(struct evbuffer *out, struct series_table *t, const char *family, const char *help,
             const char *label_a, const char *label_b)
{
    add_header(out, family, "counter", help);
    size_t n = table_sort(t);
    for (size_t i = 0; i < n; i++) {
        const struct series *s = &t->slots[i];
        evbuffer_add_printf(out, "%s{%s=\"", family, label_a);
        add_label_value(out, s->a);
        evbuffer_add_printf(out, "\",%s=\"", label_b);
        add_label_value(out, s->b);
        evbuffer_add_printf(out, "\"} %llu\n", (unsigned long long)s->count);
    }
}

static void
render_upstream_up(struct evbuffer *out, const struct config *cfg)
{
    add_header(out, "sluice_upstream_up", "gauge",
               "1 when the upstream server is considered healthy, else 0.");
    if (cfg == NULL)
        return;
    int64_t now_ms = clock_now_ms();
    for (size_t u = 0; u < cfg->nupstreams; u++) {
        const struct config_upstream *up = &cfg->upstreams[u];
        for (size_t i = 0; i < up->nservers; i++) {
            ADD_LIT(out, "sluice_upstream_up{upstream=\"");
            add_label_value(out, up->name);
            ADD_LIT(out, "\",server=\"");
            add_label_value(out, up->servers[i].text ? up->servers[i].text : "");
            evbuffer_add_printf(out, "\"} %d\n", health_server_up(up, i, now_ms) ? 1 : 0);
        }
    }
}

static void
render_redis(struct evbuffer *out)
{
    uint64_t buckets[METRICS_NBUCKETS];
    for (size_t i = 0; i < METRICS_NBUCKETS; i++)
        buckets[i] = atomic_load_explicit(&redis_buckets[i], memory_order_relaxed);
    /* Read count last: a concurrent record may make count lag the buckets,
     * never the reverse order that would make +Inf smaller than a bucket. */
    uint64_t sum_us = atomic_load_explicit(&redis_sum_us, memory_order_relaxed);
    uint64_t count = atomic_load_explicit(&redis_count, memory_order_relaxed);
    uint64_t bucket_total = 0;
    for (size_t i = 0; i < METRICS_NBUCKETS; i++)
        bucket_total += buckets[i];
    if (count < bucket_total)
        count = bucket_total;
    add_header(out, "sluice_redis_duration_seconds", "histogram",
               "Redis round-trip time of successful commands.");
    add_histogram(out, "sluice_redis_duration_seconds", NULL, NULL, buckets, sum_us, count);
    add_header(out, "sluice_redis_errors_total", "counter",
               "Redis commands that failed or timed out.");
    evbuffer_add_printf(
        out, "sluice_redis_errors_total %llu\n",
        (unsigned long long)atomic_load_explicit(&redis_errors, memory_order_relaxed));
}

static void
render_slot_maps(struct evbuffer *out)
{
    struct series_table t = {0};
    pthread_mutex_lock(&slot_maps_mu);
    table_merge(&t, &slot_maps);
    pthread_mutex_unlock(&slot_maps_mu);
    add_header(out, "sluice_redis_slot_map_refreshes_total", "counter",
               "Redis Cluster slot map reads after a change (MOVED, node down), by client.");
    size_t n = table_sort(&t);
    for (size_t i = 0; i < n; i++) {
        ADD_LIT(out, "sluice_redis_slot_map_refreshes_total{client=\"");
        add_label_value(out, t.slots[i].a);
        evbuffer_add_printf(out, "\"} %llu\n", (unsigned long long)t.slots[i].count);
    }
    table_deinit(&t);
}

void
metrics_render(struct evbuffer *out, const struct config *cfg)
{
    struct series_table by_status = {0}, by_route = {0}, errors = {0}, decisions = {0},
                        caches = {0};

    /* Merge under the locks, format after: a worker waits at most for a
     * few table walks, never for evbuffer growth. */
    pthread_mutex_lock(&shards_mu);
    for (struct metrics_shard *s = shards; s != NULL; s = s->next) {
        pthread_mutex_lock(&s->mu);
        table_merge(&by_status, &s->requests);
        table_merge_by_route(&by_route, &s->requests);
        table_merge(&errors, &s->upstream_errors);
        table_merge(&decisions, &s->limit_decisions);
        table_merge(&caches, &s->cache_results);
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&shards_mu);

    render_requests(out, &by_status, &by_route);
    render_pairs(out, &errors, "sluice_upstream_errors_total",
                 "Failed upstream exchanges, by upstream and kind.", "upstream", "kind");
    render_upstream_up(out, cfg);
    render_redis(out);
    render_slot_maps(out);
    render_pairs(out, &decisions, "sluice_ratelimit_decisions_total",
                 "Rate-limit decisions by limit and decision (admitted, refused).", "limit",
                 "decision");
    render_pairs(out, &caches, "sluice_cache_results_total",
                 "Response cache results by route and result (HIT, MISS, BYPASS).", "route",
                 "result");

    table_deinit(&by_status);
    table_deinit(&by_route);
    table_deinit(&errors);
    table_deinit(&decisions);
    table_deinit(&caches);
}
