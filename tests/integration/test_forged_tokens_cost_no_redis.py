#!/usr/bin/env python3
"""A forged, tampered, wrong-key, wrong-version, non-canonical or garbage
token is refused with 401 before any Redis command (SPEC section 5): INFO
commandstats does not move. A valid token costs exactly one command."""
import base64

import harness as h
import sessions as s


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    mine, other = s.keygen(env), s.keygen(env)
    routes = [h.route('secure', '/echo', auth='required')]
    gw = env.start_sluice(s.config(mock.port, redis.port, [{'secret': mine['secret']}],
                                   routes=routes))
    other_gw = env.start_sluice(s.config(mock.port, redis.port, [{'secret': other['secret']}],
                                         routes=routes), name='other.yaml')
    s.wait_ready(gw)
    s.wait_ready(other_gw)
    good = s.token_for(gw, 'alice')
    foreign = s.token_for(other_gw, 'alice')  # same shape, another key

    head, body, footer = good[:len('v4.public.')], *good[len('v4.public.'):].split('.')
    raw = bytearray(unb64(body))
    raw[5] ^= 1
    tampered_payload = head + b64(bytes(raw)) + '.' + footer
    raw = bytearray(unb64(body))
    raw[-1] ^= 1
    tampered_sig = head + b64(bytes(raw)) + '.' + footer
    tampered_footer = head + body + '.' + b64(b'{"kid":"k4.pid.AAAA"}')
    no_footer = head + body  # footer is signed: dropping it breaks the signature
    # The footer's base64url ends in a character with spare low bits (its
    # length is not a multiple of 4): flip one and a lenient decoder reads the same bytes,
    # so the signature would still verify. Canonical decoding refuses it.
    alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    assert len(footer) % 4 in (2, 3), footer
    alt = alphabet[alphabet.index(footer[-1]) ^ 1]
    assert unb64(footer[:-1] + alt) == unb64(footer)
    noncanonical = head + body + '.' + footer[:-1] + alt

    cases = [
        ('garbage', 'not-a-token', 'invalid_token'),
        ('empty payload', 'v4.public.', 'invalid_token'),
        ('random base64', 'v4.public.' + b64(bytes(range(100))), 'invalid_token'),
        ('signed by another key', foreign, 'invalid_token'),
        ('tampered payload', tampered_payload, 'invalid_token'),
        ('tampered signature', tampered_sig, 'invalid_token'),
        ('footer swapped', tampered_footer, 'invalid_token'),
        ('footer dropped', no_footer, 'invalid_token'),
        ('wrong version', 'v3.public.' + good[len('v4.public.'):], 'invalid_token'),
        ('wrong purpose', 'v4.local.' + good[len('v4.public.'):], 'invalid_token'),
        ('bad base64 byte', good[:20] + '*' + good[21:], 'invalid_token'),
        ('truncated', good[:-10], 'invalid_token'),
        ('long', 'v4.public.' + 'A' * 6000, 'invalid_token'),
        ('non-canonical base64', noncanonical, 'invalid_token'),
    ]
    before = redis.commandstats()
    for what, token, error in cases:
        r = h.get(gw.port, '/echo', s.bearer(token))
        t.eq(r.status, 401, '%s: 401' % what)
        t.eq((h.json_body(r) or {}).get('error'), error, '%s: %s' % (what, error))
        t.eq(r.header('www-authenticate'), 'Bearer realm="sluice", error="invalid_token"',
             '%s: challenge with error="invalid_token"' % what)
    t.eq(redis.calls_since(before), {}, 'no Redis command for any refused token')

    before = redis.commandstats()
    for _ in range(3):
        t.eq(h.get(gw.port, '/echo', s.bearer(good)).status, 200, 'the genuine token: 200')
    calls = redis.calls_since(before)
    # commandstats counts the calls a script makes inside Redis too.
    inner = {k: v for k, v in calls.items() if k != 'evalsha'}
    t.eq(calls.get('evalsha'), 3, 'exactly one EVALSHA per admitted request', calls)
    t.ok(set(inner) <= {'hmget', 'hset', 'pexpire'}, 'and no command besides it (only the '
         "script's own calls inside Redis)", calls)


h.run(main)
