#!/usr/bin/env python3
"""An upstream that resets mid-body (head with Content-Length 1000 and 100
body bytes sent, then RST): the head already went to the client, so the
only way left to say "failed" is to cut the response short. The client
gets the 200 head, exactly the 100 bytes that arrived, and then the
connection closes, so it can tell the body is incomplete (RFC 9112 §6.3,
§8: a message shorter than its Content-Length is incomplete). An upstream
that resets before sending any byte gets a 502 with a JSON error (SPEC
section 4). The gateway keeps serving after both."""
import socket
import struct
import threading
import harness as h


def start_resetting_upstream():
    """A server that reads a request head and answers with an RST, no byte."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', 0))
    srv.listen(16)
    srv.settimeout(0.2)
    stop = threading.Event()
    accepted = []

    def loop():
        while not stop.is_set():
            try:
                s, _ = srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            accepted.append(1)
            s.settimeout(2)
            buf = b''
            try:
                while b'\r\n\r\n' not in buf:
                    data = s.recv(4096)
                    if not data:
                        break
                    buf += data
            except OSError:
                pass
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            s.close()

    th = threading.Thread(target=loop, daemon=True)
    th.start()
    return srv, stop, accepted


def main(t, env):
    mock = env.start_mock()
    rst, rst_stop, rst_accepted = start_resetting_upstream()
    cfg = h.default_config(mock.port)
    cfg['upstreams']['rst'] = {'servers': ['127.0.0.1:%d' % rst.getsockname()[1]],
                               'read_timeout': '2s'}
    cfg['routes'].insert(0, h.route('rst', '/rst', upstream='rst'))
    gw = env.start_sluice(cfg)

    for i in range(3):
        what = 'attempt %d' % (i + 1)
        with h.Client(gw.port, timeout=5) as c:
            c.request('GET', '/reset-mid-body')
            r = c.read_response(allow_truncated=True)
            t.eq(r.status, 200, '%s: the 200 head the upstream sent reaches the client' % what)
            t.eq(r.header('content-length'), '1000',
                 '%s: with the upstream\'s Content-Length: 1000' % what)
            t.eq(r.complete, False, '%s: the body is cut short, not completed' % what)
            t.eq(r.body, b'x' * 100, '%s: exactly the 100 bytes the upstream sent' % what)
            t.ok(c.eof, '%s: then the gateway closes the client connection' % what)
        h.check_serves(t, gw, 'reset mid body, ' + what)

    # a pooled upstream connection must not be reused after the reset
    with h.Client(gw.port) as c:
        statuses = [c.fetch('GET', '/small').status for _ in range(5)]
        t.eq(statuses, [200] * 5, 'five keep-alive requests after the resets succeed')

    # an upstream that resets before any byte of a response: 502
    with h.Client(gw.port, timeout=5) as c:
        r = c.fetch('GET', '/rst')
        h.check_json_error(t, r, 502, 'reset before any response byte')
        t.ok(len(rst_accepted) >= 1, 'the request reached the resetting upstream',
             'accepted %d' % len(rst_accepted))
        t.eq(c.fetch('GET', '/small').status, 200,
             'the client connection goes on after the 502 (its request was complete)')
    h.check_serves(t, gw, 'reset before any byte')
    rst_stop.set()
    rst.close()

    # the upstream closes without a Content-Length: the body ends at close
    direct = h.get(mock.port, '/close-no-length')
    r = h.get(gw.port, '/close-no-length')
    t.eq(r.status, 200, '/close-no-length answers 200')
    t.eq(r.body, direct.body, 'close-delimited upstream body delivered whole')


h.run(main)
