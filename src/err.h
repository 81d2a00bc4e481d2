// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The one error enum of the bridge: functions that do something return
 * MKB_OK (0) or one of these negative codes. */
#ifndef MKB_ERR_H
#define MKB_ERR_H

typedef enum {
    MKB_OK = 0,
    MKB_ERR_NOMEM = -1,    /* allocation failed */
    MKB_ERR_INVAL = -2,    /* bad argument or value */
    MKB_ERR_CONFIG = -3,   /* configuration rejected (details in errstr) */
    MKB_ERR_IO = -4,       /* file or socket error (errno in errstr) */
    MKB_ERR_MQTT = -5,     /* Paho reported a failure */
    MKB_ERR_KAFKA = -6,    /* librdkafka reported a fatal failure */
    MKB_ERR_RETRY = -7,    /* transient: try again later */
    MKB_ERR_NOMATCH = -8,  /* no route for a topic */
    MKB_ERR_STOPPED = -9,  /* the component is shutting down */
    MKB_ERR_TIMEOUT = -10, /* a bounded wait expired */
} mkb_err_t;

/* A static, human-readable description of an mkb_err_t. */
const char *mkb_strerror(int err);

#endif
