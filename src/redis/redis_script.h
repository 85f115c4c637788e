/*
 * redis_script.h - the Lua scripts of lua/, embedded at build time by
 * tools/embed_lua.py (a meson custom_target over the list lua_scripts in
 * meson.build: adding a script is one line there). Each is loaded by the
 * Redis client on connect (SCRIPT LOAD, SHA checked) and called by its SHA
 * (redis_client_script: EVALSHA, reloaded once on -NOSCRIPT).
 */
#ifndef SLUICE_REDIS_SCRIPT_H
#define SLUICE_REDIS_SCRIPT_H

#include <stddef.h>

struct redis_script {
    const char *name; /* the file name without .lua: "ping" */
    const char *body; /* the file's bytes */
    size_t body_len;
    char sha1[41]; /* hex SHA1 of body: Redis's name for the script */
};

/* Every script, in the order of meson.build's list; static storage. */
extern const struct redis_script redis_script_table[];
extern const size_t redis_script_count;

/* The script named name (borrowed, static), or NULL. */
const struct redis_script *redis_script_find(const char *name);

#endif
