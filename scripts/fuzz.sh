#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# scripts/fuzz.sh SECONDS TARGET...: `make fuzz` and `make check-fuzz`. Runs
# each libFuzzer TARGET (build/fuzz/fuzz_NAME) for SECONDS on a scratch copy
# of its seed corpus (tests/fuzz/corpus/NAME, copied to build/fuzz/corpus-NAME)
# and stops at the first failure (the exit status of the target, not of
# grep). A crash leaves its input in build/fuzz/<target>-crash-*.
set -uo pipefail
secs=${1:?usage: scripts/fuzz.sh SECONDS TARGET...}
shift
for f in "$@"; do
    name=$(basename "$f")
    corpus=build/fuzz/corpus-${name#fuzz_}
    rm -rf "$corpus"
    mkdir -p "$corpus"
    cp tests/fuzz/corpus/"${name#fuzz_}"/* "$corpus"/
    echo "== $name for $secs s"
    start=$SECONDS
    "$f" -max_total_time="$secs" -max_len=65536 -timeout=25 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix=build/fuzz/"$name"- "$corpus" 2>&1 |
        grep -E '^(#[0-9]+[[:space:]]+DONE|Done|==[0-9]+==|SUMMARY|fuzz_|stat::number_of_executed_units|INFO: .*corpus)'
    rc=${PIPESTATUS[0]}
    echo "== $name: exit $rc after $((SECONDS - start)) s"
    test "$rc" -eq 0 || exit 1
done
