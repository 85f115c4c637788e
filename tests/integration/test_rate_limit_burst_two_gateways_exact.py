#!/usr/bin/env python3
"""A window limit holds across a fleet (SPEC section 6): two sluice
processes (two workers each) share one redis-server; one user with a limit
of N = 30 per 1m sends 3N = 90 requests at once, spread over both gateways,
each on a connection of its own, released together by a barrier. Exactly N
are admitted (200) and 2N refused (429 rate_limited, limit per_minute).

Why exactly N, not "at most N": the SPEC allows the limiter to refuse
early only by what was admitted in the oldest bucket, and only once that
bucket has (partly) left the window. Here window = 1m, precision = 60
(1 s buckets): a request at time t counts every bucket from
floor((t - 60 s) / 1 s) on, so every request admitted at t0 >= t - 60 s is
counted. The whole burst lasts a few seconds (the test checks it stays
under 30 s), so no admitted request ever leaves the window: each check sees
every admission before it (check.lua runs alone in Redis), and the count
is exact. Fewer than N admitted would be under-admission, more would break
the strict window; both are failures."""
import threading
import time

import harness as h
import sessions as s

N = 30


def main(t, env):
    plans = {'free': {'limits': [{'name': 'per_minute', 'requests': N, 'window': '1m',
                                  'precision': 60}]}}
    g = s.Gateway(env, routes=[h.route('secure', '/echo', auth='required', plan='free')],
                  plans=plans, workers=2)
    gw_a = g.gw
    gw_b = env.start_sluice(g.cfg, name='sluice-b.yaml')
    t.ok(s.wait_ready(gw_b), 'the second gateway is ready (same Redis, same keys)')
    token = s.token_for(gw_a, 'alice')

    total = 3 * N
    ports = [gw_a.port if i % 2 == 0 else gw_b.port for i in range(total)]
    clients = [h.Client(p, timeout=10) for p in ports]
    results = [None] * total
    barrier = threading.Barrier(total, timeout=10)

    def one(i):
        try:
            barrier.wait()
            r = clients[i].fetch('GET', '/echo', s.bearer(token))
            results[i] = (r.status, (h.json_body(r) or {}).get('limit'),
                          s.retry_after_and_t(r) if r.status == 429 else None)
        except Exception as e:  # noqa: BLE001 - recorded and asserted on
            results[i] = (type(e).__name__, None)
        finally:
            clients[i].close()

    start = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(total)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(20)
    took = time.monotonic() - start

    t.ok(took < 30, 'the burst stayed well inside one window (the premise of exactness)',
         '%.2f s' % took)
    statuses = [r[0] if r else None for r in results]
    t.eq(statuses.count(200), N, 'exactly N = %d admitted across both gateways' % N,
         sorted(set(map(str, statuses))))
    t.eq(statuses.count(429), 2 * N, 'exactly 2N = %d refused with 429' % (2 * N))
    t.eq([x for x in statuses if x not in (200, 429)], [], 'no other outcome')
    limits = {r[1] for r in results if r and r[0] == 429}
    t.eq(limits, {'per_minute'}, 'every refusal names per_minute')
    bad = [r[2] for r in results
           if r and r[0] == 429 and not (isinstance(r[2][0], int) and r[2][1] is not None
                                         and r[2][0] >= r[2][1])]
    t.eq(bad, [], 'every refusal has one Retry-After, not before RateLimit\'s t')
    per_gw = [sum(1 for i in range(total) if statuses[i] == 200 and ports[i] == p)
              for p in (gw_a.port, gw_b.port)]
    t.diag('admitted per gateway: %r' % per_gw)

    r = gw_a.admin('GET', '/v1/users/alice/limits')
    lim = {x['name']: x for x in (h.json_body(r) or {}).get('limits', [])}
    t.eq(lim.get('per_minute', {}).get('used'), N, 'the admin API counts N used, refusals free',
         lim)
    for gw, name in ((gw_a, 'A'), (gw_b, 'B')):
        r = h.get(gw.port, '/echo', s.bearer(token))
        t.eq(r.status, 429, 'gateway %s still refuses the next request' % name)


if __name__ == '__main__':
    h.run(main)
