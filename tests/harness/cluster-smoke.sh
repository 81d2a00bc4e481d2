#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# cluster-smoke.sh: checks the harness's three-node Kafka cluster survives
# losing a partition leader. Run it as
#   MKB_KAFKA_NODES=3 tests/harness/with-brokers.sh tests/harness/cluster-smoke.sh
# It creates a topic (1 partition, RF 3: a metadata request auto-creates it
# with the cluster's defaults), produces SMOKE_N messages (default 1000) with
# acks=all, SIGKILLs the partition leader (ctl.sh kill-kafka-leader), waits
# up to 30 s for another node to lead, produces SMOKE_N more with acks=all,
# restarts the killed node (ctl.sh start-kafka-node), waits up to 60 s for it
# to rejoin the ISR, and reads everything back: exactly m-1 .. m-2N, in order.
# Prints each step with its time; exit 0 only if every step held.
# Scratch files (kcat logs, what was read) in $MKB_HARNESS_DIR/cluster-smoke.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ctl=$here/ctl.sh
dir=${MKB_HARNESS_DIR:?run under tests/harness/with-brokers.sh}
boot=${MKB_KAFKA_BOOTSTRAP:?run under tests/harness/with-brokers.sh}
n=${SMOKE_N:-1000}
topic=cluster-smoke-$$
work=$dir/cluster-smoke
mkdir -p "$work"

ms() { date +%s%3N; }
t_start=$(ms)
secs() { # MS: milliseconds as seconds with one decimal
    printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100))
}
say() { echo "cluster-smoke: [$(secs $(($(ms) - t_start)))s] $*"; }
fail() {
    say "FAIL: $*"
    exit 1
}

# produce FIRST LAST: messages m-FIRST .. m-LAST, acks=all, idempotent.
produce() {
    local first=$1 last=$2 t0 rc
    t0=$(ms)
    seq "$first" "$last" | sed 's/^/m-/' |
        timeout 90 kcat -P -b "$boot" -t "$topic" -X acks=all -X enable.idempotence=true \
            -X message.timeout.ms=60000 2> "$work/produce-$first.err"
    rc=$?
    if [ $rc -ne 0 ] || grep -qi 'fail.*deliver\|delivery failed' "$work/produce-$first.err"; then
        tail -n 20 "$work/produce-$first.err" >&2
        fail "producing m-$first .. m-$last (kcat exit $rc)"
    fi
    say "produced m-$first .. m-$last with acks=all in $(secs $(($(ms) - t0)))s" \
        "($(grep -c . "$work/produce-$first.err") kcat log lines in $work/produce-$first.err)"
}

isr_has_all() { # ISR of partition 0 lists nodes 1, 2 and 3
    local isr
    isr=$("$ctl" kafka-isr "$dir" "$topic" 2>/dev/null) || return 1
    [ "$(echo "$isr" | tr , '\n' | sort -n | tr '\n' ' ')" = "1 2 3 " ]
}

[ "${MKB_KAFKA_NODES:-1}" = 3 ] || fail "needs MKB_KAFKA_NODES=3 (got ${MKB_KAFKA_NODES:-unset})"
say "cluster $boot, topic $topic, $n messages per phase"

# 1. Create the topic: a metadata request for it auto-creates it (1 partition,
#    RF 3 are the cluster's defaults); wait until all three replicas are in sync.
kcat -b "$boot" -L -t "$topic" -m 5 > /dev/null 2>&1
deadline=$((SECONDS + 30))
until isr_has_all; do
    [ $SECONDS -lt $deadline ] || fail "topic $topic not created with ISR 1,2,3 within 30s"
    sleep 0.2
done
part=$("$ctl" kafka-partition "$dir" "$topic") || fail "no metadata for $topic"
replicas=${part#*replicas: }
replicas=${replicas%%, isrs*}
[ "$(echo "$replicas" | tr , '\n' | grep -c .)" = 3 ] || fail "replication factor is not 3: $part"
kcat -b "$boot" -L -t "$topic" -m 5 2>/dev/null | grep -q "^  topic \"$topic\" with 1 partitions:" ||
    fail "$topic does not have exactly 1 partition"
say "created $topic: $part"

# 2. First half.
produce 1 "$n"

# 3. SIGKILL the leader; another node must lead within 30 s.
leader=$("$ctl" kafka-leader "$dir" "$topic") || fail "no leader for $topic"
t_kill=$(ms)
killed=$("$ctl" kill-kafka-leader "$dir" "$topic") || fail "kill-kafka-leader failed"
[ "$killed" = "$leader" ] || say "note: leader changed from $leader to $killed just before the kill"
say "SIGKILLed leader node $killed (kill and reap took $(secs $(($(ms) - t_kill)))s)"
new=""
while :; do
    new=$("$ctl" kafka-leader "$dir" "$topic" 2>/dev/null) || new=""
    [ -n "$new" ] && [ "$new" != -1 ] && [ "$new" != "$killed" ] && break
    [ $(($(ms) - t_kill)) -lt 30000 ] || fail "no new leader 30s after killing node $killed (last: ${new:-none})"
    sleep 0.2
done
say "new leader node $new, $(secs $(($(ms) - t_kill)))s after the kill;" \
    "$("$ctl" kafka-partition "$dir" "$topic")"

# 4. Second half, with one node down (ISR 2 = min.insync.replicas).
produce $((n + 1)) $((2 * n))

# 5. Restart the killed node; it must answer and rejoin the ISR.
t0=$(ms)
"$ctl" start-kafka-node "$dir" "$killed" || fail "start-kafka-node $killed failed"
say "node $killed restarted and answering in $(secs $(($(ms) - t0)))s"
deadline=$((SECONDS + 60))
until isr_has_all; do
    [ $SECONDS -lt $deadline ] || fail "node $killed not back in the ISR within 60s:" \
        "$("$ctl" kafka-partition "$dir" "$topic")"
    sleep 0.2
done
say "node $killed back in the ISR $(secs $(($(ms) - t0)))s after the restart;" \
    "$("$ctl" kafka-partition "$dir" "$topic")"

# 6. Read everything back: exactly m-1 .. m-2N, once each, in order.
t0=$(ms)
timeout 90 kcat -C -b "$boot" -t "$topic" -o beginning -e -q -f '%s\n' \
    > "$work/consumed" 2> "$work/consume.err"
rc=$?
if [ $rc -ne 0 ]; then
    tail -n 20 "$work/consume.err" >&2
    fail "consuming $topic (kcat exit $rc)"
fi
seq 1 $((2 * n)) | sed 's/^/m-/' > "$work/expected"
got=$(grep -c . "$work/consumed")
uniq=$(sort -u "$work/consumed" | grep -c .)
say "read back $got messages ($uniq distinct) in $(secs $(($(ms) - t0)))s"
if ! cmp -s "$work/expected" "$work/consumed"; then
    missing=$(sort "$work/expected" | comm -23 - <(sort -u "$work/consumed") | wc -l)
    fail "read back $got messages, $uniq distinct, $missing missing; expected exactly" \
        "m-1 .. m-$((2 * n)) in order (see $work/consumed)"
fi
say "PASS: $((2 * n)) messages across a leader SIGKILL (node $killed -> node $new)," \
    "total $(secs $(($(ms) - t_start)))s"
