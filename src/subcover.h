// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The subscription cover: from the routes' MQTT filters ('+' and '#'
 * wildcards), a set of filters with no overlap (no topic matches two of
 * them) such that every route filter lies inside one of them, each at the
 * highest QoS of the filters it covers. Subscribing to the cover makes the
 * broker send each message once; the trie fans it out to the routes.
 *
 * How: a filter inside another is dropped for the larger; two that overlap
 * partially are replaced by their level-wise generalization (a/+ and +/b
 * become +/+); repeated until nothing overlaps. MQTT's rule that a filter
 * starting with a wildcard matches no topic starting with '$' is kept, so
 * $SYS/# and # stay apart. Pure: no I/O, used at load time only. */
#ifndef MKB_SUBCOVER_H
#define MKB_SUBCOVER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct subcover subcover_t;

subcover_t *subcover_new(void);
void subcover_destroy(subcover_t *c);

/* Adds FILTER (a valid MQTT filter, copied) wanted at QOS and merges it into
 * the cover. Returns 0 or MKB_ERR_NOMEM (then the cover may have lost
 * filters: destroy it). */
int subcover_add(subcover_t *c, const char *filter, int qos);

/* The cover, sorted by filter (byte order), so equal covers list equally. */
size_t subcover_count(const subcover_t *c);
const char *subcover_filter(const subcover_t *c, size_t i);
int subcover_qos(const subcover_t *c, size_t i);

/* Does every topic INNER matches also match OUTER? */
bool subcover_contains(const char *outer, const char *inner);
/* Is there a topic both A and B match? */
bool subcover_overlap(const char *a, const char *b);

#endif
