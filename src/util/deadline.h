/*
 * deadline.h - a timeout that moves with activity, checked lazily.
 *
 * A connection's deadline moves forward on every read; re-arming a timer
 * each time would cost a heap operation per read. Instead the timer stays
 * armed for the earliest deadline it was set for and, when it fires early,
 * is re-armed for the rest. Pure: the caller owns the timer event and arms
 * it for the milliseconds these functions return.
 */
#ifndef SLUICE_DEADLINE_H
#define SLUICE_DEADLINE_H

#include <stdint.h>

struct deadline {
    int64_t at_ms;    /* monotonic; INT64_MAX: none */
    int64_t armed_ms; /* when the timer fires; 0: not armed */
};

enum deadline_state { DEADLINE_NONE, DEADLINE_REARM, DEADLINE_EXPIRED };

static inline void
deadline_init(struct deadline *d)
{
    d->at_ms = INT64_MAX;
    d->armed_ms = 0;
}

/* No deadline for now. An armed timer stays armed and, when it fires,
 * finds nothing to do: clearing costs no timer operation and no clock read,
 * which is why callers clear with this rather than deadline_set(d, 0, now). */
static inline void
deadline_clear(struct deadline *d)
{
    d->at_ms = INT64_MAX;
}

/* Sets the deadline timeout_ms after now (0: none). Returns how long to arm
 * the timer for, or -1 when the armed timer already fires early enough. */
static inline int64_t
deadline_set(struct deadline *d, uint32_t timeout_ms, int64_t now)
{
    if (timeout_ms == 0) {
        deadline_clear(d);
        return -1;
    }
    d->at_ms = now + timeout_ms;
    if (d->armed_ms != 0 && d->armed_ms <= d->at_ms)
        return -1;
    d->armed_ms = d->at_ms;
    return timeout_ms;
}

/* The timer fired. DEADLINE_REARM: arm it again for *wait_ms. */
static inline enum deadline_state
deadline_fired(struct deadline *d, int64_t now, int64_t *wait_ms)
{
    d->armed_ms = 0;
    if (d->at_ms == INT64_MAX)
        return DEADLINE_NONE;
    if (now < d->at_ms) {
        *wait_ms = d->at_ms - now;
        d->armed_ms = d->at_ms;
        return DEADLINE_REARM;
    }
    d->at_ms = INT64_MAX;
    return DEADLINE_EXPIRED;
}

#endif
