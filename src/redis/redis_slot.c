/*
 * redis_slot.c - hash slots of redis_slot.h. The CRC is computed bit by
 * bit: keys are short (a hash tag), and a table would be 512 bytes of
 * constants to check for a few nanoseconds per command.
 */
#include "redis/redis_slot.h"

#include <string.h>

uint16_t
redis_slot_crc16(const char *p, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint16_t)(unsigned char)p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

unsigned
redis_slot_of(const char *key, size_t len)
{
    /* The first '{' and the first '}' after it; "{}" or no '}' hashes
     * the whole key, as Redis does (cluster.c keyHashSlot). */
    const char *open = memchr(key, '{', len);
    if (open != NULL) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close != NULL && close > open + 1) {
            key = open + 1;
            len = (size_t)(close - key);
        }
    }
    return redis_slot_crc16(key, len) & (REDIS_SLOT_COUNT - 1);
}
