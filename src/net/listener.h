/*
 * listener.h - listening sockets. Each worker binds its own socket to the
 * same address with SO_REUSEPORT, so the kernel spreads connections over
 * workers with no shared accept lock.
 */
#ifndef SLUICE_LISTENER_H
#define SLUICE_LISTENER_H

#include <sys/socket.h>

/* Returns a non-blocking listening socket, or -1 (errno set). */
int listener_bind(const struct sockaddr *sa, socklen_t len, int backlog);

struct evconnlistener;
struct event_base;
struct listener_guard;

/* When accept() fails for lack of file descriptors, the pending connection
 * stays in the backlog and the listener would fire again at once, forever.
 * A guard pauses l for 100 ms instead (logging once per pause). The guard
 * borrows l and must be freed before it. */
struct listener_guard *listener_guard_new(struct evconnlistener *l, struct event_base *base,
                                          const char *name);
void listener_guard_free(struct listener_guard *g);

/* Raises RLIMIT_NOFILE to its hard limit: a proxy needs two fds per request. */
void listener_raise_fd_limit(void);

#endif
