#!/usr/bin/env python3
"""200 connections opened and closed abruptly (some idle, some mid-head,
some mid-request, with FIN or RST) leave the gateway serving."""
import random
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    rnd = random.Random(1234)
    opened = 0
    conns = []
    for i in range(200):
        try:
            c = h.Client(gw.port, timeout=2)
        except OSError as e:
            t.diag('connect %d failed: %r' % (i, e))
            continue
        opened += 1
        kind = i % 4
        try:
            if kind == 1:
                c.send(b'GET /small HTTP/1.1\r\nHo')
            elif kind == 2:
                c.send(h.build_request('GET', '/delay/200'))
            elif kind == 3:
                c.send(h.build_request('GET', '/bytes/100000'))
        except OSError:
            pass
        conns.append(c)
        if len(conns) >= 50 or rnd.random() < 0.3:
            for x in conns:
                x.close(rst=rnd.random() < 0.5)
            conns = []
    for x in conns:
        x.close(rst=True)
    t.eq(opened, 200, '200 connections accepted')
    h.check_serves(t, gw, 'after 200 abrupt connections')
    with h.Client(gw.port) as c:
        statuses = [c.fetch('GET', '/echo').status for _ in range(10)]
    t.eq(statuses, [200] * 10, 'ten keep-alive requests after the storm')


h.run(main)
