/*
 * sse_ttfe - SSE time to first event.
 *
 *   sse_ttfe HOST PORT PATH REPS
 *
 * For each repetition: connect (not timed), then time from just before the
 * request is written to the moment the first "data:" bytes of the body have
 * arrived, and close. Prints one sample per line in milliseconds, then
 * "median MS". A proxy that buffers the stream shows up as a time close to
 * the event interval instead of a fraction of a millisecond.
 *
 * The connect is left out of the measurement on purpose: wrk already covers
 * connection handling, and here we want the streaming path alone. Closing
 * mid-stream means the proxy cannot pool that upstream connection, so every
 * repetition costs it an upstream connect too; that is the same for every
 * proxy and part of what "first event" costs in practice.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 5000

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One sample in ms, or a negative value on failure. */
static double one(const struct sockaddr_in *sa, const char *req, size_t reqlen)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one_ = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof one_);
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
        close(fd);
        return -1;
    }

    char buf[65536];
    size_t have = 0;
    double t0 = now_ms(), result = -1;
    if (write(fd, req, reqlen) != (ssize_t)reqlen)
        goto out;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int left = TIMEOUT_MS - (int)(now_ms() - t0);
        if (left <= 0 || poll(&p, 1, left) <= 0)
            goto out;
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0)
            goto out;
        have += (size_t)n;
        buf[have] = '\0';
        /* "data:" must be in the body, not in some header value. */
        char *body = strstr(buf, "\r\n\r\n");
        if (body && strstr(body, "data:")) {
            result = now_ms() - t0;
            if (strncmp(buf, "HTTP/1.1 200", 12) != 0 && strncmp(buf, "HTTP/1.0 200", 12) != 0)
                result = -2;
            goto out;
        }
        if (have == sizeof buf - 1)
            goto out;
    }
out:
    close(fd);
    return result;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s HOST PORT PATH REPS\n", argv[0]);
        return 2;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "bad address %s\n", argv[1]);
        return 2;
    }
    int reps = atoi(argv[4]);
    if (reps < 1)
        reps = 1;

    char req[1024];
    int reqlen = snprintf(req, sizeof req,
                          "GET %s HTTP/1.1\r\nHost: %s:%s\r\nAccept: text/event-stream\r\n\r\n",
                          argv[3], argv[1], argv[2]);

    double *s = calloc((size_t)reps, sizeof *s);
    int ok = 0;
    /* One untimed round first: the first request through a cold proxy pays
     * for lazily created state that is not what we are measuring. */
    one(&sa, req, (size_t)reqlen);
    for (int i = 0; i < reps; i++) {
        double ms = one(&sa, req, (size_t)reqlen);
        if (ms < 0) {
            fprintf(stderr, "sse_ttfe: repetition %d failed (%s)\n", i,
                    ms == -2 ? "non-200 status" : "no event before timeout or connection error");
            continue;
        }
        printf("%.3f\n", ms);
        s[ok++] = ms;
    }
    if (ok == 0) {
        printf("median nan\n");
        return 1;
    }
    qsort(s, (size_t)ok, sizeof *s, cmp_double);
    double med = ok % 2 ? s[ok / 2] : (s[ok / 2 - 1] + s[ok / 2]) / 2;
    printf("median %.3f\n", med);
    free(s);
    return ok == reps ? 0 : 1;
}
