/*
 * refusals.c - the per-worker memory of refused callers.
 */
#include "policy/refusals.h"

#include <sodium.h>
#include <string.h>

#include "sluice.h"

struct slot {
    uint64_t key; /* 0: empty */
    const void *owner;
    uint64_t epoch;
    struct refusal ref;
};

struct refusals {
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
    size_t mask;
    struct slot slots[];
};

struct refusals *
refusals_new(size_t nslots)
{
    size_t n = 1;
    while (n < nslots)
        n <<= 1;
    struct refusals *r = xcalloc(1, sizeof(*r) + n * sizeof(struct slot));
    r->mask = n - 1;
    /* Keyed, so a client cannot pick addresses that evict one another. */
    randombytes_buf(r->hash_key, sizeof(r->hash_key));
    return r;
}

void
refusals_free(struct refusals *r)
{
    free(r);
}

uint64_t
refusals_key(const struct refusals *r, const char *tag, const char *plan)
{
    /* tag and plan, NUL between them: "u:ab" + "c" differs from "u:a" + "bc". */
    unsigned char in[1024];
    size_t tl = strlen(tag), pl = strlen(plan);
    if (tl + pl + 1 > sizeof(in))
        pl = sizeof(in) - tl - 1; /* tags are at most 258 bytes: plans are cut, not tags */
    memcpy(in, tag, tl);
    in[tl] = '\0';
    memcpy(in + tl + 1, plan, pl);
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, in, tl + 1 + pl, r->hash_key);
    uint64_t k;
    memcpy(&k, out, sizeof(k));
    return k != 0 ? k : 1;
}

bool
refusals_get(struct refusals *r, uint64_t key, const void *owner, uint64_t epoch, int64_t now_ms,
             struct refusal *out)
{
    struct slot *s = &r->slots[key & r->mask];
    if (s->key != key || s->owner != owner || s->epoch != epoch)
        return false;
    if (now_ms >= s->ref.until_ms) {
        s->key = 0;
        return false;
    }
    *out = s->ref;
    return true;
}

void
refusals_put(struct refusals *r, uint64_t key, const void *owner, uint64_t epoch,
             const struct refusal *ref)
{
    struct slot *s = &r->slots[key & r->mask];
    *s = (struct slot){.key = key, .owner = owner, .epoch = epoch, .ref = *ref};
}
