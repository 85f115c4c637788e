/*
 * http_range.h - a Range request field of one byte range (RFC 9110 §14.1),
 * as a cache answers it from a stored complete response. Pure.
 */
#ifndef SLUICE_HTTP_RANGE_H
#define SLUICE_HTTP_RANGE_H

#include <stdbool.h>
#include <stdint.h>

#include "sluice.h"

/* True when value is "bytes=" and one satisfiable range of a
 * representation of size bytes ("a-b", "a-", "-n"): [*first, *last] is
 * it, clipped to the size. Anything else (several ranges, another unit,
 * malformed, unsatisfiable) is false: the whole response answers. */
bool http_range_single(struct sl_slice value, uint64_t size, uint64_t *first, uint64_t *last);

#endif
