/*
 * cache_forget.c - the fleet-wide forgetting of hot cache copies (see the
 * header).
 */
#include "policy/cache_forget.h"

#include <stdio.h>
#include <string.h>

#include "policy/cache_hot.h"
#include "policy/fleet.h"
#include "redis/redis_client.h"

#define CHANNEL_SUFFIX "cache:forget"
#define CHANNEL_MAX 160

static void
channel_of(char *out, const char *prefix)
{
    snprintf(out, CHANNEL_MAX, "%s" CHANNEL_SUFFIX, prefix);
}

static void
on_published(void *arg, const struct redisReply *reply, const char *err)
{
    (void)arg, (void)reply, (void)err; /* lost news costs CACHE_HOT_TTL_MS at most */
}

void
cache_forget_publish(struct redis_client *rc, const char *prefix, const char *after_key,
                     size_t after_key_len)
{
    char channel[CHANNEL_MAX];
    channel_of(channel, prefix);
    const char *id = fleet_gateway_id();
    const char *argv[] = {"PUBLISH", channel, id};
    const size_t lens[] = {7, strlen(channel), strlen(id)};
    redis_client_command(rc, after_key, after_key_len, 3, argv, lens, on_published, NULL);
}

static void
on_news(void *arg, const char *msg, size_t len)
{
    (void)arg;
    const char *self = fleet_gateway_id();
    /* this gateway's own news: its workers forgot when it was sent */
    if (msg != NULL && len == strlen(self) && memcmp(msg, self, len) == 0)
        return;
    cache_hot_forget_all();
}

void
cache_forget_listen(struct redis_client *rc, const char *prefix)
{
    char channel[CHANNEL_MAX];
    channel_of(channel, prefix);
    redis_client_subscribe(rc, channel, on_news, NULL);
}
