#!/usr/bin/env python3
"""Redis going away under load costs no hung request and needs no restart
of sluice (SPEC sections 5, 6): while clients send requests without pause,
Redis is stopped and started again (its scripts gone), then SCRIPT FLUSH
is run. Every request is answered; statuses run 200... 503... 200... (503
redis_unavailable only while Redis is away); after Redis is back no
request fails, and a flushed script is reloaded invisibly (NOSCRIPT)."""
import threading
import time

import harness as h
import sessions as s


def main(t, env):
    g = s.Gateway(env, redis={'timeout': '200ms'})
    mock, redis, kp, gw = g.mock, g.redis, g.kp, g.gw
    token = s.token_for(gw, 'alice')
    results = []  # (time, status or exception name)
    stop = threading.Event()

    def client():
        with h.Client(gw.port, timeout=3.0) as c:
            while not stop.is_set():
                try:
                    r = c.fetch('GET', '/echo', s.bearer(token))
                    results.append((time.monotonic(), r.status))
                except Exception as e:  # noqa: BLE001 - recorded and asserted on
                    results.append((time.monotonic(), type(e).__name__))
                    return

    threads = [threading.Thread(target=client) for _ in range(4)]
    for th in threads:
        th.start()
    time.sleep(0.5)
    redis.cli('SHUTDOWN', 'SAVE')
    time.sleep(0.5)
    redis.start()
    back = time.monotonic()
    time.sleep(1.0)
    redis.cli('SCRIPT', 'FLUSH')
    flushed = time.monotonic()
    time.sleep(0.7)
    stop.set()
    for th in threads:
        th.join(5)

    kinds = sorted({str(x) for _, x in results})
    t.eq([k for k in kinds if k not in ('200', '503')], [], 'every request got 200 or 503, none hung',
         kinds)
    t.ok(any(x == 503 for _, x in results), 'requests during the outage got 503')
    # Recovery: from the first 200 after Redis came back, only 200s.
    after = [(ts, x) for ts, x in results if ts > back]
    first_ok = next((i for i, (_, x) in enumerate(after) if x == 200), None)
    t.ok(first_ok is not None, 'requests pass again after Redis restarted')
    tail = [x for _, x in after[first_ok or 0:]]
    t.eq(sorted(set(tail)), [200], 'no request failed after the first reconnect', tail.count(503))
    t.ok(sum(1 for ts, x in results if ts > flushed and x == 200) > 10,
         'after SCRIPT FLUSH requests keep passing')
    stats = redis.commandstats()
    t.ok(stats.get('script|load', 0) + stats.get('script', 0) >= 1, 'the scripts were loaded again',
         stats)


h.run(main)
