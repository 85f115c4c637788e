#!/usr/bin/env python3
"""A chunked request body reaches upstream intact (echoed back)."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    body = b''.join(b'line %05d of the chunked body\n' % i for i in range(2000))  # ~60 KB
    with h.Client(gw.port) as c:
        c.send(h.build_request('POST', '/echo', [('Transfer-Encoding', 'chunked')])
               + h.chunked(body, 1000))
        r = c.read_response()
        t.eq(r.status, 200, 'chunked POST /echo answers 200')
        j = h.json_body(r) or {}
        t.eq(j.get('body'), body.decode(), 'chunked request body arrives intact upstream')

        # chunk extensions and a trailer section are legal (RFC 9112 §7.1)
        c.send(h.build_request('POST', '/echo', [('Transfer-Encoding', 'chunked')])
               + b'5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n')
        r = c.read_response()
        t.eq(r.status, 200, 'chunked body with extension and trailer answers 200')
        t.eq((h.json_body(r) or {}).get('body'), 'hello world', 'body with extension intact')

        # chunks sent slowly, one write each
        c.send(h.build_request('POST', '/echo', [('Transfer-Encoding', 'chunked')]))
        import time
        for piece in (b'abc', b'defg', b'hij'):
            c.send(b'%x\r\n' % len(piece) + piece + b'\r\n')
            time.sleep(0.05)
        c.send(b'0\r\n\r\n')
        r = c.read_response()
        t.eq((h.json_body(r) or {}).get('body'), 'abcdefghij', 'slowly sent chunks arrive intact')


h.run(main)
