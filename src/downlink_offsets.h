// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The downlink's offset bookkeeping for one Kafka partition, without Kafka:
 * a record's offset is stored for commit only once it and every earlier
 * record of its partition reached MQTT or was settled otherwise (expired,
 * invalid). Records are pushed in the order they are consumed; they settle
 * in any order; a failed publish rewinds the partition to its record.
 *
 * Not thread-safe: the caller holds its own lock (the downlink's group lock,
 * since Paho's thread settles what the consumer thread pushed). */
#ifndef MKB_DOWNLINK_OFFSETS_H
#define MKB_DOWNLINK_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

typedef struct downlink_offsets downlink_offsets_t;

/* What downlink_offsets_push decided about a record. */
typedef enum {
    DOWNLINK_OFFSETS_TAKEN,   /* now unsettled: handle it, then settle or rewind */
    DOWNLINK_OFFSETS_SKIPPED, /* fetched before a rewind took effect: it comes again */
    DOWNLINK_OFFSETS_NOMEM,   /* not recorded: leave it uncommitted */
} downlink_offsets_push_t;

downlink_offsets_t *downlink_offsets_new(void);
void downlink_offsets_destroy(downlink_offsets_t *o);

/* A consumed record at OFFSET (offsets increase between rewinds). */
downlink_offsets_push_t downlink_offsets_push(downlink_offsets_t *o, int64_t offset);

/* Marks OFFSET settled. Returns the commit position the settled front of the
 * partition reached (last settled offset + 1), or -1 when it did not move
 * (an earlier record is still unsettled, or OFFSET is unknown). */
int64_t downlink_offsets_settle(downlink_offsets_t *o, int64_t offset);

/* The partition is sought back to OFFSET: the records from OFFSET on are
 * forgotten, and records fetched past OFFSET before the seek took effect are
 * skipped until OFFSET comes again. */
void downlink_offsets_rewind(downlink_offsets_t *o, int64_t offset);

/* A publish failed on another thread: asks for a rewind to OFFSET (the
 * earliest asked wins), done later by the consumer thread. */
void downlink_offsets_ask_rewind(downlink_offsets_t *o, int64_t offset);

/* The offset a rewind was asked to, or -1; clears the request. */
int64_t downlink_offsets_take_rewind(downlink_offsets_t *o);

/* Records pushed and not yet settled or rewound. */
size_t downlink_offsets_pending(const downlink_offsets_t *o);

#endif
