/*
 * test_token.c - session tokens: key rings, claims rules, kid rotation,
 * tampering, headers, canonical base64url, minting (token.h).
 *
 * Tokens with hand-written payloads and footers are built with paseto.h
 * and the raw keys, so every claims rule can be hit one at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sluice.h"
#include "tap.h"
#include "tokens/paserk.h"
#include "tokens/paseto.h"
#include "tokens/rfc3339.h"
#include "tokens/token.h"

#define NOW 1780000000 /* 2026-05-28T20:26:40Z */
#define BIG 12000

static const struct paseto_bytes none = {NULL, 0};

struct keypair {
    char secret[PASERK_SECRET_SIZE], public[PASERK_PUBLIC_SIZE], pid[PASERK_ID_SIZE];
    unsigned char sk[64];
};

static void
keypair_new(struct keypair *k)
{
    paserk_keygen_public(k->secret, sizeof k->secret, k->public, sizeof k->public, k->pid,
                         sizeof k->pid);
    paserk_decode_secret(k->sk, k->secret, strlen(k->secret));
}

static struct paseto_bytes
str_bytes(const char *s)
{
    return (struct paseto_bytes){(const unsigned char *)s, s != NULL ? strlen(s) : 0};
}

static struct keypair ka, kb, kc;
static struct token_keyring *ring; /* [ka secret, kb secret] */

/* Signs payload with k and footer (NULL: {"kid": k's pid}) into a static buffer. */
static const char *
sign_with(const struct keypair *k, const char *payload, const char *footer)
{
    static char tok[BIG];
    char f[128];
    size_t len;

    if (footer == NULL) {
        snprintf(f, sizeof f, "{\"kid\":\"%s\"}", k->pid);
        footer = f;
    }
    if (paseto_v4_sign(tok, sizeof tok, &len, k->sk, str_bytes(payload), str_bytes(footer), none) !=
        0)
        return "";
    return tok;
}

static enum token_result
verify_str(const struct token_keyring *kr, const char *tok, struct token_claims *c)
{
    return token_verify(kr, tok, strlen(tok), NOW, c);
}

/* Verifies a payload signed by ka with its kid. */
static enum token_result
payload_result(const char *payload, struct token_claims *c)
{
    struct token_claims scratch;
    return verify_str(ring, sign_with(&ka, payload, NULL), c != NULL ? c : &scratch);
}

static const char *
times(const char *fmt, int64_t exp_off, int64_t extra_off)
{
    static char buf[1024];
    char e[RFC3339_UTC_SIZE], x[RFC3339_UTC_SIZE];

    const char *subst[2] = {e, x};
    size_t n = 0, used = 0;

    rfc3339_format_utc(e, sizeof e, NOW + exp_off);
    rfc3339_format_utc(x, sizeof x, NOW + extra_off);
    /* fmt's first "%s" is exp, the second the other time (-Wformat=2
     * refuses a non-literal format, so substitute by hand). */
    for (const char *p = fmt; *p != '\0' && n + 21 < sizeof buf; p++) {
        if (p[0] == '%' && p[1] == 's' && used < 2) {
            memcpy(buf + n, subst[used], strlen(subst[used]));
            n += strlen(subst[used++]);
            p++;
        } else {
            buf[n++] = *p;
        }
    }
    buf[n] = '\0';
    return buf;
}

