#!/usr/bin/env python3
"""A chunked upstream response reaches the client intact and correctly framed."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    direct = h.get(mock.port, '/chunked')
    t.eq(direct.status, 200, 'mock /chunked works directly')
    with h.Client(gw.port) as c:
        r = c.fetch('GET', '/chunked')
        t.eq(r.status, 200, 'GET /chunked via sluice answers 200')
        t.eq((r.chunked, r.header('content-length')), (True, None),
             'response is passed on chunked, as it came (streamed, not re-framed)')
        t.eq(r.body, direct.body, 'chunked response body identical to the upstream one')
        r2 = c.fetch('GET', '/small')
        t.eq(r2.status, 200, 'connection reusable after a chunked response')

    # HTTP/1.0 client cannot take chunked: it must still get the body
    with h.Client(gw.port) as c:
        c.request('GET', '/chunked', version='HTTP/1.0')
        r = c.read_response()
        t.eq(r.status, 200, 'HTTP/1.0 GET /chunked answers 200')
        t.ok(not r.chunked, 'HTTP/1.0 client does not get Transfer-Encoding: chunked')
        t.eq(r.body, direct.body, 'HTTP/1.0 client gets the same body')


h.run(main)
