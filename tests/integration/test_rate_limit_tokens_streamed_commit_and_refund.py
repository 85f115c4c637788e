#!/usr/bin/env python3
"""A `tokens:` limit charges the LLM tokens of the exchange (SPEC section 6):
an estimate is reserved before (the body's max_tokens, else `estimate:`),
admitted when used + estimate fits, and corrected afterwards from the
response's usage.total_tokens (JSON body, or the last SSE event carrying
usage); an aborted exchange refunds what was not used; a refused request
consumes nothing. Usage is read through GET /v1/users/{user}/limits (SPEC
sections 8, 11). The correction is sent after the response, off the
request's path, so the test polls (briefly) for it. At the end every key
sluice made in Redis has a TTL (SPEC section 9)."""
import json
import time

import harness as h
import sessions as s

AMOUNT = 1000
ESTIMATE = 300


def chat_body(**kw):
    b = {'model': 'mock-llm', 'messages': [{'role': 'user', 'content': 'hello there'}]}
    b.update(kw)
    return json.dumps(b)


def sse_events(body):
    """The JSON objects of an SSE body's data: lines ([DONE] left out)."""
    out = []
    for block in body.decode().split('\n\n'):
        for line in block.split('\n'):
            if line.startswith('data: ') and line[6:].strip() != '[DONE]':
                out.append(json.loads(line[6:]))
    return out


