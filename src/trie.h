// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* A trie of MQTT topic filters ('+' and '#' wildcards) mapping each filter
 * to ids. Matching walks the topic's levels once; at each level it follows
 * the literal child (a hash lookup), '+' and '#', so its cost depends on the
 * topic and on how many filters match, not on how many filters there are. */
#ifndef MKB_TRIE_H
#define MKB_TRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct trie trie_t;

/* Most ids one match returns (routes matching one topic). */
#define TRIE_MAX_MATCHES 64
/* Deepest topic matched; deeper topics match nothing. */
#define TRIE_MAX_LEVELS 128

trie_t *trie_new(void);
void trie_destroy(trie_t *t);

/* Adds FILTER (already valid) with ID. Returns 0 or MKB_ERR_NOMEM. */
int trie_insert(trie_t *t, const char *filter, uint32_t id);

/* Writes the ids of all filters matching TOPIC (TOPIC_LEN bytes) to IDS in
 * ascending order; returns how many (at most TRIE_MAX_MATCHES; *TRUNCATED set
 * if more matched). Allocates nothing. */
size_t trie_match(const trie_t *t, const char *topic, size_t topic_len,
                  uint32_t ids[TRIE_MAX_MATCHES], bool *truncated);

#endif
