/*
 * auth.h - the authentication stage (SPEC section 5).
 */
#ifndef SLUICE_AUTH_H
#define SLUICE_AUTH_H

#include "core/pipeline.h"

extern const struct stage auth_stage;

#endif
