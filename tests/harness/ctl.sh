#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# ctl.sh COMMAND DIR [ARGS]: act on the brokers a harness started in DIR, for
# fault-injection tests. Commands:
#   restart-mosquitto   SIGTERM (it saves its persistence), then start again
#   stop-mosquitto      SIGTERM and wait for it to exit
#   start-mosquitto     start it again with the same config and persistence
#   stop-kafka          SIGTERM every Kafka node and wait for them to exit
#   start-kafka         start every stopped node again on the same ports and
#                       data; wait until each lists all brokers
#   pause-kafka         SIGSTOP every Kafka JVM: a hung broker, not a closed
#                       one (its TCP connections stay open, nothing answers)
#   resume-kafka        SIGCONT every Kafka JVM (the stop paths do it too)
#   kafka-leader DIR TOPIC [PARTITION]
#                       print the node id leading the partition (default 0;
#                       -1: none), from kcat -L metadata
#   kafka-partition DIR TOPIC [PARTITION]
#                       print the partition's kcat -L line ("partition 0,
#                       leader 2, replicas: 2,3,1, isrs: 2,3,1")
#   kafka-isr DIR TOPIC [PARTITION]
#                       print the partition's in-sync replicas ("2,3,1")
#   kill-kafka-leader DIR TOPIC [PARTITION]
#                       SIGKILL the JVM of the partition's leader (no grace),
#                       wait until it is gone, print its node id
#   kill-kafka-node DIR N   SIGKILL node N, wait until it is gone
#   stop-kafka-node DIR N   SIGTERM node N and wait for it to exit (SIGKILL
#                       after 20 s: the last node of a quorum never exits)
#   start-kafka-node DIR N  start node N again on its ports and data; wait
#                       until it answers a metadata request listing all brokers
# Node ids are 1..MKB_KAFKA_NODES; the single node (the default) is node 1.
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/brokers.sh"
cmd=${1:?command}
dir=${2:?harness dir}
case $cmd in
restart-mosquitto)
    harness_stop_pid "$dir/mosquitto/pid" mosquitto && harness_run_mosquitto "$dir" ;;
stop-mosquitto) harness_stop_pid "$dir/mosquitto/pid" mosquitto ;;
start-mosquitto) harness_run_mosquitto "$dir" ;;
stop-kafka) harness_stop_kafka "$dir" ;;
start-kafka) harness_run_kafka "$dir" ;;
pause-kafka) harness_signal_kafka "$dir" STOP ;;
resume-kafka) harness_signal_kafka "$dir" CONT ;;
kafka-leader) harness_kafka_leader "$dir" "${3:?topic}" "${4:-0}" ;;
kafka-partition) harness_kafka_partition "$dir" "${3:?topic}" "${4:-0}" ;;
kafka-isr)
    line=$(harness_kafka_partition "$dir" "${3:?topic}" "${4:-0}") || exit 1
    line=${line#*, isrs: }
    echo "$line" | grep -oE '^[0-9]+(,[0-9]+)*' ;;
kill-kafka-leader)
    leader=$(harness_kafka_leader "$dir" "${3:?topic}" "${4:-0}") || exit 1
    [ "$leader" -ge 0 ] 2>/dev/null ||
        { harness_log "${3} partition ${4:-0} has no leader ($leader)"; exit 1; }
    harness_kill_kafka_node "$dir" "$leader" || exit 1
    echo "$leader" ;;
kill-kafka-node) harness_kill_kafka_node "$dir" "${3:?node id}" ;;
stop-kafka-node)
    nd=$(harness_kafka_node_dir "$dir" "${3:?node id}") || exit 1
    harness_stop_pid "$nd/pid" "kafka node $3" ;;
start-kafka-node) harness_run_kafka_node "$dir" "${3:?node id}" ;;
*) echo "ctl.sh: unknown command $cmd" >&2; exit 2 ;;
esac
