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
    t.ok(not (hasattr(long, 'status') and long.status == 200 and long.complete),
         'the 5 s request did not get a complete 200', repr(long))
    t.ok(result.get('long_t', 99) - t0 < 3.0, 'its client connection was closed at the drain end')
    sse = result.get('sse')
    t.ok(isinstance(sse, Exception) or not getattr(sse, 'complete', True),
         'the 5 s SSE stream in flight was cut at the drain end (not hung)', repr(sse))
    t.ok(result.get('sse_t', 99) - t0 < 3.0, 'its client saw the close promptly')


h.run(main)
