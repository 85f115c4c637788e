/*
 * listener.c - binding listening sockets.
 */
#include "net/listener.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

#include "sluice.h"
#include "util/log.h"

#define LISTENER_PAUSE_MS 100

struct listener_guard {
    struct evconnlistener *listener; /* borrowed */
    struct event *resume;            /* owns */
    const char *name;                /* borrowed: a static string */
    struct listener_guard *next;     /* the registry */
};

/* libevent hands the error callback the accept callback's argument (a
 * worker, or evhttp's own), so a guard is found by its listener. Errors
 * are rare: a lock on this path costs nothing that matters. */
static pthread_mutex_t guards_mu = PTHREAD_MUTEX_INITIALIZER;
static struct listener_guard *guards;

static struct listener_guard *
guard_find(struct evconnlistener *l)
{
    pthread_mutex_lock(&guards_mu);
    struct listener_guard *g = guards;
    while (g != NULL && g->listener != l)
        g = g->next;
    pthread_mutex_unlock(&guards_mu);
    return g;
}

int
listener_bind(const struct sockaddr *sa, socklen_t len, int backlog)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        goto fail;
    if (bind(fd, sa, len) < 0 || listen(fd, backlog) < 0)
        goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

void
listener_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct listener_guard *g = arg;
    evconnlistener_enable(g->listener);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    struct listener_guard *g = guard_find(l);
    if (g == NULL || (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM))
        return;
    log_warn("%s: cannot accept (%s); pausing accepts for %dms", g->name, strerror(err),
             LISTENER_PAUSE_MS);
    evconnlistener_disable(l);
    struct timeval tv = {0, LISTENER_PAUSE_MS * 1000};
    event_add(g->resume, &tv);
}

struct listener_guard *
listener_guard_new(struct evconnlistener *l, struct event_base *base, const char *name)
{
    struct listener_guard *g = xcalloc(1, sizeof(*g));
    g->listener = l;
    g->name = name;
    g->resume = evtimer_new(base, on_resume, g);
    pthread_mutex_lock(&guards_mu);
    g->next = guards;
    guards = g;
    pthread_mutex_unlock(&guards_mu);
    evconnlistener_set_error_cb(l, on_accept_error);
    return g;
}

void
listener_guard_free(struct listener_guard *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&guards_mu);
    struct listener_guard **pp = &guards;
    while (*pp != NULL && *pp != g)
        pp = &(*pp)->next;
    if (*pp == g)
        *pp = g->next;
    pthread_mutex_unlock(&guards_mu);
    event_free(g->resume);
    free(g);
}
