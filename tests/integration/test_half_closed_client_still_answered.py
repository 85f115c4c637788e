#!/usr/bin/env python3
"""A client that sends whole requests and then half-closes (shutdown of its
write side, as `nc` or `printf ... | nc` do) still reads every answer; the
gateway closes once the last one is out. A half-close in the middle of a
request body still ends the exchange (test_client_disconnect_mid_body)."""
import socket

import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    # The upstream answers after the FIN has arrived.
    with h.Client(gw.port) as c:
        c.request('GET', '/delay/200')
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response()
        t.eq(r.status, 200, 'slow answer after a half-close arrives')
        t.ok(c.wait_closed(2.0), 'then the gateway closes')

    # Pipelined requests and the FIN in one go: all are answered, in order.
    with h.Client(gw.port) as c:
        c.send(h.build_request('GET', '/delay/100') + h.build_request('GET', '/small') +
               h.build_request('GET', '/status/204'))
        c.sock.shutdown(socket.SHUT_WR)
        statuses = [c.read_response().status for _ in range(3)]
        t.eq(statuses, [200, 200, 204], 'three pipelined answers after a half-close')
        t.ok(c.wait_closed(2.0), 'then the gateway closes')

    # A POST whose body is whole before the FIN is answered too.
    with h.Client(gw.port) as c:
        c.request('POST', '/echo', body=b'x' * 1000)
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response('POST')
        t.eq(r.status, 200, 'POST with a whole body, then half-close: answered')
        t.eq((r.json() or {}).get('body'), 'x' * 1000, 'the body reached the upstream')

    # A refused request (no route) after which the client half-closes.
    gw404 = env.start_sluice(h.default_config(mock.port, routes=[h.route('only', '/only')]))
    with h.Client(gw404.port) as c:
        c.request('GET', '/nowhere')
        c.sock.shutdown(socket.SHUT_WR)
        t.eq(c.read_response().status, 404, 'a 404 still reaches a half-closed client')

    h.check_serves(t, gw, 'after half-closed clients')


h.run(main)
