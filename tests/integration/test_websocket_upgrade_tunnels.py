#!/usr/bin/env python3
"""GET /ws with Upgrade: websocket answers 101 and then tunnels bytes both
ways (the mock echoes them)."""
import os
import time
import harness as h


def ws_frame(payload):
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    with h.Client(gw.port, timeout=5) as c:
        r = h.websocket_upgrade(c)
        t.eq(r.status, 101, 'upgrade answers 101 Switching Protocols')
        t.eq((r.header('upgrade') or '').lower(), 'websocket', '101 carries Upgrade: websocket')
        t.ok('upgrade' in (r.header('connection') or '').lower(), '101 carries Connection: upgrade')
        acc = r.header('sec-websocket-accept')
        t.eq(acc, 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'Sec-WebSocket-Accept passed through')

        for msg in (b'hello tunnel', b'second message', bytes(range(256)) * 4):
            frame = ws_frame(msg[:125]) if len(msg) <= 125 else msg
            c.send(frame)
            got = c.read_exact(len(frame))
            t.ok(got == frame, 'tunnel echoes %d bytes' % len(frame))

        # bytes in both directions without a request/response rhythm
        c.send(b'a' * 10)
        time.sleep(0.05)
        c.send(b'b' * 10)
        t.eq(c.read_exact(20), b'a' * 10 + b'b' * 10, 'two writes echoed in order')

    h.check_serves(t, gw, 'after the websocket tunnel closed')

    # the upgrade headers reach upstream on an upgrade request
    with h.Client(gw.port, timeout=5) as c:
        r = h.websocket_upgrade(c, key='AQIDBAUGBwgJCgsMDQ4PEA==',
                                connection='keep-alive, Upgrade')
        t.eq(r.status, 101, 'Connection: keep-alive, Upgrade also upgrades')
        c.send(b'ping')
        t.eq(c.read_exact(4), b'ping', 'second tunnel echoes')


h.run(main)
