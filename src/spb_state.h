// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Sparkplug B birth state: per edge node and device, the alias -> name and
 * datatype table of its last birth; per edge node the sequence number
 * expected next, the bdSeq of its birth, and when a rebirth was last asked
 * for. Kept in a file (spool.dir/sparkplug-births) so a restarted bridge
 * still names the metrics of data sent by alias. Thread-safe (one mutex):
 * the MQTT thread hands it births and data, the command threads read
 * datatypes by name. */
#ifndef MKB_SPB_STATE_H
#define MKB_SPB_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "spb.h"

typedef struct spb_state spb_state_t;

/* The least time between two rebirth requests to one edge node. */
#define SPB_REBIRTH_INTERVAL_MS 5000

/* At most this many edge nodes, and devices of one edge node, are kept, so
 * that a publisher inventing topics under a route's filter cannot grow the
 * state without bound. Past them a birth is not recorded (spb_state_birth
 * says so: MKB_ERR_INVAL) and the data of those nodes is not named or
 * sequence-checked; the messages themselves still make their records. */
#define SPB_MAX_NODES 65536
#define SPB_MAX_DEVICES 65536

/* A new state. PATH (may be NULL: memory only) is read when it exists (a
 * damaged or unreadable file is reported in WHY as a warning, returned as
 * MKB_OK with an empty state, and replaced at the next birth) and rewritten
 * after each birth (a temporary file renamed over it). */
int spb_state_new(const char *path, spb_state_t **out, char *why, size_t why_size);
void spb_state_destroy(spb_state_t *s);

/* Other bounds than SPB_MAX_NODES and SPB_MAX_DEVICES (tests). */
void spb_state_limit(spb_state_t *s, size_t max_nodes, size_t max_devices);

/* Records the birth T (NBIRTH or DBIRTH) decoded into DOC (spb_decode's
 * object): each metric's alias, name and datatype replace the table of that
 * edge node or device. An NBIRTH also forgets the node's devices (their
 * DBIRTHs follow it), sets the sequence to DOC's seq and keeps its bdSeq
 * metric. Then the file is written; a failure to write is returned
 * (MKB_ERR_IO, WHY) after the state in memory is updated. */
int spb_state_birth(spb_state_t *s, const spb_topic_t *t, json_t *doc, char *why, size_t why_size);

/* The resolver of spb.h for messages of T: pass spb_state_resolve with a
 * spb_scope_t of S and T as its ctx. NAME_OUT stays valid until the next
 * birth of that edge node or device. */
typedef struct {
    spb_state_t *state;
    const spb_topic_t *topic;
} spb_scope_t;
bool spb_state_resolve(void *scope, const char *name, bool has_alias, uint64_t alias,
                       const char **name_out, uint32_t *datatype_out);

/* What the sequence number of a message says. */
typedef enum {
    SPB_SEQ_OK,        /* the one expected */
    SPB_SEQ_UNKNOWN,   /* no birth or message of this node seen yet: taken as is */
    SPB_SEQ_GAP,       /* not the one expected, the first time since the node's birth */
    SPB_SEQ_GAP_AGAIN, /* not the one expected, again (count it; it was logged) */
} spb_seq_t;

/* Checks the seq of message T (NDATA, DBIRTH, DDATA, DDEATH; an NBIRTH
 * starts it: spb_state_birth) against the one expected for its edge node
 * and moves on to seq + 1 (mod 256). *EXPECTED: the one that was expected. */
spb_seq_t spb_state_seq(spb_state_t *s, const spb_topic_t *t, uint64_t seq, uint64_t *expected);

/* An NDEATH of T carrying bdSeq BD_SEQ (has_bd_seq false: none): true when
 * it is the death of the node's current session (bdSeq equal to its
 * birth's, or no birth known); false for a stale one (an old session's will
 * delivered after a new birth). A current death resets the sequence. */
bool spb_state_death(spb_state_t *s, const spb_topic_t *t, bool has_bd_seq, uint64_t bd_seq);

/* True when a rebirth should be asked of T's edge node now (none asked in
 * the last SPB_REBIRTH_INTERVAL_MS, NOW_MS monotonic); records the ask. */
bool spb_state_want_rebirth(spb_state_t *s, const spb_topic_t *t, int64_t now_ms);

#endif
