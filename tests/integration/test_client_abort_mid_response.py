#!/usr/bin/env python3
"""A client that asks for 10 MiB and closes after reading 1 KiB does not hurt
the gateway: it keeps answering /small, promptly."""
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    for i in range(5):
        c = h.Client(gw.port)
        c.request('GET', '/bytes/10485760')
        head = c.read_head()
        while len(c.buf) < 1024 and c._fill():
            pass
        c.close(rst=(i % 2 == 1))
        t.eq(head.status, 200, 'abort %d: got the head of /bytes/10485760' % (i + 1))
        t0 = time.monotonic()
        h.check_serves(t, gw, 'abort %d' % (i + 1))
        t.ok(time.monotonic() - t0 < 1.0, 'abort %d: next request answered promptly' % (i + 1))

    # slow reader on one connection while others are served
    slow = h.Client(gw.port)
    slow.request('GET', '/bytes/10485760')
    time.sleep(0.2)
    with h.Client(gw.port) as c:
        statuses = [c.fetch('GET', '/small').status for _ in range(5)]
    t.eq(statuses, [200] * 5, 'a client not reading its 10 MiB does not block others')
    slow.close(rst=True)
    h.check_serves(t, gw, 'after the slow reader left')


h.run(main)
