/*
 * cache.h - the response cache stage (SPEC section 7); see cache.c.
 */
#ifndef SLUICE_CACHE_H
#define SLUICE_CACHE_H

#include "core/pipeline.h"

extern const struct stage cache_stage;

#endif
