#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# prometheus.sh: a real Prometheus server (Debian's /usr/bin/prometheus) for
# the metrics tests, scraping one target every second.
#   prometheus.sh start DIR TARGET_HOST:PORT
#       write DIR/prometheus.yml (global scrape_interval 1s, one job
#       "mqtt-kafka-bridge" with TARGET as its only static target), start
#       Prometheus on a free loopback port with its TSDB under DIR/data, log in
#       DIR/prometheus.log, pid in DIR/pid; wait until GET /-/ready answers
#       200; write the port to DIR/prometheus.port and print it. Fails (and
#       leaves nothing running) if it is not ready within 30 s.
#   prometheus.sh stop DIR
#       SIGTERM, SIGKILL after 10 s; succeeds if nothing was running.
# Prometheus's command line names DIR (its config and storage paths), so the
# harness' check for leftover processes under MKB_HARNESS_DIR finds it.
# Needs: prometheus (PROMETHEUS_BIN, default prometheus on PATH) and
# tests/harness/freeport (HARNESS_FREEPORT, built by make).
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/brokers.sh"
PROMETHEUS_BIN=${PROMETHEUS_BIN:-prometheus}

prom_log() { echo "prometheus.sh: $*" >&2; }

# prom_ready PORT: GET /-/ready answers 200 (bash's /dev/tcp: no curl needed).
prom_ready() {
    ( # a subshell: a failed connect must not end the script
        exec 3<> "/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$1" >&3
        IFS= read -r -t 2 line <&3 || exit 1
        [[ $line == "HTTP/1."?" 200"* ]]
    )
}

prom_start() {
    local dir=$1 target=$2 port attempt pid
    case $target in
    *:[0-9]*) ;;
    *) prom_log "target must be HOST:PORT, not '$target'"; return 2 ;;
    esac
    command -v "$PROMETHEUS_BIN" > /dev/null || { prom_log "$PROMETHEUS_BIN not found"; return 1; }
    [ -x "$HARNESS_FREEPORT" ] || { prom_log "$HARNESS_FREEPORT missing; run make"; return 1; }
    mkdir -p "$dir/data" || return 1
    dir=$(cd "$dir" && pwd)
    if [ -f "$dir/pid" ] && harness_pid_alive "$(cat "$dir/pid")"; then
        prom_log "already running in $dir (pid $(cat "$dir/pid"))"
        return 1
    fi
    cat > "$dir/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mqtt-kafka-bridge
    static_configs:
      - targets: ["$target"]
CONF
    # The free port may be taken before Prometheus binds it: try again.
    for attempt in 1 2 3; do
        port=$("$HARNESS_FREEPORT" 1) || return 1
        setsid "$PROMETHEUS_BIN" --config.file="$dir/prometheus.yml" \
            --storage.tsdb.path="$dir/data" --web.listen-address="127.0.0.1:$port" \
            --log.level=warn >> "$dir/prometheus.log" 2>&1 < /dev/null &
        pid=$!
        echo "$pid" > "$dir/pid"
        disown "$pid"
        if harness_wait_until 30 "$pid" "prometheus on port $port" prom_ready "$port"; then
            echo "$port" > "$dir/prometheus.port"
            echo "$port"
            return 0
        fi
        prom_stop "$dir"
        grep -q 'address already in use' "$dir/prometheus.log" || break
        prom_log "port $port was taken (attempt $attempt); trying another"
    done
    prom_log "--- tail of $dir/prometheus.log"
    tail -n 30 "$dir/prometheus.log" >&2
    return 1
}

prom_stop() {
    local dir=$1 pid
    [ -f "$dir/pid" ] || return 0
    pid=$(cat "$dir/pid")
    if harness_pid_alive "$pid"; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 50); do
            harness_pid_alive "$pid" || break
            sleep 0.2
        done
        if harness_pid_alive "$pid"; then
            prom_log "prometheus ($pid) ignored SIGTERM for 10s; killing it"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
            for _ in $(seq 1 50); do
                harness_pid_alive "$pid" || break
                sleep 0.1
            done
        fi
    fi
    rm -f "$dir/pid" "$dir/prometheus.port"
}

cmd=${1:-}
case $cmd in
start) prom_start "${2:?usage: prometheus.sh start DIR TARGET_HOST:PORT}" \
    "${3:?usage: prometheus.sh start DIR TARGET_HOST:PORT}" ;;
stop) prom_stop "${2:?usage: prometheus.sh stop DIR}" ;;
*) echo "usage: prometheus.sh start DIR TARGET_HOST:PORT | stop DIR" >&2; exit 2 ;;
esac
