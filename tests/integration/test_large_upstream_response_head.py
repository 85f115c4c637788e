#!/usr/bin/env python3
"""Large upstream response heads: a 4 KB header passes intact; a 1 MiB one
does not fit the upstream read buffer, in which the whole head must arrive
before it is parsed (proxy.c: "upstream response head too large"), so it
is refused with 502 and a JSON error (SPEC section 4: upstream failed);
the gateway keeps serving."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    r = h.get(gw.port, '/headers-big?n=4000')
    t.eq(r.status, 200, '4 KB upstream header answers 200')
    t.eq(len(r.header('x-big') or ''), 4000, 'X-Big passed through intact')

    r = h.get(gw.port, '/headers-big?n=1048576', timeout=5)
    h.check_json_error(t, r, 502, '1 MiB upstream header')
    t.eq(r.header('x-big'), None, 'no part of the refused head reaches the client')
    h.check_serves(t, gw, 'huge upstream head')


h.run(main)
