/*
 * test_metrics.c - records into two shards and checks that the rendered
 * Prometheus text sums them, escapes label values and reads upstream
 * health from the config's array.
 */
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "admin/metrics.h"
#include "config/config.h"
#include "tap.h"
#include "util/clock.h"

static char *
render(const struct config *cfg)
{
    struct evbuffer *out = evbuffer_new();
    metrics_render(out, cfg);
    size_t len = evbuffer_get_length(out);
    char *text = malloc(len + 1);
    evbuffer_remove(out, text, len);
    text[len] = '\0';
    evbuffer_free(out);
    return text;
}

/* True when text has want as a whole line. */
static int
has_line(const char *text, const char *want)
{
    size_t n = strlen(want);
    for (const char *p = text; (p = strstr(p, want)) != NULL; p++) {
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    }
    return 0;
}

static void
test_requests(void)
{
    struct metrics_shard *a = metrics_shard_new();
    struct metrics_shard *b = metrics_shard_new();
    metrics_record_request(a, "chat", 200, 3000);   /* 3 ms */
    metrics_record_request(b, "chat", 200, 200000); /* 200 ms */
    metrics_record_request(b, "chat", 429, 500);
    metrics_record_request(a, "", 404, 100);
    metrics_record_request(a, "we\"ird\\na\nme", 200, 20000000); /* 20 s */
    metrics_record_request(a, "long", 200, 400000000);            /* a 400 s stream */

    char *t = render(NULL);
    ok(has_line(t, "# TYPE sluice_requests_total counter"), "requests TYPE line");
    ok(has_line(t, "# HELP sluice_requests_total Requests answered, by route and status."),
       "requests HELP line");
    ok(has_line(t, "sluice_requests_total{route=\"chat\",status=\"200\"} 2"), "shards summed");
    ok(has_line(t, "sluice_requests_total{route=\"chat\",status=\"429\"} 1"), "by status");
    ok(has_line(t, "sluice_requests_total{route=\"\",status=\"404\"} 1"), "empty route");
    ok(has_line(t, "sluice_requests_total{route=\"we\\\"ird\\\\na\\nme\",status=\"200\"} 1"),
       "label value escaped");
    ok(has_line(t, "# TYPE sluice_request_duration_seconds histogram"), "histogram TYPE");
    ok(has_line(t, "sluice_request_duration_seconds_bucket{route=\"chat\",le=\"0.001\"} 1"),
       "0.001 bucket holds the 0.5 ms request");
    ok(has_line(t, "sluice_request_duration_seconds_bucket{route=\"chat\",le=\"0.005\"} 2"),
       "buckets are cumulative");
    ok(has_line(t, "sluice_request_duration_seconds_bucket{route=\"chat\",le=\"0.1\"} 2"),
       "200 ms not in 0.1");
    ok(has_line(t, "sluice_request_duration_seconds_bucket{route=\"chat\",le=\"0.25\"} 3"),
       "200 ms in 0.25");
    ok(has_line(t, "sluice_request_duration_seconds_bucket{route=\"chat\",le=\"+Inf\"} 3"),
       "+Inf is the count");
    ok(has_line(t, "sluice_request_duration_seconds_sum{route=\"chat\"} 0.203500"), "sum");
    ok(has_line(t, "sluice_request_duration_seconds_count{route=\"chat\"} 3"), "count");
    ok(has_line(
           t, "sluice_request_duration_seconds_bucket{route=\"we\\\"ird\\\\na\\nme\",le=\"10\"} 0"),
       "20 s is past 10");
    ok(has_line(
           t, "sluice_request_duration_seconds_bucket{route=\"we\\\"ird\\\\na\\nme\",le=\"30\"} 1"),
       "20 s is in 30");
    ok(has_line(t, "sluice_request_duration_seconds_bucket{route=\"chat\",le=\"0.0005\"} 1"),
       "the 0.5 ms request is in 0.0005: sub-millisecond resolution");
    ok(has_line(t, "sluice_request_duration_seconds_bucket{route=\"chat\",le=\"0.00025\"} 0"),
       "and not in 0.00025");
    ok(has_line(t, "sluice_request_duration_seconds_bucket{route=\"long\",le=\"300\"} 0"),
       "a 400 s stream is past 300");
    ok(has_line(t, "sluice_request_duration_seconds_bucket{route=\"long\",le=\"600\"} 1"),
       "and in 600: minutes-long streams have buckets");
    ok(has_line(
           t,
           "sluice_request_duration_seconds_bucket{route=\"we\\\"ird\\\\na\\nme\",le=\"+Inf\"} 1"),
       "but counted in +Inf");
    free(t);

    /* Many distinct series force the shard's table to grow. */
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "r%d", i);
        metrics_record_request(a, name, 200 + (unsigned)(i % 3), 1000);
    }
    t = render(NULL);
    ok(has_line(t, "sluice_requests_total{route=\"r99\",status=\"200\"} 1"), "after growth");
    ok(has_line(t, "sluice_requests_total{route=\"chat\",status=\"200\"} 2"),
       "old series kept across growth");
    free(t);
}

