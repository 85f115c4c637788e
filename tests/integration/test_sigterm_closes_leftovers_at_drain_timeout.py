#!/usr/bin/env python3
"""SIGTERM with a request that outlives drain_timeout (1s here): the process
still exits 0 when drain_timeout ends, closing that connection."""
import signal
import threading
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, http={'drain_timeout': '1s'},
                                           upstream={'read_timeout': '10s'}))
    gw.proc.expect_exit = True

    result = {}

    def slow(key, path):
        try:
            with h.Client(gw.port, timeout=8) as c:
                c.request('GET', path)
                result[key] = c.read_response(allow_truncated=True)
        except Exception as e:  # noqa: BLE001
            result[key] = e
        result[key + '_t'] = time.monotonic()

    ths = [threading.Thread(target=slow, args=('long', '/delay/5000')),
           threading.Thread(target=slow, args=('sse', '/sse?events=50&interval_ms=100'))]
    for th in ths:
        th.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    gw.proc.signal(signal.SIGTERM)
    rc = gw.proc.wait(4.0)
    dt = time.monotonic() - t0
    t.eq(rc, 0, 'exit status 0 after the drain timeout')
    t.ok(0.8 <= dt <= 2.5, 'exit when drain_timeout (1s) ends', 'exit after %.2f s' % dt)
    for th in ths:
        th.join(5)
    long = result.get('long')
    # nothing of its response existed when the drain ended: closed, no head
    t.ok(isinstance(long, EOFError) and 'before a response head' in str(long),
         'the 5 s request is closed at the drain end without a response', repr(long))
    t.ok(result.get('long_t', 99) - t0 < 3.0, 'its client connection was closed at the drain end')
    sse = result.get('sse')
    # its head and some events went out: the stream is cut short
    t.ok(getattr(sse, 'status', None) == 200 and sse.complete is False,
         'the 5 s SSE stream in flight was cut at the drain end (200, incomplete)', repr(sse))
    t.ok(result.get('sse_t', 99) - t0 < 3.0, 'its client saw the close promptly')


h.run(main)
