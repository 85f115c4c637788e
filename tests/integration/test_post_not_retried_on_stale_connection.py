#!/usr/bin/env python3
"""A non-idempotent request (RFC 9110 §9.2.2) that fails on a stale pooled
upstream connection is not sent again on a fresh one: a body-less POST
that the upstream read and then closed on arrives upstream once and is
answered 502. Same for PATCH."""
import json
import harness as h


def mock_stats(mock):
    return json.loads(h.get(mock.port, '/stats').body)


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, log=False))

    for n, method in enumerate(('POST', 'PATCH'), 1):
        # /arm-drop leaves a pooled connection that the mock closes on its
        # next request, after reading it whole: a stale keep-alive connection
        with h.Client(gw.port) as c:
            t.eq(c.fetch('GET', '/arm-drop').status, 200, '%s: pooled connection armed' % method)
            r = c.fetch(method, '/counted')
            t.eq(r.status, 502, '%s without a body on a stale connection: 502' % method)
        s = mock_stats(mock)
        t.eq((s['dropped'], s['counted']), (n, 0),
             '%s arrived upstream once (on the stale connection), not retried' % method)
    h.check_serves(t, gw, 'after a refused retry')


h.run(main)
