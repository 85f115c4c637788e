/*
 * token.c - session tokens: the key ring, verification with key rotation,
 * claims, and minting (SPEC sections 5, 9, 11).
 *
 *   token --header/length--> footer --kid--> key --paseto_v4_*--> payload
 *         --claims_parse--> struct token_claims --clock--> OK / EXPIRED
 *
 * The footer is read before the signature is checked (it names the key),
 * so it is bounded and parsed as hostile JSON; so is everything else until
 * paseto.c has checked the signature or MAC.
 */
#include "tokens/token.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "sluice.h"
#include "tokens/paserk.h"
#include "tokens/paseto.h"
#include "tokens/rfc3339.h"

/* Larger tokens are refused before any work: ours are under 2 KiB. */
#define TOKEN_INPUT_MAX 8192
/* Ours is {"kid":"k4.pid.<44>"}; leave room for other minters' fields. */
#define FOOTER_MAX 1024
#define PAYLOAD_MAX (TOKEN_INPUT_MAX / 4 * 3)

struct token_key {
    enum token_key_kind kind;
    /* secret: seed || pk (64); public: pk (32); local: the key (32). */
    unsigned char key[PASERK_SECRET_KEY_BYTES];
    char id[PASERK_ID_SIZE]; /* k4.pid (secret, public) or k4.lid (local) */
};

struct token_keyring {
    enum token_format format;
    struct token_key *keys; /* owns; keys[0] signs */
    size_t nkeys;
};

static const char *const kind_names[] = {"secret", "public", "local"};

/* Decodes one PASERK into k and computes its id; message in err on -1. */
static int
key_load(struct token_key *k, enum token_format format, enum token_key_kind kind,
         const char *paserk, char *err, size_t err_size)
{
    static const char *const prefixes[] = {"k4.secret.", "k4.public.", "k4.local."};
    size_t len = strlen(paserk);
    int rc;

    if (kind > TOKEN_KEY_LOCAL || (format == TOKEN_V4_LOCAL) != (kind == TOKEN_KEY_LOCAL)) {
        snprintf(err, err_size, "a %s key does not fit format %s",
                 kind <= TOKEN_KEY_LOCAL ? kind_names[kind] : "?",
                 format == TOKEN_V4_LOCAL ? "paseto-v4-local" : "paseto-v4-public");
        return -1;
    }
    if (strncmp(paserk, prefixes[kind], strlen(prefixes[kind])) != 0) {
        snprintf(err, err_size, "a %s key must be a PASERK string starting with %s",
                 kind_names[kind], prefixes[kind]);
        return -1;
    }
    k->kind = kind;
    if (kind == TOKEN_KEY_SECRET)
        rc = paserk_decode_secret(k->key, paserk, len) ||
             paserk_pid(k->id, sizeof k->id, k->key + 32, PASERK_PUBLIC_KEY_BYTES);
    else if (kind == TOKEN_KEY_PUBLIC)
        rc = paserk_decode_public(k->key, paserk, len) ||
             paserk_pid(k->id, sizeof k->id, k->key, PASERK_PUBLIC_KEY_BYTES);
    else
        rc = paserk_decode_local(k->key, paserk, len) ||
             paserk_lid(k->id, sizeof k->id, k->key, PASERK_LOCAL_KEY_BYTES);
    if (rc != 0) {
        snprintf(err, err_size,
                 "malformed %s key: needs %s followed by canonical base64url (no padding) of %d "
                 "bytes%s",
                 kind_names[kind], prefixes[kind], kind == TOKEN_KEY_SECRET ? 64 : 32,
                 kind == TOKEN_KEY_SECRET ? ", seed then its public key" : "");
        sodium_memzero(k, sizeof *k);
        return -1;
    }
    return 0;
}

int
token_key_check(enum token_format format, enum token_key_kind kind, const char *paserk, char *err,
                size_t err_size)
{
    struct token_key k;
    int rc = key_load(&k, format, kind, paserk, err, err_size);

    sodium_memzero(&k, sizeof k);
    return rc;
}

struct token_keyring *
token_keyring_new(enum token_format format, const enum token_key_kind *kinds,
                  const char *const *paserks, size_t nkeys, char *err, size_t err_size)
{
    struct token_keyring *kr = xcalloc(1, sizeof *kr);
    char msg[256];

    kr->format = format;
    kr->keys = xcalloc(nkeys > 0 ? nkeys : 1, sizeof *kr->keys);
    for (; kr->nkeys < nkeys; kr->nkeys++) {
        if (key_load(&kr->keys[kr->nkeys], format, kinds[kr->nkeys], paserks[kr->nkeys], msg,
                     sizeof msg) != 0) {
            snprintf(err, err_size, "keys[%zu]: %s", kr->nkeys, msg);
            token_keyring_free(kr);
            return NULL;
        }
    }
    return kr;
}

