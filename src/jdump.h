// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Compact JSON text of a jansson value, byte for byte what
 * json_dumpb(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(digits))
 * writes, for the per-message path. jansson's dumper hands every few bytes
 * to a callback and prints every number with snprintf: it was 42% of the
 * mapper's instructions for an HVAC reading (make bench-micro, callgrind).
 * This one writes into the buffer directly, integers by hand, and reals
 * with few significant digits (21.77, the common case) without snprintf;
 * other reals take jansson's own route (%.*g, then ".0" added when there is
 * no point or exponent, and the exponent's '+' and leading zeros dropped).
 * tests/fuzz/fuzz_jparse.c and tests/unit/test_template.c compare it with
 * json_dumpb. */
#ifndef MKB_JDUMP_H
#define MKB_JDUMP_H

#include "buf.h"

#include <jansson.h>

/* Appends V's text to OUT with reals at DIGITS (1..17) significant digits.
 * MKB_ERR_NOMEM, or MKB_ERR_INVAL for a value jansson would not dump
 * (nesting deeper than 2048). */
int jdump_append(buf_t *out, const json_t *v, int digits);

#endif
