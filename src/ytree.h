// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* A YAML document read into a tree that keeps each node's file, line and
 * column, so configuration errors can point at the text an operator wrote.
 * ${VAR} and ${VAR:-default} in plain and quoted scalars are replaced from
 * the environment while reading ($${ gives a literal ${).
 *
 * Anchors (&name), aliases (*name) and merge keys (<<: *name, <<: [*a, *b];
 * YAML 1.1, https://yaml.org/type/merge.html) are resolved while reading: an
 * alias becomes a copy of the anchored node whose nodes keep the anchored
 * text's positions and name the alias they came through (ynode_via); a merge
 * key is replaced by the merged mappings' entries (keys written in the
 * mapping win, then earlier merged mappings over later ones). Refused with
 * file:line:col: an alias before (or inside) its anchor, an anchor defined
 * twice, a merge of anything but mappings, and aliases expanding to more
 * than YTREE_MAX_ALIAS_NODES nodes (an alias bomb). */
#ifndef MKB_YTREE_H
#define MKB_YTREE_H

#include <stddef.h>

#include "diag.h"

/* Nodes that aliases may add to one file: far above any real mapping file
 * (a thousand routes sharing 50-node defaults is 50,000), far below what
 * exhausts memory (each node is about 150 bytes). */
#define YTREE_MAX_ALIAS_NODES 250000

typedef struct ytree ytree_t;
typedef struct ynode ynode_t;
typedef struct yvias yvias_t;

typedef enum { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ } ynode_type_t;

/* Reads PATH. On failure returns a negative mkb_err_t and writes
 * "file:line:col: message" into errstr. *out is owned by the caller. */
int ytree_load_file(const char *path, ytree_t **out, char *errstr, size_t errstr_size);

/* Same, from a buffer; NAME is used in messages in place of a file name. */
int ytree_load_string(const char *name, const char *text, size_t len, ytree_t **out,
                      char *errstr, size_t errstr_size);

void ytree_destroy(ytree_t *t);

/* Hands over the alias records the tree's nodes point at (ynode_via), so
 * positions kept from the tree stay valid after ytree_destroy until
 * yvias_destroy. NULL when the file used no alias. */
yvias_t *ytree_take_vias(ytree_t *t);
void yvias_destroy(yvias_t *v);

/* The document's root node, or NULL for an empty document. */
const ynode_t *ytree_root(const ytree_t *t);

ynode_type_t ynode_type(const ynode_t *n);
const char *ynode_file(const ynode_t *n);
int ynode_line(const ynode_t *n); /* 1-based */
int ynode_col(const ynode_t *n);  /* 1-based */
const char *ynode_type_name(ynode_type_t type);
/* The alias N was used through (N's position is the anchored text), or NULL
 * when N is written where it stands. */
const diag_via_t *ynode_via(const ynode_t *n);

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
