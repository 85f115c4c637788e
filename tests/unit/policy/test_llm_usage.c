/*
 * test_llm_usage.c - token usage read from LLM response bodies (OpenAI and
 * Anthropic, JSON and SSE) the same way wherever the reads split them, and
 * max_tokens read from request bodies and their prefixes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/llm_usage.h"
#include "tap.h"

struct usage_case {
    const char *name;
    const char *body;
    bool found;
    uint64_t total_tokens;
};

static const struct usage_case usage_cases[] = {
    {"OpenAI JSON",
     "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
     "\"message\":{\"role\":\"assistant\",\"content\":\"Hi there\"},\"finish_reason\":\"stop\"}],"
     "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":12,\"total_tokens\":21,"
     "\"prompt_tokens_details\":{\"cached_tokens\":0},"
     "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}",
     true, 21},
    {"OpenAI JSON, pretty-printed: whitespace and newlines around the colon",
     "{\n  \"usage\": {\n    \"prompt_tokens\": 9,\n    \"total_tokens\" \r\n\t:\n \t 21\n  }\n}\n",
     true, 21},
    {"OpenAI SSE: usage null on each chunk, then the usage chunk, then [DONE]",
     "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
     "\"content\":\"\"}}],\"usage\":null}\n\n"
     "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}],"
     "\"usage\":null}\n\n"
     "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
     "\"completion_tokens\":12,\"total_tokens\":21}}\n\n"
     "data: [DONE]\n\n",
     true, 21},
    {"OpenAI SSE: usage on every chunk, the last wins",
     "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"total_tokens\":10}}\n\n"
     "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"total_tokens\":15}}\n\n"
     "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"total_tokens\":21}}\n\n"
     "data: [DONE]\n\n",
     true, 21},
    {"Anthropic JSON, cache fields not counted",
     "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":"
     "\"text\",\"text\":\"Hi\"}],\"model\":\"claude\",\"stop_reason\":\"end_turn\","
     "\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":"
     "700,\"cache_read_input_tokens\":800,\"cache_creation\":{\"ephemeral_5m_input_tokens\":"
     "700,\"ephemeral_1h_input_tokens\":0},\"output_tokens\":25,\"service_tier\":"
     "\"standard\"}}",
     true, 35},
    {"Anthropic SSE: message_start input, message_delta cumulative output",
     "event: message_start\n"
     "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
     "\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"stop_reason\":null,"
     "\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":0,"
     "\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n"
     "event: content_block_start\n"
     "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
     "\"text\",\"text\":\"\"}}\n\n"
     "event: ping\ndata: {\"type\": \"ping\"}\n\n"
     "event: content_block_delta\n"
     "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
     "\"text\":\"Hello\"}}\n\n"
     "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
     "event: message_delta\n"
     "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
     "\"stop_sequence\":null},\"usage\":{\"output_tokens\":25}}\n\n"
     "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
     true, 35},
    {"Anthropic SSE: message_delta also carries input_tokens",
     "event: message_start\n"
     "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,"
     "\"output_tokens\":1}}}\n\n"
     "event: message_delta\n"
     "data: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":12,"
     "\"cache_read_input_tokens\":5,\"output_tokens\":25}}\n\n",
     true, 37},
    {"OpenAI Responses SSE: usage null at first, then input, output, total",
     "event: response.created\n"
     "data: {\"type\":\"response.created\",\"response\":{\"max_output_tokens\":100,"
     "\"usage\":null}}\n\n"
     "event: response.completed\n"
     "data: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":10,"
     "\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":20,"
     "\"output_tokens_details\":{\"reasoning_tokens\":4},\"total_tokens\":30}}}\n\n",
     true, 30},
    {"total_tokens after input and output wins, whatever its value",
     "{\"usage\":{\"input_tokens\":1,\"output_tokens\":2,\"total_tokens\":40}}", true, 40},
    {"input and output after a total_tokens: the model's tool input is not the usage",
     "{\"content\":[{\"type\":\"tool_use\",\"name\":\"f\",\"input\":{\"total_tokens\":1,"
     "\"input_tokens\":1,\"output_tokens\":1}}],\"usage\":{\"input_tokens\":100,"
     "\"output_tokens\":50}}",
     true, 150},
    {"only output_tokens seen", "{\"usage\":{\"output_tokens\":7}}", true, 7},
    {"a key in an escaped string is not a key",
     "{\"choices\":[{\"message\":{\"content\":\"say \\\"total_tokens\\\": 5\"}}]}", false, 0},
    {"an escaped key in a string, then the real usage",
     "{\"content\":\"say \\\"total_tokens\\\": 5 and \\\"input_tokens\\\":6\","
     "\"usage\":{\"total_tokens\":8}}",
     true, 8},
    {"an odd number of escaped quotes earlier does not put the matcher out of step",
     "{\"content\":\"a \\\"b\",\"usage\":{\"total_tokens\":7}}", true, 7},
    {"not JSON: the quote that ends a failed name may open a key",
     "{\"a\":\"tot\"total_tokens\":5}", true, 5},
    {"a quote after a backslash never opens a key", "{\"x \\\"total_tokens\": 5}", false, 0},
    {"an escaped backslash before a string's end, then a key",
     "{\"a\":\"x\\\\\",\"total_tokens\":3}", true, 3},
    {"an empty string before the key", "{\"a\":\"\",\"total_tokens\":3}", true, 3},
    {"a string value equal to a key is not a key", "{\"name\":\"total_tokens\",\"n\":5}", false, 0},
    {"a longer key is not the key", "{\"total_tokens_x\":5,\"xtotal_tokens\":6}", false, 0},
    {"prompt_tokens and completion_tokens are not counted",
     "{\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":12}}", false, 0},
    {"cache_creation_input_tokens is not input_tokens",
     "{\"usage\":{\"cache_creation_input_tokens\":9,\"cache_read_input_tokens\":3}}", false, 0},
    {"null values", "{\"usage\":{\"total_tokens\":null,\"input_tokens\":null}}", false, 0},
    {"a null input_tokens leaves the output",
     "{\"usage\":{\"input_tokens\":null,\"output_tokens\":4}}", true, 4},
    {"a string value", "{\"usage\":{\"total_tokens\":\"21\"}}", false, 0},
    {"negative, fraction, exponent",
     "{\"total_tokens\":-5,\"total_tokens\":21.5,\"total_tokens\":2e3,\"total_tokens\":2E3}", false,
     0},
    {"18 digits are taken", "{\"total_tokens\":999999999999999999}", true, 999999999999999999ULL},
    {"19 digits are not", "{\"total_tokens\":1000000000000000000}", false, 0},
    {"a huge number leaves the value before it",
     "{\"total_tokens\":5}\n{\"total_tokens\":123456789012345678901234567890}", true, 5},
    {"input and output of 18 digits each add up without overflow",
     "{\"input_tokens\":999999999999999999,\"output_tokens\":999999999999999999}", true,
     1999999999999999998ULL},
    {"last total_tokens wins", "{\"total_tokens\":5}{\"total_tokens\":21}", true, 21},
    {"a number cut by the end of the body is not taken", "{\"usage\":{\"total_tokens\":21", false,
     0},
    {"a cut number leaves the value before it", "{\"total_tokens\":5},{\"total_tokens\":21", true,
     5},
    {"no usage: an error body", "{\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}",
     false, 0},
    {"no usage: [DONE] only", "data: [DONE]\n\n", false, 0},
    {"no usage: empty body", "", false, 0},
    {"no usage: a key cut at the end", "{\"usage\":{\"total_tok", false, 0},
};

struct usage_result {
    bool found;
    uint64_t total_tokens;
};

/* Feeds body in pieces ending at cuts[0] <= cuts[1] <= ... <= len, each a
 * buffer of its own exact size, so a read past a piece's ends trips ASan. */
