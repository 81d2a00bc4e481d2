// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The on-disk spool: a journal written on the MQTT receive thread before
 * the broker gets its PUBACK, read back by the sender thread that feeds the
 * producers, and acknowledged by delivery reports. Its entries are MQTT
 * messages as received (the sender maps them into records) or, in journals
 * of earlier versions and in tests, Kafka records.
 *
 * Files in the spool directory:
 *   NNNNNNNNNNNNNNNN.seg  segments (hex id), appended with write(2); a new one
 *                         at every start and whenever the active one passes
 *                         segment_bytes (or the disk is full). Deleted once
 *                         every record is acked.
 *   ack                   the acknowledged mark: (segment, offset) of the first
 *                         record not known to be delivered, in two
 *                         checksummed slots written alternately.
 *   id                    a random id of this spool (in every record's id).
 *   lock                  flock()ed while a bridge uses the directory.
 *
 * Record: magic "MKBS", u32 body length, u32 CRC-32 of the body, body (see
 * spool.c). A record that fails its checksum (torn tail, flipped bytes) is
 * reported and skipped; every complete record around it is kept.
 *
 * Threads: spool_append/spool_commit from one writer thread (the MQTT
 * callback); spool_next/spool_wait from one reader thread (the sender);
 * spool_ack from any thread; spool_tick from the main thread. */
#ifndef MKB_SPOOL_H
#define MKB_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "record.h"

typedef struct spool spool_t;

typedef enum { SPOOL_FSYNC_ALWAYS, SPOOL_FSYNC_INTERVAL, SPOOL_FSYNC_NEVER } spool_fsync_t;
typedef enum { SPOOL_FULL_BLOCK, SPOOL_FULL_DROP_OLDEST } spool_full_t;

typedef struct {
    const char *dir;
    uint64_t max_bytes;     /* on-disk size at which on_full applies */
    uint64_t segment_bytes; /* a segment is closed once it passes this size */
    spool_fsync_t fsync;
    long long fsync_interval_ms;
    spool_full_t on_full;
} spool_opts_t;

typedef struct {
    uint64_t appended;      /* entries (messages, records) written this run */
    uint64_t handed;        /* entries the sender passed this run */
    uint64_t acked;         /* entries acknowledged this run (all their records settled) */
    uint64_t dropped;       /* entries dropped by on_full: drop_oldest */
    uint64_t corrupt;       /* damaged spans skipped (torn tails included) */
    uint64_t corrupt_bytes; /* bytes in them */
    uint64_t replay;        /* entries found unacknowledged at start */
    uint64_t bytes;         /* on disk now */
    uint64_t segments;      /* on disk now */
    uint64_t segment_bytes; /* the segment size in use (spool_open may lower it) */
    uint64_t write_errors;  /* failed commits (disk full, I/O error) */
    int64_t oldest_recv_ms; /* receive time of the oldest record sent and not acked; 0: none */
} spool_stats_t;

/* Opens (creating it if needed) the spool in OPTS->dir: takes the lock,
 * checks every segment (damage is logged and counted), deletes what the ack
 * file says was delivered, fits the segment size to max_bytes and the file
 * system's free space (logged when lowered), and starts a new segment. The reader then starts
 * with the records not yet acknowledged (the replay). */
int spool_open(const spool_opts_t *opts, spool_t **out, char *errstr, size_t errstr_size);

/* Persists the ack mark, syncs, releases the lock. NULL is a no-op. */
void spool_close(spool_t *s);

/* Writer: adds REC (its receive time included; its id is not kept) to the
 * pending batch (nothing is written yet). */
int spool_append(spool_t *s, const record_t *rec);

/* Writer: writes the pending batch with one write(2) (and fdatasync when
 * fsync is always). MKB_OK: the records are in the journal. MKB_ERR_RETRY:
 * the spool is full (on_full: block); try again later. MKB_ERR_IO: the write
 * failed (disk full...), nothing of the batch is in the journal, and
 * ERRSTR says why; the batch stays pending for the next try. On a full disk
 * the active segment is closed first (and the write tried once more in a new
 * one), so spool_tick can delete it once delivered and free the space. */
int spool_commit(spool_t *s, char *errstr, size_t errstr_size);

/* Writer: forgets the pending batch (the message will be redelivered). */
void spool_discard(spool_t *s);

/* Writer: adds the MQTT message M as received (a message entry: the
 * sender maps it) to the pending batch. */
int spool_append_msg(spool_t *s, const mqtt_msg_t *m);

/* An entry of the journal: a record, or an MQTT message as received. */
typedef struct {
    bool is_message;
    record_t rec;   /* a record (its id set) */
    mqtt_msg_t msg; /* a message */
    const char *id; /* "<spool id>-<segment>-<offset>" */
} spool_entry_t;

/* Reader: the entry at the reader's position, in journal order, with its
 * TICKET (never 0); the reader stays on it (it is "in hand") until
 * spool_pass, so the ack mark cannot pass it meanwhile. E's pointers stay
 * valid until the next peek. Peeking again before the pass gives the same
 * entry and ticket. MKB_ERR_RETRY: nothing to read now; MKB_ERR_IO: a
 * segment cannot be mapped (logged; try again later). */
int spool_peek(spool_t *s, spool_entry_t *e, uint64_t *ticket);

/* Reader: moves past the entry in hand, to whose TICKET RECORDS records
 * were handed (the sink acknowledges each with spool_ack, possibly before
 * this call). The ticket is settled once all of them are (at once when
 * RECORDS is 0). */
void spool_pass(spool_t *s, uint64_t ticket, uint32_t records);

/* Reader: the next record entry, in journal order (peek, pass; a
 * message entry is passed over), with its receive time and its
 * stable id "<spool id>-<segment>-<offset>" (REC->id). REC's pointers stay
 * valid until the next call. *TICKET (never 0) identifies it for spool_ack.
 * MKB_ERR_RETRY when there is nothing to read now; MKB_ERR_IO if a segment
 * cannot be mapped (logged; try again later). */
#define SPOOL_ID_LEN 56
int spool_next(spool_t *s, record_t *rec, uint64_t *ticket);

/* Reader: waits until something was written or TIMEOUT_MS passed. */
void spool_wait(spool_t *s, int timeout_ms);

/* True when the reader has read everything written so far. */
bool spool_caught_up(spool_t *s);

/* A record sent under TICKET was delivered (or settled for good). Returns
 * the time its message was received (ms since the epoch; 0 if unknown). */
int64_t spool_ack(spool_t *s, uint64_t ticket);

/* Main thread, every ~100 ms: advances and persists the ack mark, deletes
 * delivered segments, syncs per the fsync policy. */
void spool_tick(spool_t *s);

/* True when the spool holds max_bytes or more. */
bool spool_full(spool_t *s);

void spool_stats(spool_t *s, spool_stats_t *out);

#endif
