#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# make bench-micro: the rule engine's per-message cost with 10 and 10,000
# routes, and the Sparkplug B decoder's per-metric cost (a 20-metric DDATA
# by alias, resolved through its DBIRTH; bench/micro_spb.c). ns/msg from a timed loop (noisy on a shared machine) and
# instructions/msg from callgrind (repeatable): the difference between a run
# of N+K and a run of K messages, divided by N, so start-up is excluded.
set -euo pipefail
bin=${1:-build/bench/micro_mapper}
spb=${2:-build/bench/micro_spb}
n=${MICRO_N:-20000}
printf '%-8s %12s %14s\n' routes ns/msg instr/msg
for routes in 10 10000; do
    ns=$("$bin" "$routes" 300000 | sed -n 's/.*ns\/msg=\([0-9]*\).*/\1/p')
    ir() {
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$routes" "$1" 2>&1 |
            sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
    }
    base=$(ir 1000)
    full=$(ir $((n + 1000)))
    printf '%-8s %12s %14s\n' "$routes" "$ns" "$(( (full - base) / n ))"
done

# Sparkplug B: instructions per message of 20 metrics, divided by 20.
ns=$("$spb" 100000 | sed -n 's/.*ns\/metric=\([0-9]*\).*/\1/p')
spb_ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$spb" "$1" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
base=$(spb_ir 100)
full=$(spb_ir $((n + 100)))
printf '\n%-26s %12s %14s\n' sparkplug ns/metric instr/metric
printf '%-26s %12s %14s\n' "DDATA 20 metrics by alias" "$ns" "$(( (full - base) / n / 20 ))"
