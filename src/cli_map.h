// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* `mqtt-kafka-bridge map`: runs one message through the rule engine and
 * prints the Kafka records the bridge would produce, or the dead letter. */
#ifndef MKB_CLI_MAP_H
#define MKB_CLI_MAP_H

#include <stdio.h>

#include "config.h"
#include "msg.h"

/* What map prints: text for a person, or one JSON document (the shape is
 * in docs/RECIPES.md, "map --output json"). */
typedef enum { CLI_MAP_TEXT, CLI_MAP_JSON } cli_map_format_t;

/* Prints to OUT in FORMAT (JSON: one document, only when the exit status
 * is 0 or 1). BIRTHS (NBIRTH) files: Sparkplug B births of the edge node
 * or device of MSG's topic, mapped first (their records not printed) so
 * aliases get names. Returns 0 when the message maps to records with no
 * dead letter, 1 for a dead letter or no matching route, 2 if the routes do
 * not compile or a birth cannot be read (errors on ERR). */
int cli_map_run(const config_t *cfg, const mqtt_msg_t *msg, const char *const *births,
                size_t nbirths, cli_map_format_t format, FILE *out, FILE *err);

#endif
