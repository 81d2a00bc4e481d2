#include "diag.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>

void diag_addv(diag_t *d, const char *file, int line, int col, const char *fmt, va_list ap)
{
    char msg[1024]; /* a longer message is cut: these are one-line diagnostics */
    const char *sev = d->severity ? d->severity : "error";
    vsnprintf(msg, sizeof(msg), fmt, ap);
    int rc = file && line ? buf_printf(&d->text, "%s:%d:%d: %s: %s\n", file, line, col, sev, msg)
             : file       ? buf_printf(&d->text, "%s: %s: %s\n", file, sev, msg)
                          : buf_printf(&d->text, "%s: %s\n", sev, msg);
    if (rc != MKB_OK || buf_terminate(&d->text) != MKB_OK)
        d->nomem = true;
    d->count++;
}

void diag_add(diag_t *d, const char *file, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_addv(d, file, line, col, fmt, ap);
    va_end(ap);
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
