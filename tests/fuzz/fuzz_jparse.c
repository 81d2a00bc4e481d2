// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target, differential: jparse against jansson's own parser. They
 * must agree on what is JSON, and on the value when it is. */
#include "jparse.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    json_decref(ours);
    json_decref(ref);
    return 0;
}
