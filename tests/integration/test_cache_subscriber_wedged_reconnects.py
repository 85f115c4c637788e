#!/usr/bin/env python3
"""A gateway's cache subscriber notices a wedged connection and
reconnects (issue 10's pub/sub invalidation, issue 11's fleet that
agrees). A subscriber hears nothing for long stretches, so a half-open
TCP connection (a NAT that forgot it, a firewall that drops it) would leave
it deaf for good: the other gateways' purges would never reach its hot
copies again. Gateway B talks to Redis through a proxy that, once told,
swallows every byte of the connections it has (in both directions) while
new connections pass. B's subscriber PINGs after a second of silence and
breaks after the stall limit (2 s), then subscribes on a new connection:
a purge on gateway A then reaches B again."""
import json
import selectors
import socket
import threading
import time

import harness as h
import sessions as s


class BlackholeProxy:
    """127.0.0.1:port -> target. blackhole(): the connections open now
    stop relaying (bytes read and dropped; a close still closes the
    pair); later connections relay."""

    def __init__(self, target_port):
        self.target = target_port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.lsock, selectors.EVENT_READ, None)
        self.pairs = {}  # sock -> [peer, relaying]
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def blackhole(self):
        with self.lock:
            for entry in self.pairs.values():
                entry[1] = False

    def close_pair(self, sock):
        peer = self.pairs.pop(sock)[0]
        self.pairs.pop(peer, None)
        for x in (sock, peer):
            self.sel.unregister(x)
            x.close()

    def loop(self):
        deadline = time.monotonic() + 60
        while not self.stop and time.monotonic() < deadline:
            for key, _ in self.sel.select(0.1):
                with self.lock:
                    if key.fileobj is self.lsock:
                        c, _ = self.lsock.accept()
                        u = socket.create_connection(('127.0.0.1', self.target))
                        self.pairs[c] = [u, True]
                        self.pairs[u] = [c, True]
                        self.sel.register(c, selectors.EVENT_READ, None)
                        self.sel.register(u, selectors.EVENT_READ, None)
                        continue
                    sock = key.fileobj
                    if sock not in self.pairs:
                        continue
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b''
                    if not data:
                        self.close_pair(sock)
                    elif self.pairs[sock][1]:
                        self.pairs[sock][0].sendall(data)


def purge_reaches(a, b, route, path):
    """B warms path (a miss, then a hit); A purges it; B answers a miss
    150 ms later."""
    if h.get(b.port, path).header('x-cache') != 'MISS':
        return False
    if not h.poll(lambda: h.get(b.port, path).header('x-cache') == 'HIT', 2):
        return False
    r = a.admin('POST', '/v1/cache/purge', body=json.dumps({'route': route, 'path': path}))
    if r.status != 200:
        return False
    time.sleep(0.15)
    return h.get(b.port, path).header('x-cache') == 'MISS'


def main(t, env):
    redis = s.Redis(env)
    proxy = BlackholeProxy(redis.port)
    mock = env.start_mock()
    routes = [h.route('cached', '/counted', auth='none', cache={'ttl': '60s'})]
    a = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    b = env.start_sluice(h.default_config(mock.port, redis_port=proxy.port, routes=routes))
    for gw in (a, b):
        t.ok(s.wait_ready(gw), 'gateway is ready')
    t.ok(h.poll(lambda: redis.cli('PUBSUB', 'NUMSUB', 'sluice:cache:forget').split()[-1] == '2', 5),
         'both gateways subscribe')
    t.ok(purge_reaches(a, b, 'cached', '/counted?k=before'), "before: A's purge reaches B")

    proxy.blackhole()
    n = [0]

    def next_try():
        n[0] += 1
        return purge_reaches(a, b, 'cached', '/counted?k=wedged%d' % n[0])
    t.ok(h.poll(next_try, 10, interval=0.2),
         "with B's connections wedged, B's subscriber reconnects and A's purge reaches B",
         '%d tries' % n[0])
    proxy.stop = True


if __name__ == '__main__':
    h.run(main)
