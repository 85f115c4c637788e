#!/usr/bin/env python3
"""SIGHUP cannot move listen or workers: the old address keeps serving, a line
says a restart is needed, and the other changes of the file still apply
(SPEC section 11)."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))
    new_port = h.free_port()

    new = dict(gw.cfg)
    new['listen'] = '127.0.0.1:%d' % new_port
    new['workers'] = 2
    new['upstreams'] = {'llm': dict(gw.cfg['upstreams']['llm'], set_headers={'x-api-key': 'k-2'})}
    n = gw.proc.count('stderr')
    gw.write_config(new)
    gw.reload()

    def applied():
        r, e = h.echo(gw.port)
        return h.echo_headers(e, 'x-api-key') == ['k-2']

    t.ok(h.poll(applied, 3.0), 'the set_headers change applies on the old address')
    t.ok(gw.proc.wait_line('stderr', r'(?i)restart', 2.0, start=n) is not None,
         'a log line says listen/workers need a restart', '\n'.join(gw.proc.lines['stderr'][n:]))
    t.ok(not h.port_accepts(new_port), 'the new address is not listened on')
    t.eq(h.get(gw.port, '/small').status, 200, 'the old address still serves')


h.run(main)
