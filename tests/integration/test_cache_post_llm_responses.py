#!/usr/bin/env python3
"""cache: { methods: [POST], ttl } caches LLM answers keyed by the request
body (SPEC sections 7, 11): the same body is a HIT, another body a MISS;
entries are per user unless scope: shared; a streamed (SSE) answer is
stored as it passes and replayed as the same events; the route's ttl is
the freshness whatever the response's Cache-Control says (only no-store
counts); a hit charges no token quota; the connection goes on after a hit."""
import json

import harness as h
import sessions as s


def chat(**kw):
    b = {'model': 'mock-llm', 'messages': [{'role': 'user', 'content': 'hi'}]}
    b.update(kw)
    return json.dumps(b)


def main(t, env):
    plans = {'free': {'limits': [{'name': 'tpm', 'tokens': 100000, 'window': '1m',
                                  'estimate': 500}]}}
    routes = [h.route('chat', '/v1/chat/completions', methods=['POST'], auth='required',
                      plan='free', cache={'methods': ['POST'], 'ttl': '60s'}),
              h.route('shared', '/echo', methods=['POST'], auth='required', plan='free',
                      cache={'methods': ['POST'], 'ttl': '60s', 'scope': 'shared'})]
    g = s.Gateway(env, routes=routes, plans=plans)
    gw = g.gw
    alice = s.bearer(s.token_for(gw, 'alice', plan='free'))
    bob = s.bearer(s.token_for(gw, 'bob', plan='free'))
    post = lambda who, body, path='/v1/chat/completions': h.fetch(
        gw.port, 'POST', path, who + [('Content-Type', 'application/json')], body)

    a1 = post(alice, chat(max_tokens=3))
    t.eq((a1.status, a1.header('x-cache')), (200, 'MISS'), 'first POST: MISS')
    t.ok(h.poll(lambda: post(alice, chat(max_tokens=3)).header('x-cache') == 'HIT', 3),
         'the same body again: HIT')
    a2 = post(alice, chat(max_tokens=3))
    t.eq(a2.body, a1.body, 'the hit is the stored answer, byte for byte')
    t.eq(post(alice, chat(max_tokens=4)).header('x-cache'), 'MISS', 'another body: MISS')
    t.eq(post(bob, chat(max_tokens=3)).header('x-cache'), 'MISS',
         'another user: MISS (POST entries are per user by default)')

    # scope: shared
    post(alice, '{"q":1}', '/echo')
    t.ok(h.poll(lambda: post(bob, '{"q":1}', '/echo').header('x-cache') == 'HIT', 3),
         'scope: shared: another user hits')

    # A streamed answer is replayed as the same stream of events.
    s1 = post(alice, chat(stream=True, max_tokens=2))
    t.eq(s1.header('x-cache'), 'MISS', 'streamed: MISS first')
    t.ok(h.poll(lambda: post(alice, chat(stream=True, max_tokens=2)).header('x-cache') == 'HIT',
                3), 'streamed: then HIT')
    s2 = post(alice, chat(stream=True, max_tokens=2))
    t.eq(s2.header('content-type'), 'text/event-stream', 'the replay is an event stream')
    t.eq(s2.body, s1.body, 'with the same events')
    t.ok(s2.body.rstrip().endswith(b'data: [DONE]'), 'ending as the original did')

    # A hit charges no token quota.
    def used():
        r = gw.admin('GET', '/v1/users/alice/limits')
        return {x['name']: x['used'] for x in (h.json_body(r) or {}).get('limits', [])}.get('tpm')
    before = used()
    for _ in range(3):
        t.eq(post(alice, chat(max_tokens=3)).header('x-cache'), 'HIT', 'hit')
    t.ok(h.poll(lambda: used() == before, 2), 'hits charge no tokens', (before, used()))

    # Keep-alive after a POST hit: the body was consumed, the next request is read.
    with h.Client(gw.port) as c:
        body = chat(max_tokens=3).encode()
        head = ('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n'
                'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n'
                % (alice[0][1], len(body))).encode()
        c.send(head + body + head + body)
        r1 = c.read_response()
        r2 = c.read_response()
        t.eq((r1.header('x-cache'), r2.header('x-cache')), ('HIT', 'HIT'),
             'two pipelined POST hits on one connection')


if __name__ == '__main__':
    h.run(main)
