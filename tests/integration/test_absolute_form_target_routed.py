#!/usr/bin/env python3
"""A request target in absolute-form (http://host/path) must be accepted
(RFC 9112 §3.2.2) and routed by its path."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    routes = [h.route('echo', '/echo'), h.route('small', '/small')]
    gw = env.start_sluice(h.default_config(mock.port, routes=routes))

    with h.Client(gw.port) as c:
        r = c.fetch('GET', 'http://test.local/echo?a=1')
        t.eq(r.status, 200, 'GET http://test.local/echo?a=1 answers 200')
        j = h.json_body(r) or {}
        # to the upstream, an origin server, the target goes in origin-form
        # (RFC 9112 §3.2.1), with Host from the absolute-form (§3.2.2)
        t.eq(j.get('path'), '/echo?a=1', 'upstream gets origin-form /echo?a=1')
        t.eq(h.echo_headers(j, 'host'), ['test.local'], 'upstream gets Host: test.local')
        r = c.fetch('GET', 'http://test.local/nothing')
        t.eq(r.status, 404, 'absolute-form with an unrouted path answers 404')


h.run(main)
