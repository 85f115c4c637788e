/*
 * reply_arena.h - hiredis reply objects made in a per-connection arena
 * instead of one calloc per object: a reply of three strings was eight
 * allocations and eight frees, a tenth of a cache miss's instructions.
 *
 *   socket bytes --redisReaderFeed--> reader --redisReaderGetReply--> reply
 *        (its objects and strings bumped out of the arena)
 *   callback done --> reply_arena_reset: every reply handed out is gone
 *
 * The objects are hiredis's own struct redisReply, with NUL-terminated
 * strings, linked as its default functions link them, so callers read them
 * as before; they must never be given to freeReplyObject. The arena keeps
 * one block of REPLY_ARENA_BLOCK bytes; what does not fit in it (a large
 * entry) is allocated on its own and freed at the reset.
 */
#ifndef SLUICE_REPLY_ARENA_H
#define SLUICE_REPLY_ARENA_H

#include <stddef.h>

struct redisReader;
struct reply_arena;

#define REPLY_ARENA_BLOCK 8192

struct reply_arena *reply_arena_new(void);
/* Frees the arena and whatever replies it still holds. */
void reply_arena_free(struct reply_arena *a);

/* A new reader (owned by the caller: redisReaderFree) whose replies live in
 * a, which must outlive it. */
struct redisReader *reply_arena_reader(struct reply_arena *a);

/* Every reply handed out so far is gone. Only between whole replies: a
 * reader in the middle of one (redisReaderGetReply gave nothing yet) keeps
 * its part in the arena. */
void reply_arena_reset(struct reply_arena *a);

#endif
