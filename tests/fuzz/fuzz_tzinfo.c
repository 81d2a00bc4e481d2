// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: tz_parse on hostile TZif images (the seeds are real zone
 * files from Debian 12's tzdata), then conversions both ways around the
 * instants the image's own bytes name. Nothing may crash or read outside the
 * image; a local time read back must show that local time unless it is in a
 * gap. */
#include "err.h"
#include "tzinfo.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    tz_t *tz = tz_parse(data, size, why, sizeof(why));
    if (!tz)
        return 0;
    for (size_t i = 0; i + 8 <= size && i < 512; i += 8) {
        int64_t t;
        memcpy(&t, data + i, 8);
        t %= INT64_C(1) << 36; /* within the years the bridge can see, and more */
        int32_t off = tz_offset_at(tz, t);
        if (off < -26 * 3600 || off > 26 * 3600)
            abort();
        int64_t u = 0;
        if (tz_local_to_utc(tz, t + off, &u) != MKB_OK)
            abort();
        /* t + off shows at t, so it is no gap: u shows it too, no later */
        if (u > t || u + tz_offset_at(tz, u) != t + off) {
            fprintf(stderr, "local %lld: %lld, expected %lld or earlier\n", (long long)t + off,
                    (long long)u, (long long)t);
            abort();
        }
    }
    tz_destroy(tz);
    return 0;
}
