#!/usr/bin/env python3
"""A request waiting in the auth stage for Redis (SPEC section 5) is safe
(run under ASan too: recycling is off there, so a touch after the end is
reported): many requests waiting at once are pipelined and all answered;
a client that half-closes while its request waits is still answered; a
client that vanishes (reset) while it waits leaves nothing behind (logged 499)
and the gateway goes on; SIGTERM while requests wait finishes them
(answered, then exit 0)."""
import signal
import socket
import threading
import time

import harness as h
import sessions as s


def slow_redis(redis, seconds):
    th = threading.Thread(target=redis.cli, args=('DEBUG', 'SLEEP', str(seconds)))
    th.start()
    time.sleep(0.1)  # the sleep has begun: commands now wait
    return th


def main(t, env):
    g = s.Gateway(env, redis={'timeout': '3s'})
    mock, redis, kp, gw = g.mock, g.redis, g.kp, g.gw
    token = s.token_for(gw, 'alice')
    req = h.build_request('GET', '/echo', s.bearer(token))

    # Many at once, all waiting on one Redis connection.
    th = slow_redis(redis, 0.5)
    out = []
    def one():
        out.append(h.get(gw.port, '/echo', s.bearer(token)).status)
    clients = [threading.Thread(target=one) for _ in range(50)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(10)
    th.join()
    t.eq(out, [200] * 50, '50 requests waiting together are all answered 200')

    # Half-close while waiting: still answered.
    th = slow_redis(redis, 0.5)
    with h.Client(gw.port) as c:
        c.send(req)
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response()
        t.eq(r.status, 200, 'a client that half-closed while waiting gets its answer')
    th.join()

    # The same with a whole POST body sent before the half-close.
    th = slow_redis(redis, 0.5)
    post = ('POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n'
            'Content-Length: 11\r\n\r\nhello world' % token).encode()
    with h.Client(gw.port) as c:
        c.send(post)
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response()
        t.eq(r.status, 200, 'a POST whose body came whole, then a half-close: answered')
        t.eq((r.json() or {}).get('body'), 'hello world', 'with its body forwarded')
    th.join()

    # Vanish while waiting (a reset: a plain FIN is a half-close, answered
    # above): the gateway finishes the request alone.
    th = slow_redis(redis, 0.5)
    c = h.Client(gw.port)
    c.send(req)
    time.sleep(0.05)
    c.close(rst=True)
    th.join()
    rec = gw.wait_access(lambda x: x.get('status') == 499, timeout=3.0)
    t.ok(rec is not None, 'the vanished client is logged 499')
    t.eq(h.get(gw.port, '/echo', s.bearer(token)).status, 200, 'the gateway goes on serving')

    # Drain while waiting (Redis asleep long enough that the drain has
    # surely begun when it answers, even on a loaded box).
    th = slow_redis(redis, 2.0)
    with h.Client(gw.port) as c:
        c.send(req)
        time.sleep(0.1)
        gw.proc.expect_exit = True
        gw.proc.signal(signal.SIGTERM)
        r = c.read_response()
        t.eq(r.status, 200, 'SIGTERM: the waiting request is still answered')
        t.eq((r.header('connection') or '').lower(), 'close', 'with Connection: close')
    th.join()
    t.eq(gw.proc.wait(5), 0, 'then sluice exits 0')


h.run(main)
