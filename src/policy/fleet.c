/*
 * fleet.c - the gateway's id and the live-gateway count.
 */
#include "policy/fleet.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "redis/redis_client.h"
#include "redis/redis_script.h"

static char gateway_id[17];
static pthread_once_t id_once = PTHREAD_ONCE_INIT;
static _Atomic unsigned live = 1;

static void
make_id(void)
{
    unsigned char raw[8];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(gateway_id, sizeof(gateway_id), raw, sizeof(raw));
}

const char *
fleet_gateway_id(void)
{
    pthread_once(&id_once, make_id);
    return gateway_id;
}

unsigned
fleet_live_gateways(void)
{
    return atomic_load_explicit(&live, memory_order_relaxed);
}

static void
on_heartbeat(void *arg, const struct redisReply *reply, const char *err)
{
    (void)arg;
    if (err == NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0)
        atomic_store_explicit(&live, (unsigned)reply->integer, memory_order_relaxed);
}

void
fleet_heartbeat(struct redis_client *rc, const char *prefix)
{
    char key[512];
    int len = snprintf(key, sizeof(key), "%s{fleet}:gateways", prefix);
    if (len < 0 || (size_t)len >= sizeof(key))
        return;
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", FLEET_HEARTBEAT_TTL_MS);
    const char *id = fleet_gateway_id();
    const char *keys[] = {key};
    const size_t keylens[] = {(size_t)len};
    const char *args[] = {id, ttl};
    const size_t arglens[] = {strlen(id), strlen(ttl)};
    redis_client_script(rc, redis_script_find("heartbeat"), 1, keys, keylens, 2, args, arglens,
                        on_heartbeat, NULL);
}
