// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "err.h"

const char *mkb_strerror(int err)
{
    switch ((mkb_err_t)err) {
    case MKB_OK: return "success";
    case MKB_ERR_NOMEM: return "out of memory";
    case MKB_ERR_INVAL: return "invalid argument";
    case MKB_ERR_CONFIG: return "configuration error";
    case MKB_ERR_IO: return "I/O error";
    case MKB_ERR_MQTT: return "MQTT error";
    case MKB_ERR_KAFKA: return "Kafka error";
    case MKB_ERR_RETRY: return "temporary failure, retry";
    case MKB_ERR_NOMATCH: return "no matching route";
    case MKB_ERR_STOPPED: return "stopped";
    case MKB_ERR_TIMEOUT: return "timed out";
    }
    return "unknown error";
}
