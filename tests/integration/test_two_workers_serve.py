#!/usr/bin/env python3
"""workers: 2 serves requests over many concurrent connections, and both
workers serve: each worker generates request ids from its own random seed
followed by a counter (req_generate_id in src/core/req.c: 16 hex digits of
seed, 8 of counter), so the first 16 characters of a generated
X-Request-Id name the worker that answered. A connection stays with the
worker that accepted it; twenty connections spread by SO_REUSEPORT reach
both (all on one worker: odds of 2^-19)."""
import threading
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, workers=2))

    results = []
    conn_seeds = []
    lock = threading.Lock()

    def client(i):
        out = []
        seeds = set()
        try:
            with h.Client(gw.port) as c:
                for j in range(3):
                    r = c.fetch('POST', '/echo', body=b'c%d-r%d' % (i, j))
                    out.append(r.status == 200 and (h.json_body(r) or {}).get('body') == 'c%d-r%d' % (i, j))
                    seeds.add((r.header('x-request-id') or '')[:16])
                r = c.fetch('GET', '/delay/100')
                out.append(r.status == 200)
                seeds.add((r.header('x-request-id') or '')[:16])
        except Exception as e:  # noqa: BLE001 - counted as a failed connection below
            out.append(False)
            t.diag('connection %d: %r' % (i, e))
        with lock:
            results.append(all(out) and len(out) == 4)
            conn_seeds.append(seeds)

    ths = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(10)
    t.eq(len(results), 20, 'twenty concurrent connections finished')
    t.eq(sum(results), 20, 'every request on every connection answered correctly')
    t.ok(all(len(x) == 1 and len(next(iter(x))) == 16 for x in conn_seeds),
         'each connection is served by one worker (one request-id seed per connection)',
         repr(conn_seeds))
    workers = set().union(*conn_seeds) if conn_seeds else set()
    t.eq(len(workers), 2, 'both workers served connections (two request-id seeds)',
         repr(sorted(workers)))

    # metrics and logs aggregate over both workers
    recs = h.poll(lambda: len(gw.access_lines()) >= 80 and gw.access_lines(), 2.0)
    t.eq(len(recs or []), 80, 'eighty access-log lines from two workers')
    r = gw.admin('GET', '/metrics', token=None)
    t.ok(b'sluice_requests_total' in r.body, '/metrics works with two workers')

    # reload with two workers
    gw.reload()
    t.ok(h.poll(lambda: h.get(gw.port, '/small').status == 200, 2.0), 'serves after SIGHUP')


h.run(main)