void
token_keyring_free(struct token_keyring *kr)
{
    if (kr == NULL)
        return;
    sodium_memzero(kr->keys, kr->nkeys * sizeof *kr->keys);
    free(kr->keys);
    free(kr);
}

size_t
token_keyring_len(const struct token_keyring *kr)
{
    return kr != NULL ? kr->nkeys : 0;
}

const char *
token_keyring_id(const struct token_keyring *kr, size_t index)
{
    return kr != NULL && index < kr->nkeys ? kr->keys[index].id : NULL;
}

/* ---- verification ------------------------------------------------------- */

/*
 * The key the footer f[0..len) names: no footer, or a JSON object without
 * "kid": the signing key. The kid is compared with every key's id (all of
 * them, in constant time each) so timing does not say which one matched.
 */
static const struct token_key *
key_for_footer(const struct token_keyring *kr, const unsigned char *f, size_t len)
{
    const struct token_key *found = NULL;

    if (len == 0)
        return &kr->keys[0];
    json_t *doc = json_loadb((const char *)f, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *kid = json_object_get(doc, "kid");
    if (!json_is_object(doc) || (kid != NULL && !json_is_string(kid)))
        goto out;
    if (kid == NULL) {
        found = &kr->keys[0];
        goto out;
    }
    const char *s = json_string_value(kid);
    size_t s_len = json_string_length(kid);
    for (size_t k = 0; k < kr->nkeys; k++) {
        /* Every id has the same length; a kid of another length matches none. */
        bool same = s_len == strlen(kr->keys[k].id) && sodium_memcmp(s, kr->keys[k].id, s_len) == 0;
        if (same && found == NULL)
            found = &kr->keys[k];
    }
out:
    json_decref(doc);
    return found;
}

/* Opens token with key into m; the claims inside are not yet looked at. */
static int
token_open(const struct token_keyring *kr, const struct token_key *key, const char *token,
           size_t len, unsigned char *m, size_t *m_len)
{
    static const struct paseto_bytes none = {NULL, 0};

    if (kr->format == TOKEN_V4_LOCAL)
        return paseto_v4_decrypt(m, PAYLOAD_MAX, m_len, key->key, token, len, none);
    /* A secret key verifies with its public half, bytes 32..63. */
    const unsigned char *pk = key->kind == TOKEN_KEY_SECRET ? key->key + 32 : key->key;
    return paseto_v4_verify(m, PAYLOAD_MAX, m_len, pk, token, len, none);
}

/* sub and jti (SPEC section 9): printable ASCII without '{', '}' or space,
 * because they become Redis hash tags and header values. */
static bool
id_is_valid(const char *s, size_t len, size_t min, size_t max)
{
    if (len < min || len > max)
        return false;
    for (size_t k = 0; k < len; k++)
        if (s[k] <= ' ' || s[k] > '~' || s[k] == '{' || s[k] == '}')
            return false;
    return true;
}

/* Copies string claim name into out (NUL-terminated) when it is present,
 * a JSON string and valid; returns 1 when copied, 0 when absent, -1. */
static int
claim_str(json_t *claims, const char *name, char *out, size_t min, size_t max)
{
    json_t *v = json_object_get(claims, name);

    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return -1;
    size_t len = json_string_length(v);
    if (!id_is_valid(json_string_value(v), len, min, max))
        return -1;
    memcpy(out, json_string_value(v), len);
    out[len] = '\0';
    return 1;
}

static int
claim_time(json_t *claims, const char *name, int64_t *out_s)
{
    json_t *v = json_object_get(claims, name);

    if (v == NULL)
        return 0;
    if (!json_is_string(v) ||
        rfc3339_parse(json_string_value(v), json_string_length(v), out_s) != 0)
        return -1;
    return 1;
}

/* Fills out from the payload; every type and range checked, no clock. */
static int
claims_parse(const unsigned char *m, size_t m_len, struct token_claims *out)
{
    json_t *claims = json_loadb((const char *)m, m_len, JSON_REJECT_DUPLICATES, NULL);
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!json_is_object(claims))
        goto out;
    /* plan is "" when absent; when present it is a name like sub. */
    if (claim_str(claims, "sub", out->sub, 1, TOKEN_SUB_MAX) != 1 ||
        claim_str(claims, "jti", out->jti, 1, TOKEN_JTI_MAX) != 1 ||
        claim_str(claims, "plan", out->plan, 1, TOKEN_PLAN_MAX) < 0 ||
        claim_time(claims, "exp", &out->exp_s) != 1 || claim_time(claims, "iat", &out->iat_s) < 0 ||
        claim_time(claims, "nbf", &out->nbf_s) < 0)
        goto out;
    rc = 0;
out:
    json_decref(claims);
    return rc;
}

