#!/usr/bin/env python3
"""http.max_connections: a connection over the cap gets its request answered
503 {"error":"overloaded"} with Retry-After and is closed; once a connection
leaves, new ones are served again (SPEC section 4: 503 overloaded)."""
import time

import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, http={'max_connections': 2}))

    def open_served():
        """A connection that was served: the harness's own start-up probes
        may still count for a moment, so a 503 here is retried."""
        for _ in range(40):
            c = h.Client(gw.port)
            if c.fetch('GET', '/small').status == 200:
                return c
            c.close()
            time.sleep(0.05)
        return None

    held = [open_served(), open_served()]
    for i, c in enumerate(held):
        t.ok(c is not None, 'connection %d under the cap is served' % (i + 1))
    if None in held:
        return

    with h.Client(gw.port) as c:
        r = c.fetch('GET', '/small')
        h.check_json_error(t, r, 503, 'third connection')
        t.eq((h.json_body(r) or {}).get('error'), 'overloaded', 'error code is overloaded')
        t.eq(r.header('retry-after'), '1', 'Retry-After: 1')
        t.eq((r.header('connection') or '').lower(), 'close', 'Connection: close')

    # The held connections are not disturbed.
    t.eq(held[0].fetch('GET', '/small').status, 200, 'a held connection keeps working')

    held[1].close()
    ok = h.poll(lambda: h.get(gw.port, '/small').status == 200, 3.0, 0.05)
    t.ok(ok, 'after a connection leaves, a new one is served')
    held[0].close()


h.run(main)
