#!/usr/bin/env python3
"""A client that sends its whole request before it reads (Python's
http.client, curl -d @file) still gets the gateway's refusal when the
refusal comes before the body was read: a 413 for a Content-Length over
http.max_body_size, a 401 for a missing token (SPEC sections 4, 5). The
gateway answers, stops writing and reads and discards the rest of the body
for a while before it closes (nginx's lingering close), so the client's
upload never dies on a reset and its answer is read; the connection then
closes, and the gateway goes on serving."""
import http.client
import json

import harness as h


def post(port, path, body, headers=None):
    """(status, JSON body) as http.client sees them, or the exception's name."""
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    try:
        c.request('POST', path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, json.loads(r.read() or b'null'), r.getheader('connection')
    except (OSError, http.client.HTTPException) as e:
        return type(e).__name__, None, None
    finally:
        c.close()


def main(t, env):
    mock = env.start_mock()
    routes = [h.route('secure', '/v1/chat/completions', auth='required'), h.route('all', '/')]
    gw = env.start_sluice(h.default_config(mock.port, routes=routes))  # max_body_size: 1MiB

    for size in (1100000, 4000000):
        got = [post(gw.port, '/echo', b'x' * size) for _ in range(4)]
        t.eq([g[0] for g in got], [413] * 4, 'a %d-byte body over 1 MiB, sent whole: 413 read by '
             'the client, four times out of four' % size, got)
        t.ok(all((g[1] or {}).get('error') for g in got), '%d bytes: a JSON error' % size, got)
        t.ok(all(g[2] == 'close' for g in got), '%d bytes: Connection: close' % size, got)

    got = [post(gw.port, '/v1/chat/completions', b'{"x":"' + b'y' * 900000 + b'"}')
           for _ in range(4)]
    t.eq([(g[0], (g[1] or {}).get('error')) for g in got], [(401, 'missing_token')] * 4,
         'a 900 KB body to an auth route without a token: 401 read by the client', got)

    with h.Client(gw.port) as c:
        c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n' + b'z' * 300000)
        r = c.read_response()
        h.check_json_error(t, r, 413, 'a raw client mid-body')
        c.send(b'z' * 100000)  # the gateway still reads, so this does not reset
        t.ok(c.wait_closed(3.0), 'the client sees the connection end after the 413')
    h.check_serves(t, gw, 'after the refusals')


h.run(main)
