/*
 * idle_conns - hold many idle keep-alive connections open against a target.
 *
 *   idle_conns HOST PORT N HOLD_SECONDS [PATH]
 *
 * Opens N connections; on each sends one "GET PATH" (default /small) and
 * reads the whole response, so the proxy has gone through a complete
 * request and is now holding a keep-alive connection that is idle. Prints
 * "ready OK FAILED" once all are open, holds them HOLD_SECONDS, then prints
 * "alive K" (how many the target had not closed meanwhile) and exits.
 *
 * The caller samples the proxy's RSS between "ready" and "alive".
 * Connections are opened one after another: it is not a load test, and
 * sequential opening keeps the proxy's peak memory from depending on how
 * many requests were in flight at once.
 *
 * Sockets are closed with SO_LINGER 0 (RST) so that 10k connections do not
 * leave 10k TIME_WAIT entries behind for the next target's run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Reads one response; 0 when complete. Handles Content-Length and chunked. */
static int read_response(int fd)
{
    char buf[65536];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) {
            if (have == sizeof buf - 1)
                return -1;
            continue;
        }
        if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 9, "200", 3) != 0)
            return -1;
        size_t hdr = (size_t)(end + 4 - buf);
        /* Header names are case-insensitive; search a lowercased copy. */
        char low[8192];
        size_t l = hdr < sizeof low - 1 ? hdr : sizeof low - 1;
        for (size_t i = 0; i < l; i++)
            low[i] = (char)(buf[i] >= 'A' && buf[i] <= 'Z' ? buf[i] + 32 : buf[i]);
        low[l] = '\0';
        char *cl = strstr(low, "\r\ncontent-length:");
        if (cl) {
            size_t want = hdr + strtoul(cl + 17, NULL, 10);
            while (have < want) {
                n = read(fd, buf, sizeof buf);
                if (n <= 0)
                    return -1;
                have += (size_t)n;
            }
            return 0;
        }
        if (strstr(low, "\r\ntransfer-encoding: chunked")) {
            /* Small bodies only: wait for the terminating zero chunk. */
            while (!strstr(buf + hdr - 2, "\r\n0\r\n\r\n")) {
                if (have == sizeof buf - 1)
                    return -1;
                n = read(fd, buf + have, sizeof buf - 1 - have);
                if (n <= 0)
                    return -1;
                have += (size_t)n;
                buf[have] = '\0';
            }
            return 0;
        }
        return -1; /* close-delimited: not keep-alive, useless here */
    }
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s HOST PORT N HOLD_SECONDS [PATH]\n", argv[0]);
        return 2;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
        return 2;
    int n = atoi(argv[3]), hold = atoi(argv[4]);
    const char *path = argc > 5 ? argv[5] : "/small";

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)n + 16) {
        fprintf(stderr, "idle_conns: open-file limit %lu is below %d\n",
                (unsigned long)rl.rlim_cur, n + 16);
        return 2;
    }

    char req[512];
    int reqlen = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%s\r\n\r\n",
                          path, argv[1], argv[2]);
    int *fds = malloc(sizeof *fds * (size_t)n);
    int ok = 0, failed = 0;
    struct timeval tv = { .tv_sec = 5 };
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            failed++;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
            write(fd, req, (size_t)reqlen) != reqlen || read_response(fd) != 0) {
            close(fd);
            failed++;
            continue;
        }
        fds[ok++] = fd;
    }
    printf("ready %d %d\n", ok, failed);
    fflush(stdout);

    sleep((unsigned)hold);

    /* Readable or hung up now means the target closed (or answered) an idle
     * connection: count only those still quietly open. */
    int alive = 0;
    for (int i = 0; i < ok; i++) {
        struct pollfd p = { .fd = fds[i], .events = POLLIN | POLLRDHUP };
        if (poll(&p, 1, 0) == 0)
            alive++;
    }
    printf("alive %d\n", alive);
    fflush(stdout);
    return 0;
}
