#!/usr/bin/env python3
"""An idempotent request without a body (RFC 9110 §9.2.2) that fails on a
stale pooled upstream connection is retried once on a fresh one: GET and
DELETE are answered 200 and reach the upstream's handler once each."""
import json
import harness as h


def mock_stats(mock):
    return json.loads(h.get(mock.port, '/stats').body)


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, log=False))

    for n, method in enumerate(('GET', 'DELETE'), 1):
        with h.Client(gw.port) as c:
            t.eq(c.fetch('GET', '/arm-drop').status, 200, '%s: pooled connection armed' % method)
            r = c.fetch(method, '/counted')
            t.eq(r.status, 200, '%s on a stale connection: retried, 200' % method)
        s = mock_stats(mock)
        t.eq((s['dropped'], s['counted']), (n, n),
             '%s: once on the stale connection, once on the fresh one' % method)


h.run(main)
