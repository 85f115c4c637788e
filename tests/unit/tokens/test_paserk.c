/*
 * test_paserk.c - PASERK k4 keys and IDs against the official test vectors.
 *
 * The vectors are read at run time from the directory in argv[1], else
 * $SLUICE_VECTORS_DIR, else ../shared/vectors/paseto, so they stay the
 * upstream files untouched. Every vector is checked, expect-fail ones too:
 * those must fail to serialize (bad key) and, when they carry a PASERK
 * string, fail to deserialize.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sluice.h"
#include "tap.h"
#include "tokens/paserk.h"

enum kind { KIND_LOCAL, KIND_PUBLIC, KIND_SECRET, KIND_LID, KIND_PID };

static char *
read_file(const char *dir, const char *name)
{
    char path[4096];
    FILE *f;
    char *data = NULL;
    size_t len = 0, n;
    char chunk[4096];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        data = xrealloc(data, len + n + 1);
        memcpy(data + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (data == NULL)
        data = xstrdup("");
    else
        data[len] = '\0';
    return data;
}

/* Skip a JSON string starting at the opening quote; returns the byte after
 * the closing quote. The vectors use no escapes beyond \" and \\. */
static const char *
skip_string(const char *p)
{
    for (p++; *p != '\0' && *p != '"'; p++)
        if (*p == '\\' && p[1] != '\0')
            p++;
    return *p == '"' ? p + 1 : p;
}

/* Find the end of the flat JSON object starting at *p == '{'. */
static const char *
object_end(const char *p)
{
    for (p++; *p != '\0' && *p != '}'; p++)
        if (*p == '"')
            p = skip_string(p) - 1;
    return p;
}

/*
 * The value of "name": in obj[0..end) as a new string: the string's
 * contents, "true"/"false", or NULL for null or a missing member. Only
 * a quoted name followed by ':' counts, so values never match as names.
 */
static char *
member(const char *obj, const char *end, const char *name)
{
    size_t name_len = strlen(name);
    const char *p = obj;

    while (p < end) {
        const char *q;
        if (*p != '"') {
            p++;
            continue;
        }
        q = skip_string(p);
        if ((size_t)(q - p) == name_len + 2 && memcmp(p + 1, name, name_len) == 0) {
            while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
                q++;
            if (*q == ':') {
                q++;
                while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
                    q++;
                if (*q == '"')
                    return xstrndup(q + 1, (size_t)(skip_string(q) - q) - 2);
                if (strncmp(q, "true", 4) == 0)
                    return xstrdup("true");
                if (strncmp(q, "false", 5) == 0)
                    return xstrdup("false");
                return NULL;
            }
        }
        p = q;
    }
    return NULL;
}

/* Hex to bytes in a new buffer; *len is the byte count. */
static unsigned char *
unhex(const char *hex, size_t *len)
{
    size_t hex_len = strlen(hex);
    unsigned char *bin = xmalloc(hex_len / 2 + 1);

    if (sodium_hex2bin(bin, hex_len / 2 + 1, hex, hex_len, NULL, len, NULL) != 0) {
        free(bin);
        return NULL;
    }
    return bin;
}

static int
encode_kind(enum kind kind, char *out, size_t out_size, const unsigned char *key, size_t len)
{
    switch (kind) {
    case KIND_LOCAL:
        return paserk_encode_local(out, out_size, key, len);
    case KIND_PUBLIC:
        return paserk_encode_public(out, out_size, key, len);
    case KIND_SECRET:
        return paserk_encode_secret(out, out_size, key, len);
    case KIND_LID:
        return paserk_lid(out, out_size, key, len);
    case KIND_PID:
        return paserk_pid(out, out_size, key, len);
    }
    return -1;
}

