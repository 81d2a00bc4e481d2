#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# make check-image: the image `make image` built (IMAGE), run on the host's
# network against the harness brokers (inside tests/harness/with-brokers.sh),
# with the image's own configuration and a named volume for the spool:
#   - `IMAGE check` exits 0 and says the configuration is valid, and exits 1
#     naming metrics.listen when MKB_METRICS_LISTEN is bad; `IMAGE -V` names
#     the version in VERSION
#   - the bridge answers /healthz and /readyz; its process runs as uid and
#     gid 10001, with a read-only root file system, no capabilities and
#     no_new_privs (run as deploy/kubernetes/ asks; read from /proc on the
#     host, not asked of the image)
#   - the image's HEALTHCHECK passes (`podman healthcheck run`)
#   - HVAC readings published to Mosquitto are records in Kafka
#     hvac.telemetry, read back with kcat: key, fields, the mkb.id header
#   - SIGTERM (`podman stop`) right after the bridge took a batch: exit
#     status 0 within the grace period, every reading of the batch in Kafka
#   - the spool volume across containers: a bridge whose Kafka is
#     unreachable journals N QoS 1 readings and is stopped; a new container
#     on the same volume (another MQTT client id, so Mosquitto has nothing
#     to send it again) delivers all N, each once
#   - compose.yaml's bridge service (tests/image/compose-bridge.py) with
#     podman-compose: up, a reading into Kafka, down
# podman only (podman healthcheck run, --health-interval disable, podman-compose).
# IMAGE_RUN_FLAGS (the Makefile's: runc, ulimits),
# IMAGE_CHECK_NAME: prefix of the containers, volumes and network it makes
# (and removes), PODMAN_COMPOSE (default: the venv .cache/compose of make
# deps). Prints ok/FAIL lines, "image: N passed, N failed" and the time.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
IMAGE=${IMAGE:-mqtt-kafka-bridge:$(cat VERSION)}
engine=podman
# --health-interval disable: no systemd timer for the HEALTHCHECK (this
# check runs it itself; hosts without systemd as init cannot make one).
read -r -a run_flags <<<"${IMAGE_RUN_FLAGS:-} --health-interval disable"
name=${IMAGE_CHECK_NAME:-mkb-check-image}-$$
vol=$name-spool
freeport=${HARNESS_FREEPORT:-$root/build/freeport}
grace=20 # podman stop's timeout for the SIGTERM check (compose.yaml gives 60 s)

pass=0 fail=0 t0=$SECONDS
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; return 1; fi; }
finish() {
    echo "image: $pass passed, $fail failed ($((SECONDS - t0)) s)"
    [ "$fail" -eq 0 ]
    exit
}

for v in MKB_MQTT_URI MKB_KAFKA_BOOTSTRAP; do
    [ -n "${!v:-}" ] || { echo "check-image: $v not set: run inside tests/harness/with-brokers.sh" >&2; exit 2; }
