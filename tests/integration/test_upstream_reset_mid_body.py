#!/usr/bin/env python3
"""An upstream that closes mid-body (Content-Length 1000, 100 bytes sent):
the client sees a 502 or a truncated response followed by a close (never a
hang, never a complete-looking response); the gateway keeps serving."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    for i in range(3):
        with h.Client(gw.port, timeout=5) as c:
            c.request('GET', '/reset-mid-body')
            try:
                r = c.read_response(allow_truncated=True)
            except EOFError:
                r = None
            if r is None:
                t.ok(True, 'attempt %d: connection closed before a head' % (i + 1))
            elif r.status == 502:
                h.check_json_error(t, r, 502, 'attempt %d: 502 before any byte' % (i + 1))
            else:
                t.ok(not r.complete or (r.chunked and len(r.body) < 1000 and c.eof),
                     'attempt %d: truncated response is not complete' % (i + 1),
                     'status %d, %d body bytes, complete=%r' % (r.status, len(r.body), r.complete))
                t.ok(c.eof or c.wait_closed(3.0),
                     'attempt %d: client connection closed after the truncation' % (i + 1))
        h.check_serves(t, gw, 'reset mid body, attempt %d' % (i + 1))

    # a pooled upstream connection must not be reused after the reset
    with h.Client(gw.port) as c:
        statuses = [c.fetch('GET', '/small').status for _ in range(5)]
        t.eq(statuses, [200] * 5, 'five keep-alive requests after the resets succeed')

    # the upstream closes without a Content-Length: the body ends at close
    direct = h.get(mock.port, '/close-no-length')
    r = h.get(gw.port, '/close-no-length')
    t.eq(r.status, 200, '/close-no-length answers 200')
    t.eq(r.body, direct.body, 'close-delimited upstream body delivered whole')


h.run(main)
