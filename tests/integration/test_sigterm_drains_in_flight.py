#!/usr/bin/env python3
"""SIGTERM: the in-flight request still completes 200, new connections are
refused soon after, the process exits 0 within drain_timeout (5s here)."""
import signal
import socket
import threading
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, http={'drain_timeout': '5s'}))
    gw.proc.expect_exit = True

    idle = h.Client(gw.port)
    t.eq(idle.fetch('GET', '/small').status, 200, 'idle keep-alive connection before SIGTERM')

    result = {}

    def slow():
        try:
            with h.Client(gw.port, timeout=6) as c:
                result['r'] = c.fetch('GET', '/delay/1000')
                result['t'] = time.monotonic()
        except Exception as e:  # noqa: BLE001
            result['err'] = repr(e)

    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.2)
    t_term = time.monotonic()
    gw.proc.signal(signal.SIGTERM)

    # new connections refused soon after (while /delay/1000 is still running)
    refused_at = None
    while time.monotonic() - t_term < 0.7:
        try:
            s = socket.create_connection(('127.0.0.1', gw.port), timeout=0.2)
            s.close()
        except ConnectionRefusedError:
            refused_at = time.monotonic() - t_term
            break
        except OSError:
            pass
        time.sleep(0.02)
    t.ok(refused_at is not None, 'new connections refused within 700 ms of SIGTERM',
         'refused_at %r' % refused_at)

    th.join(6)
    r = result.get('r')
    t.ok(r is not None and r.status == 200, 'in-flight /delay/1000 completes with 200',
         repr(result))

    # the idle keep-alive connection is closed rather than kept through the drain
    t.ok(idle.wait_closed(5.5), 'idle keep-alive connection closed during the drain')
    idle.close()

    rc = gw.proc.wait(5.5)
    dt = time.monotonic() - t_term
    t.eq(rc, 0, 'process exits 0 after SIGTERM')
    t.ok(dt < 5.5, 'exit within drain_timeout', 'exit after %.2f s' % dt)
    t.ok(dt < 2.5, 'exit soon after the last request finished (no idle wait)',
         'exit after %.2f s' % dt)

    # SIGINT behaves the same
    gw2 = env.start_sluice(h.default_config(mock.port, http={'drain_timeout': '5s'}),
                           name='sigint.yaml')
    gw2.proc.expect_exit = True
    t.eq(h.get(gw2.port, '/small').status, 200, 'second gateway serves')
    gw2.proc.signal(signal.SIGINT)
    t.eq(gw2.proc.wait(5.5), 0, 'SIGINT with nothing in flight: exit 0 promptly')


h.run(main)
