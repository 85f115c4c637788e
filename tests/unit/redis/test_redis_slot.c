/*
 * test_redis_slot.c - hash slots match Redis's (CLUSTER KEYSLOT): known
 * CRC16/XMODEM vectors, and the hash tag rules of the cluster spec.
 */
#include <stdio.h>
#include <string.h>

#include "redis/redis_slot.h"
#include "tap.h"

static unsigned
slot(const char *k)
{
    return redis_slot_of(k, strlen(k));
}

int
main(void)
{
    is_int(redis_slot_crc16("123456789", 9), 0x31C3, "CRC16/XMODEM check value");
    is_int(redis_slot_crc16("", 0), 0, "CRC of nothing is 0");

    static const struct {
        const char *key;
        unsigned slot;
    } known[] = {
        {"123456789", 12739}, /* 0x31C3 */
        {"foo", 12182},       {"bar", 5061}, {"hello", 866}, {"", 0},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        is_int(slot(known[i].key), known[i].slot, "slot(\"%s\")", known[i].key);

    /* the tag's content decides */
    is_int(slot("{user1000}.following"), slot("{user1000}.followers"), "same tag, same slot");
    is_int(slot("{user1000}.following"), slot("user1000"), "tag hashes as its content");
    is_int(slot("foo{bar}{zap}"), slot("bar"), "only the first tag counts");
    is_int(slot("foo{{bar}}zap"), slot("{bar"), "tag runs to the first } after the first {");
    is_int(slot("foo{}{bar}"), redis_slot_crc16("foo{}{bar}", 10) % 16384,
           "empty tag: whole key CRC");
    is_int(slot("{unclosed"), redis_slot_crc16("{unclosed", 9) % 16384, "no }: whole key");
    is_int(slot("{u:42}:s:abc"), slot("{u:42}:r"), "sluice's user keys share a slot");
    is_int(slot("sluice:{fleet}:x"), slot("fleet"), "a prefix before the tag does not count");

    /* binary keys: NUL inside the tag */
    is_int(redis_slot_of("{a\0b}x", 6), redis_slot_crc16("a\0b", 3) % 16384, "binary tag");

    /* every slot in range */
    char k[16];
    int bad = 0;
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(k, sizeof(k), "key:%d", i);
        if (redis_slot_of(k, (size_t)n) >= REDIS_SLOT_COUNT)
            bad++;
    }
    is_int(bad, 0, "slots are below 16384");
    return tap_done();
}
