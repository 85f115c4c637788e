/*
 * redis_pending.c - the command queues of a Redis connection
 * (redis_node_internal.h): FIFO lists of struct pending, and delivering a
 * command's one callback.
 */
#include <stdlib.h>

#include "redis/redis_node_internal.h"
#include "redis/resp.h"
#include "sluice.h"
#include "util/clock.h"

void
pending_list_push(struct pending_list *l, struct pending *p)
{
    p->next = NULL;
    if (l->tail != NULL)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
}

struct pending *
pending_list_pop(struct pending_list *l)
{
    struct pending *p = l->head;
    if (p != NULL) {
        l->head = p->next;
        if (l->head == NULL)
            l->tail = NULL;
        p->next = NULL;
    }
    return p;
}

/* Moves every entry of from to the end of to. */
void
pending_list_take(struct pending_list *to, struct pending_list *from)
{
    if (from->head == NULL)
        return;
    if (to->tail != NULL)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    from->head = from->tail = NULL;
}

struct pending *
pending_new(struct redis_node *rc, enum pending_kind kind, redis_reply_cb cb, void *arg)
{
    struct pending *p = xcalloc(1, sizeof(*p));
    p->kind = kind;
    p->cb = cb;
    p->arg = arg;
    p->start_us = clock_now_us();
    p->deadline_us = p->start_us + (int64_t)rc->timeout_ms * 1000;
    return p;
}

/* The command's bytes, owned by p (kept for a NOSCRIPT retry). */
void
pending_encode(struct pending *p, int argc, const char *const *argv, const size_t *lens)
{
    p->cmd_len = resp_encoded_len(argc, lens);
    p->cmd = xmalloc(p->cmd_len);
    resp_encode(p->cmd, argc, argv, lens);
}

void
pending_free(struct pending *p)
{
    free(p->cmd);
    free(p);
}

bool
pending_has_callback(const struct pending *p)
{
    return p->cb != NULL && !p->timed_out;
}

/* Runs p's callback (once: p is marked, or freed by the caller). */
void
pending_deliver(struct redis_node *rc, struct pending *p, const struct redisReply *reply,
                const char *err)
{
    SL_ASSERT(pending_has_callback(p));
    p->timed_out = true; /* from now on "its callback has fired" */
    rc->nlive--;
    if (rc->observe != NULL)
        rc->observe(err ? 0 : (uint64_t)(clock_now_us() - p->start_us), err != NULL);
    rc->dispatching++;
    p->cb(p->arg, reply, err);
    rc->dispatching--;
}

/* Fails and frees every entry of l, in order. */
void
pending_fail_all(struct redis_node *rc, struct pending_list *l, const char *err)
{
    struct pending *p;
    while ((p = pending_list_pop(l)) != NULL) {
        if (pending_has_callback(p))
            pending_deliver(rc, p, NULL, err);
        pending_free(p);
    }
}
