#!/usr/bin/env python3
"""A busy WebSocket tunnel lives past read_timeout: the timeout measures
silence, and bytes in either direction are not silence."""
import time

import harness as h


def main(t, env):
    mock = env.start_mock()
    # the harness default config has read_timeout: 2s
    gw = env.start_sluice(h.default_config(mock.port))
    with h.Client(gw.port, timeout=5) as c:
        t.eq(h.websocket_upgrade(c).status, 101, 'upgrade answered 101')
        start = time.monotonic()
        for _ in range(12):
            try:
                c.send(b'x' * 8)
                got = c.read_exact(8)
            except Exception as e:  # noqa: BLE001 - reported below
                got = repr(e)
            if got != b'x' * 8:
                t.ok(False, 'tunnel died after %.1f s: %r' % (time.monotonic() - start, got))
                return
            time.sleep(0.3)
        t.ok(True, 'busy tunnel still echoes after %.1f s' % (time.monotonic() - start))


h.run(main)
