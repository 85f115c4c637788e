#!/usr/bin/env python3
"""With `on_error: closed` (the default), a request whose session check
cannot reach Redis gets 503 redis_unavailable with Retry-After, within
redis.timeout plus a little (SPEC sections 4, 6): whether Redis is gone
(connection refused) or hangs (DEBUG SLEEP, the timeout path). Forged
tokens are still 401. /readyz says degraded; when Redis is back, the next
requests pass without a restart."""
import threading
import time

import harness as h
import sessions as s


def timed_get(port, token):
    start = time.monotonic()
    r = h.get(port, '/echo', s.bearer(token))
    return r, time.monotonic() - start


def main(t, env):
    g = s.Gateway(env, redis={'timeout': '200ms'})
    mock, redis, kp, gw = g.mock, g.redis, g.kp, g.gw
    token = s.token_for(gw, 'alice')
    t.eq(h.get(gw.port, '/echo', s.bearer(token)).status, 200, 'Redis up: 200')

    # Hanging Redis: the command times out.
    sleeper = threading.Thread(target=redis.cli, args=('DEBUG', 'SLEEP', '1.5'))
    sleeper.start()
    time.sleep(0.1)
    r, took = timed_get(gw.port, token)
    t.eq(r.status, 503, 'Redis hangs: 503')
    t.eq((h.json_body(r) or {}).get('error'), 'redis_unavailable', 'error is redis_unavailable')
    t.eq(r.header_all('retry-after'), ['1'], 'one Retry-After')
    t.ok(took < 0.2 + 0.5, 'answered within redis.timeout plus a little', '%.3f s' % took)
    sleeper.join()

    # Redis gone: the command fails at once.
    redis.cli('SHUTDOWN', 'SAVE')
    h.poll(lambda: not h.port_accepts(redis.port), 3.0)
    r, took = timed_get(gw.port, token)
    t.eq(r.status, 503, 'Redis down: 503')
    t.eq(r.header_all('retry-after'), ['1'], 'Redis down: one Retry-After')
    t.ok(took < 0.7, 'Redis down: answered within redis.timeout plus a little', '%.3f s' % took)
    forged = h.get(gw.port, '/echo', s.bearer('v4.public.AAAA'))
    t.eq(forged.status, 401, 'Redis down: a forged token is still 401')
    ready = h.poll(lambda: h.get(gw.admin_port, '/readyz').status == 503, 3.0)
    t.ok(ready, '/readyz is 503 while Redis is down')

    redis.start()  # the same port, the saved data (the session) back
    def passes():
        return h.get(gw.port, '/echo', s.bearer(token)).status == 200
    t.ok(h.poll(passes, 5.0), 'Redis back: requests pass again without a restart')
    statuses = [h.get(gw.port, '/echo', s.bearer(token)).status for _ in range(20)]
    t.eq(statuses, [200] * 20, 'and every request after that passes')


h.run(main)
