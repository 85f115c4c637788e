#!/usr/bin/env python3
"""SIGHUP with a broken file: the old config stays, the process lives and
logs a line on stderr."""
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    routes = [h.route('echo', '/echo'), h.route('small', '/small')]
    gw = env.start_sluice(h.default_config(mock.port, routes=routes))
    t.eq(h.get(gw.port, '/small').status, 200, 'serving before the reload')

    for what, text in [('YAML syntax error', 'listen: [\n  routes: {{\n'),
                       ('unknown key', open(gw.cfg_path).read() + 'bogus_key: 1\n'),
                       ('undefined upstream', open(gw.cfg_path).read().replace(
                           'upstream: llm', 'upstream: nope'))]:
        n_err = gw.proc.count('stderr')
        gw.write_config(text)
        gw.reload()
        line = gw.proc.wait_line('stderr', r'.', 2.0, start=n_err)
        t.ok(line is not None, '%s: a log line on stderr' % what)
        time.sleep(0.1)
        t.ok(gw.alive(), '%s: process still alive' % what)
        t.eq(h.get(gw.port, '/small').status, 200, '%s: old config still serves /small' % what)
        r, e = h.echo(gw.port)
        t.eq(h.echo_headers(e, 'x-api-key'), ['k-123'], '%s: old set_headers still applied' % what)
        t.eq(h.get(gw.port, '/bytes/5').status, 404, '%s: old routes kept' % what)

    # a good file after the bad ones is taken
    new = dict(gw.cfg)
    new['routes'] = routes + [h.route('bytes', '/bytes/')]
    gw.write_config(new)
    gw.reload()
    t.ok(h.poll(lambda: h.get(gw.port, '/bytes/5').status == 200, 3.0),
         'a good file after the broken ones is loaded')


h.run(main)
