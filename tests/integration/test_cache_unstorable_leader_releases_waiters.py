#!/usr/bin/env python3
"""Coalesced misses wait for the leader's entry (SPEC section 7), but not
for one that will never be stored: once the leader's response head says
no-store, the misses waiting on it, and those that come while it still
streams, go upstream at once instead of at the end of the 500 ms wait
(there is nothing for them to find). The leader's body takes 3 s here;
a miss that came 50 ms after it gets its first byte long before the wait
would have ended (it ends 450 ms later)."""
import socket
import threading
import time

import harness as h
import sessions as s

PATH = '/drip?bytes=30&interval_ms=100&chunk=1&no_store=1'


def first_byte_after(port, path, delay_s, out, name):
    time.sleep(delay_s)
    sock = socket.create_connection(('127.0.0.1', port), timeout=10)
    start = time.monotonic()
    sock.sendall(('GET %s HTTP/1.1\r\nHost: test.local\r\n\r\n' % path).encode())
    head = sock.recv(4096)
    out[name] = (time.monotonic() - start, head.split(b'\r\n', 1)[0], head)
    sock.close()


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('drip', '/drip', auth='none', cache={'ttl': '60s'})]
    cfg = h.default_config(mock.port, redis_port=redis.port, routes=routes,
                           upstream={'read_timeout': '10s'})
    gw = env.start_sluice(cfg)
    s.wait_ready(gw)

    out = {}
    jobs = [('leader', 0), ('waiter', 0.05), ('later', 0.15)]
    threads = [threading.Thread(target=first_byte_after, args=(gw.port, PATH, d, out, n))
               for n, d in jobs]
    for th in threads:
        th.start()
    for th in threads:
        th.join(15)
    for name, _ in jobs:
        took, status, head = out.get(name, (None, b'', b''))
        t.eq(status, b'HTTP/1.1 200 OK', '%s: 200' % name)
        t.ok(b'X-Cache: MISS' in head, '%s: a miss' % name, head[:300])
    t.ok(out['waiter'][0] < 0.3, 'the waiter goes upstream once the leader\'s head says no-store '
         '(its first byte comes before the 500 ms wait would have ended)', out['waiter'][0])
    t.ok(out['later'][0] < 0.3, 'a miss while the leader streams does not wait either',
         out['later'][0])


if __name__ == '__main__':
    h.run(main)
