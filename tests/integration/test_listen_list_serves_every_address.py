#!/usr/bin/env python3
"""listen may be a list: every address serves (SPEC section 3)."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    cfg = h.default_config(mock.port)
    cfg['listen'] = ['127.0.0.1:%d' % h.free_port(), '127.0.0.1:%d' % h.free_port()]
    gw = env.start_sluice(cfg)
    for p in gw.ports:
        t.eq(h.get(p, '/small').status, 200, 'listener 127.0.0.1:%d serves' % p)


h.run(main)
