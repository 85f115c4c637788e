#!/usr/bin/env python3
"""A client that does not read its 200 MB response makes the gateway stop
reading from upstream (watermarks): sluice's memory stays bounded, and the
stream resumes when the client reads again."""
import time
import harness as h


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, upstream={'read_timeout': '10s'}))
    t.eq(h.get(gw.port, '/small').status, 200, 'warm up')
    base = rss_kib(gw.proc.pid)

    n = 200 * 1048576
    c = h.Client(gw.port, timeout=5)
    c.sock.setsockopt(h.socket.SOL_SOCKET, h.socket.SO_RCVBUF, 65536)
    c.request('GET', '/bytes/%d' % n)
    head = c.read_head()
    t.eq(head.status, 200, 'GET /bytes/200MiB answers 200')
    time.sleep(1.5)  # the mock writes as fast as it can; we read nothing
    grown = rss_kib(gw.proc.pid) - base
    t.ok(grown < 64 * 1024, 'sluice RSS grows < 64 MiB while the client does not read',
         'grew %d KiB' % grown)

    # other clients are not starved meanwhile
    t0 = time.monotonic()
    t.eq(h.get(gw.port, '/small').status, 200, 'another client is served meanwhile')
    t.ok(time.monotonic() - t0 < 1.0, '... promptly')

    # reading resumes the stream (read 8 MiB more, then give up)
    got = len(c.buf)
    c.buf = b''
    deadline = time.monotonic() + 5
    while got < 8 * 1048576 and time.monotonic() < deadline:
        if not c._fill():
            break
        got += len(c.buf)
        c.buf = b''
    t.ok(got >= 8 * 1048576, 'the stream resumes when the client reads', 'read %d bytes' % got)
    c.close(rst=True)
    h.check_serves(t, gw, 'after the slow reader left')


h.run(main)
