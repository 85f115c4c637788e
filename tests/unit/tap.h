/*
 * tap.h - a tiny Test Anything Protocol emitter for unit tests
 * (meson test protocol: 'tap').
 */
#ifndef SLUICE_TAP_H
#define SLUICE_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count_;
static int tap_failed_;

#define ok(cond, ...)                                                              \
    do {                                                                           \
        int ok_ = !!(cond);                                                        \
        tap_count_++;                                                              \
        if (!ok_)                                                                  \
            tap_failed_++;                                                         \
        printf("%sok %d - ", ok_ ? "" : "not ", tap_count_);                       \
        printf(__VA_ARGS__);                                                       \
        printf("\n");                                                              \
        if (!ok_)                                                                  \
            printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
    } while (0)

#define is_int(got, want, ...)                                                     \
    do {                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                   \
        ok(g_ == w_, __VA_ARGS__);                                                 \
        if (g_ != w_)                                                              \
            printf("#   got %lld, want %lld\n", g_, w_);                           \
    } while (0)

#define is_str(got, want, ...)                                                     \
    do {                                                                           \
        const char *g_ = (got), *w_ = (want);                                      \
        int same_ = (g_ == NULL && w_ == NULL) ||                                  \
                    (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0);             \
        ok(same_, __VA_ARGS__);                                                    \
        if (!same_)                                                                \
            printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)",            \
                   w_ ? w_ : "(null)");                                            \
    } while (0)

static inline int
tap_done(void)
{
    printf("1..%d\n", tap_count_);
    return tap_failed_ ? 1 : 0;
}

#endif
