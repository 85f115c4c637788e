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

/* Raises RLIMIT_NOFILE to its hard limit: a proxy needs two fds per request. */
void listener_raise_fd_limit(void);

#endif
