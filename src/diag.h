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

/* Appends "FILE:LINE:COL: SEVERITY: message"; without LINE (0)
 * "FILE: SEVERITY: message", without FILE (NULL) "SEVERITY: message". */
void diag_addv(diag_t *d, const char *file, int line, int col, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

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
