// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* A JSON parser for the per-message path: builds the same jansson values
 * json_loadb(JSON_DECODE_ANY) would, about three times faster (jansson's
 * lexer reads through a character stream with per-byte callbacks; this one
 * scans the buffer directly and hands jansson already validated strings).
 * It refuses what jansson refuses: invalid UTF-8, \u0000, lone surrogates,
 * integers out of range, real overflow, trailing text; and nesting deeper
 * than MAX_DEPTH. tests/fuzz/fuzz_jparse.c checks it against jansson. */
#ifndef MKB_JPARSE_H
#define MKB_JPARSE_H

#include <jansson.h>
#include <stddef.h>

/* A new reference, or NULL with "line L column C: reason" in WHY. Invalid
 * UTF-8 anywhere (in a string or where a token should be) has the reason
 * "invalid UTF-8 at byte N", N counting from 1 at the first byte of TEXT and
 * naming the first byte of the bad sequence. */
json_t *jparse(const char *text, size_t len, int max_depth, char *why, size_t why_size);

/* The offset (from 0) of the first invalid UTF-8 sequence in S[0..LEN), or
 * LEN when there is none; the same rule as jparse's strings (and jansson's). */
size_t jparse_utf8_check(const char *s, size_t len);

#endif