/* Decode s into key; *len gets the key size. IDs have no decoder. */
static int
decode_kind(enum kind kind, unsigned char *key, size_t *len, const char *s)
{
    switch (kind) {
    case KIND_LOCAL:
        *len = PASERK_LOCAL_KEY_BYTES;
        return paserk_decode_local(key, s, strlen(s));
    case KIND_PUBLIC:
        *len = PASERK_PUBLIC_KEY_BYTES;
        return paserk_decode_public(key, s, strlen(s));
    case KIND_SECRET:
        *len = PASERK_SECRET_KEY_BYTES;
        return paserk_decode_secret(key, s, strlen(s));
    case KIND_LID:
    case KIND_PID:
        break;
    }
    return -1;
}

static void
check_vector(enum kind kind, const char *obj, const char *end)
{
    char *name = member(obj, end, "name");
    char *fail = member(obj, end, "expect-fail");
    char *hex = member(obj, end, "key");
    char *paserk = member(obj, end, "paserk");
    char *seed_hex = member(obj, end, "secret-key-seed");
    int expect_fail = fail != NULL && strcmp(fail, "true") == 0;
    int has_decoder = kind != KIND_LID && kind != KIND_PID;
    unsigned char *key = NULL;
    unsigned char decoded[PASERK_SECRET_KEY_BYTES];
    char out[PASERK_SECRET_SIZE];
    size_t key_len = 0, decoded_len = 0;

    if (hex != NULL) {
        key = unhex(hex, &key_len);
        ok(key != NULL, "%s: key hex parses", name);
    }
    if (expect_fail) {
        if (key != NULL)
            ok(encode_kind(kind, out, sizeof out, key, key_len) == -1, "%s: refuses to serialize",
               name);
        if (paserk != NULL && has_decoder)
            ok(decode_kind(kind, decoded, &decoded_len, paserk) == -1, "%s: refuses to deserialize",
               name);
        ok(key != NULL || paserk != NULL, "%s: has something to reject", name);
        goto out;
    }
    if (key == NULL || paserk == NULL) {
        ok(0, "%s: vector has key and paserk", name);
        goto out;
    }
    ok(encode_kind(kind, out, sizeof out, key, key_len) == 0, "%s: serializes", name);
    is_str(out, paserk, "%s: serialization matches", name);
    if (has_decoder) {
        int rc = decode_kind(kind, decoded, &decoded_len, paserk);
        ok(rc == 0 && decoded_len == key_len && memcmp(decoded, key, key_len) == 0,
           "%s: deserializes to the key", name);
    }
    if (seed_hex != NULL) {
        /* The vector's seed must derive the vector's key: libsodium's
         * secret key layout is what PASERK serializes. */
        size_t seed_len;
        unsigned char *seed = unhex(seed_hex, &seed_len);
        unsigned char pk[32], sk[64] = {0};
        if (seed != NULL && seed_len == 32)
            crypto_sign_seed_keypair(pk, sk, seed);
        ok(seed != NULL && seed_len == 32 && key_len == 64 && memcmp(sk, key, 64) == 0,
           "%s: seed derives the key", name);
        free(seed);
    }
out:
    free(key);
    free(name);
    free(fail);
    free(hex);
    free(paserk);
    free(seed_hex);
}

static void
check_file(const char *dir, const char *file, enum kind kind)
{
    char *json = read_file(dir, file);
    const char *p;
    int count = 0;

    if (json == NULL) {
        ok(0, "%s/%s: readable", dir, file);
        return;
    }
    p = strstr(json, "\"tests\"");
    p = p != NULL ? strchr(p, '[') : NULL;
    while (p != NULL && (p = strpbrk(p, "{]")) != NULL && *p == '{') {
        const char *end = object_end(p);
        if (*end != '}')
            break;
        check_vector(kind, p, end);
        count++;
        p = end + 1;
    }
    ok(count > 0, "%s: %d vectors checked", file, count);
    free(json);
}

