#!/usr/bin/env python3
"""A body over http.max_body_size (1MiB here) answers 413: at once when
Content-Length says so, and when a chunked body grows past the limit."""
import socket
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    # Content-Length over the limit: refused from the head alone
    with h.Client(gw.port) as c:
        t0 = time.monotonic()
        c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n')
        r = c.read_response()
        h.check_json_error(t, r, 413, 'Content-Length 2000000')
        t.ok(time.monotonic() - t0 < 1.0, '413 sent without waiting for the body')
    h.check_serves(t, gw, 'Content-Length over the limit')

    # chunked body that exceeds the limit
    with h.Client(gw.port, timeout=5) as c:
        c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
        piece = h.chunked(b'x' * 65536, 65536)[:-5]  # one 64 KiB chunk, no last-chunk
        sent = 0
        try:
            while sent < 8 * 1048576 and not c.readable(0):
                c.send(piece)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        r = c.read_response()
        h.check_json_error(t, r, 413, 'chunked body over 1 MiB')
        # (how much was sent before the answer says little: loopback socket
        # buffers hold several MiB)
    h.check_serves(t, gw, 'chunked body over the limit')

    # a body under the limit passes
    r = h.fetch(gw.port, 'POST', '/echo', body=b'y' * 500000)
    t.eq(r.status, 200, 'a 500 KB body is accepted')


h.run(main)
