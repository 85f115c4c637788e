/*
 * llm_usage.c - token counts from LLM response bodies, max_tokens from
 * requests, by matching key literals (llm_usage.h has the shapes and rules).
 *
 * The matcher, one byte at a time except while idle:
 *
 *   IDLE --'"' not after '\'--> KEY --'"' ends a key's name--> COLON --':'--> VALUE
 *    ^  memchr to the next '"'   |  (another '"' may open one:  | ws          | ws
 *    |                           |   KEY again)                 |             | digit
 *    +------ any other byte -----+------------------------------+--------- DIGITS
 *                                                    a non-digit ends the value:
 *                                                    taken unless '.', 'e', 'E'
 *
 * Why literals are enough: inside a JSON string a quote is written \" (RFC
 * 8259 §7), so a quote after a backslash never opens a key, and a key's own
 * opening quote follows '{', ',' or whitespace, never a backslash. A name is
 * matched only while its bytes spell a key ([a-z_]), so `"say \"total_tokens\":
 * 5"` fails twice: its first quote is escaped and the name runs into a
 * backslash. A string value equal to a key is never followed by ':'.
 * Quotes are not paired into strings: every one not after a backslash may
 * open a key, the one that ends a failed name included, so no run of
 * escaped quotes earlier can put the matcher out of step with the strings.
 */
#include "policy/llm_usage.h"

#include <string.h>

enum { KEY_TOTAL, KEY_INPUT, KEY_OUTPUT };
static const char *const usage_keys[] = {"total_tokens", "input_tokens", "output_tokens"};
static const char *const request_keys[] = {"max_tokens", "max_completion_tokens"};

/* 10^18 - 1 fits in 63 bits, and two of them added still fit in 64. */
#define LLM_USAGE_DIGITS_MAX 18

enum llm_usage_state { MATCH_IDLE, MATCH_KEY, MATCH_COLON, MATCH_VALUE, MATCH_DIGITS };

/* What the byte under the matcher did. */
enum llm_usage_step {
    STEP_NEXT,  /* consumed */
    STEP_AGAIN, /* the state changed; read the byte again in the new one */
    STEP_VALUE, /* it ended a value (and is read again, in IDLE) */
};

static void
matcher_init(struct llm_usage_matcher *m, const char *const *keys, unsigned nkeys)
{
    memset(m, 0, sizeof(*m));
    m->keys_ = keys;
    m->nkeys_ = (uint8_t)nkeys;
    m->state_ = MATCH_IDLE;
}

static bool
is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n'; /* RFC 8259 §2 */
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A quote was read after the byte `before`: it opens a name unless escaped. */
static void
matcher_open(struct llm_usage_matcher *m, char before)
{
    if (before == '\\')
        return;
    m->state_ = MATCH_KEY;
    m->cand_ = (uint8_t)((1u << m->nkeys_) - 1);
    m->pos_ = 0;
}

/* The next byte of a name: drops the keys it does not spell; NUL is never
 * a key's byte, so a key's terminator cannot match it. */
static void
matcher_name_byte(struct llm_usage_matcher *m, char c)
{
    for (unsigned k = 0; k < m->nkeys_; k++) {
        /* Only a candidate's byte: a dropped key may be shorter than pos_. */
        if ((m->cand_ >> k & 1) && (m->keys_[k][m->pos_] == '\0' || m->keys_[k][m->pos_] != c))
            m->cand_ &= (uint8_t) ~(1u << k);
    }
    m->pos_++;
    if (m->cand_ == 0)
        m->state_ = MATCH_IDLE;
}

/* The quote that ends a name: the key it spelled, or -1. */
static int
matcher_name_end(const struct llm_usage_matcher *m)
{
    for (unsigned k = 0; k < m->nkeys_; k++)
        if ((m->cand_ >> k & 1) && m->keys_[k][m->pos_] == '\0')
            return (int)k;
    return -1;
}

static enum llm_usage_step
matcher_key(struct llm_usage_matcher *m, char c)
{
    if (c != '"') {
        matcher_name_byte(m, c);
        return STEP_NEXT;
    }
    int k = matcher_name_end(m);
    if (k >= 0) {
        m->key_ = (uint8_t)k;
        m->state_ = MATCH_COLON;
    } else {
        /* The byte before it is the opening quote or a key's: not '\\'. */
        matcher_open(m, '"');
    }
    return STEP_NEXT;
}