/* Hand-written negatives for what the vectors do not cover. */
static void
check_strictness(void)
{
    static const char good[] = "k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8";
    static const char *const bad[] = {
        "k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8=",  /* padding */
        "k4.local.cHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo8",   /* std alphabet */
        "k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo9",   /* trailing bits */
        "k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8A",  /* too long */
        "k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8\n", /* whitespace */
        "K4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8",   /* case */
        "k4.public.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8",  /* wrong type */
        "k4.local.",
        "",
    };
    unsigned char key[PASERK_SECRET_KEY_BYTES];
    char secret[PASERK_SECRET_SIZE], public[PASERK_PUBLIC_SIZE], pid[PASERK_ID_SIZE];
    char again[PASERK_ID_SIZE], local[PASERK_LOCAL_SIZE], lid[PASERK_ID_SIZE];
    char sid[PASERK_ID_SIZE], small[PASERK_LOCAL_SIZE - 1];

    ok(paserk_decode_local(key, good, strlen(good)) == 0, "strict: canonical k4.local decodes");
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++)
        ok(paserk_decode_local(key, bad[i], strlen(bad[i])) == -1,
           "strict: bad k4.local %zu refused", i);
    /* The length is explicit: a NUL inside the string is not an end. */
    ok(paserk_decode_local(key, good, sizeof good) == -1, "strict: embedded NUL refused");
    ok(paserk_encode_local(small, sizeof small, key, PASERK_LOCAL_KEY_BYTES) == -1,
       "strict: short output buffer refused");

    ok(paserk_keygen_public(secret, sizeof secret, public, sizeof public, pid, sizeof pid) == 0,
       "keygen public");
    is_int(strlen(secret), PASERK_SECRET_SIZE - 1, "keygen: secret length");
    is_int(strlen(public), PASERK_PUBLIC_SIZE - 1, "keygen: public length");
    is_int(strlen(pid), PASERK_ID_SIZE - 1, "keygen: pid length");
    ok(paserk_decode_secret(key, secret, strlen(secret)) == 0, "keygen: secret decodes");
    ok(paserk_sid(sid, sizeof sid, key, PASERK_SECRET_KEY_BYTES) == 0 &&
           strncmp(sid, "k4.sid.", 7) == 0 && strlen(sid) == PASERK_ID_SIZE - 1,
       "keygen: sid computes");
    ok(paserk_pid(again, sizeof again, key + 32, 32) == 0 && strcmp(again, pid) == 0,
       "keygen: pid is the pid of the secret's public half");

    /* A secret whose public half belongs to another seed must not load. */
    key[40] ^= 1;
    ok(paserk_encode_secret(secret, sizeof secret, key, sizeof key) == -1,
       "strict: inconsistent secret refused by encoder");
    key[40] ^= 1;
    ok(paserk_encode_secret(secret, sizeof secret, key, sizeof key) == 0,
       "strict: restored secret encodes");
    secret[20] = secret[20] == 'A' ? 'B' : 'A';
    ok(paserk_decode_secret(key, secret, strlen(secret)) == -1,
       "strict: tampered secret seed refused by decoder");

    ok(paserk_keygen_local(local, sizeof local, lid, sizeof lid) == 0, "keygen local");
    ok(paserk_decode_local(key, local, strlen(local)) == 0 &&
           paserk_lid(again, sizeof again, key, PASERK_LOCAL_KEY_BYTES) == 0 &&
           strcmp(again, lid) == 0,
       "keygen: lid is the lid of the local key");
}

int
main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("SLUICE_VECTORS_DIR");

    if (dir == NULL)
        dir = "../shared/vectors/paseto";
    if (sodium_init() < 0) {
        printf("Bail out! sodium_init failed\n");
        return 1;
    }
    check_file(dir, "k4.local.json", KIND_LOCAL);
    check_file(dir, "k4.public.json", KIND_PUBLIC);
    check_file(dir, "k4.secret.json", KIND_SECRET);
    check_file(dir, "k4.lid.json", KIND_LID);
    check_file(dir, "k4.pid.json", KIND_PID);
    check_strictness();
    return tap_done();
}
