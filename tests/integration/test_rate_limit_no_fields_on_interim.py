#!/usr/bin/env python3
"""The RateLimit fields belong to the final response only (SPEC section 6:
"every limited response carries" them; a 1xx is an interim response, not
the response): a POST with Expect: 100-continue on a limited route gets
the upstream's 100 Continue without RateLimit or RateLimit-Policy, then the
final 200 with each of them exactly once. The same holds on a keep-alive
connection for the next exchange (fields are not carried over or doubled)."""
import harness as h
import sessions as s

POLICY = '"per_minute";q=10;w=60'


def fields(r):
    return [(k.lower(), v) for k, v in r.headers if k.lower() in ('ratelimit', 'ratelimit-policy')]


def main(t, env):
    plans = {'free': {'limits': [{'name': 'per_minute', 'requests': 10, 'window': '1m'}]}}
    g = s.Gateway(env, routes=[h.route('secure', '/echo', auth='required', plan='free')],
                  plans=plans)
    token = s.token_for(g.gw, 'alice')
    auth = ''.join('%s: %s\r\n' % kv for kv in s.bearer(token)).encode()

    body = b'q' * 2000
    with h.Client(g.gw.port, timeout=5) as c:
        for n in (1, 2):
            c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\n' + auth +
                   b'Content-Length: %d\r\nExpect: 100-continue\r\n\r\n' % len(body))
            interim = c.read_head()
            t.eq(interim.status, 100, 'exchange %d: the 100 Continue comes first' % n)
            t.eq(fields(interim), [], 'exchange %d: the 100 Continue carries no RateLimit fields'
                 % n, interim.head_raw)
            c.send(body)
            final = c.read_head()
            c._read_body(final, 'POST')
            t.eq(final.status, 200, 'exchange %d: the final response is 200' % n)
            t.eq(final.header_all('ratelimit-policy'), [POLICY],
                 'exchange %d: RateLimit-Policy exactly once on the final response' % n)
            t.eq([x.split(';')[:2] for x in final.header_all('ratelimit')],
                 [['"per_minute"', 'r=%d' % (10 - n)]],
                 'exchange %d: RateLimit exactly once on the final response' % n,
                 final.head_raw)
            t.eq((h.json_body(final) or {}).get('body'), body.decode(),
                 'exchange %d: the body reached the upstream' % n)


if __name__ == '__main__':
    h.run(main)
