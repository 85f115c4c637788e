#!/usr/bin/env python3
"""A Range request on a stored complete response is answered from it
(RFC 9110 section 14.2, RFC 9111 section 3.4): one byte range gets a 206
with Content-Range and those bytes, a suffix range the last bytes; several
ranges, or an If-Range (not evaluated), get the whole 200."""
import harness as h
import sessions as s


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('cached', '/counted', auth='none', cache={'scope': 'shared'})]
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    s.wait_ready(gw)
    path = '/counted?max_age=60'
    full = h.get(gw.port, path)
    t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3), 'stored')
    size = len(full.body)
    r = h.get(gw.port, path, [('Range', 'bytes=0-1')])
    t.eq((r.status, r.body), (206, full.body[:2]), 'bytes=0-1: 206 with the first two bytes')
    t.eq(r.header('content-range'), 'bytes 0-1/%d' % size, 'and its Content-Range')
    t.eq(r.header('x-cache'), 'HIT', 'from the entry')
    r = h.get(gw.port, path, [('Range', 'bytes=-3')])
    t.eq((r.status, r.body), (206, full.body[-3:]), 'bytes=-3: the last three bytes')
    t.eq(r.header('content-range'), 'bytes %d-%d/%d' % (size - 3, size - 1, size),
         'their Content-Range')
    r = h.get(gw.port, path, [('Range', 'bytes=0-1,4-5')])
    t.eq((r.status, r.body), (200, full.body), 'several ranges: the whole response')
    r = h.get(gw.port, path, [('Range', 'bytes=0-1'), ('If-Range', '"x"')])
    t.eq((r.status, r.body), (200, full.body), 'with If-Range: the whole response')


if __name__ == '__main__':
    h.run(main)
