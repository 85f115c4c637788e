#!/usr/bin/env python3
"""An upstream with a dead server and a live one: requests succeed (connect
failures go to the next server, the dead one is skipped for fail_timeout)."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    cfg = h.default_config(mock.port)
    cfg['upstreams']['llm']['servers'] = ['127.0.0.1:%d' % h.free_port(),
                                         '127.0.0.1:%d' % mock.port]
    gw = env.start_sluice(cfg)
    statuses = [h.get(gw.port, '/small').status for _ in range(10)]
    t.ok(statuses.count(200) >= 9, 'at least 9 of 10 requests succeed', repr(statuses))
    t.eq(statuses[1:], [200] * 9, 'every request after the first succeeds')
    r, e = h.echo(gw.port, 'POST', '/echo', body=b'payload')
    t.eq((e or {}).get('body'), 'payload', 'a POST body reaches the live server intact')


h.run(main)
