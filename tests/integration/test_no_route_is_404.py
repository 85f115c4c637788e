#!/usr/bin/env python3
"""A request no route matches answers 404 with a JSON error."""
import email.utils
import time

import harness as h


def main(t, env):
    mock = env.start_mock()
    routes = [h.route('chat', '/v1/chat/completions', methods=['POST']),
              h.route('models', '/v1/models')]
    gw = env.start_sluice(h.default_config(mock.port, routes=routes))

    h.check_bad_request(t, gw, h.build_request('GET', '/nothing'), 404, 'GET /nothing',
                        good_path='/v1/models')
    h.check_bad_request(t, gw, h.build_request('POST', '/nothing', body=b'abc'), 404,
                        'POST /nothing with a body', good_path='/v1/models')
    h.check_bad_request(t, gw, h.build_request('GET', '/v1/chat/completions'), 404,
                        'GET on a POST-only route', good_path='/v1/models')
    r = h.get(gw.port, '/v1/models')
    t.eq(r.status, 200, 'GET /v1/models (matched route) answers 200')
    with h.Client(gw.port) as c:
        r1 = c.fetch('GET', '/nothing')
        r2 = c.fetch('GET', '/v1/models')
        t.eq((r1.status, r2.status), (404, 200), 'a 404 keeps the connection usable')
    # RFC 9110 6.6.1: the gateway's own answer carries a Date (IMF-fixdate).
    date = r1.header('date') or ''
    try:
        when = email.utils.parsedate_to_datetime(date)
        ok = date.endswith(' GMT') and abs(time.time() - when.timestamp()) < 120
    except (TypeError, ValueError):
        ok = False
    t.ok(ok, 'the 404 carries a current Date', repr(date))



h.run(main)
