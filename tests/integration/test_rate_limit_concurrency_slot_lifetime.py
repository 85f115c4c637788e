#!/usr/bin/env python3
"""A `concurrent:` limit caps requests in flight (SPEC section 6): with
{name: in_flight, concurrent: 1}, while one slow SSE stream is open a second
request of the same user gets 429 with Retry-After: 1 (SPEC: "1 for a
`concurrent:` refusal") and {"error":"rate_limited","limit":"in_flight",
"retry_after":1}. The slot is held for the exchange's whole life and freed
when it really ends (docs/ratelimit.md: last byte, client gone): right
after the stream's last event reached the client the next request is
admitted, and when a client vanishes mid-stream its slot is freed too,
within a short bounded time (not the 60 s lease that frees a crashed
gateway's slots). At the end every key sluice made has a TTL (SPEC 9)."""
import json
import time

import harness as h
import sessions as s

FREED_WITHIN_S = 2.0  # far below the 60 s lease


def chat_body(**kw):
    b = {'model': 'mock-llm', 'messages': [{'role': 'user', 'content': 'hi'}]}
    b.update(kw)
    return json.dumps(b)


def read_event(c):
    """Reads chunks of a chunked SSE body until one whole event is in."""
    got = b''
    while b'\n\n' not in got:
        size = int(c.read_line().split(b';', 1)[0], 16)
        if size == 0:
            break
        got += c.read_exact(size)
        c.read_exact(2)
    return got


def main(t, env):
    plans = {'free': {'limits': [{'name': 'in_flight', 'concurrent': 1}]}}
    routes = [h.route('chat', '/v1/chat/completions', methods=['POST'], auth='required',
                      plan='free')]
    g = s.Gateway(env, routes=routes, plans=plans, upstream={'read_timeout': '10s'})
    gw = g.gw
    token = s.token_for(gw, 'alice', plan='free')  # the admin API reports this plan
    auth = s.bearer(token) + [('Content-Type', 'application/json')]

    def in_use():
        r = gw.admin('GET', '/v1/users/alice/limits')
        lim = {x['name']: x for x in (h.json_body(r) or {}).get('limits', [])}
        return lim.get('in_flight', {}).get('used')

    def quick():
        return h.fetch(gw.port, 'POST', '/v1/chat/completions', auth, chat_body())

    r = quick()
    t.eq(r.status, 200, 'one request alone is admitted')
    t.eq(len(r.header_all('ratelimit')), 1, 'with one RateLimit field')

    # One slow stream holds the only slot.
    c1 = h.Client(gw.port, timeout=10)
    c1.request('POST', '/v1/chat/completions', auth + [('X-Mock-Delay-Ms', '300')],
               chat_body(stream=True))
    head = c1.read_head()
    t.eq(head.status, 200, 'the slow stream is admitted')
    read_event(c1)
    t.eq(in_use(), 1, 'the admin API shows the slot in use')
    r = quick()
    t.eq(r.status, 429, 'while the stream is open a second request is refused')
    body = h.json_body(r) or {}
    t.eq(r.header_all('retry-after'), ['1'], 'exactly one Retry-After: 1')
    t.eq((body.get('error'), body.get('limit'), body.get('retry_after')),
         ('rate_limited', 'in_flight', 1), 'body names in_flight, retry_after 1', r.body)

    # The stream's last event reaches the client: the slot is free again.
    rest = head
    c1._read_body(rest, 'POST')
    t.ok(rest.body.rstrip().endswith(b'data: [DONE]'), 'the stream ran to its end',
         rest.body[-120:])
    ended = time.monotonic()
    first = quick()
    t.diag('first request right after the last event: %d %r' % (first.status, first.body[:120]))
    ok = first.status == 200 or h.poll(lambda: quick().status == 200, FREED_WITHIN_S)
    t.ok(ok, 'after the stream ended the next request is admitted within %.1f s' % FREED_WITHIN_S,
         'still refused %.2f s after the last event' % (time.monotonic() - ended))
    c1.close()

    # A client that vanishes mid-stream frees its slot.
    c2 = h.Client(gw.port, timeout=10)
    c2.request('POST', '/v1/chat/completions', auth + [('X-Mock-Delay-Ms', '500')],
               chat_body(stream=True))
    head = c2.read_head()
    t.eq(head.status, 200, 'another slow stream is admitted')
    read_event(c2)
    t.eq(quick().status, 429, 'it holds the slot')
    ttls = g.redis.key_ttls()
    t.ok(any(':c:free:in_flight' in k or ':rl:free' in k for k in ttls),
         'the slot is kept in a key of the user\'s', sorted(ttls))
    t.eq({k: v for k, v in ttls.items() if v <= 0}, {}, 'while a slot is held, every key has a TTL',
         ttls)
    c2.close()
    gone = time.monotonic()
    ok = h.poll(lambda: quick().status == 200, FREED_WITHIN_S)
    t.ok(ok, 'after the client vanished its slot is freed within %.1f s' % FREED_WITHIN_S,
         'still refused %.2f s after the close' % (time.monotonic() - gone))

    t.eq(in_use(), 0, 'the admin API shows no slot in use')

    ttls = g.redis.key_ttls()
    t.eq({k: v for k, v in ttls.items() if v <= 0}, {}, 'every key has a TTL', ttls)


if __name__ == '__main__':
    h.run(main)
