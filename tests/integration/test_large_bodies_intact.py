#!/usr/bin/env python3
"""A 1 MiB response and a (just under) 1 MiB request body pass intact."""
import hashlib
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, http={'max_body_size': '2MiB'}))
    n = 1048576

    direct = h.get(mock.port, '/bytes/%d' % n, timeout=10)
    with h.Client(gw.port, timeout=10) as c:
        r = c.fetch('GET', '/bytes/%d' % n)
        t.eq(r.status, 200, 'GET /bytes/1048576 answers 200')
        t.eq(len(r.body), n, '1 MiB response body has 1048576 bytes')
        t.eq(hashlib.sha256(r.body).hexdigest(), hashlib.sha256(direct.body).hexdigest(),
             '1 MiB response body identical to upstream')

        body = bytes((i * 7 + 3) % 26 + 97 for i in range(n))
        r = c.fetch('POST', '/echo', [('Content-Type', 'application/octet-stream')], body)
        t.eq(r.status, 200, 'POST /echo with 1 MiB body answers 200')
        got = ((h.json_body(r) or {}).get('body') or '').encode()
        t.eq(len(got), n, 'upstream received 1048576 body bytes')
        t.ok(got == body, '1 MiB request body intact')

        r = c.fetch('POST', '/echo', [('Transfer-Encoding', 'chunked')],
                    h.chunked(body, 65536))
        got = ((h.json_body(r) or {}).get('body') or '').encode()
        t.ok(r.status == 200 and got == body, '1 MiB chunked request body intact')


h.run(main)
