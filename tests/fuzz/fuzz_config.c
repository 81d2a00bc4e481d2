// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: the configuration loader, the route compiler and the
 * command template compiler (downlink_check) on hostile YAML. Inputs naming files (mappings:, *_file) are skipped: they would read
 * this machine's files, which is not what is being tested. */
#include "downlink.h"
#include "config.h"
#include "err.h"
#include "mapper.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    /* "listen": metrics.listen resolves a name (getaddrinfo), a DNS query
     * per input; tests/unit/test_listen_addr.c covers what it parses. */
    if (strstr(text, "mappings") || strstr(text, "_file") || strstr(text, "listen")) {
        free(text);
        return 0;
    }
    config_t *cfg = NULL;
    char *errors = NULL;
    if (config_load_string("fuzz.yaml", text, &cfg, &errors) == MKB_OK) {
        mapper_t *m = NULL;
        if (mapper_new(cfg, &m, &errors) == MKB_OK)
            mapper_destroy(m);
        char cerr[1024];
        downlink_check(cfg, cerr, sizeof(cerr));
        config_destroy(cfg);
    }
    free(errors);
    free(text);
    return 0;
}
