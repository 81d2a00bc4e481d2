// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* A YAML document read into a tree that keeps each node's file, line and
 * column, so configuration errors can point at the text an operator wrote.
 * ${VAR} and ${VAR:-default} in plain and quoted scalars are replaced from
 * the environment while reading ($${ gives a literal ${). */
#ifndef MKB_YTREE_H
#define MKB_YTREE_H

#include <stddef.h>

typedef struct ytree ytree_t;
typedef struct ynode ynode_t;

typedef enum { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ } ynode_type_t;

/* Reads PATH. On failure returns a negative mkb_err_t and writes
 * "file:line:col: message" into errstr. *out is owned by the caller. */
int ytree_load_file(const char *path, ytree_t **out, char *errstr, size_t errstr_size);

/* Same, from a buffer; NAME is used in messages in place of a file name. */
int ytree_load_string(const char *name, const char *text, size_t len, ytree_t **out,
                      char *errstr, size_t errstr_size);

void ytree_destroy(ytree_t *t);

/* The document's root node, or NULL for an empty document. */
const ynode_t *ytree_root(const ytree_t *t);

ynode_type_t ynode_type(const ynode_t *n);
const char *ynode_file(const ynode_t *n);
int ynode_line(const ynode_t *n); /* 1-based */
int ynode_col(const ynode_t *n);  /* 1-based */
const char *ynode_type_name(ynode_type_t type);

/* Scalar text (NUL-terminated, may contain NULs before; see ynode_scalar_len). */
const char *ynode_scalar(const ynode_t *n);
size_t ynode_scalar_len(const ynode_t *n);
/* True when the scalar was written in quotes ("5" is a string, 5 a number). */
int ynode_scalar_quoted(const ynode_t *n);
/* True when the whole scalar was one ${VAR} taken from the environment (the
 * file does not hold the value: config uses it to spot secrets written in). */
int ynode_scalar_from_env(const ynode_t *n);

/* Number of entries of a map or items of a sequence. */
size_t ynode_len(const ynode_t *n);
const ynode_t *ynode_map_key(const ynode_t *n, size_t i);
const ynode_t *ynode_map_value(const ynode_t *n, size_t i);
/* The value for KEY in map N, or NULL. */
const ynode_t *ynode_map_get(const ynode_t *n, const char *key);
const ynode_t *ynode_seq_item(const ynode_t *n, size_t i);

#endif
