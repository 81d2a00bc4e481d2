#include "dead_letter.h"

#include <stdarg.h>
#include <stdio.h>

static rd_kafka_headers_t *vmark(rd_kafka_headers_t *h, const char *reason, va_list ap)
{
    if (!h)
        h = rd_kafka_headers_new(4);
    if (!reason)
        return h;
    rd_kafka_header_remove(h, DEAD_LETTER_REASON);
    rd_kafka_header_add(h, DEAD_LETTER_REASON, -1, reason, -1);
    for (const char *name; (name = va_arg(ap, const char *)) != NULL;) {
        const char *value = va_arg(ap, const char *);
        rd_kafka_header_add(h, name, -1, value, -1);
    }
    return h;
}

rd_kafka_headers_t *dead_letter_mark(rd_kafka_headers_t *h, const char *reason, ...)
{
    va_list ap;
    va_start(ap, reason);
    h = vmark(h, reason, ap);
    va_end(ap);
    return h;
}

rd_kafka_headers_t *dead_letter_headers(const rd_kafka_headers_t *orig, const char *reason, ...)
{
    va_list ap;
    va_start(ap, reason);
    rd_kafka_headers_t *h = vmark(orig ? rd_kafka_headers_copy(orig) : NULL, reason, ap);
    va_end(ap);
    return h;
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
