#!/usr/bin/env python3
"""SIGHUP reloads the file: a new route and a changed set_headers value take
effect, and an idle keep-alive connection opened before the reload still
works after it (SPEC sections 2, 11)."""
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    routes = [h.route('echo', '/echo'), h.route('small', '/small')]
    cfg = h.default_config(mock.port, routes=routes,
                           upstream={'set_headers': {'x-api-key': 'k-old'}})
    gw = env.start_sluice(cfg)

    r = h.get(gw.port, '/bytes/10')
    t.eq(r.status, 404, 'before reload: /bytes/10 has no route')
    r, e = h.echo(gw.port)
    t.eq(h.echo_headers(e, 'x-api-key'), ['k-old'], 'before reload: x-api-key k-old')

    idle = h.Client(gw.port)
    t.eq(idle.fetch('GET', '/small').status, 200, 'keep-alive connection opened before reload')

    new = dict(gw.cfg)
    new['upstreams'] = {'llm': dict(gw.cfg['upstreams']['llm'],
                                    set_headers={'x-api-key': 'k-new'})}
    new['routes'] = routes + [h.route('bytes', '/bytes/'), h.route('delay', '/delay/')]
    gw.write_config(new)
    gw.reload()

    r = h.poll(lambda: h.get(gw.port, '/bytes/10').status == 200, 3.0)
    t.ok(r, 'after reload: /bytes/10 is routed (200)')
    r, e = h.echo(gw.port)
    t.eq(h.echo_headers(e, 'x-api-key'), ['k-new'], 'after reload: x-api-key k-new')
    t.ok(gw.alive(), 'process alive after SIGHUP')

    try:
        r = idle.fetch('GET', '/echo')
        t.eq(r.status, 200, 'idle keep-alive connection from before the reload still works')
        t.eq(h.echo_headers(h.json_body(r), 'x-api-key'), ['k-new'],
             'its next request uses the new config')
    except Exception as ex:  # noqa: BLE001
        t.ok(False, 'idle keep-alive connection from before the reload still works', repr(ex))
    finally:
        idle.close()

    # a request in flight during a reload completes
    with h.Client(gw.port) as c:
        c.request('GET', '/delay/300')
        time.sleep(0.1)
        gw.reload()
        t.eq(c.read_response().status, 200, 'request in flight during a second SIGHUP completes')
    h.check_serves(t, gw, 'two reloads')


h.run(main)
