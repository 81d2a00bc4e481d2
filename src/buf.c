// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "buf.h"

#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int buf_reserve(buf_t *b, size_t n)
{
    if (b->len + n <= b->cap)
        return MKB_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return MKB_ERR_NOMEM;
    b->p = p;
    b->cap = cap;
    return MKB_OK;
}

int buf_append(buf_t *b, const void *data, size_t n)
{
    if (buf_reserve(b, n) != MKB_OK)
        return MKB_ERR_NOMEM;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return MKB_OK;
}

int buf_append_str(buf_t *b, const char *s) { return buf_append(b, s, strlen(s)); }

int buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MKB_ERR_INVAL;
    if (b->p && (size_t)n < b->cap - b->len) {
        b->len += (size_t)n;
        return MKB_OK;
    }
    if (buf_reserve(b, (size_t)n + 1) != MKB_OK)
        return MKB_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return MKB_OK;
}

int buf_terminate(buf_t *b)
{
    if (buf_reserve(b, 1) != MKB_OK)
        return MKB_ERR_NOMEM;
    b->p[b->len] = '\0';
    return MKB_OK;
}

void buf_reset(buf_t *b) { b->len = 0; }

void buf_free(buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
