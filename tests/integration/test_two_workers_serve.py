#!/usr/bin/env python3
"""workers: 2 serves requests over many concurrent connections."""
import threading
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, workers=2))

    results = []
    lock = threading.Lock()

    def client(i):
        out = []
        try:
            with h.Client(gw.port) as c:
                for j in range(3):
                    r = c.fetch('POST', '/echo', body=b'c%d-r%d' % (i, j))
                    out.append(r.status == 200 and (h.json_body(r) or {}).get('body') == 'c%d-r%d' % (i, j))
                r = c.fetch('GET', '/delay/100')
                out.append(r.status == 200)
        except Exception:  # noqa: BLE001
            out.append(False)
        with lock:
            results.append(all(out) and len(out) == 4)

    ths = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(10)
    t.eq(len(results), 20, 'twenty concurrent connections finished')
    t.eq(sum(results), 20, 'every request on every connection answered correctly')

    # metrics and logs aggregate over both workers
    recs = h.poll(lambda: len(gw.access_lines()) >= 80 and gw.access_lines(), 2.0)
    t.eq(len(recs or []), 80, 'eighty access-log lines from two workers')
    r = gw.admin('GET', '/metrics', token=None)
    t.ok(b'sluice_requests_total' in r.body, '/metrics works with two workers')

    # reload with two workers
    gw.reload()
    t.ok(h.poll(lambda: h.get(gw.port, '/small').status == 200, 2.0), 'serves after SIGHUP')


h.run(main)
