#!/usr/bin/env python3
"""A SIGHUP that raises http.max_header_size past the size the connection
buffers were first made with (64 KiB) serves heads up to the new limit: a
100 KB head is proxied (200) at once, on a new connection and on a
keep-alive connection opened before the reload (SPEC sections 2, 3)."""
import time
import harness as h


def big_request(path='/echo'):
    return h.build_request('GET', path, [('X-Big', 'b' * 100000)])


def main(t, env):
    mock = env.start_mock()
    routes = [h.route('echo', '/echo')]
    cfg = h.default_config(mock.port, routes=routes, http={'max_header_size': '8KiB'})
    gw = env.start_sluice(cfg)

    with h.Client(gw.port) as c:
        c.send(big_request())
        t.eq(c.read_response().status, 431, 'before reload: a 100 KB head is 431')

    old = h.Client(gw.port)
    t.eq(old.fetch('GET', '/echo').status, 200, 'keep-alive connection opened before reload')

    new = dict(gw.cfg)
    new['http'] = dict(gw.cfg['http'], max_header_size='256KiB')
    new['routes'] = routes + [h.route('small', '/small')]
    gw.write_config(new)
    gw.reload()
    t.ok(h.poll(lambda: h.get(gw.port, '/small').status == 200, 3.0), 'reload applied')

    with h.Client(gw.port, timeout=3.0) as c:
        start = time.monotonic()
        c.send(big_request())
        r = c.read_response()
        took = time.monotonic() - start
        t.eq(r.status, 200, 'after reload: a 100 KB head on a new connection is served')
        t.eq([len(v) for v in h.echo_headers(h.json_body(r), 'x-big')], [100000],
             'the upstream got the whole header')
        t.ok(took < 0.5, 'served at once (%.3f s), not after header_timeout' % took)

    try:
        old.settimeout(3.0)
        old.send(big_request())
        t.eq(old.read_response().status, 200,
             'after reload: a 100 KB head on a connection from before the reload is served')
    except Exception as ex:  # noqa: BLE001
        t.ok(False, 'after reload: a 100 KB head on a connection from before the reload is served',
             repr(ex))
    finally:
        old.close()
    h.check_serves(t, gw, 'after large heads')


h.run(main)
