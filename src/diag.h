// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Diagnostics for a person: "file:line:col: error: message" lines collected
 * in a growing buffer, so a load or a compile can report every problem at
 * once. The one writer of that format (config loading, route and template
 * compilation). A diag_t starts zeroed ({0}); diag_take hands the text over. */
#ifndef MKB_DIAG_H
#define MKB_DIAG_H

#include <stdarg.h>
#include <stdbool.h>

#include "buf.h"

typedef struct {
    buf_t text;           /* the lines, NUL-terminated once one was added */
    int count;            /* lines added */
    bool nomem;           /* a line could not be added */
    const char *severity; /* NULL: "error" */
} diag_t;

/* A YAML alias a value was used through: the value's own position is the
 * anchored text where it is written; this says where it was used. OUTER is
 * the alias the anchored text holding this alias was itself used through. */
typedef struct diag_via {
    const char *alias; /* the name after '*' */
    const char *file;
    int line, col;
    const struct diag_via *outer; /* or NULL */
} diag_via_t;

/* Appends "FILE:LINE:COL: SEVERITY: message"; without LINE (0)
 * "FILE: SEVERITY: message", without FILE (NULL) "SEVERITY: message". */
void diag_addv(diag_t *d, const char *file, int line, int col, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* The same, followed by " (used through alias *NAME at FILE:LINE:COL, ...)"
 * when VIA is not NULL. */
void diag_addv_via(diag_t *d, const char *file, int line, int col, const diag_via_t *via,
                   const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* "FILE:LINE:COL" into OUT (returned), for a second place named inside a
 * message ("first defined at ..."). */
const char *diag_where(char *out, size_t size, const char *file, int line, int col);

/* Writes one "FILE:LINE:COL: error: message" line (no newline) into OUT,
 * for a module that reports a single error in an errstr buffer (ytree). */
void diag_format(char *out, size_t size, const char *file, int line, int col, const char *fmt,
                 ...) __attribute__((format(printf, 6, 7)));

/* Appends LINE as it is (already "file:line:col: ..."), plus a newline. */
void diag_raw(diag_t *d, const char *line);

/* The text (caller frees), NULL when empty; D is empty afterwards. */
char *diag_take(diag_t *d);

void diag_free(diag_t *d);

#endif
