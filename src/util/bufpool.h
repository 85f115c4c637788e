/*
 * bufpool.h - equally sized I/O buffers, recycled per worker.
 *
 * A connection holds a buffer only while it has bytes in flight; an idle
 * keep-alive connection gives its buffer back, so 10,000 idle clients cost
 * no buffer memory. Not thread-safe: one pool per worker.
 *
 * The size follows the config in force (a reload may raise
 * http.max_header_size): bufpool_set_size() changes it for buffers handed
 * out from then on; a buffer of another size coming back is freed, not kept.
 */
#ifndef SLUICE_BUFPOOL_H
#define SLUICE_BUFPOOL_H

#include <stddef.h>

/* A buffer: bytes [start, end) of data[0, cap) are unconsumed input. */
struct buf {
    size_t start;
    size_t end;
    size_t cap;
    struct buf *next_free_; /* private: pool free list */
    char data[];
};

struct bufpool;

/* Buffers hold buf_size bytes; at most max_free are kept for reuse. */
struct bufpool *bufpool_new(size_t buf_size, size_t max_free);
void bufpool_free(struct bufpool *pool);

/* Buffers acquired from now on hold buf_size bytes; kept ones of the old
 * size are freed. Buffers in use keep their size until released. */
void bufpool_set_size(struct bufpool *pool, size_t buf_size);

/* b itself when it holds at least the pool's size, else a buffer of the
 * pool's size with b's unconsumed bytes at its front (b is released, so
 * pointers into it are invalid). */
struct buf *bufpool_fit(struct bufpool *pool, struct buf *b);

/* Returns an empty buffer the caller owns until bufpool_release(). */
struct buf *bufpool_acquire(struct bufpool *pool);
/* Takes the buffer back; NULL is ignored. */
void bufpool_release(struct bufpool *pool, struct buf *b);

static inline size_t
buf_len(const struct buf *b)
{
    return b->end - b->start;
}

/* Moves unconsumed bytes to the front so reads have the most room. */
void buf_compact(struct buf *b);

/* One read(2) from fd into b's free room (compacting first if needed).
 * Returns bytes read, 0 on EOF, -1 on error, -2 when nothing is available
 * now or b is full. */
long buf_read(struct buf *b, int fd);

#endif
