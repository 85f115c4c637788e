/*
 * test_idempotency.c - the Idempotency-Key field values accepted: an
 * sf-string or the same characters bare, 1-255 of them, visible ASCII.
 */
#include <string.h>

#include "policy/idempotency.h"
#include "tap.h"

static const struct {
    const char *value;
    const char *key; /* NULL: refused */
} cases[] = {
    {"8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"},
    {"\"8e03978e-40d5-43e8-bc93-6894a57f9324\"", "8e03978e-40d5-43e8-bc93-6894a57f9324"},
    {"\"with space\"", "with space"},
    {"\"q\\\"uote\\\\\"", "q\"uote\\"},
    {"a,b;c=d{}", "a,b;c=d{}"},
    {"x", "x"},
    {"", NULL},
    {"\"\"", NULL},
    {"\"", NULL},
    {"\"abc", NULL},
    {"\"abc\"x", NULL},
    {"\"a\\b\"", NULL},
    {"\"a\\", NULL},
    {"with space", NULL},
    {"tab\there", NULL},
    {"\"tab\there\"", NULL},
    {"caf\xc3\xa9", NULL},
    {"del\x7f", NULL},
};

int
main(void)
{
    char out[IDEMPOTENCY_KEY_MAX + 1];
    size_t n;
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        bool parsed = idempotency_key_parse(cases[i].value, strlen(cases[i].value), out, &n);
        if (cases[i].key == NULL) {
            ok(!parsed, "refused: [%s]", cases[i].value);
            continue;
        }
        ok(parsed && n == strlen(cases[i].key) && memcmp(out, cases[i].key, n) == 0,
           "[%s] is the key [%s]", cases[i].value, cases[i].key);
    }
    char v[300];
    memset(v, 'k', sizeof(v));
    ok(idempotency_key_parse(v, 255, out, &n) && n == 255, "255 characters: accepted");
    ok(!idempotency_key_parse(v, 256, out, &n), "256: refused");
    v[0] = '"';
    v[256] = '"';
    ok(idempotency_key_parse(v, 257, out, &n) && n == 255, "a quoted 255: accepted");
    v[257] = '"';
    v[256] = 'k';
    ok(!idempotency_key_parse(v, 258, out, &n), "a quoted 256: refused");
    return tap_done();
}
