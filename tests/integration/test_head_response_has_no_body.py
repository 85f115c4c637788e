#!/usr/bin/env python3
"""A response to HEAD has no body (RFC 9112 §6.3): the gateway must not wait
for one from upstream, and the keep-alive connection carries on at once."""
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))  # read_timeout 2s

    for path in ('/small', '/chunked', '/bytes/100000'):
        with h.Client(gw.port, timeout=4) as c:
            t0 = time.monotonic()
            r = c.fetch('HEAD', path)
            t.eq(r.status, 200, 'HEAD %s answers 200' % path)
            try:
                r2 = c.fetch('GET', '/small')
                dt = time.monotonic() - t0
                t.eq(r2.status, 200, 'GET after HEAD %s on the same connection answers 200' % path)
                t.ok(dt < 1.0, 'HEAD %s + GET done in < 1 s (no wait for a body)' % path,
                     'took %.2f s' % dt)
            except (EOFError, ValueError, OSError) as e:
                t.ok(False, 'GET after HEAD %s on the same connection answers 200' % path,
                     'after %.2f s: %r' % (time.monotonic() - t0, e))
    rec = gw.wait_access(lambda x: x.get('method') == 'HEAD', 2.0) or {}
    t.eq(rec.get('status'), 200, 'HEAD logged with status 200')

    # HEAD in a pipeline
    with h.Client(gw.port, timeout=4) as c:
        c.send(h.build_request('HEAD', '/small') + h.build_request('GET', '/echo'))
        r1 = c.read_response('HEAD')
        try:
            r2 = c.read_response()
            t.eq((r1.status, r2.status), (200, 200), 'pipelined HEAD then GET')
        except (EOFError, ValueError, OSError) as e:
            t.ok(False, 'pipelined HEAD then GET', repr(e))


h.run(main)