static void
check_claims(void)
{
    struct token_claims c;
    const char *base = "{\"sub\":\"alice\",\"jti\":\"s-1\",\"exp\":\"%s\",\"iat\":\"%s\"}";
    char long_sub[400], buf[1024];

    is_int(payload_result(times(base, 3600, -10), &c), TOKEN_OK, "claims: good token");
    is_str(c.sub, "alice", "claims: sub");
    is_str(c.jti, "s-1", "claims: jti");
    is_str(c.plan, "", "claims: no plan is empty");
    is_int(c.exp_s, NOW + 3600, "claims: exp");
    is_int(c.iat_s, NOW - 10, "claims: iat");
    is_int(c.nbf_s, 0, "claims: nbf absent is 0");
    is_int(payload_result("{\"sub\":\"alice\",\"jti\":\"s-1\"}", NULL), TOKEN_INVALID,
           "claims: exp missing");
    is_int(payload_result(times(base, -31, -100), &c), TOKEN_EXPIRED, "claims: exp past + leeway");
    is_str(c.sub, "alice", "claims: expired still fills claims");
    is_int(payload_result(times(base, -30, -100), NULL), TOKEN_OK, "claims: exp within leeway");
    is_int(
        payload_result(
            times("{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"%s\",\"nbf\":\"%s\"}", 3600, 31), NULL),
        TOKEN_INVALID, "claims: nbf in the future");
    is_int(payload_result(
               times("{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"%s\",\"nbf\":\"%s\"}", 3600, 30), &c),
           TOKEN_OK, "claims: nbf within leeway");
    is_int(c.nbf_s, NOW + 30, "claims: nbf");
    is_int(payload_result(times(base, 3600, 31), NULL), TOKEN_INVALID, "claims: iat in the future");
    is_int(payload_result(
               times("{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"%s\",\"plan\":\"pro\"}", 3600, 0), &c),
           TOKEN_OK, "claims: plan");
    is_str(c.plan, "pro", "claims: plan copied");

    static const char *const bad_subs[] = {
        "", "a b", "a{b", "a}b", "a\\u0001b", "caf\\u00e9", "a\\u007f", "a\\tb", "a\\u0000b"};
    for (size_t k = 0; k < SL_ARRAY_LEN(bad_subs); k++) {
        snprintf(buf, sizeof buf, "{\"sub\":\"%s\",\"jti\":\"j\",\"exp\":\"%%s\"}", bad_subs[k]);
        is_int(payload_result(times(buf, 3600, 0), NULL), TOKEN_INVALID, "claims: bad sub %zu", k);
    }
    memset(long_sub, 'u', sizeof long_sub);
    for (int n = 255; n <= 257; n++) {
        snprintf(buf, sizeof buf, "{\"sub\":\"%.*s\",\"jti\":\"j\",\"exp\":\"%%s\"}", n, long_sub);
        is_int(payload_result(times(buf, 3600, 0), &c), n <= 256 ? TOKEN_OK : TOKEN_INVALID,
               "claims: sub of %d bytes", n);
    }
    is_int(strlen(c.sub), 256, "claims: 256-byte sub copied whole");
    for (int n = 128; n <= 129; n++) {
        snprintf(buf, sizeof buf, "{\"sub\":\"a\",\"jti\":\"%.*s\",\"exp\":\"%%s\"}", n, long_sub);
        is_int(payload_result(times(buf, 3600, 0), NULL), n <= 128 ? TOKEN_OK : TOKEN_INVALID,
               "claims: jti of %d bytes", n);
        snprintf(buf, sizeof buf, "{\"sub\":\"a\",\"jti\":\"j\",\"plan\":\"%.*s\",\"exp\":\"%%s\"}",
                 n, long_sub);
        is_int(payload_result(times(buf, 3600, 0), NULL), n <= 128 ? TOKEN_OK : TOKEN_INVALID,
               "claims: plan of %d bytes", n);
    }

    static const char *const bad_payloads[] = {
        "{\"sub\":\"a\",\"exp\":\"%s\"}",                             /* no jti */
        "{\"jti\":\"j\",\"exp\":\"%s\"}",                             /* no sub */
        "{\"sub\":\"a\",\"jti\":\"\",\"exp\":\"%s\"}",                /* empty jti */
        "{\"sub\":1,\"jti\":\"j\",\"exp\":\"%s\"}",                   /* sub a number */
        "{\"sub\":\"a\",\"jti\":[\"j\"],\"exp\":\"%s\"}",             /* jti an array */
        "{\"sub\":\"a\",\"jti\":\"j\",\"exp\":1900000000}",           /* exp a number */
        "{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"%s\",\"iat\":true}",  /* iat a bool */
        "{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"%s\",\"nbf\":null}",  /* nbf null */
        "{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"%s\",\"plan\":7}",    /* plan a number */
        "{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"%s\",\"plan\":\"\"}", /* empty plan */
        "{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"2030-02-30T00:00:00Z\"}",
        "{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"2030-01-01T00:00:00z\"}",
        "{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"2030-01-01 00:00:00Z\"}",
        "{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"%s\",\"sub\":\"b\"}", /* duplicate */
        "[\"%s\"]",
        "\"%s\"",
        "42",
        "null",
        "not json %s",
        "",
        "{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"%s\"} trailing",
    };
    for (size_t k = 0; k < SL_ARRAY_LEN(bad_payloads); k++)
        is_int(payload_result(times(bad_payloads[k], 3600, 0), NULL), TOKEN_INVALID,
               "claims: bad payload %zu", k);
    /* Offsets and fractions are RFC 3339 too: 2030-01-01T01:00:00Z. */
    is_int(
        payload_result("{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"2030-01-01T02:00:00.5+01:00\"}", &c),
        TOKEN_OK, "claims: exp with offset and fraction");
    is_int(c.exp_s, 1893459600, "claims: offset applied");
}