def main(t, env):
    plans = {'free': {'limits': [{'name': 'tokens_per_minute', 'tokens': AMOUNT,
                                  'window': '1m', 'estimate': ESTIMATE}]}}
    routes = [h.route('chat', '/v1/chat/completions', methods=['POST'], auth='required',
                      plan='free')]
    g = s.Gateway(env, routes=routes, plans=plans, upstream={'read_timeout': '10s'})
    gw = g.gw
    token = s.token_for(gw, 'alice', plan='free')  # the admin API reports this plan
    auth = s.bearer(token) + [('Content-Type', 'application/json')]

    def used():
        r = gw.admin('GET', '/v1/users/alice/limits')
        lim = {x['name']: x for x in (h.json_body(r) or {}).get('limits', [])}
        return lim.get('tokens_per_minute', {}).get('used')

    def settles_at(want, timeout=3.0):
        return h.poll(lambda: used() == want, timeout, interval=0.05)

    t.eq(used() or 0, 0, 'nothing used at first')

    # (a) A non-streamed completion with max_tokens: used == usage.total_tokens.
    r = h.fetch(gw.port, 'POST', '/v1/chat/completions', auth, chat_body(max_tokens=3))
    t.eq(r.status, 200, '(a) completion admitted')
    total_a = ((h.json_body(r) or {}).get('usage') or {}).get('total_tokens')
    t.ok(isinstance(total_a, int) and total_a > 0, '(a) the response carries usage', r.body[:300])
    t.eq(len(r.header_all('ratelimit')), 1, '(a) one RateLimit field')
    ok = settles_at(total_a)
    t.ok(ok, '(a) used == the response\'s usage.total_tokens (%r)' % total_a, 'used %r' % used())
    used_a = used()

    # (b) A streamed completion: used grows by the usage event's total_tokens.
    r = h.fetch(gw.port, 'POST', '/v1/chat/completions', auth,
                chat_body(stream=True, max_tokens=2), timeout=10)
    t.eq(r.status, 200, '(b) stream admitted')
    events = sse_events(r.body)
    with_usage = [e['usage'] for e in events if isinstance(e.get('usage'), dict)]
    t.ok(with_usage, '(b) the stream has a usage event', r.body[-300:])
    total_b = with_usage[-1].get('total_tokens') if with_usage else None
    t.ok(settles_at(used_a + (total_b or 0)),
         '(b) used grew by the SSE usage event\'s total_tokens (%r)' % total_b,
         'before %r, now %r' % (used_a, used()))
    used_b = used()

    # (c) An aborted stream: the reservation (the estimate: no max_tokens)
    # is held while it runs, and refunded when the client goes away.
    c = h.Client(gw.port, timeout=10)
    c.request('POST', '/v1/chat/completions', auth + [('X-Mock-Delay-Ms', '1000')],
              chat_body(stream=True))
    head = c.read_head()
    t.eq(head.status, 200, '(c) slow stream admitted')
    got = b''
    while b'\n\n' not in got:
        size = int(c.read_line().split(b';', 1)[0], 16)
        if size == 0:
            break
        got += c.read_exact(size)
        c.read_exact(2)
    t.ok(got.startswith(b'data: '), '(c) the first event arrived', got[:200])
    held = used()
    t.eq(held, used_b + ESTIMATE, '(c) while it runs the estimate is reserved')
    c.close()
    t.ok(settles_at(used_b, timeout=4.0), '(c) after the client closed, the reservation is refunded',
         'before %r, now %r' % (used_b, used()))
    time.sleep(1.2)  # past the next event the upstream would have sent
    t.eq(used(), used_b, '(c) and it stays refunded')

    # (d) A reservation that exactly fits is admitted (used + estimate <= limit) ...
    fit = AMOUNT - used_b
    r = h.fetch(gw.port, 'POST', '/v1/chat/completions', auth, chat_body(max_tokens=fit))
    t.eq(r.status, 200, '(d) max_tokens = %d: used + reservation == limit is admitted' % fit)
    total_d = ((h.json_body(r) or {}).get('usage') or {}).get('total_tokens') or 0
    t.ok(settles_at(used_b + total_d), '(d) and corrected to its usage', 'now %r' % used())
    used_d = used()
    # ... one token more does not fit: 429 naming the tokens limit, nothing consumed.
    over = AMOUNT - used_d + 1
    r = h.fetch(gw.port, 'POST', '/v1/chat/completions', auth, chat_body(max_tokens=over))
    t.eq(r.status, 429, '(d) max_tokens = %d (used %d): does not fit, 429' % (over, used_d))
    body = h.json_body(r) or {}
    t.eq(body.get('error'), 'rate_limited', '(d) error rate_limited')
    t.eq(body.get('limit'), 'tokens_per_minute', '(d) the tokens limit is named')
    t.eq(r.header_all('retry-after'), [str(body.get('retry_after'))],
         '(d) one Retry-After, equal to the body\'s retry_after')
    ra, tt = s.retry_after_and_t(r)
    t.ok(isinstance(ra, int) and tt is not None and ra >= tt, '(d) Retry-After is not before t',
         (ra, tt))
    time.sleep(0.3)
    t.eq(used(), used_d, '(d) the refused request consumed nothing')

    # (e) A reservation above the whole limit never fits (SPEC section 6:
    # "admitted when used + estimate fits"): refused even in an empty
    # window, and not remembered: the user's next small request passes.
    gw.admin('DELETE', '/v1/users/alice/limits')
    r = h.fetch(gw.port, 'POST', '/v1/chat/completions', auth,
                chat_body(max_tokens=AMOUNT + 1))
    t.eq(r.status, 429, '(e) max_tokens above the whole limit: 429 in an empty window')
    t.eq((h.json_body(r) or {}).get('limit'), 'tokens_per_minute', '(e) naming the tokens limit')
    r = h.fetch(gw.port, 'POST', '/v1/chat/completions', auth, chat_body(max_tokens=3))
    t.eq(r.status, 200, '(e) the next request that fits is admitted (no remembered refusal)')

    ttls = g.redis.key_ttls()
    t.ok(any(k.endswith('{u:alice}:rl:free') for k in ttls),
         'the limits hash is among the keys sluice created', sorted(ttls))
    t.eq({k: v for k, v in ttls.items() if v <= 0}, {}, 'every key has a TTL', ttls)


if __name__ == '__main__':
    h.run(main)