static enum llm_usage_step
matcher_digit(struct llm_usage_matcher *m, char c)
{
    if (!is_digit(c)) {
        m->state_ = MATCH_IDLE;
        return c == '.' || c == 'e' || c == 'E' ? STEP_AGAIN : STEP_VALUE;
    }
    if (m->pos_ == LLM_USAGE_DIGITS_MAX) {
        m->state_ = MATCH_IDLE; /* too long: IDLE skips the other digits */
        return STEP_NEXT;
    }
    m->num_ = m->num_ * 10 + (uint64_t)(c - '0');
    m->pos_++;
    return STEP_NEXT;
}

/* One byte in any state but IDLE. */
static enum llm_usage_step
matcher_byte(struct llm_usage_matcher *m, char c)
{
    switch (m->state_) {
    case MATCH_KEY:
        return matcher_key(m, c);
    case MATCH_COLON:
        if (is_ws(c))
            return STEP_NEXT;
        m->state_ = c == ':' ? MATCH_VALUE : MATCH_IDLE;
        return c == ':' ? STEP_NEXT : STEP_AGAIN;
    case MATCH_VALUE:
        if (is_ws(c))
            return STEP_NEXT;
        m->state_ = is_digit(c) ? MATCH_DIGITS : MATCH_IDLE;
        m->num_ = 0;
        m->pos_ = 0;
        return STEP_AGAIN;
    case MATCH_DIGITS:
        return matcher_digit(m, c);
    }
    m->state_ = MATCH_IDLE;
    return STEP_AGAIN;
}

/*
 * Reads p[*off..len) until a value ends: returns true with *key and *value
 * set and *off at the byte that ended it, or false with *off = len. Call
 * again from *off for the next value.
 */
static bool
matcher_run(struct llm_usage_matcher *m, const char *p, size_t len, size_t *off, unsigned *key,
            uint64_t *value)
{
    size_t i = *off;
    enum llm_usage_step step = STEP_NEXT;

    while (i < len && step != STEP_VALUE) {
        if (m->state_ == MATCH_IDLE) {
            /* Most bytes are string content: skip to the next quote. */
            const char *q = memchr(p + i, '"', len - i);
            if (q == NULL) {
                i = len;
                break;
            }
            i = (size_t)(q - p);
            matcher_open(m, i > 0 ? p[i - 1] : m->prev_);
            i++;
            continue;
        }
        step = matcher_byte(m, p[i]);
        i += step == STEP_NEXT;
    }
    if (i > 0)
        m->prev_ = p[i - 1];
    *off = i;
    if (step == STEP_VALUE) {
        *key = m->key_;
        *value = m->num_;
    }
    return step == STEP_VALUE;
}

void
llm_usage_scan_init(struct llm_usage_scan *s)
{
    memset(s, 0, sizeof(*s));
    matcher_init(&s->m_, usage_keys, sizeof(usage_keys) / sizeof(usage_keys[0]));
}

static void
scan_record(struct llm_usage_scan *s, unsigned key, uint64_t value)
{
    if (key == KEY_TOTAL)
        s->total_tokens_ = value;
    else if (key == KEY_INPUT)
        s->input_tokens_ = value;
    else
        s->output_tokens_ = value;
    s->seen_ = true;
    s->last_total_ = key == KEY_TOTAL;
}

void
llm_usage_scan_feed(struct llm_usage_scan *s, const char *p, size_t len)
{
    size_t off = 0;
    unsigned key;
    uint64_t value;

    while (matcher_run(&s->m_, p, len, &off, &key, &value))
        scan_record(s, key, value);
}

bool
llm_usage_scan_total(const struct llm_usage_scan *s, uint64_t *total_tokens)
{
    if (!s->seen_)
        return false;
    *total_tokens = s->last_total_ ? s->total_tokens_ : s->input_tokens_ + s->output_tokens_;
    return true;
}

bool
llm_usage_max_tokens(const char *body, size_t len, uint64_t *max_tokens)
{
    struct llm_usage_matcher m;
    size_t off = 0;
    unsigned key;
    uint64_t value;

    matcher_init(&m, request_keys, sizeof(request_keys) / sizeof(request_keys[0]));
    while (matcher_run(&m, body, len, &off, &key, &value)) {
        if (value > 0 && value <= LLM_USAGE_MAX_TOKENS_LIMIT) {
            *max_tokens = value;
            return true;
        }
    }
    return false;
}
