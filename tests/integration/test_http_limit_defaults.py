#!/usr/bin/env python3
"""Without an `http:` block the SPEC section 11 defaults hold:
max_header_size 32KiB (a head just under it passes, one over it is 431),
max_body_size 10MiB (exactly 10 MiB passes, one byte more is 413 from the
head alone), header_timeout 10s (a head left unfinished is 408 after ten
seconds, not before). Also `workers: auto` runs, and a session's
expires_at is tokens.max_lifetime's default, 30 days, ahead."""
import json
import time
from datetime import datetime, timezone

import harness as h
import sessions as s

KIB, MIB = 1024, 1024 * 1024


def head_of(total):
    """A GET whose head (request line to blank line) is total bytes."""
    base = len(h.build_request('GET', '/small', [('X-Pad', '')]))
    return h.build_request('GET', '/small', [('X-Pad', 'p' * (total - base))])


def main(t, env):
    mock, redis, kp = env.start_mock(), s.Redis(env), s.keygen(env)
    cfg = s.config(mock.port, redis.port, [{'secret': kp['secret']}],
                   routes=[h.route('all', '/')], workers='auto')
    del cfg['http']
    gw = env.start_sluice(cfg)
    s.wait_ready(gw)

    # header_timeout 10s: start the wait first, check it at the end
    slow = h.Client(gw.port, timeout=15)
    slow.send(b'GET /small HTTP/1.1\r\nHost: x\r\n')
    t0 = time.monotonic()

    for total, want in [(32 * KIB - 512, 200), (32 * KIB + 512, 431)]:
        with h.Client(gw.port) as c:
            raw = head_of(total)
            t.eq(len(raw), total, 'a head of %d bytes' % total)
            c.send(raw)
            r = c.read_response()
        t.eq(r.status, want, 'a head of %d bytes: %d' % (total, want))
    t.eq(h.json_body(r).get('error') if h.json_body(r) else None, 'headers_too_large',
         '431 is a JSON error')

    r = h.fetch(gw.port, 'POST', '/bytes/0', [('Content-Type', 'application/octet-stream')],
                b'b' * (10 * MIB), timeout=20)
    t.eq(r.status, 200, 'a body of exactly 10 MiB passes')
    with h.Client(gw.port) as c:
        c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % (10 * MIB + 1))
        r = c.read_response()
    h.check_json_error(t, r, 413, 'a Content-Length of 10 MiB + 1')

    r, j = s.create_session(gw, 'alice')
    exp = datetime.strptime(j['expires_at'], '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=timezone.utc)
    t.ok(abs(exp.timestamp() - (time.time() + 30 * 86400)) < 10,
         'expires_at is 30 days ahead by default', j)

    rest = 8.5 - (time.monotonic() - t0)
    if rest > 0:
        time.sleep(rest)
    t.ok(not slow.readable(0), 'an unfinished head gets no answer within 8.5 s')
    r = slow.read_response()
    waited = time.monotonic() - t0
    t.eq(r.status, 408, 'an unfinished head: 408')
    t.ok(9.0 <= waited <= 12.0, 'after header_timeout, 10 s', waited)
    slow.close()


h.run(main)
