// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target, differential: jparse against jansson's own parser. They
 * must agree on what is JSON, and on the value when it is. Then jdump
 * against jansson's json_dumpb: the same text of that value, with reals at
 * 15 and at 17 significant digits. */
#include "buf.h"
#include "err.h"
#include "jdump.h"
#include "jparse.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void same_text(json_t *v, int digits)
{
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(digits);
    char *ref = json_dumps(v, flags);
    buf_t b = {0};
    if (jdump_append(&b, v, digits) != MKB_OK || !ref || b.len != strlen(ref) ||
        memcmp(b.p, ref, b.len) != 0) {
        fprintf(stderr, "jdump '%.*s', json_dumps '%s'\n", (int)b.len, b.p ? b.p : "",
                ref ? ref : "(null)");
        abort();
    }
    buf_free(&b);
    free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    json_error_t e;
    json_t *ours = jparse((const char *)data, size, 2000, why, sizeof(why));
    json_t *ref = json_loadb((const char *)data, size, JSON_DECODE_ANY, &e);
    /* jansson stops reading at a NUL byte (it accepts "1\0junk"); jparse
     * refuses it. Stricter is fine for payloads: compare only without NULs. */
    if (memchr(data, 0, size)) {
        json_decref(ours);
        json_decref(ref);
        return 0;
    }
    if (!ours != !ref) {
        fprintf(stderr, "disagree: jparse %s (%s), jansson %s (%s)\n", ours ? "ok" : "error",
                ours ? "" : why, ref ? "ok" : "error", ref ? "" : e.text);
        abort();
    }
    if (ours && !json_equal(ours, ref)) {
        fprintf(stderr, "different values\n");
        abort();
    }
    for (int digits = 15; ours && digits <= 17; digits += 2)
        same_text(ours, digits);
    json_decref(ours);
    json_decref(ref);
    return 0;
}
