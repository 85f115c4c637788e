/*
 * test_claims_cache.c - verified claims remembered until exp (+ leeway),
 * refusals for a while, one slot per digest, cleared on demand.
 */
#include <sodium.h>
#include <string.h>

#include "policy/claims_cache.h"
#include "policy/session_keys.h"
#include "tap.h"

static const int ring_a, ring_b;
#define RING (&ring_a)

static void
test_valid_until_exp(void)
{
    struct claims_cache *cc = claims_cache_new(16);
    unsigned char d[CLAIMS_CACHE_DIGEST_BYTES];
    claims_cache_digest(cc, "tok-a", 5, d);
    struct token_claims c = {.sub = "alice", .jti = "s1", .exp_s = 1000}, out;
    is_int(claims_cache_get(cc, d, RING, 900, &out), CLAIMS_CACHE_MISS, "unknown token: miss");
    claims_cache_put(cc, d, RING, &c);
    memset(&out, 0, sizeof(out));
    is_int(claims_cache_get(cc, d, RING, 900, &out), CLAIMS_CACHE_VALID, "remembered: valid");
    is_str(out.sub, "alice", "the claims come back");
    is_int(claims_cache_get(cc, d, RING, 1000 + TOKEN_LEEWAY_S, &out), CLAIMS_CACHE_VALID,
           "still valid within the leeway");
    is_int(claims_cache_get(cc, d, RING, 1001 + TOKEN_LEEWAY_S, &out), CLAIMS_CACHE_MISS,
           "past exp + leeway: a miss (verified again, then expired)");
    is_int(claims_cache_get(cc, d, RING, 900, &out), CLAIMS_CACHE_MISS, "and the entry is gone");
    claims_cache_free(cc);
}

static void
test_refused_for_a_while(void)
{
    struct claims_cache *cc = claims_cache_new(16);
    unsigned char d[CLAIMS_CACHE_DIGEST_BYTES];
    struct token_claims out;
    claims_cache_digest(cc, "forged", 6, d);
    claims_cache_put_refused(cc, d, RING, 100);
    is_int(claims_cache_get(cc, d, RING, 100 + CLAIMS_CACHE_REFUSED_S, &out), CLAIMS_CACHE_REFUSED,
           "a refused token is remembered");
    is_int(claims_cache_get(cc, d, RING, 101 + CLAIMS_CACHE_REFUSED_S, &out), CLAIMS_CACHE_MISS,
           "for CLAIMS_CACHE_REFUSED_S only");
    claims_cache_free(cc);
}

static void
test_digests_and_slots(void)
{
    struct claims_cache *cc = claims_cache_new(1); /* one slot: every token collides */
    unsigned char a[CLAIMS_CACHE_DIGEST_BYTES], b[CLAIMS_CACHE_DIGEST_BYTES];
    claims_cache_digest(cc, "tok-a", 5, a);
    claims_cache_digest(cc, "tok-b", 5, b);
    ok(memcmp(a, b, sizeof(a)) != 0, "different tokens, different digests");
    struct token_claims ca = {.sub = "alice", .exp_s = 1000}, out;
    claims_cache_put(cc, a, RING, &ca);
    is_int(claims_cache_get(cc, b, RING, 10, &out), CLAIMS_CACHE_MISS,
           "another token in the same slot is a miss, not alice's claims");
    claims_cache_put_refused(cc, b, RING, 10);
    is_int(claims_cache_get(cc, a, RING, 10, &out), CLAIMS_CACHE_MISS, "the newer entry replaced it");
    is_int(claims_cache_get(cc, b, &ring_b, 10, &out), CLAIMS_CACHE_MISS,
           "an entry of another key ring is a miss (a request that began before a reload)");
    claims_cache_clear(cc);
    is_int(claims_cache_get(cc, b, RING, 10, &out), CLAIMS_CACHE_MISS, "cleared");
    struct claims_cache *other = claims_cache_new(1);
    unsigned char a2[CLAIMS_CACHE_DIGEST_BYTES];
    claims_cache_digest(other, "tok-a", 5, a2);
    ok(memcmp(a, a2, sizeof(a)) != 0, "digests are keyed per cache");
    claims_cache_free(other);
    claims_cache_free(cc);
}

static void
test_session_keys(void)
{
    char k[SESSION_KEY_MAX];
    is_int(session_key(k, "sluice:", "alice", "s1"), 21, "session key length");
    is_str(k, "sluice:{u:alice}:s:s1", "session key under the user's hash tag");
    session_index_key(k, "p:", "bob");
    is_str(k, "p:{u:bob}:sessions", "index key");
    session_key_prefix(k, "p:", "bob");
    is_str(k, "p:{u:bob}:s:", "session key prefix");
    char big[SESSION_KEY_MAX];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    is_int(session_key(k, big, "a", "b"), -1, "a key that would not fit: -1");
    ok(session_user_valid("alice@example.com", 17), "an e-mail is a valid user");
    ok(!session_user_valid("", 0), "empty: invalid");
    ok(!session_user_valid("a b", 3), "space: invalid");
    ok(!session_user_valid("a{b", 3) && !session_user_valid("a}b", 3), "braces: invalid");
    ok(!session_user_valid("a\x7f", 2) && !session_user_valid("a\n", 2), "controls: invalid");
    ok(!session_user_valid("\xc3\xa9", 2), "non-ASCII: invalid");
    char u[258];
    memset(u, 'u', sizeof(u));
    ok(session_user_valid(u, 256) && !session_user_valid(u, 257), "256 bytes fine, 257 not");
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_valid_until_exp();
    test_refused_for_a_while();
    test_digests_and_slots();
    test_session_keys();
    return tap_done();
}
