/*
 * sysio.h - read(2) and writev(2) for the forwarding path, as raw system
 * calls.
 *
 * In a process with more than one thread, glibc's read and writev wrap
 * every call in thread-cancellation bookkeeping (enable, then disable,
 * asynchronous cancellation), because POSIX makes them cancellation
 * points. sluice never cancels a thread, and on the proxy's hot path,
 * four of these calls per request, the bookkeeping cost about 1% of the
 * CPU per request (perf, bench/run.sh small/50). syscall(2) is a plain
 * stub: same arguments, same -1/errno convention, no cancellation.
 */
#ifndef SLUICE_SYSIO_H
#define SLUICE_SYSIO_H

#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static inline ssize_t
sysio_read(int fd, void *p, size_t len)
{
    return (ssize_t)syscall(SYS_read, fd, p, len);
}

static inline ssize_t
sysio_writev(int fd, const struct iovec *iov, int iovcnt)
{
    return (ssize_t)syscall(SYS_writev, fd, iov, iovcnt);
}

#endif
