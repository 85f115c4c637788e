/*
 * mock_llm - entry point of the mock LLM upstream: argv, signals, file
 * descriptor limit, the listening socket and accept. Everything per
 * connection is in mock_conn.c; the endpoints are in mock_routes.c.
 *
 *   mock_llm [--listen HOST:PORT] [--port N]     (default 127.0.0.1:9000)
 *
 * Prints "mock_llm listening on HOST:PORT" once bound (with the real port
 * for --port 0); tests and bench/run.sh wait for that line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "mock_llm.h"

#define ACCEPTS_PER_WAKEUP 64
#define EMFILE_PAUSE_MS 100

struct listener {
    int fd;
    struct event *ev;    /* owns: EV_READ|EV_PERSIST on fd */
    struct event *pause; /* owns: re-enables ev after EMFILE */
};

static void
usage(void)
{
    fprintf(stderr, "usage: mock_llm [--listen HOST:PORT] [--port N]\n");
    exit(1);
}

/* Parses argv into host (static storage) and port. */
static void
parse_args(int argc, char **argv, char *host, size_t host_len, long *port)
{
    int i;

    for (i = 1; i < argc; i++) {
        char *end = "", *colon;

        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            *port = strtol(argv[++i], &end, 10);
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            if ((colon = strrchr(argv[++i], ':')) == NULL || (size_t)(colon - argv[i]) >= host_len)
                usage();
            memcpy(host, argv[i], (size_t)(colon - argv[i]));
            host[colon - argv[i]] = '\0';
            *port = strtol(colon + 1, &end, 10);
        } else {
            usage();
        }
        if (*end != '\0' || *port < 0 || *port > 65535)
            usage();
    }
}

/* 10,000+ concurrent connections need more than the usual soft 1024. */
static void
raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int
listen_on(const char *host, long port, char *bound, size_t bound_len)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof(sin);
    int fd, one = 1;

    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, "mock_llm: %s: not an IPv4 address\n", host);
        exit(1);
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 65535) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
        fprintf(stderr, "mock_llm: listen %s:%ld: %s\n", host, port, strerror(errno));
        exit(1);
    }
    snprintf(bound, bound_len, "%s:%u", host, (unsigned)ntohs(sin.sin_port));
    return fd;
}

static void
on_pause_end(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;

    event_add(l->ev, NULL);
}

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;
    int i, cfd;

    for (i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
            conn_accept(event_get_base(l->ev), cfd);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE) {
            /* level-triggered: retrying now would spin; wait for closes */
            struct timeval tv = {0, EMFILE_PAUSE_MS * 1000};

            fprintf(stderr, "mock_llm: accept: %s; pausing\n", strerror(errno));
            event_del(l->ev);
            evtimer_add(l->pause, &tv);
        }
        break; /* EAGAIN, or a transient error such as ECONNABORTED */
    }
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
    char host[64] = "127.0.0.1", bound[96];
    long port = 9000;
    struct event_base *base;
    struct event *sigterm, *sigint;
    struct listener l;

    parse_args(argc, argv, host, sizeof(host), &port);
    signal(SIGPIPE, SIG_IGN); /* a vanished client is an EPIPE, not a death */
    raise_nofile();
    route_init();
    l.fd = listen_on(host, port, bound, sizeof(bound));
    if ((base = event_base_new()) == NULL) {
        fprintf(stderr, "mock_llm: event_base_new failed\n");
        return 1;
    }
    l.ev = event_new(base, l.fd, EV_READ | EV_PERSIST, on_accept, &l);
    l.pause = evtimer_new(base, on_pause_end, &l);
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    event_add(l.ev, NULL);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    printf("mock_llm listening on %s\n", bound);
    fflush(stdout);

    event_base_dispatch(base);

    conn_free_all();
    event_free(sigterm);
    event_free(sigint);
    event_free(l.pause);
    event_free(l.ev);
    close(l.fd);
    event_base_free(base);
    return 0;
}
