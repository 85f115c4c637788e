#!/usr/bin/env python3
"""/readyz follows Redis: 200 "ready" while it answers, 503 "degraded" with
redis "down" within a bounded wait after redis-server is killed (proxied
auth: none routes keep serving meanwhile), and 200 again soon after
redis-server is restarted on the same port (health reconnect backoff is at
most 1 s, PING every 1 s).

This test always starts its own redis-server (it has to kill it), even when
SLUICE_TEST_REDIS names a shared one."""
import shutil
import time
import harness as h


def start_redis(env, port, timeout=5.0):
    """redis-server on port (as Env.redis_port starts it); the Proc, or None."""
    exe = shutil.which('redis-server')
    if not exe:
        raise RuntimeError('redis-server not found (install it: apt-get install redis-server)')
    proc = env._spawn('redis', [exe, '--port', str(port), '--bind', '127.0.0.1',
                                '--save', '', '--appendonly', 'no', '--dir', env.tmp])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.alive():
        if h.port_accepts(port):
            return proc
        time.sleep(0.02)
    proc.stop()
    return None


def main(t, env):
    redis = None
    for _ in range(3):
        port = h.free_port()
        redis = start_redis(env, port)
        if redis:
            break
    if redis is None:
        raise RuntimeError('redis-server did not start')
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, redis_port=port))

    last = {}

    def readyz(status):
        def check():
            last['r'] = gw.admin('GET', '/readyz', timeout=2)
            return last['r'].status == status
        return check

    def redis_status(r):
        j = h.json_body(r) or {}
        return j.get('status'), (j.get('redis') or {}).get('status')

    t.ok(h.poll(readyz(200), 5.0, 0.1), '/readyz 200 with redis up', repr(last.get('r')))
    t.eq(redis_status(last['r']), ('ready', 'up'), '/readyz: ready, redis up')

    # kill redis: readiness drops, traffic does not
    redis.p.kill()
    redis.wait(5)
    t.ok(not h.port_accepts(port), 'redis port closed after the kill')
    killed = time.monotonic()
    t.ok(h.poll(readyz(503), 4.0, 0.1), '/readyz 503 within 4 s of redis dying',
         repr(last.get('r')))
    t.diag('/readyz degraded after %.2f s' % (time.monotonic() - killed))
    t.eq(redis_status(last['r']), ('degraded', 'down'), '/readyz: degraded, redis down')
    j = h.json_body(last['r']) or {}
    t.eq(((j.get('upstreams') or {}).get('llm') or {}).get('healthy'), 1,
         '/readyz: the upstream is still healthy', repr(j))

    t.eq(h.get(gw.port, '/small').status, 200, 'GET /small proxied with redis down')
    r = h.fetch(gw.port, 'POST', '/v1/chat/completions', [('Content-Type', 'application/json')],
                b'{"model":"m","messages":[]}')
    t.eq(r.status, 200, 'POST /v1/chat/completions proxied with redis down (auth: none)',
         repr(r))
    with h.Client(gw.port) as c:
        statuses = [c.fetch('GET', '/echo').status for _ in range(5)]
    t.eq(statuses, [200] * 5, 'keep-alive requests proxied with redis down')
    # still degraded a while later (no flapping back to ready)
    time.sleep(1.2)
    r = gw.admin('GET', '/readyz', timeout=2)
    t.eq((r.status,) + redis_status(r), (503, 'degraded', 'down'),
         '/readyz still degraded 1.2 s later', repr(r))

    # restart redis on the same port: readiness comes back
    restarted = None
    deadline = time.monotonic() + 3
    while restarted is None and time.monotonic() < deadline:
        restarted = start_redis(env, port)
        if restarted is None:
            time.sleep(0.1)
    if not t.ok(restarted is not None, 'redis-server restarted on port %d' % port):
        return
    back = time.monotonic()
    t.ok(h.poll(readyz(200), 4.0, 0.1), '/readyz 200 within 4 s of redis coming back',
         repr(last.get('r')))
    t.diag('/readyz ready after %.2f s' % (time.monotonic() - back))
    t.eq(redis_status(last['r']), ('ready', 'up'), '/readyz: ready, redis up again')
    t.eq(h.get(gw.port, '/small').status, 200, 'GET /small proxied after redis is back')


h.run(main)
