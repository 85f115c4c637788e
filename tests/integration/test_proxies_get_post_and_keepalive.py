#!/usr/bin/env python3
"""GET and POST with a body are proxied; several requests share one
keep-alive client connection; an HTTP/1.0 client gets its answer and a close."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    r = h.get(gw.port, '/small')
    t.eq(r.status, 200, 'GET /small answers 200')
    t.ok(len(r.body) > 0, 'GET /small has a body')

    body = b'{"hello": "world", "n": 42}'
    r, e = h.echo(gw.port, 'POST', '/echo?x=1', [('Content-Type', 'application/json')], body)
    t.eq(r.status, 200, 'POST /echo answers 200')
    t.eq((e or {}).get('method'), 'POST', 'upstream saw method POST')
    t.eq((e or {}).get('path'), '/echo?x=1', 'upstream saw path with query')
    t.eq((e or {}).get('body'), body.decode(), 'upstream saw the request body')

    r = h.fetch(gw.port, 'POST', '/v1/chat/completions', [('Content-Type', 'application/json')],
                b'{"model":"m","messages":[{"role":"user","content":"hi"}]}')
    t.eq(r.status, 200, 'POST /v1/chat/completions answers 200')
    t.ok(h.json_body(r) is not None, 'chat completion body is JSON', repr(r.body[:200]))

    # keep-alive: five requests, one connection
    with h.Client(gw.port) as c:
        statuses = []
        for i in range(5):
            path = '/small' if i % 2 == 0 else '/echo'
            statuses.append(c.fetch('GET', path).status)
        r = c.fetch('POST', '/echo', body=b'x' * 100)
        statuses.append(r.status)
        t.eq(statuses, [200] * 6, 'six requests on one keep-alive connection all answer 200')
        t.eq(h.json_body(r).get('body') if h.json_body(r) else None, 'x' * 100,
             'body of the last keep-alive request reached upstream')
        t.ok(not c.eof, 'keep-alive connection still open')

    # HTTP/1.0 without keep-alive: answer, then close
    with h.Client(gw.port) as c:
        c.request('GET', '/small', version='HTTP/1.0')
        r = c.read_response()
        t.eq(r.status, 200, 'HTTP/1.0 request answers 200')
        t.eq(r.version, 'HTTP/1.1', 'status line version is HTTP/1.1, the gateway\'s own '
             '(RFC 9110 §6.2: a server sends the highest minor version it conforms to)')
        t.ok(c.wait_closed(2.0), 'HTTP/1.0 connection is closed after the response')

    # HTTP/1.1 with Connection: close
    with h.Client(gw.port) as c:
        r = c.fetch('GET', '/small', [('Connection', 'close')])
        t.eq(r.status, 200, 'Connection: close request answers 200')
        t.ok(c.wait_closed(2.0), 'connection closed after Connection: close')


h.run(main)
