#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# make demo: start Mosquitto and Kafka on free loopback ports, the bridge with
# config/bridge.yaml, the HVAC simulator (sensors and actuators), set-points
# into Kafka every 10 s, a Sparkplug B edge node (pysparkplug; decoded by the
# route of mappings/sparkplug.yaml), and a Kafka consumer that prints the
# records as they arrive. Ctrl-C stops everything it started.
# DEMO_SECONDS=N stops it by itself after N seconds (used by tests).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/harness/brokers.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/mkb-demo.XXXXXX")
pids=()
rc=0
cleanup() {
    trap - EXIT INT TERM
    echo
    echo "demo: stopping"
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    harness_stop "$dir" || rc=1
    [ $rc -ne 0 ] || rm -rf "$dir"
    exit $rc
}
trap cleanup EXIT
trap 'cleanup' INT TERM

echo "demo: starting Mosquitto and Kafka (first start of Kafka takes a few seconds)"
harness_start "$dir" || { rc=1; exit 1; }
set -a; . "$dir/env"; set +a
export MKB_CLIENT_ID="demo-bridge-$$"
export MKB_SPOOL_DIR="$dir/spool"   # the brokers are new each run: so is the spool
MKB_METRICS_LISTEN="127.0.0.1:$("$root/build/freeport" 1)"
export MKB_METRICS_LISTEN

# setpoint N: an operator's set-point for s1/u1 into Kafka (hvac.commands).
setpoint() {
    printf '{"site":"s1","unit":"u1","setpoint":%s,"mode":"auto"}\n' "$1" |
        kcat -b "$MKB_KAFKA_BOOTSTRAP" -q -P -t hvac.commands -k s1.u1
}
setpoint 21.0 # the first one also creates the command topic

echo "demo: starting the bridge with config/bridge.yaml"
"$root/mqtt-kafka-bridge" -c "$root/config/bridge.yaml" > "$dir/bridge.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    grep -q 'ready: forwarding' "$dir/bridge.log" && break
    kill -0 "${pids[0]}" 2>/dev/null || { cat "$dir/bridge.log"; rc=1; exit 1; }
    sleep 0.1
done
sed 's/^/[bridge] /' "$dir/bridge.log"
tail -n0 -f "$dir/bridge.log" --pid="${pids[0]}" | sed -u 's/^/[bridge] /' &
pids+=($!)

echo "demo: the simulator (build/mqtt-kafka-bridge-sim) publishes HVAC readings for"
echo "      sites s1, s2 (units u1, u2) every second, energy every 10 s, a faulty reading"
echo "      (no humidity) every 15 s, and prints the set-points its actuators receive"
echo "demo: metrics on http://$MKB_METRICS_LISTEN/metrics (also /healthz, /readyz)"
echo "      a new set-point goes into Kafka (hvac.commands) every 10 s"
"$root/build/mqtt-kafka-bridge-sim" --uri "$MKB_MQTT_URI" --rate 4 --faulty --quiet &
pids+=($!)
edge_py="$root/.cache/sparkplug/bin/python"
if [ -x "$edge_py" ]; then
    echo "demo: a Sparkplug B edge node (pysparkplug, tests/sparkplug/edge_node.py) publishes"
    echo "      spBv1.0/Demo/{NBIRTH,NDATA,...}/Line1[/Motor1]: births, then data by alias every 3 s;"
    echo "      the bridge (route sparkplug, mappings/sparkplug.yaml) names and types every"
    echo "      metric, one record each. See them (Ctrl-C to stop):"
    echo "        kcat -b $MKB_KAFKA_BOOTSTRAP -C -o beginning -t sparkplug.metrics -f '%k  %s\\n'"
    echo "      births and deaths (printed below): the same with -t sparkplug.status"
    "$edge_py" "$root/tests/sparkplug/edge_node.py" --uri "$MKB_MQTT_URI" --group Demo \
        --edge-node Line1 --device Motor1 --auto 3 > "$dir/edge-node.log" 2>&1 &
    pids+=($!)
else
    echo "demo: no Sparkplug B edge node: $edge_py is missing (make deps installs pysparkplug)"
fi
(
    i=0
    while sleep 10; do
        i=$((i + 1))
        setpoint "2$((i % 4)).5"
    done
) &
pids+=($!)

# consume TOPIC FORMAT: print TOPIC's records once the bridge has created it
# (kcat's simple consumer gives up on a topic that does not exist yet).
consume() {
    (
        until kcat -b "$MKB_KAFKA_BOOTSTRAP" -L -t "$1" 2>/dev/null | grep -q 'partition 0'; do
            sleep 0.5
        done
        exec kcat -b "$MKB_KAFKA_BOOTSTRAP" -q -C -o beginning -u -f "$2" -t "$1"
    ) &
    pids+=($!)
}
echo "demo: records arriving in Kafka (Ctrl-C to stop):"
consume hvac.telemetry '[kafka]  %t  key=%k  %s\n'
consume hvac.energy '[kafka]  %t     key=%k  %s\n'
consume iot.deadletter '[kafka]  %t  key=%k  %s\n         headers: %h\n'
[ -x "$edge_py" ] && consume sparkplug.status '[kafka]  %t  key=%k  %s\n'

if [ -n "${DEMO_SECONDS:-}" ]; then
    sleep "$DEMO_SECONDS"
else
    wait "${pids[0]}"
    echo "demo: the bridge exited"; rc=1
fi
