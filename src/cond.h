// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* A route's when: conditions, compiled once at load (pointers parsed,
 * constants typed) and evaluated per message before explode: all must hold
 * for the route to take the message. The compiled form is read-only, so one
 * cond_t may serve any thread. */
#ifndef MKB_COND_H
#define MKB_COND_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "diag.h"
#include "template.h"

typedef struct cond cond_t;

/* Compiles the when: of route RC (of CFG) against its filter's captures
 * (CAP_NAMES, NCAP). NULL without conditions, or on error: then every
 * problem is added to D at its file:line:col. */
cond_t *cond_new(const config_t *cfg, const config_route_t *rc, const char *const *cap_names,
                 size_t ncap, diag_t *d);
void cond_destroy(cond_t *c);

/* The first condition of C that does not hold for the message of CTX (its
 * captures; CTX->input: the whole parsed payload, NULL for raw payloads), or
 * -1 when all hold. NO_PAYLOAD (an empty payload): field conditions are not
 * tested, there is nothing to read. */
int cond_eval(const cond_t *c, const tmpl_ctx_t *ctx, bool no_payload);

/* "when[I] field /ENERGY exists is false (missing)" into OUT: condition I of
 * C as written, and what the message of CTX held there. */
void cond_describe(const cond_t *c, int i, const tmpl_ctx_t *ctx, char *out, size_t size);

#endif