static void
test_upstream(void)
{
    struct metrics_shard *s = metrics_shard_new();
    metrics_record_upstream_error(s, "llm", "connect");
    metrics_record_upstream_error(s, "llm", "connect");
    metrics_record_upstream_error(s, "llm", "timeout");

    _Atomic int64_t down[2];
    atomic_init(&down[0], 0);
    atomic_init(&down[1], clock_now_ms() + 60000);
    struct config_addr servers[2] = {{.text = "127.0.0.1:9000"}, {.text = "127.0.0.1:9001"}};
    struct config_upstream up = {
        .name = "llm", .servers = servers, .nservers = 2, .server_down_until_ms = down};
    struct config cfg = {.upstreams = &up, .nupstreams = 1};

    char *t = render(&cfg);
    ok(has_line(t, "# TYPE sluice_upstream_errors_total counter"), "errors TYPE");
    ok(has_line(t, "sluice_upstream_errors_total{upstream=\"llm\",kind=\"connect\"} 2"),
       "connect errors");
    ok(has_line(t, "sluice_upstream_errors_total{upstream=\"llm\",kind=\"timeout\"} 1"),
       "timeout errors");
    ok(has_line(t, "# TYPE sluice_upstream_up gauge"), "up TYPE");
    ok(has_line(t, "sluice_upstream_up{upstream=\"llm\",server=\"127.0.0.1:9000\"} 1"), "up");
    ok(has_line(t, "sluice_upstream_up{upstream=\"llm\",server=\"127.0.0.1:9001\"} 0"), "down");
    free(t);
}

static void
test_redis(void)
{
    metrics_record_redis(400, false);
    metrics_record_redis(30000, false);
    metrics_record_redis(0, true);
    char *t = render(NULL);
    ok(has_line(t, "# TYPE sluice_redis_duration_seconds histogram"), "redis histogram TYPE");
    ok(has_line(t, "sluice_redis_duration_seconds_bucket{le=\"0.001\"} 1"), "redis bucket");
    ok(has_line(t, "sluice_redis_duration_seconds_bucket{le=\"0.05\"} 2"), "redis cumulative");
    ok(has_line(t, "sluice_redis_duration_seconds_bucket{le=\"+Inf\"} 2"), "errors not timed");
    ok(has_line(t, "sluice_redis_duration_seconds_sum 0.030400"), "redis sum");
    ok(has_line(t, "sluice_redis_duration_seconds_count 2"), "redis count");
    ok(has_line(t, "# TYPE sluice_redis_errors_total counter"), "redis errors TYPE");
    ok(has_line(t, "sluice_redis_errors_total 1"), "redis errors");
    free(t);
}

static void
test_slot_map_refreshes(void)
{
    char *t = render(NULL);
    ok(has_line(t, "# TYPE sluice_redis_slot_map_refreshes_total counter"),
       "slot map refreshes TYPE, even before the first");
    free(t);
    metrics_record_slot_map_refresh("worker 0");
    metrics_record_slot_map_refresh("worker 1");
    metrics_record_slot_map_refresh("worker 0");
    t = render(NULL);
    ok(has_line(t, "sluice_redis_slot_map_refreshes_total{client=\"worker 0\"} 2"),
       "refreshes counted per client");
    ok(has_line(t, "sluice_redis_slot_map_refreshes_total{client=\"worker 1\"} 1"),
       "another client apart");
    free(t);
}

int
main(void)
{
    test_requests();
    test_upstream();
    test_slot_map_refreshes();
    test_redis();
    return tap_done();
}
