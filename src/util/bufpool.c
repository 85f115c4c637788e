/*
 * bufpool.c - a free list of equally sized buffers (see bufpool.h).
 */
#include "util/bufpool.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "sluice.h"
#include "util/sysio.h"

struct bufpool {
    size_t buf_size;
    size_t max_free;
    size_t nfree;
    struct buf *free_list; /* owns */
};

struct bufpool *
bufpool_new(size_t buf_size, size_t max_free)
{
    struct bufpool *pool = xcalloc(1, sizeof(*pool));
    pool->buf_size = buf_size;
    pool->max_free = max_free;
    return pool;
}

static void
drop_free_list(struct bufpool *pool)
{
    while (pool->free_list != NULL) {
        struct buf *b = pool->free_list;
        pool->free_list = b->next_free_;
        free(b);
    }
    pool->nfree = 0;
}

void
bufpool_free(struct bufpool *pool)
{
    if (pool == NULL)
        return;
    drop_free_list(pool);
    free(pool);
}

void
bufpool_set_size(struct bufpool *pool, size_t buf_size)
{
    if (buf_size == pool->buf_size)
        return;
    drop_free_list(pool);
    pool->buf_size = buf_size;
}

struct buf *
bufpool_acquire(struct bufpool *pool)
{
    struct buf *b = pool->free_list;
    if (b != NULL) {
        pool->free_list = b->next_free_;
        pool->nfree--;
    } else {
        b = xmalloc(sizeof(*b) + pool->buf_size);
        b->cap = pool->buf_size;
    }
    b->start = b->end = 0;
    b->next_free_ = NULL;
    return b;
}

void
bufpool_release(struct bufpool *pool, struct buf *b)
{
    if (b == NULL)
        return;
    if (pool->nfree >= pool->max_free || b->cap != pool->buf_size) {
        free(b);
        return;
    }
    b->next_free_ = pool->free_list;
    pool->free_list = b;
    pool->nfree++;
}

struct buf *
bufpool_fit(struct bufpool *pool, struct buf *b)
{
    if (b->cap >= pool->buf_size)
        return b;
    struct buf *nb = bufpool_acquire(pool);
    nb->end = buf_len(b);
    memcpy(nb->data, b->data + b->start, nb->end);
    bufpool_release(pool, b);
    return nb;
}

void
buf_compact(struct buf *b)
{
    if (b->start == 0)
        return;
    size_t len = b->end - b->start;
    if (len > 0)
        memmove(b->data, b->data + b->start, len);
    b->start = 0;
    b->end = len;
}

long
buf_read(struct buf *b, int fd)
{
    if (b->end == b->cap)
        buf_compact(b);
    if (b->end == b->cap)
        return -2;
    ssize_t n = sysio_read(fd, b->data + b->end, b->cap - b->end);
    if (n > 0) {
        b->end += (size_t)n;
        return n;
    }
    if (n == 0)
        return 0;
    return (errno == EAGAIN || errno == EINTR) ? -2 : -1;
}
