// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* JSON pointers (RFC 6901) compiled once: "/a/b~1c/0" -> segments. */
#ifndef MKB_JPTR_H
#define MKB_JPTR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct jptr jptr_t;

/* Compiles TEXT ("" is the whole document). NULL with a reason in WHY if
 * TEXT is not a pointer (it must be empty or start with '/'). A leading '$'
 * ("$/gateway/id", "$") marks a pointer into the whole message rather than
 * the exploded element: jptr_is_root says so, and the caller hands jptr_get
 * that document (without explode both are the same). */
jptr_t *jptr_new(const char *text, char *why, size_t why_size);
void jptr_destroy(jptr_t *p);

/* The value at P in DOC (borrowed), or NULL when absent. */
json_t *jptr_get(const jptr_t *p, json_t *doc);

/* The text as written, "$" included. */
const char *jptr_text(const jptr_t *p);
bool jptr_is_root(const jptr_t *p);

#endif
