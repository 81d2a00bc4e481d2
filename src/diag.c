// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "diag.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "FILE:LINE:COL: SEV: MSG" (or without the position parts) into OUT. */
static void line_format(char *out, size_t size, const char *file, int line, int col,
                        const char *sev, const char *msg)
{
    if (file && line)
        snprintf(out, size, "%s:%d:%d: %s: %s", file, line, col, sev, msg);
    else if (file)
        snprintf(out, size, "%s: %s: %s", file, sev, msg);
    else
        snprintf(out, size, "%s: %s", sev, msg);
}

const char *diag_where(char *out, size_t size, const char *file, int line, int col)
{
    snprintf(out, size, "%s:%d:%d", file ? file : "?", line, col);
    return out;
}

/* " (used through alias *a at F:L:C, itself used through alias *b at ...)"
 * appended to MSG; a chain longer than shown ends in ", ...". */
static void via_append(char *msg, size_t size, const diag_via_t *via)
{
    enum { SHOWN = 3 }; /* nested aliases deeper than this are rare; keep the line short */
    if (!via)
        return;
    size_t len = strlen(msg);
    for (int i = 0; via && len + 1 < size; i++, via = via->outer) {
        char at[512];
        if (i == SHOWN) {
            snprintf(msg + len, size - len, ", ...");
            break;
        }
        snprintf(msg + len, size - len, "%s alias *%s at %s",
                 i ? ", itself used through" : " (used through", via->alias,
                 diag_where(at, sizeof(at), via->file, via->line, via->col));
        len += strlen(msg + len);
    }
    len = strlen(msg);
    if (len + 1 < size)
        snprintf(msg + len, size - len, ")");
}

void diag_addv_via(diag_t *d, const char *file, int line, int col, const diag_via_t *via,
                   const char *fmt, va_list ap)
{
    char msg[1024]; /* a longer message is cut: these are one-line diagnostics */
    char text[1536];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    via_append(msg, sizeof(msg), via);
    line_format(text, sizeof(text), file, line, col, d->severity ? d->severity : "error", msg);
    diag_raw(d, text);
}

void diag_addv(diag_t *d, const char *file, int line, int col, const char *fmt, va_list ap)
{
    diag_addv_via(d, file, line, col, NULL, fmt, ap);
}

void diag_format(char *out, size_t size, const char *file, int line, int col, const char *fmt,
                 ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    line_format(out, size, file, line, col, "error", msg);
}

void diag_raw(diag_t *d, const char *line)
{
    if (buf_printf(&d->text, "%s\n", line) != MKB_OK || buf_terminate(&d->text) != MKB_OK)
        d->nomem = true;
    d->count++;
}

char *diag_take(diag_t *d)
{
    char *text = d->text.len ? d->text.p : NULL;
    if (!text)
        buf_free(&d->text);
    d->text = (buf_t){0};
    d->count = 0;
    return text;
}

void diag_free(diag_t *d)
{
    buf_free(&d->text);
    d->count = 0;
}