static struct usage_result
scan_cut(const char *body, size_t len, const size_t *cuts, size_t ncuts)
{
    struct llm_usage_scan s;
    struct usage_result r = {false, 0};
    size_t off = 0;

    llm_usage_scan_init(&s);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        char *piece = malloc(end - off ? end - off : 1);
        memcpy(piece, body + off, end - off);
        llm_usage_scan_feed(&s, piece, end - off);
        free(piece);
        off = end;
    }
    r.found = llm_usage_scan_total(&s, &r.total_tokens);
    return r;
}

static bool
same(struct usage_result a, struct usage_result b)
{
    return a.found == b.found && (!a.found || a.total_tokens == b.total_tokens);
}

/* Every split in two (empty pieces at both ends included), then byte by
 * byte: the first split that disagrees with the whole body, or len + 1. */
static size_t
first_disagreeing_split(const char *body, size_t len, struct usage_result whole)
{
    for (size_t at = 0; at <= len; at++)
        if (!same(scan_cut(body, len, &at, 1), whole))
            return at;
    size_t *cuts = malloc((len + 1) * sizeof(*cuts));
    for (size_t i = 0; i <= len; i++)
        cuts[i] = i;
    bool bytewise_same = same(scan_cut(body, len, cuts, len + 1), whole);
    free(cuts);
    return bytewise_same ? len + 1 : len; /* len: byte by byte disagreed */
}

static void
test_usage_cases(void)
{
    for (size_t i = 0; i < sizeof(usage_cases) / sizeof(usage_cases[0]); i++) {
        const struct usage_case *c = &usage_cases[i];
        size_t len = strlen(c->body);
        struct usage_result whole = scan_cut(c->body, len, NULL, 0);
        ok(whole.found == c->found, "%s: %s", c->name, c->found ? "a usage" : "no usage");
        if (c->found)
            is_int(whole.total_tokens, c->total_tokens, "%s: total", c->name);
        is_int(first_disagreeing_split(c->body, len, whole), len + 1,
               "%s: the same at every split and byte by byte", c->name);
    }
}