done
if ! "$engine" image inspect "$IMAGE" >/dev/null 2>&1; then
    bad "image $IMAGE exists ($engine): run make image"
    finish
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkb-check-image.XXXXXX")
cleanup() {
    local c
    for c in $("$engine" ps -a --filter "name=^$name-" --format '{{.Names}}'); do
        [ -z "${KEEP:-}" ] || "$engine" logs "$c" >"$tmp/$c.log" 2>&1
        "$engine" rm -f -v "$c" >/dev/null 2>&1 # -v: and its anonymous volumes
    done
    for c in $("$engine" volume ls --filter "name=^$name-" --format '{{.Name}}'); do
        "$engine" volume rm -f "$c" >/dev/null 2>&1
    done
    for c in $("$engine" network ls --filter "name=^$name-" --format '{{.Name}}'); do
        "$engine" network rm -f "$c" >/dev/null 2>&1
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

mqtt_host=${MKB_MQTT_URI#*://}
mqtt_port=${mqtt_host##*:}
mqtt_host=${mqtt_host%:*}

# run_bridge SUFFIX METRICS_PORT [podman run options]: start the bridge of
# the image in the background, its spool on the volume.
run_bridge() {
    local c=$name-$1 port=$2
    shift 2
    "$engine" run -d --name "$c" --network host "${run_flags[@]}" \
        -e MKB_MQTT_URI="$MKB_MQTT_URI" -e MKB_KAFKA_BOOTSTRAP="$MKB_KAFKA_BOOTSTRAP" \
        -e MKB_CLIENT_ID="$c" -e MKB_METRICS_LISTEN="127.0.0.1:$port" \
        -v "$vol:/var/lib/mqtt-kafka-bridge" "$@" "$IMAGE" >/dev/null 2>>"$tmp/podman.err"
}

http_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1$2"; }
# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.3
    done
}
answers_200() { [ "$(http_code "$1" "$2")" = 200 ]; }
# metric PORT NAME: the value of an unlabelled sample.
metric() {
    curl -s -m 2 "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { print $2 + 0 }'
}
metric_at_least() { local v; v=$(metric "$1" "$2"); [ -n "$v" ] && [ "${v%.*}" -ge "$3" ]; }

# publish SITE FIRST COUNT: readings rh=FIRST..FIRST+COUNT-1 of unit ahu-1,
# QoS 1, one mosquitto_pub for all (-l: a message per line).
publish() {
    local i ts
    ts=$(date +%s%3N)
    for ((i = $2; i < $2 + $3; i++)); do
        printf '{"temp_f": 71.6, "rh": %d, "ts": %d}\n' "$i" "$((ts + i))"
    done | mosquitto_pub -h "$mqtt_host" -p "$mqtt_port" -q 1 -l \
        -i "$name-pub-$1" -t "sites/$1/hvac/ahu-1/telemetry"
}

# kafka_rh SITE: "rh<TAB>site<TAB>has mkb.id" of SITE's records in
# hvac.telemetry (key SITE.ahu-1), one line each, from kcat.
kafka_rh() {
    kcat -b "$MKB_KAFKA_BOOTSTRAP" -C -t hvac.telemetry -o beginning -e -q \
        -f '%k\t%h\t%s\n' 2>/dev/null | python3 -c '
import json, sys
key = sys.argv[1] + ".ahu-1"
for line in sys.stdin:
    k, h, v = line.rstrip("\n").split("\t", 2)
    if k == key:
        r = json.loads(v)
        rh = r.get("humidity_pct")
        rh = int(rh) if isinstance(rh, (int, float)) and rh == int(rh) else rh
        print("%s\t%s\t%s" % (rh, r.get("site"), "mkb.id=" in h))
' "$1"
}
# kafka_has SITE COUNT: exactly the readings rh=0..COUNT-1 of SITE, each
# once, with its site and an mkb.id header.
kafka_has() {
    local want
    want=$(for ((i = 0; i < $2; i++)); do printf '%d\t%s\tTrue\n' "$i" "$1"; done)
    kafka_rh "$1" | sort -n >"$tmp/got-$1"
    [ "$(cat "$tmp/got-$1")" = "$want" ]
}
kafka_count() { kafka_rh "$1" | wc -l; }

echo "== $IMAGE ($engine ${run_flags[*]})"
out=$("$engine" run --rm --network none "${run_flags[@]}" "$IMAGE" check 2>&1)
rc=$?
check "IMAGE check: exit $rc, the shipped configuration is valid: $(echo "$out" | tail -n1)" \
    test "$rc" -eq 0 -a -n "$out"
out=$("$engine" run --rm --network none "${run_flags[@]}" -e MKB_METRICS_LISTEN=nonsense "$IMAGE" check 2>&1)
rc=$?
out=$(grep -m1 'metrics.listen' <<<"$out")
check "IMAGE check refuses a bad MKB_METRICS_LISTEN: exit $rc: ${out:0:100}" test "$rc" -eq 1 -a -n "$out"
out=$("$engine" run --rm --network none "${run_flags[@]}" "$IMAGE" -V 2>"$tmp/err")
check "IMAGE -V names version $(cat VERSION): $out" grep -qF "$(cat VERSION)" <<<"$out"

"$engine" volume create "$vol" >/dev/null
port=$("$freeport")
# As deploy/kubernetes/deployment.yaml's securityContext would run it.
run_bridge a "$port" --read-only --cap-drop ALL --security-opt no-new-privileges
check "/healthz answers 200" wait_for 30 answers_200 "$port" /healthz
check "/readyz answers 200 (MQTT and Kafka connected)" wait_for 60 answers_200 "$port" /readyz
pid=$("$engine" inspect -f '{{.State.Pid}}' "$name-a")
ids=$(awk '/^(Uid|Gid):/ { printf "%s %s %s %s %s ", $1, $2, $3, $4, $5 }' "/proc/$pid/status" 2>/dev/null)
check "the bridge process (host pid $pid, $(cat "/proc/$pid/comm" 2>/dev/null)) runs as 10001: $ids" \
    test "$ids" = "Uid: 10001 10001 10001 10001 Gid: 10001 10001 10001 10001 "
confined=$(awk '$1 == "CapBnd:" || $1 == "NoNewPrivs:" { printf "%s %s ", $1, $2 }' "/proc/$pid/status"
    awk '$5 == "/" { split($6, o, ","); print "root " o[1] }' "/proc/$pid/mountinfo")
check "and confined: $confined" test "$confined" = "CapBnd: 0000000000000000 NoNewPrivs: 1 root ro"
out=$("$engine" healthcheck run "$name-a" 2>&1)
rc=$?
check "HEALTHCHECK passes (podman healthcheck run: exit $rc${out:+, $out})" test "$rc" -eq 0

site=img$$
publish "$site" 0 5
check "5 readings published to Mosquitto are records in Kafka (key, fields, mkb.id)" \
    wait_for 30 kafka_has "$site" 5 || sed 's/^/     got: /' "$tmp/got-$site"

# SIGTERM right after the bridge took a batch (received, maybe not yet acknowledged).
took=$(metric "$port" mkb_mqtt_messages_received_total)
publish "$site-term" 0 200
wait_for 30 metric_at_least "$port" mkb_mqtt_messages_received_total "$((${took%.*} + 200))"
t=$(date +%s%N)
"$engine" stop -t "$grace" "$name-a" >/dev/null 2>>"$tmp/podman.err"
ms=$((($(date +%s%N) - t) / 1000000))
rc=$("$engine" inspect -f '{{.State.ExitCode}}' "$name-a")
check "SIGTERM (podman stop): exit $rc in $ms ms, within ${grace} s" test "$rc" = 0 -a "$ms" -lt $((grace * 1000))
check "the 200 readings the bridge took before SIGTERM are in Kafka, each once" \
    wait_for 10 kafka_has "$site-term" 200
"$engine" logs "$name-a" 2>&1 | tail -n 3 | sed 's/^/     log: /'

# The spool volume: Kafka unreachable for container b (a port nobody
# listens on), N readings journaled, b stopped; c delivers them.
n=50 dead=$("$freeport")
port=$("$freeport")
run_bridge b "$port" -e MKB_KAFKA_BOOTSTRAP="127.0.0.1:$dead"
wait_for 30 answers_200 "$port" /healthz
# its subscription in force (healthz answers before it): then a reading counts
wait_for 30 metric_at_least "$port" mkb_mqtt_subscriptions 1
publish "$site-spool" 0 "$n"
check "$n readings journaled while Kafka is unreachable (mkb_spool_records >= $n)" \
    wait_for 30 metric_at_least "$port" mkb_spool_records "$n"
"$engine" stop -t 3 "$name-b" >/dev/null 2>>"$tmp/podman.err" # its flush cannot succeed: KILL after 3 s
got=$(kafka_count "$site-spool")
check "none of them reached Kafka ($got records)" test "$got" -eq 0
port=$("$freeport")
run_bridge c "$port"
check "a new container on the same volume delivers all $n, each once" \
    wait_for 60 kafka_has "$site-spool" "$n" ||
    { "$engine" logs "$name-c" 2>&1 | tail -n 20; uniq -c "$tmp/got-$site-spool" | head; }
spool_empty() { [ "$(metric "$port" mkb_spool_records)" = 0 ]; }
check "its spool is empty after (mkb_spool_records 0)" wait_for 10 spool_empty
"$engine" stop -t "$grace" "$name-c" >/dev/null 2>>"$tmp/podman.err"

# compose.yaml's bridge service with podman-compose (Debian's), the image as
# built, on the host's network against the harness brokers. Not run: its
# mosquitto and kafka services (their images come from a registry) and so
# depends_on. tests/image/compose-bridge.py writes that file.
compose=${PODMAN_COMPOSE:-$root/.cache/compose/bin/podman-compose}
if [ -x "$compose" ]; then
    port=$("$freeport")
    project=$name-compose
    MKB_METRICS_LISTEN=127.0.0.1:$port python3 tests/image/compose-bridge.py compose.yaml "$IMAGE" \
        >"$tmp/compose.yaml"
    pc=("$compose" -p "$project" -f "$tmp/compose.yaml")
    out=$("${pc[@]}" --podman-run-args="${run_flags[*]}" up -d --no-build 2>&1)
    check "podman-compose up -d: compose.yaml's bridge service runs" \
        wait_for 30 answers_200 "$port" /readyz || echo "$out" | tail -n 5
    publish "$site-compose" 0 3
    check "3 readings published to Mosquitto are records in Kafka" wait_for 30 kafka_has "$site-compose" 3
    # down -v removes the named volume, not the anonymous one of the
    # image's VOLUME /etc/mqtt-kafka-bridge: that one by name, after.
    anon=$("$engine" inspect -f '{{range .Mounts}}{{if eq .Destination "/etc/mqtt-kafka-bridge"}}{{.Name}}{{end}}{{end}}' \
        "${project}_bridge_1" 2>/dev/null)
    out=$("${pc[@]}" down -v 2>&1)
    [ -z "$anon" ] || "$engine" volume rm -f "$anon" >/dev/null 2>&1
    left=$("$engine" ps -a --filter "name=^$project" --format '{{.Names}}')
    check "podman-compose down -v: no container left${left:+: $left}" test -z "$left"
else
    bad "compose.yaml: needs $compose (make deps)"
fi
finish
