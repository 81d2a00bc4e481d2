#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# check-mappings.sh [BIN]: `mqtt-kafka-bridge check` on a configuration that
# includes one mapping file alone, for each file of mappings/ (the examples
# config/bridge.yaml loads) and of mappings/devices/ (the device families,
# loaded only when named), so an error names its file; the set of mappings/
# is checked together by tests/install/check.sh (bridge.yaml).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/mqtt-kafka-bridge}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for f in "$root"/mappings/*.yaml "$root"/mappings/devices/*.yaml; do
    [ -e "$f" ] || { echo "FAIL ${f#"$root"/}: no such file"; fail=1; continue; }
    rel=${f#"$root"/}
    printf 'mqtt: { uri: tcp://127.0.0.1:1 }\nkafka: { bootstrap: 127.0.0.1:1, dead_letter_topic: dlq }\nmappings: [ "%s" ]\n' "$f" > "$tmp/c.yaml"
    if out=$("$bin" check -c "$tmp/c.yaml" 2>&1); then
        echo "ok   $rel: ${out##*: }"
    else
        echo "FAIL $rel:"; echo "$out"; fail=1
    fi
done
exit $fail
