// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* A growable byte buffer reused across messages: after warm-up, appending
 * allocates nothing. */
#ifndef MKB_BUF_H
#define MKB_BUF_H

#include <stddef.h>

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

/* Makes room for N more bytes; 0 or MKB_ERR_NOMEM. */
int buf_reserve(buf_t *b, size_t n);
int buf_append(buf_t *b, const void *data, size_t n);
int buf_append_str(buf_t *b, const char *s);
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a NUL without counting it in len (for C-string use). */
int buf_terminate(buf_t *b);
void buf_reset(buf_t *b);
void buf_free(buf_t *b);

#endif
