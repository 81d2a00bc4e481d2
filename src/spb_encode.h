// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Sparkplug B payloads written: the commands (NCMD, DCMD) the downlink
 * makes of Kafka records' JSON, and the rebirth request the bridge sends an
 * edge node whose aliases it cannot name. Through protobuf-c's code
 * generated from sparkplug_b.proto, as spb.c reads them. Pure. */
#ifndef MKB_SPB_ENCODE_H
#define MKB_SPB_ENCODE_H

#include <jansson.h>
#include <stdint.h>

#include "buf.h"
#include "spb.h"

/* Encodes a command payload (NCMD/DCMD) into OUT (appended): timestamp
 * TS_MS and the metrics of CMD, which is either
 *   {"metrics": [{"name": N, "value": V, "datatype": "Boolean" (optional),
 *                 "alias": A (optional)}, ...]}
 * or a plain object {"name": value, ...}. A metric's datatype is its
 * "datatype", else the resolver's (the birth, by name), else taken from the
 * JSON value: true/false Boolean, integer Int64, real Double, string String.
 * MKB_ERR_INVAL (WHY) for a value that does not fit its datatype (range
 * included), an unknown datatype, no metrics. */
int spb_encode_command(json_t *cmd, int64_t ts_ms, spb_resolve_t resolve, void *resolve_ctx,
                       buf_t *out, char *why, size_t why_size);

/* The rebirth request of the specification: an NCMD payload holding the
 * metric "Node Control/Rebirth" = true (Boolean), timestamp TS_MS. */
int spb_encode_rebirth(int64_t ts_ms, buf_t *out);

#endif
