/*
 * llm_usage.h - the tokens an LLM call used, read from its response body as
 * the body passes, and the max_tokens its request asks for: the numbers the
 * rate limiter charges a route's token limit with.
 *
 * Pure: no I/O, no allocation; the caller owns the scanner's storage. The
 * scanner sees the decoded response body (chunk framing removed) in pieces
 * split at any byte, keeps a few bytes of state and never buffers the body.
 *
 *   OpenAI JSON     {...,"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}
 *   OpenAI SSE      data: {...,"usage":{...,"total_tokens":21}}\n\n ... data: [DONE]\n\n
 *   Anthropic JSON  {...,"usage":{"input_tokens":10,"output_tokens":25}}          -> 35
 *   Anthropic SSE   event: message_start\ndata: {"message":{...,"usage":
 *                       {"input_tokens":10,"output_tokens":1}}}\n\n
 *                   event: message_delta\ndata: {...,"usage":{"output_tokens":25}}\n\n -> 35
 *
 * It does not parse JSON: it matches the key literals "total_tokens",
 * "input_tokens" and "output_tokens", quotes included (so neither
 * "prompt_tokens" nor "cache_creation_input_tokens" matches), then optional
 * whitespace, ':', optional whitespace and up to 18 decimal digits ended by a
 * byte that is not a digit, '.', 'e' or 'E'. Any other value (null, a string,
 * a negative, a fraction, 19 digits or more) leaves that occurrence out.
 * An opening quote right after a backslash is an escaped quote inside a
 * string, never a key's (see llm_usage.c).
 *
 * The total is that of the kind of key seen last: the last total_tokens when
 * no input_tokens or output_tokens came after it, else the last input_tokens
 * plus the last output_tokens (0 for one never seen). Both providers write
 * usage after the content, and an Anthropic tool_use block's "input" is an
 * object the model writes: a {"total_tokens":1} there must not stand for the
 * usage that follows it. (OpenAI's Responses API ends its usage with a
 * total_tokens equal to input + output.)
 */
#ifndef SLUICE_LLM_USAGE_H
#define SLUICE_LLM_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Private: a matcher of "key": <digits> for a small set of keys; part of
 * struct llm_usage_scan only so that the caller can own it. */
struct llm_usage_matcher {
    const char *const *keys_; /* borrowed: a static table in llm_usage.c */
    uint64_t num_;            /* the value read so far */
    uint8_t nkeys_;
    uint8_t state_;
    uint8_t cand_; /* bit per key: still spelled by the quoted name being read */
    uint8_t pos_;  /* bytes of that name so far, then digits of the value */
    uint8_t key_;  /* the key whose value is being read */
    char prev_;    /* the byte before the next one fed (for the escape check) */
};

struct llm_usage_scan {
    struct llm_usage_matcher m_; /* private */
    uint64_t total_tokens_;      /* private: last values, 0 until seen */
    uint64_t input_tokens_;
    uint64_t output_tokens_;
    bool seen_;       /* private: a usage key with a value was seen */
    bool last_total_; /* private: the last one was total_tokens */
};

void llm_usage_scan_init(struct llm_usage_scan *s);

/* Reads p[0..len) of the body, which is not kept; any len, 0 included. */
void llm_usage_scan_feed(struct llm_usage_scan *s, const char *p, size_t len);

/* Once the body has been fed: true when it named a usage, with
 * *total_tokens set as above. A number still open when the body stopped
 * ("total_tokens":21 as the last bytes) is not taken: a JSON body or SSE
 * event never ends in a digit, so the body was cut and 21 may be the first
 * digits of 2100; the value before it, if any, stands. */
bool llm_usage_scan_total(const struct llm_usage_scan *s, uint64_t *total_tokens);

/* Largest max_tokens taken; more is a typo or a probe, not a reservation. */
#define LLM_USAGE_MAX_TOKENS_LIMIT 1000000000000ULL

/*
 * Looks for a "max_tokens" or "max_completion_tokens" number in the bytes of
 * a JSON request body at hand (maybe only a prefix), matched as above, at any
 * depth. Returns true and sets *max_tokens to the first one in
 * 1..LLM_USAGE_MAX_TOKENS_LIMIT; a value out of that range is passed over.
 * A number that runs to the end of body[0..len) may be cut, so is not
 * taken. The client writes the body (nesting, duplicate keys): this is an
 * estimate to reserve with, settled by the response's usage, not a bound.
 */
bool llm_usage_max_tokens(const char *body, size_t len, uint64_t *max_tokens);

#endif
