#!/usr/bin/env python3
"""Binary garbage and near-HTTP bytes each get their one error status with a
JSON body, then a close: never a crash, a hang or a garbage reply."""
import random
import socket
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    # Each sample has one right answer, then the connection closes:
    #  - no end of head within header_timeout (1s): 408 (SPEC section 4);
    #  - no end of head within max_header_size (8KiB): 431;
    #  - a head that ended but is malformed (no Host, RFC 9112 §3.2): 400;
    #  - a well-formed request line of another major version (HTTP/9.9,
    #    the HTTP/2 preface "PRI * HTTP/2.0"): 505 (RFC 9110 §15.6.6);
    #  - bare LF line ends are accepted (RFC 9112 §2.2 lets a recipient
    #    read LF as a line end): 200, then the two stray bytes are an
    #    unfinished head: 408.
    rnd = random.Random(42)
    samples = [(bytes(rnd.getrandbits(8) for _ in range(n)), [408 if n < 8192 else 431])
               for n in (1, 16, 512, 4096, 20000)]
    samples += [(b'\x00' * 100, [408]), (b'\r\n' * 100, [408]),
                (b'GET / HTTP/1.1\r\n\r\n', [400]),
                (b'GET /small HTTP/9.9\r\nHost: x\r\n\r\n', [505]),
                (b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', [408]),
                (b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', [505]),
                (b'GET /small HTTP/1.1\nHost: x\n\n\xff\xfe', [200, 408])]
    for i, (data, want) in enumerate(samples):
        got = []
        closed = False
        try:
            with h.Client(gw.port, timeout=3) as c:
                try:
                    c.send(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                try:
                    for _ in want:
                        r = c.read_response()
                        got.append(r.status)
                        if r.status >= 400 and not (isinstance(h.json_body(r), dict)
                                                    and 'error' in h.json_body(r)):
                            got.append('no JSON error body')
                    closed = c.wait_closed(2.0)
                except EOFError:
                    got.append('closed')
                except ValueError as e:
                    got.append('garbage reply: %s' % e)
        except socket.timeout:
            got.append('hang')
        t.eq(got, want, 'garbage sample %d (%d bytes) answers %r' % (i, len(data), want))
        t.ok(closed, 'garbage sample %d: then the connection is closed' % i)
        h.check_serves(t, gw, 'garbage sample %d' % i)

h.run(main)
