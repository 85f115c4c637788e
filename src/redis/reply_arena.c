/*
 * reply_arena.c - hiredis reply objects from an arena; see reply_arena.h.
 * The create functions do what hiredis 0.14's defaults (hiredis.c) do:
 * make the object, copy a string with a NUL after it, and link the object
 * into its parent array at the task's index.
 */
#include "redis/reply_arena.h"

#include <hiredis/hiredis.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "sluice.h"

/* An allocation that did not fit in the block: freed at the reset. */
struct big {
    struct big *next;
    alignas(max_align_t) char data[];
};

struct reply_arena {
    struct big *bigs; /* owns */
    size_t used;      /* bytes of block handed out */
    alignas(max_align_t) char block[REPLY_ARENA_BLOCK];
};

/* n zeroed bytes, aligned for any object. */
static void *
arena_alloc(struct reply_arena *a, size_t n)
{
    size_t align = alignof(max_align_t);
    n = (n + align - 1) & ~(align - 1);
    void *p;
    if (n <= REPLY_ARENA_BLOCK - a->used) {
        p = a->block + a->used;
        a->used += n;
    } else {
        struct big *b = xmalloc(sizeof(*b) + n);
        b->next = a->bigs;
        a->bigs = b;
        p = b->data;
    }
    memset(p, 0, n);
    return p;
}

/* A reply object of the task's type, linked into its parent array. */
static redisReply *
new_object(const redisReadTask *task, int type)
{
    redisReply *r = arena_alloc(task->privdata, sizeof(*r));
    r->type = type;
    if (task->parent != NULL) {
        redisReply *parent = task->parent->obj;
        parent->element[task->idx] = r;
    }
    return r;
}

static void *
create_string(const redisReadTask *task, char *str, size_t len)
{
    char *copy = arena_alloc(task->privdata, len + 1);
    memcpy(copy, str, len); /* arena_alloc zeroed the NUL */
    redisReply *r = new_object(task, task->type);
    r->str = copy;
    r->len = len;
    return r;
}

static void *
create_array(const redisReadTask *task, int elements)
{
    void *vec =
        elements > 0 ? arena_alloc(task->privdata, (size_t)elements * sizeof(redisReply *)) : NULL;
    redisReply *r = new_object(task, REDIS_REPLY_ARRAY);
    r->element = vec;
    r->elements = (size_t)(elements > 0 ? elements : 0);
    return r;
}

static void *
create_integer(const redisReadTask *task, long long value)
{
    redisReply *r = new_object(task, REDIS_REPLY_INTEGER);
    r->integer = value;
    return r;
}

static void *
create_nil(const redisReadTask *task)
{
    return new_object(task, REDIS_REPLY_NIL);
}

static void
free_object(void *obj)
{
    (void)obj; /* the arena's: gone at its reset */
}

static redisReplyObjectFunctions arena_functions = {
    create_string, create_array, create_integer, create_nil, free_object,
};

struct reply_arena *
reply_arena_new(void)
{
    struct reply_arena *a = xmalloc(sizeof(*a));
    a->bigs = NULL;
    a->used = 0;
    return a;
}

void
reply_arena_reset(struct reply_arena *a)
{
    while (a->bigs != NULL) {
        struct big *next = a->bigs->next;
        free(a->bigs);
        a->bigs = next;
    }
    a->used = 0;
}

void
reply_arena_free(struct reply_arena *a)
{
    if (a == NULL)
        return;
    reply_arena_reset(a);
    free(a);
}

struct redisReader *
reply_arena_reader(struct reply_arena *a)
{
    struct redisReader *r = redisReaderCreateWithFunctions(&arena_functions);
    redisReaderSetPrivdata(r, a);
    return r;
}
