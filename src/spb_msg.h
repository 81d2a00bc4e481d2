// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* One MQTT message seen as Sparkplug B, for the routes that read it as
 * payload: sparkplug_b: its topic split once, its payload decoded once per
 * set of decoding options (spb.c), and what it tells the birth state
 * (spb_state.c: births, sequence numbers, deaths) applied once, however many
 * routes take it. Births, deaths and STATE also give a status object (the
 * online/offline records of sparkplug.status_topic). Lives on the stack of
 * mapper_process; its jansson values come from the message's arena. */
#ifndef MKB_SPB_MSG_H
#define MKB_SPB_MSG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "spb.h"
#include "spb_state.h"

typedef struct {
    spb_state_t *state;
    const char *topic_text;
    size_t topic_len;
    size_t max_metrics;
    bool parsed;        /* topic split (topic_ok says how it went) */
    bool topic_ok;
    spb_topic_t topic;
    bool applied;       /* the state has been told of this message */
    json_t *doc[2][2];  /* decoded, by [flat][properties]; NULL: not yet */
    bool failed;        /* the payload cannot be decoded: why */
    json_t *status;     /* births, deaths, STATE: the status object */
    bool command;       /* NCMD / DCMD: not data */
    size_t unresolved;  /* metrics no birth names */
    spb_seq_t seq;      /* what its seq said (data, DBIRTH, DDEATH) */
    bool gap_logged;    /* the first gap of a node, logged here */
    bool rebirth_asked; /* a route asked for a rebirth for this message */
    char why[400];
} spb_msg_t;

/* Starts on a message of topic TOPIC (borrowed until spb_msg_end). */
void spb_msg_begin(spb_msg_t *s, spb_state_t *state, const char *topic, size_t topic_len,
                   size_t max_metrics);

/* The message decoded with the options FLAT and PROPERTIES into *DOC
 * (borrowed; NULL for NCMD/DCMD, deaths and STATE, which s->command and
 * s->status tell). The first call also tells the state. MKB_ERR_INVAL: the
 * topic or payload is not Sparkplug B, reason in s->why; MKB_ERR_NOMEM. */
int spb_msg_doc(spb_msg_t *s, const void *payload, size_t len, bool flat, bool properties,
                json_t **doc);

/* True when the edge node should be asked for a rebirth for this message
 * (a sequence gap, metrics no birth names). */
bool spb_msg_wants_rebirth(const spb_msg_t *s);

/* The default record key of O (a flat metric, a message or a status
 * object): group/edge_node[/device][/name] ("alias:N" for an unnamed
 * metric), the host id for STATE; appended to KEY. */
int spb_msg_key(const json_t *o, buf_t *key);

void spb_msg_end(spb_msg_t *s);

#endif
