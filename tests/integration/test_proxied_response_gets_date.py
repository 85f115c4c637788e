#!/usr/bin/env python3
"""A proxied response whose upstream sent no Date reaches the client with
one Date, an IMF-fixdate of the time it was received (RFC 9110 §6.6.1: a
recipient with a clock that forwards it must add it). The mock upstream
sends none."""
import email.utils
import time
import harness as h

IMF_FIXDATE = r'^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|' \
              r'Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$'


def main(t, env):
    mock = env.start_mock()
    direct = h.get(mock.port, '/small')
    t.eq(direct.header_all('date'), [], 'the mock upstream sends no Date')
    gw = env.start_sluice(h.default_config(mock.port))

    for path in ('/small', '/chunked', '/status/404'):
        before = time.time()
        r = h.get(gw.port, path)
        after = time.time()
        dates = r.header_all('date')
        t.eq(len(dates), 1, '%s: one Date' % path, repr(r.headers))
        if len(dates) == 1:
            t.ok(h.re.match(IMF_FIXDATE, dates[0]), '%s: Date is an IMF-fixdate' % path, dates[0])
            when = email.utils.parsedate_to_datetime(dates[0]).timestamp()
            t.ok(int(before) - 1 <= when <= after + 1, '%s: Date is now' % path,
                 '%s vs %.0f..%.0f' % (dates[0], before, after))


h.run(main)
