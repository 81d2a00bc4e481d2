// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* A Kafka record on its way from the mapper through the delivery stage (the
 * spool, when there is one) to the sink, and the acknowledgement that comes
 * back once the sink has settled it. Plain data: no functions, no
 * allocation; the module that fills a record says how long its pointers
 * live. */
#ifndef MKB_RECORD_H
#define MKB_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;
    const char *value;
    size_t value_len;
} record_header_t;

typedef struct {
    const char *route;   /* NULL for an unmatched message */
    const char *profile; /* producer profile; NULL: the default (hot) */
    const char *topic;   /* NUL-terminated */
    const void *key;     /* NULL: no key */
    size_t key_len;
    const void *value; /* NULL: a null value (a tombstone, empty: tombstone); else
                          never NULL, also when empty */
    size_t value_len;
    const record_header_t *headers;
    size_t nheaders;
    int64_t timestamp_ms; /* the Kafka record's timestamp */
    int64_t recv_ms;      /* when its MQTT message was received (ms since the epoch) */
    const char *id;       /* stable id (spooled records), sent as header mkb.id; NULL: none */
    bool dead_letter;
    const char *reason;    /* dead letters: why */
    uint32_t field_errors; /* the mapper's: fields that failed softly (on_error); metrics only,
                              not spooled */
} record_t;

/* What the sink hands back once a record is settled (delivered,
 * dead-lettered or counted lost). */
typedef struct {
    uint64_t ticket; /* the delivery stage's handle of the record (the spool's); 0: none */
    int64_t recv_ms; /* the record's receive time when it had no ticket; else 0 (the
                        ticket's owner knows it) */
} record_ack_t;

#endif