static void
test_feed_after_total(void)
{
    struct llm_usage_scan s;
    uint64_t total = 0;
    const char a[] = "data: {\"usage\":{\"total_tokens\":10}}\n\n";
    const char b[] = "data: {\"usage\":{\"total_tokens\":12}}\n\n";

    llm_usage_scan_init(&s);
    ok(!llm_usage_scan_total(&s, &total), "a fresh scanner has no usage");
    llm_usage_scan_feed(&s, a, sizeof(a) - 1);
    ok(llm_usage_scan_total(&s, &total) && total == 10, "asked mid-stream: the usage so far");
    llm_usage_scan_feed(&s, b, 0);
    llm_usage_scan_feed(&s, b, sizeof(b) - 1);
    ok(llm_usage_scan_total(&s, &total) && total == 12, "fed on afterwards: the later usage");
    llm_usage_scan_init(&s);
    ok(!llm_usage_scan_total(&s, &total), "init again forgets it");
}

struct max_case {
    const char *name;
    const char *body;
    bool found;
    uint64_t max_tokens;
};

static const struct max_case max_cases[] = {
    {"max_tokens", "{\"model\":\"gpt-4o\",\"max_tokens\":256,\"messages\":[]}", true, 256},
    {"max_completion_tokens", "{\"model\":\"o3\",\"max_completion_tokens\":1024}", true, 1024},
    {"absent", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
     false, 0},
    {"whitespace and newlines", "{\n  \"max_tokens\" \r\n :\t\n 300\n}", true, 300},
    {"zero is passed over", "{\"max_tokens\":0}", false, 0},
    {"zero, then another", "{\"max_tokens\":0,\"max_completion_tokens\":50}", true, 50},
    {"10^12 is taken", "{\"max_tokens\":1000000000000}", true, 1000000000000ULL},
    {"10^12 + 1 is not", "{\"max_tokens\":1000000000001}", false, 0},
    {"too huge, then another", "{\"max_tokens\":99999999999999999999999,\"max_tokens\":7}", true,
     7},
    {"null", "{\"max_tokens\":null}", false, 0},
    {"a fraction", "{\"max_tokens\":12.5}", false, 0},
    {"the first found", "{\"max_tokens\":10,\"max_tokens\":20}", true, 10},
    {"in an escaped string: not a key",
     "{\"messages\":[{\"content\":\"set \\\"max_tokens\\\": 5\"}],\"max_tokens\":99}", true, 99},
    {"other keys", "{\"max_output_tokens\":5,\"xmax_tokens\":6,\"max_tokens_x\":7}", false, 0},
    {"a prefix that ends inside the key", "{\"model\":\"gpt-4o\",\"max_tok", false, 0},
    {"a prefix that ends after the colon", "{\"model\":\"gpt-4o\",\"max_tokens\": ", false, 0},
    {"a prefix that ends inside the number", "{\"max_tokens\":25", false, 0},
    {"a prefix that ends after the number", "{\"max_tokens\":25,", true, 25},
    {"empty", "", false, 0},
};

static void
test_max_tokens(void)
{
    for (size_t i = 0; i < sizeof(max_cases) / sizeof(max_cases[0]); i++) {
        const struct max_case *c = &max_cases[i];
        uint64_t v = 0;
        bool found = llm_usage_max_tokens(c->body, strlen(c->body), &v);
        ok(found == c->found, "max_tokens, %s: %s", c->name, c->found ? "found" : "not found");
        if (c->found)
            is_int(v, c->max_tokens, "max_tokens, %s: value", c->name);
    }
}

/* A prefix never names another max_tokens than the whole body, and
 * every prefix that holds the number and the byte after it names it. */
static void
test_max_tokens_prefixes(void)
{
    const char body[] = "{\"model\":\"claude\",\"max_tokens\":4096,\"stream\":true}";
    const size_t after = strstr(body, "4096") - body + 5; /* through the ',' */
    size_t wrong = 0, missed = 0;

    for (size_t len = 0; len < sizeof(body); len++) {
        char *prefix = malloc(len ? len : 1);
        uint64_t v = 0;
        memcpy(prefix, body, len);
        bool found = llm_usage_max_tokens(prefix, len, &v);
        free(prefix);
        wrong += found && v != 4096;
        missed += !found && len >= after;
        missed += found && len < after;
    }
    is_int(wrong, 0, "max_tokens: no prefix names another value");
    is_int(missed, 0, "max_tokens: found exactly in the prefixes that hold the number's end");
}

int
main(void)
{
    test_usage_cases();
    test_feed_after_total();
    test_max_tokens();
    test_max_tokens_prefixes();
    return tap_done();
}
