#!/usr/bin/env python3
"""An idle keep-alive client connection is closed after http.idle_timeout
(1s here); a busy one is not."""
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, http={'idle_timeout': '1s'}))

    with h.Client(gw.port) as c:
        t.eq(c.fetch('GET', '/small').status, 200, 'first request')
        t0 = time.monotonic()
        closed = c.wait_closed(4.0)
        dt = time.monotonic() - t0
        t.ok(closed, 'idle connection closed', 'still open after %.2f s' % dt)
        t.ok(0.8 <= dt <= 2.5, 'closed after about idle_timeout', 'after %.2f s' % dt)

    # requests every 600 ms keep it open past the idle timeout
    with h.Client(gw.port) as c:
        statuses = []
        for _ in range(4):
            statuses.append(c.fetch('GET', '/small').status)
            time.sleep(0.6)
        t.eq(statuses, [200] * 4, 'a connection used every 600 ms stays open for 2.4 s')

    # a request that takes longer than idle_timeout upstream is not cut
    with h.Client(gw.port) as c:
        t.eq(c.fetch('GET', '/delay/1500').status, 200,
             'a 1.5 s upstream response is not cut by idle_timeout 1s')


h.run(main)
