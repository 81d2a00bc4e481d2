// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "dead_letter.h"

#include <stdio.h>

rd_kafka_headers_t *dead_letter_mark(rd_kafka_headers_t *h, const char *reason,
                                     const char *const *pairs)
{
    if (!h)
        h = rd_kafka_headers_new(4);
    if (!reason)
        return h;
    rd_kafka_header_remove(h, DEAD_LETTER_REASON);
    rd_kafka_header_add(h, DEAD_LETTER_REASON, -1, reason, -1);
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        rd_kafka_header_add(h, pairs[i], -1, pairs[i + 1], -1);
    return h;
}

rd_kafka_headers_t *dead_letter_headers(const rd_kafka_headers_t *orig, const char *reason,
                                        const char *const *pairs)
{
    return dead_letter_mark(orig ? rd_kafka_headers_copy(orig) : NULL, reason, pairs);
}

void dead_letter_value_bytes(rd_kafka_headers_t *h, size_t len)
{
    const void *v;
    size_t vl;
    char n[32];
    if (rd_kafka_header_get_last(h, DEAD_LETTER_VALUE_BYTES, &v, &vl) == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    snprintf(n, sizeof(n), "%zu", len);
    rd_kafka_header_add(h, DEAD_LETTER_VALUE_BYTES, -1, n, -1);
}
