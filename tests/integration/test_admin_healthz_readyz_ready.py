#!/usr/bin/env python3
"""/healthz answers 200; /readyz answers 200 {"status":"ready"} with redis and
upstream objects when Redis and the upstream are up (SPEC sections 8, 11).
Both are probes, answered without the admin token as /metrics is (admin.c
checks the token for /v1/* only; README: "/v1/* checks the admin token"):
a load balancer or kubelet probe carries no credentials."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    redis_port = env.redis_port()
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis_port))

    r = gw.admin('GET', '/healthz')
    t.eq(r.status, 200, '/healthz answers 200')
    r = gw.admin('GET', '/healthz', token=None)
    t.eq(r.status, 200, '/healthz needs no admin token (liveness probe)')

    last = {}

    def ready():
        last['r'] = gw.admin('GET', '/readyz')
        return last['r'].status == 200

    t.ok(h.poll(ready, 6.0, 0.2), '/readyz becomes 200 within 6 s', repr(last.get('r')))
    j = h.json_body(last['r']) or {}
    t.eq(j.get('status'), 'ready', '/readyz status "ready"')
    t.ok(isinstance(j.get('redis'), dict), '/readyz has a "redis" object', repr(j))
    t.ok(isinstance(j.get('upstreams'), dict), '/readyz has an "upstreams" object', repr(j))
    t.ok('llm' in (j.get('upstreams') or {}), '/readyz names upstream llm', repr(j))

    r = gw.admin('GET', '/readyz', token=None)
    t.eq(r.status, 200, '/readyz needs no admin token (readiness probe)')
    t.eq((h.json_body(r) or {}).get('status'), 'ready', '/readyz without a token: "ready" too')


h.run(main)
