#!/usr/bin/env python3
"""A WebSocket tunnel holds its concurrency slot while open (SPEC section
6): with `concurrent: 1`, a second upgrade while the first tunnel is open
is refused 429 (limit in_flight, Retry-After: 1); once the first tunnel
closes, the slot is free again and the next upgrade is admitted (101)."""
import harness as h
import sessions as s


def main(t, env):
    plans = {'free': {'limits': [{'name': 'in_flight', 'concurrent': 1}]}}
    g = s.Gateway(env, routes=[h.route('ws', '/ws', auth='required', plan='free')], plans=plans)
    token = s.token_for(g.gw, 'alice', plan='free')

    def upgrade(c):
        c.request('GET', '/ws', [('Connection', 'Upgrade'), ('Upgrade', 'websocket'),
                                 ('Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='),
                                 ('Sec-WebSocket-Version', '13')] + s.bearer(token))
        return c.read_head()

    first = h.Client(g.gw.port, timeout=5)
    t.eq(upgrade(first).status, 101, 'the first upgrade: 101, it holds the slot')
    first.send(b'ping')
    t.eq(first.read_exact(4), b'ping', 'the tunnel carries bytes')
    with h.Client(g.gw.port, timeout=5) as c:
        c.request('GET', '/ws', [('Connection', 'Upgrade'), ('Upgrade', 'websocket'),
                                 ('Sec-WebSocket-Key', 'x'), ('Sec-WebSocket-Version', '13')]
                  + s.bearer(token))
        r = c.read_response()
        t.eq(r.status, 429, 'a second tunnel while the first is open: 429')
        t.eq(((h.json_body(r) or {}).get('limit'), r.header('retry-after')), ('in_flight', '1'),
             'refused by in_flight, Retry-After: 1')
    first.close()

    def admitted():
        with h.Client(g.gw.port, timeout=5) as c:
            return upgrade(c).status == 101
    t.ok(h.poll(admitted, 3.0), 'after the first tunnel closed, an upgrade is admitted again')


if __name__ == '__main__':
    h.run(main)
