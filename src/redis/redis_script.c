/*
 * redis_script.c - lookup in the table tools/embed_lua.py generates
 * (redis_script_table.c, in the build directory).
 */
#include "redis/redis_script.h"

#include <string.h>

const struct redis_script *
redis_script_find(const char *name)
{
    /* a handful of scripts, looked up once per caller at startup: no index */
    for (size_t i = 0; i < redis_script_count; i++) {
        if (strcmp(redis_script_table[i].name, name) == 0)
            return &redis_script_table[i];
    }
    return NULL;
}
