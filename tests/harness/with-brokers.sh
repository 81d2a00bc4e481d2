#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# with-brokers.sh CMD [ARGS...]: start Mosquitto and Kafka (tests/harness/brokers.sh),
# run CMD with MKB_MQTT_URI, MKB_KAFKA_BOOTSTRAP, MKB_HARNESS_DIR exported, then
# stop both, whether CMD passed, failed, or was interrupted (Ctrl-C).
# Exit status: CMD's, or 1 if the brokers could not start or a process was left.
# MKB_KAFKA_NODES=3 starts a three-node Kafka cluster instead of one node
# (MKB_KAFKA_BOOTSTRAP then lists all three; see brokers.sh).
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/brokers.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/mkb-harness.XXXXXX")
rc=1
cleanup() {
    trap - EXIT INT TERM
    if ! harness_stop "$dir"; then
        [ "$rc" -ne 0 ] || rc=1
    fi
    if [ "$rc" -eq 0 ] && [ -z "${MKB_KEEP_HARNESS_DIR:-}" ]; then
        rm -rf "$dir"
    else
        harness_log "logs kept in $dir"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'rc=130; cleanup' INT
trap 'rc=143; cleanup' TERM

harness_start "$dir" || { rc=1; exit 1; }
set -a
. "$dir/env"
set +a
"$@"
rc=$?
exit "$rc"
