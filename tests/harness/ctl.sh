#!/usr/bin/env bash
# ctl.sh COMMAND DIR: act on the brokers a harness started in DIR, for
# fault-injection tests. Commands:
#   restart-mosquitto   SIGTERM (it saves its persistence), then start again
#   stop-kafka          SIGTERM and wait for it to exit
#   start-kafka         start it again on the same ports and data
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/brokers.sh"
cmd=${1:?command}
dir=${2:?harness dir}
case $cmd in
restart-mosquitto)
    harness_stop_pid "$dir/mosquitto/pid" mosquitto && harness_run_mosquitto "$dir" ;;
stop-kafka) harness_stop_pid "$dir/kafka/pid" kafka ;;
start-kafka) harness_run_kafka "$dir" ;;
*) echo "ctl.sh: unknown command $cmd" >&2; exit 2 ;;
esac