static void
check_footers_and_rotation(void)
{
    const char *good = times("{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"%s\"}", 3600, 0);
    struct token_claims c;
    char f[128];
    enum token_key_kind kinds[] = {TOKEN_KEY_SECRET, TOKEN_KEY_PUBLIC};
    const char *keys[2];
    char err[256];

    is_int(verify_str(ring, sign_with(&ka, good, ""), &c), TOKEN_OK, "footer: none, signing key");
    is_int(verify_str(ring, sign_with(&ka, good, "{}"), &c), TOKEN_OK,
           "footer: no kid, signing key");
    is_int(verify_str(ring, sign_with(&ka, good, "{\"other\":1}"), &c), TOKEN_OK,
           "footer: other members are fine");
    is_int(verify_str(ring, sign_with(&ka, good, "not json"), &c), TOKEN_INVALID,
           "footer: not JSON");
    is_int(verify_str(ring, sign_with(&ka, good, "[1]"), &c), TOKEN_INVALID,
           "footer: not an object");
    is_int(verify_str(ring, sign_with(&ka, good, "{\"kid\":7}"), &c), TOKEN_INVALID,
           "footer: kid not a string");
    snprintf(f, sizeof f, "{\"kid\":\"%s\",\"kid\":\"%s\"}", ka.pid, ka.pid);
    is_int(verify_str(ring, sign_with(&ka, good, f), &c), TOKEN_INVALID, "footer: duplicate kid");

    is_int(verify_str(ring, sign_with(&kb, good, NULL), &c), TOKEN_OK,
           "rotation: second key with its kid");
    is_int(verify_str(ring, sign_with(&kb, good, ""), &c), TOKEN_INVALID,
           "rotation: second key without kid");
    is_int(verify_str(ring, sign_with(&kb, good, "{}"), &c), TOKEN_INVALID,
           "rotation: second key, footer without kid");
    snprintf(f, sizeof f, "{\"kid\":\"%s\"}", kb.pid);
    is_int(verify_str(ring, sign_with(&ka, good, f), &c), TOKEN_INVALID,
           "rotation: first key under the second's kid");
    is_int(verify_str(ring, sign_with(&kc, good, NULL), &c), TOKEN_INVALID,
           "rotation: unknown kid");
    snprintf(f, sizeof f, "{\"kid\":\"%.*s\"}", (int)strlen(ka.pid) - 1, ka.pid);
    is_int(verify_str(ring, sign_with(&ka, good, f), &c), TOKEN_INVALID, "rotation: kid prefix");

    /* [ka secret, kc public]: kc's tokens verify, by kid only. */
    keys[0] = ka.secret;
    keys[1] = kc.public;
    struct token_keyring *mixed =
        token_keyring_new(TOKEN_V4_PUBLIC, kinds, keys, 2, err, sizeof err);
    ok(mixed != NULL, "rotation: ring with a public key loads");
    is_str(token_keyring_id(mixed, 1), kc.pid, "rotation: public key's id is its pid");
    is_int(verify_str(mixed, sign_with(&kc, good, NULL), &c), TOKEN_OK,
           "rotation: public-only key verifies");
    token_keyring_free(mixed);

    /* [kc public]: verify only. */
    kinds[0] = TOKEN_KEY_PUBLIC;
    keys[0] = kc.public;
    struct token_keyring *vonly =
        token_keyring_new(TOKEN_V4_PUBLIC, kinds, keys, 1, err, sizeof err);
    struct token_claims mint = {.sub = "a", .jti = "j", .exp_s = NOW + 60, .iat_s = NOW};
    char tok[TOKEN_MAX_LEN];
    ok(vonly != NULL && token_mint(vonly, &mint, tok, sizeof tok) == -1,
       "rotation: a public first key cannot mint");
    is_int(verify_str(vonly, sign_with(&kc, good, ""), &c), TOKEN_OK,
           "rotation: public first key verifies a token without kid");
    token_keyring_free(vonly);
}

