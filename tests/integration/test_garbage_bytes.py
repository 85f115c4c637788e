#!/usr/bin/env python3
"""Random binary garbage gets a 400 or a close, never a crash or a hang."""
import random
import socket
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    rnd = random.Random(42)
    samples = [bytes(rnd.getrandbits(8) for _ in range(n)) for n in (1, 16, 512, 4096, 20000)]
    samples += [b'\x00' * 100, b'\r\n' * 100, b'GET / HTTP/1.1\r\n\r\n',  # no Host: 400 (RFC 9112 §3.2)
                b'GET /small HTTP/9.9\r\nHost: x\r\n\r\n', b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
                b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', b'GET /small HTTP/1.1\nHost: x\n\n\xff\xfe']
    for i, data in enumerate(samples):
        outcome = None
        try:
            with h.Client(gw.port, timeout=3) as c:
                try:
                    c.send(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                try:
                    r = c.read_response()
                    outcome = r.status
                    if r.status >= 400:
                        c.wait_closed(2.0)
                except EOFError:
                    outcome = 'closed'
                except ValueError:
                    outcome = 'garbage reply'
        except socket.timeout:
            outcome = 'hang'
        t.ok(outcome not in ('hang', 'garbage reply'),
             'garbage sample %d (%d bytes): %s' % (i, len(data), outcome))
        if isinstance(outcome, int) and i < 5:
            t.ok(outcome in (400, 408, 414, 431, 501, 505),
                 'random sample %d answered with a 4xx/5xx error if answered at all' % i,
                 'got %r' % outcome)
        h.check_serves(t, gw, 'garbage sample %d' % i)


h.run(main)
