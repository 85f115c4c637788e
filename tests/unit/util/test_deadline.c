/*
 * test_deadline.c - lazy deadlines: arming only when the armed timer would
 * fire too late, re-arming for the rest when it fires early, expiring once.
 */
#include "tap.h"
#include "util/deadline.h"

int
main(void)
{
    struct deadline d;
    int64_t wait;
    deadline_init(&d);
    is_int(deadline_set(&d, 1000, 0), 1000, "first deadline arms the timer");
    is_int(deadline_set(&d, 1000, 100), -1, "a later deadline leaves the timer armed");
    is_int(deadline_set(&d, 50, 200), 50, "an earlier deadline re-arms");
    is_int(deadline_set(&d, 1000, 220), -1, "back to a later one: no timer operation");
    is_int(deadline_fired(&d, 250, &wait), DEADLINE_REARM, "fired early: re-arm");
    is_int(wait, 970, "for the rest of the deadline");
    is_int(deadline_fired(&d, 1220, &wait), DEADLINE_EXPIRED, "fired at the deadline: expired");
    is_int(deadline_fired(&d, 1300, &wait), DEADLINE_NONE, "expires only once");
    is_int(deadline_set(&d, 0, 1300), -1, "no timeout: nothing to arm");
    is_int(deadline_fired(&d, 5000, &wait), DEADLINE_NONE, "cleared deadline never expires");
    is_int(deadline_set(&d, 10, 5000), 10, "a disarmed timer is armed again");
    deadline_clear(&d);
    is_int(deadline_set(&d, 1000, 5005), -1, "after a clear the armed timer is still used");
    deadline_clear(&d);
    is_int(deadline_fired(&d, 5010, &wait), DEADLINE_NONE, "a cleared deadline fires as nothing");
    is_int(deadline_set(&d, 10, 5020), 10, "and the timer, now disarmed, is armed again");
    return tap_done();
}
