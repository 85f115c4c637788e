#!/usr/bin/env python3
"""With on_error: open, the fallback limiter divides each limit by the
live gateways (SPEC section 6): two gateways on one Redis announce
themselves (heartbeats every 5 s), so once both have seen the count of 2,
Redis going away leaves each of them half of a limit of 6: 3 requests of
one user admitted by each gateway, the 4th refused."""
import time

import harness as h
import sessions as s

Q = 6


def main(t, env):
    plans = {'free': {'limits': [{'name': 'per_minute', 'requests': Q, 'window': '1m'}]}}
    g = s.Gateway(env, routes=[h.route('secure', '/echo', auth='required', plan='free')],
                  plans=plans, redis={'timeout': '200ms', 'on_error': 'open'})
    cfg2 = dict(g.cfg)
    cfg2['listen'] = '127.0.0.1:%d' % h.free_port()
    cfg2['admin'] = dict(g.cfg['admin'], listen='127.0.0.1:%d' % h.free_port())
    second = env.start_sluice(cfg2, name='second.yaml')
    s.wait_ready(second)
    token = s.token_for(g.gw, 'alice', plan='free')
    fleet = 'sluice:{fleet}:gateways'
    t.ok(h.poll(lambda: g.redis.cli('ZCARD', fleet) == '2', 3.0), 'two gateways announced')
    time.sleep(5.5)  # each writes its heartbeat every 5 s: both have now read the count of 2
    g.redis.kill()
    for gw, name in ((g.gw, 'first'), (second, 'second')):
        statuses = [h.get(gw.port, '/echo', s.bearer(token)).status for _ in range(Q // 2 + 1)]
        t.eq(statuses, [200] * (Q // 2) + [429],
             'Redis down: the %s gateway admits %d of %d (the limit / 2 live gateways), '
             'then refuses' % (name, Q // 2, Q))


if __name__ == '__main__':
    h.run(main)