static void
check_tamper_one(const struct token_keyring *kr, const char *what)
{
    struct token_claims c = {
        .sub = "bob", .jti = "sess-42", .plan = "free", .exp_s = NOW + 600, .iat_s = NOW};
    struct token_claims got;
    char tok[TOKEN_MAX_LEN], bad[TOKEN_MAX_LEN + 8];
    int len = token_mint(kr, &c, tok, sizeof tok), flips_ok = 0;

    ok(len > 0 && (size_t)len == strlen(tok), "%s: mints", what);
    is_int(token_verify(kr, tok, (size_t)len, NOW, &got), TOKEN_OK, "%s: round trip", what);
    ok(strcmp(got.sub, "bob") == 0 && strcmp(got.jti, "sess-42") == 0 &&
           strcmp(got.plan, "free") == 0 && got.exp_s == NOW + 600 && got.iat_s == NOW,
       "%s: claims survive the round trip", what);
    for (int k = 0; k < len; k++) {
        memcpy(bad, tok, (size_t)len + 1);
        bad[k] ^= 1;
        if (token_verify(kr, bad, (size_t)len, NOW, &got) == TOKEN_OK)
            flips_ok++;
    }
    is_int(flips_ok, 0, "%s: no flipped byte verifies (%d bytes)", what, len);
    for (int k = 0; k < len; k++)
        if (token_verify(kr, tok, (size_t)k, NOW, &got) == TOKEN_OK)
            flips_ok++;
    is_int(flips_ok, 0, "%s: no truncation verifies", what);
    snprintf(bad, sizeof bad, "%s=", tok);
    is_int(token_verify(kr, bad, strlen(bad), NOW, &got), TOKEN_INVALID, "%s: padding", what);
    snprintf(bad, sizeof bad, "%s.", tok);
    is_int(token_verify(kr, bad, strlen(bad), NOW, &got), TOKEN_INVALID, "%s: extra dot", what);
    /* The footer is 61 bytes, a partial group: 4 unused bits in its last char. */
    memcpy(bad, tok, (size_t)len + 1);
    bad[len - 1] = (char)(bad[len - 1] + 1);
    is_int(token_verify(kr, bad, (size_t)len, NOW, &got), TOKEN_INVALID, "%s: non-canonical footer",
           what);
    is_int(token_verify(kr, tok, (size_t)len, NOW + 601 + TOKEN_LEEWAY_S, &got), TOKEN_EXPIRED,
           "%s: expires", what);
}

static void
check_headers(void)
{
    const char *good = times("{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"%s\"}", 3600, 0);
    char tok[BIG];
    static const char *const heads[] = {"v4.local.", "v3.public.", "v2.public.", "V4.public.",
                                        "v4.public", "v4.publi.",  "",           "v4.secret."};

    for (size_t k = 0; k < SL_ARRAY_LEN(heads); k++) {
        snprintf(tok, sizeof tok, "%s%s", heads[k], sign_with(&ka, good, NULL) + 10);
        is_int(verify_str(ring, tok, NULL), TOKEN_INVALID, "header: '%s' refused", heads[k]);
    }
    is_int(token_verify(NULL, "v4.public.x", 11, NOW, NULL), TOKEN_INVALID, "NULL ring");

    /* Over the cap, even when well signed. */
    char *payload = xmalloc(7000);
    snprintf(payload, 7000,
             "{\"sub\":\"a\",\"jti\":\"j\",\"exp\":\"2030-01-01T00:00:00Z\",\"x\":\"");
    size_t n = strlen(payload);
    memset(payload + n, 'x', 6000);
    strcpy(payload + n + 6000, "\"}");
    const char *big = sign_with(&ka, payload, NULL);
    ok(strlen(big) > 8192, "cap: the big token is over 8 KiB");
    is_int(verify_str(ring, big, NULL), TOKEN_INVALID, "cap: over 8 KiB refused");
    payload[n + 4000] = '\0';
    strcat(payload, "\"}");
    is_int(verify_str(ring, sign_with(&ka, payload, NULL), NULL), TOKEN_OK,
           "cap: a well-signed 5 KiB token verifies");
    free(payload);
}

