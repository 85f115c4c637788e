/*
 * test_reply_arena.c - replies made in the arena are the replies hiredis's
 * own reader makes (types, integers, NUL-terminated strings, nested
 * arrays, nil), whether the bytes come whole, one at a time, or several
 * replies in one read; a string larger than the arena's block; a reset
 * between replies leaves the reader able to go on.
 */
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/reply_arena.h"
#include "tap.h"

/* True when a and b are the same reply, all the way down. */
static bool
same(const redisReply *a, const redisReply *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case REDIS_REPLY_INTEGER:
        return a->integer == b->integer;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0 && a->str[a->len] == '\0';
    case REDIS_REPLY_ARRAY:
        if (a->elements != b->elements)
            return false;
        for (size_t i = 0; i < a->elements; i++) {
            if (!same(a->element[i], b->element[i]))
                return false;
        }
        return true;
    default:
        return true; /* nil */
    }
}

/* Feeds bytes in steps of `step` (0: whole) to both readers; every reply
 * the arena's reader gives must equal hiredis's; returns how many. */
static int
compare(const char *bytes, size_t len, size_t step)
{
    struct reply_arena *a = reply_arena_new();
    redisReader *mine = reply_arena_reader(a), *theirs = redisReaderCreate();
    int n = 0;
    bool all_same = true;
    for (size_t off = 0; off < len;) {
        size_t k = step == 0 || off + step > len ? len - off : step;
        redisReaderFeed(mine, bytes + off, k);
        redisReaderFeed(theirs, bytes + off, k);
        off += k;
        for (;;) {
            void *r1 = NULL, *r2 = NULL;
            if (redisReaderGetReply(mine, &r1) != REDIS_OK ||
                redisReaderGetReply(theirs, &r2) != REDIS_OK)
                return -1;
            if ((r1 == NULL) != (r2 == NULL))
                return -1;
            if (r1 == NULL)
                break;
            all_same = all_same && same(r1, r2);
            n++;
            freeReplyObject(r2);
            reply_arena_reset(a);
        }
    }
    redisReaderFree(mine);
    redisReaderFree(theirs);
    reply_arena_free(a);
    return all_same ? n : -1;
}

static void
test_replies(void)
{
    static const char many[] = "+OK\r\n-ERR wrong type\r\n:-42\r\n$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n"
                               "$5\r\nhel\0o\r\n*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n+st\r\n"
                               "*2\r\n$2\r\n12\r\n$4\r\nSLR1\r\n";
    size_t len = sizeof(many) - 1;
    is_int(compare(many, len, 0), 10, "ten replies in one read: the same as hiredis's");
    is_int(compare(many, len, 1), 10, "one byte at a time: the same");
    is_int(compare(many, len, 7), 10, "seven bytes at a time: the same");
}

static void
test_large(void)
{
    size_t body = 3 * REPLY_ARENA_BLOCK + 5;
    char *buf = malloc(body + 64);
    int h = sprintf(buf, "*2\r\n:7\r\n$%zu\r\n", body);
    for (size_t i = 0; i < body; i++)
        buf[h + i] = (char)('a' + i % 26);
    memcpy(buf + h + body, "\r\n", 2);
    size_t len = (size_t)h + body + 2;
    is_int(compare(buf, len, 0), 1, "a string three blocks long: the same");
    is_int(compare(buf, len, 4096), 1, "and in 4 KiB reads");
    free(buf);
}

int
main(void)
{
    test_replies();
    test_large();
    return tap_done();
}
