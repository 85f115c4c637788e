#!/usr/bin/env python3
"""Three requests in one send, the first slow (/delay/50), are answered in order."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    with h.Client(gw.port) as c:
        data = (h.build_request('GET', '/delay/50')
                + h.build_request('POST', '/echo', [('X-Seq', '2')], b'second')
                + h.build_request('GET', '/echo?seq=3', [('X-Seq', '3')]))
        c.send(data)
        r1 = c.read_response()
        r2 = c.read_response()
        r3 = c.read_response()
        t.eq([r1.status, r2.status, r3.status], [200, 200, 200], 'three pipelined responses')
        j2, j3 = h.json_body(r2) or {}, h.json_body(r3) or {}
        t.ok(j1_is_not_echo(r1), 'first response is the /delay/50 one', repr(r1.body[:200]))
        t.eq((j2.get('method'), j2.get('path'), j2.get('body')), ('POST', '/echo', 'second'),
             'second response answers the second request')
        t.eq((j3.get('method'), j3.get('path')), ('GET', '/echo?seq=3'),
             'third response answers the third request')
        r4 = c.fetch('GET', '/small')
        t.eq(r4.status, 200, 'connection usable after the pipeline')

    # a pipeline whose pieces arrive split at odd boundaries
    with h.Client(gw.port) as c:
        data = b''.join(h.build_request('GET', '/echo?i=%d' % i) for i in range(5))
        for i in range(0, len(data), 7):
            c.send(data[i:i + 7])
        paths = []
        for _ in range(5):
            paths.append((h.json_body(c.read_response()) or {}).get('path'))
        t.eq(paths, ['/echo?i=%d' % i for i in range(5)], 'five split pipelined requests in order')


def j1_is_not_echo(r):
    j = h.json_body(r)
    return not (isinstance(j, dict) and 'headers' in j and j.get('method') == 'POST')


h.run(main)
