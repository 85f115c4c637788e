#!/usr/bin/env python3
"""/readyz answers 503 {"status":"degraded"} when an upstream has no healthy
server, and 200 again once it is back."""
import socket
import threading
import harness as h


def main(t, env):
    mock = env.start_mock()
    redis_port = env.redis_port()
    dead = h.free_port()
    cfg = h.default_config(mock.port, redis_port=redis_port,
                           routes=[h.route('dead', '/dead', upstream='dead'), h.route('all', '/')])
    cfg['upstreams']['dead'] = {'servers': ['127.0.0.1:%d' % dead], 'connect_timeout': '500ms',
                                'fail_timeout': '1s'}
    gw = env.start_sluice(cfg)

    last = {}

    def degraded():
        last['r'] = gw.admin('GET', '/readyz')
        return last['r'].status == 503

    t.ok(h.poll(degraded, 6.0, 0.2), '/readyz becomes 503 within 6 s', repr(last.get('r')))
    j = h.json_body(last['r']) or {}
    t.eq(j.get('status'), 'degraded', '/readyz status "degraded"')
    t.ok(isinstance(j.get('upstreams'), dict) and 'dead' in j['upstreams'],
         '/readyz names the dead upstream', repr(j))
    t.eq(h.get(gw.port, '/small').status, 200, 'the healthy upstream still serves')
    m = gw.admin('GET', '/metrics', token=None).body.decode('utf-8', 'replace')
    t.ok(any(l.startswith('sluice_upstream_up{') and 'upstream="dead"' in l
             and 'server="127.0.0.1:%d"' % dead in l and l.split()[-1] == '0'
             for l in m.splitlines()),
         'sluice_upstream_up is 0 for the dead server',
         '\n'.join(l for l in m.splitlines() if 'upstream_up' in l))

    # bring a server up at the dead port: readiness comes back
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        srv.bind(('127.0.0.1', dead))
        srv.listen(64)
    except OSError as e:
        # not a pass: the recovery below is what this part of the test shows
        t.ok(False, 'the dead server\'s port can be listened on again', repr(e))
        srv.close()
        return
    stop = []

    def serve():
        srv.settimeout(0.2)
        while not stop:
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            c.settimeout(1)
            try:
                c.recv(65536)
                c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok')
            except OSError:
                pass
            c.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        def ready():
            last['r'] = gw.admin('GET', '/readyz')
            return last['r'].status == 200
        t.ok(h.poll(ready, 8.0, 0.2), '/readyz 200 again once the server is back (fail_timeout)',
             repr(last.get('r')))
    finally:
        stop.append(1)
        th.join(2)
        srv.close()


h.run(main)
