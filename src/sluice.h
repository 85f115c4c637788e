/*
 * sluice.h - the few things every module uses: byte slices, allocation that
 * never returns NULL, and invariant assertions.
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>

#define SLUICE_VERSION "0.1.0"

/* A borrowed run of bytes; never NUL-terminated unless stated. */
struct sl_slice {
    const char *p;
    size_t len;
};

#define SL_SLICE_LIT(s) ((struct sl_slice){(s), sizeof(s) - 1})

/* Out of memory is not recoverable for a proxy: these abort instead. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Case-insensitive comparison of a slice with a NUL-terminated lowercase name. */
bool sl_slice_eq_lower(struct sl_slice s, const char *lower);

void sl_assert_fail(const char *expr, const char *file, int line);
#define SL_ASSERT(e) ((e) ? (void)0 : sl_assert_fail(#e, __FILE__, __LINE__))

#define SL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