/* The clock's part: nbf and iat may not be ahead of now by more than the
 * leeway; exp + leeway must not be past. */
static enum token_result
claims_check_time(const struct token_claims *c, int64_t now_s)
{
    if (c->nbf_s > now_s + TOKEN_LEEWAY_S || c->iat_s > now_s + TOKEN_LEEWAY_S)
        return TOKEN_INVALID;
    if (now_s > c->exp_s + TOKEN_LEEWAY_S)
        return TOKEN_EXPIRED;
    return TOKEN_OK;
}

enum token_result
token_verify(const struct token_keyring *kr, const char *token, size_t len, int64_t now_s,
             struct token_claims *out)
{
    const char *header = kr != NULL && kr->format == TOKEN_V4_LOCAL ? PASETO_V4_LOCAL_HEADER
                                                                    : PASETO_V4_PUBLIC_HEADER;
    unsigned char f[FOOTER_MAX], m[PAYLOAD_MAX];
    size_t f_len, m_len = 0;
    struct token_claims c;
    enum token_result res = TOKEN_INVALID;

    if (kr == NULL || kr->nkeys == 0 || len > TOKEN_INPUT_MAX || len < strlen(header) ||
        memcmp(token, header, strlen(header)) != 0)
        return TOKEN_INVALID;
    if (paseto_footer(f, sizeof f, &f_len, token, len) != 0)
        return TOKEN_INVALID;
    const struct token_key *key = key_for_footer(kr, f, f_len);
    if (key == NULL || token_open(kr, key, token, len, m, &m_len) != 0)
        goto out;
    if (claims_parse(m, m_len, &c) != 0)
        goto out;
    res = claims_check_time(&c, now_s);
    if (res != TOKEN_INVALID && out != NULL)
        *out = c;
out:
    /* A v4.local payload was secret; the claims copied out are not. */
    sodium_memzero(m, m_len);
    return res;
}

/* ---- minting ------------------------------------------------------------ */

/* The payload JSON for c in a new string (free it), or NULL when c is not
 * a set of claims token_verify would accept. */
static char *
claims_dump(const struct token_claims *c)
{
    char iat[RFC3339_UTC_SIZE], exp[RFC3339_UTC_SIZE];
    size_t plan_len = strnlen(c->plan, sizeof c->plan);

    if (!id_is_valid(c->sub, strnlen(c->sub, sizeof c->sub), 1, TOKEN_SUB_MAX) ||
        !id_is_valid(c->jti, strnlen(c->jti, sizeof c->jti), 1, TOKEN_JTI_MAX) ||
        (plan_len > 0 && !id_is_valid(c->plan, plan_len, 1, TOKEN_PLAN_MAX)) ||
        rfc3339_format_utc(iat, sizeof iat, c->iat_s) != 0 ||
        rfc3339_format_utc(exp, sizeof exp, c->exp_s) != 0)
        return NULL;
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:s}", "sub", c->sub, "jti", c->jti, "iat", iat, "exp", exp);
    if (doc == NULL)
        return NULL;
    if (plan_len > 0)
        json_object_set_new(doc, "plan", json_string(c->plan));
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return s;
}

int
token_mint(const struct token_keyring *kr, const struct token_claims *c, char *out, size_t out_size)
{
    char footer[16 + PASERK_ID_SIZE];
    size_t out_len;
    int rc;

    if (kr == NULL || kr->nkeys == 0 || kr->keys[0].kind == TOKEN_KEY_PUBLIC)
        return -1;
    char *payload = claims_dump(c);
    if (payload == NULL)
        return -1;
    snprintf(footer, sizeof footer, "{\"kid\":\"%s\"}", kr->keys[0].id);
    struct paseto_bytes m = {(const unsigned char *)payload, strlen(payload)};
    struct paseto_bytes f = {(const unsigned char *)footer, strlen(footer)};
    struct paseto_bytes none = {NULL, 0};
    if (kr->format == TOKEN_V4_LOCAL)
        rc = paseto_v4_encrypt(out, out_size, &out_len, kr->keys[0].key, m, f, none);
    else
        rc = paseto_v4_sign(out, out_size, &out_len, kr->keys[0].key, m, f, none);
    free(payload);
    return rc == 0 && out_len <= (size_t)TOKEN_MAX_LEN ? (int)out_len : -1;
}