static void
check_keyrings(void)
{
    char local[PASERK_LOCAL_SIZE], lid[PASERK_ID_SIZE], err[256], bad[PASERK_SECRET_SIZE + 8];
    enum token_key_kind kind;
    const char *key;
    struct token_keyring *kr;

    paserk_keygen_local(local, sizeof local, lid, sizeof lid);
    is_str(token_keyring_id(ring, 0), ka.pid, "ring: a secret key's id is its public pid");
    is_str(token_keyring_id(ring, 1), kb.pid, "ring: second id");
    ok(token_keyring_id(ring, 2) == NULL && token_keyring_len(ring) == 2, "ring: length 2");

    struct {
        enum token_format format;
        enum token_key_kind kind;
        const char *paserk;
        const char *what;
    } bads[] = {
        {TOKEN_V4_PUBLIC, TOKEN_KEY_LOCAL, local, "local key, public format"},
        {TOKEN_V4_LOCAL, TOKEN_KEY_SECRET, ka.secret, "secret key, local format"},
        {TOKEN_V4_PUBLIC, TOKEN_KEY_SECRET, ka.public, "k4.public under secret"},
        {TOKEN_V4_PUBLIC, TOKEN_KEY_PUBLIC, ka.secret, "k4.secret under public"},
        {TOKEN_V4_PUBLIC, TOKEN_KEY_SECRET, "k4.secret.!!!!", "bad base64"},
        {TOKEN_V4_PUBLIC, TOKEN_KEY_PUBLIC, "k4.public.AAAA", "short key"},
        {TOKEN_V4_LOCAL, TOKEN_KEY_LOCAL, "k4.local.", "empty key"},
        {TOKEN_V4_PUBLIC, TOKEN_KEY_SECRET, bad, "secret with a foreign public half"},
    };
    /* Change a character of the public half: decodes, but mismatches the seed. */
    snprintf(bad, sizeof bad, "%s", ka.secret);
    bad[60] = bad[60] == 'A' ? 'B' : 'A';
    for (size_t k = 0; k < SL_ARRAY_LEN(bads); k++) {
        err[0] = '\0';
        kind = bads[k].kind;
        key = bads[k].paserk;
        kr = token_keyring_new(bads[k].format, &kind, &key, 1, err, sizeof err);
        ok(kr == NULL && strncmp(err, "keys[0]: ", 9) == 0, "ring: refuses %s (%s)", bads[k].what,
           err);
        token_keyring_free(kr);
        ok(token_key_check(bads[k].format, kind, key, err, sizeof err) == -1,
           "key check: refuses %s", bads[k].what);
    }

    kind = TOKEN_KEY_LOCAL;
    key = local;
    kr = token_keyring_new(TOKEN_V4_LOCAL, &kind, &key, 1, err, sizeof err);
    ok(kr != NULL, "ring: local key loads");
    is_str(token_keyring_id(kr, 0), lid, "ring: a local key's id is its lid");
    check_tamper_one(kr, "v4.local");
    token_keyring_free(kr);

    kr = token_keyring_new(TOKEN_V4_PUBLIC, NULL, NULL, 0, err, sizeof err);
    ok(kr != NULL && token_keyring_len(kr) == 0, "ring: empty ring loads");
    is_int(verify_str(kr, sign_with(&ka, "{}", ""), NULL), TOKEN_INVALID,
           "ring: empty ring refuses every token");
    token_keyring_free(kr);
}

static void
check_mint(void)
{
    struct token_claims c = {.sub = "a\"b\\c", .jti = "j", .exp_s = NOW + 60, .iat_s = NOW};
    struct token_claims got;
    char tok[TOKEN_MAX_LEN];

    int len = token_mint(ring, &c, tok, sizeof tok);
    is_int(token_verify(ring, tok, (size_t)len, NOW, &got), TOKEN_OK, "mint: escapes in sub");
    is_str(got.sub, "a\"b\\c", "mint: sub survives JSON escaping");
    ok(token_mint(ring, &c, tok, 40) == -1, "mint: short buffer");
    memset(c.sub, '"', TOKEN_SUB_MAX);
    memset(c.jti, '\\', TOKEN_JTI_MAX);
    memset(c.plan, '~', TOKEN_PLAN_MAX);
    len = token_mint(ring, &c, tok, sizeof tok);
    ok(len > 0 && token_verify(ring, tok, (size_t)len, NOW, &got) == TOKEN_OK,
       "mint: the largest claims fit TOKEN_MAX_LEN (%d bytes)", len);
    c.sub[3] = ' ';
    ok(token_mint(ring, &c, tok, sizeof tok) == -1, "mint: a bad sub is refused");
    ok(token_mint(NULL, &c, tok, sizeof tok) == -1, "mint: NULL ring");
}

int
main(void)
{
    enum token_key_kind kinds[] = {TOKEN_KEY_SECRET, TOKEN_KEY_SECRET};
    const char *keys[2];
    char err[256];

    if (sodium_init() < 0) {
        printf("Bail out! sodium_init failed\n");
        return 1;
    }
    keypair_new(&ka);
    keypair_new(&kb);
    keypair_new(&kc);
    keys[0] = ka.secret;
    keys[1] = kb.secret;
    ring = token_keyring_new(TOKEN_V4_PUBLIC, kinds, keys, 2, err, sizeof err);
    if (ring == NULL) {
        printf("Bail out! ring: %s\n", err);
        return 1;
    }
    check_claims();
    check_footers_and_rotation();
    check_tamper_one(ring, "v4.public");
    check_headers();
    check_keyrings();
    check_mint();
    token_keyring_free(ring);
    return tap_done();
}
