#!/usr/bin/env bash
# check-mappings.sh [BIN]: `mqtt-kafka-bridge check` on a configuration that
# includes each mapping file of mappings/ alone, so an error names its file;
# the whole set is checked together by tests/install/check.sh (bridge.yaml).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/mqtt-kafka-bridge}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for f in "$root"/mappings/*.yaml; do
    name=$(basename "$f" .yaml)
    printf 'mqtt: { uri: tcp://127.0.0.1:1 }\nkafka: { bootstrap: 127.0.0.1:1, dead_letter_topic: dlq }\nmappings: [ "%s" ]\n' "$f" > "$tmp/c.yaml"
    if out=$("$bin" check -c "$tmp/c.yaml" 2>&1); then
        echo "ok   mappings/$name.yaml: ${out##*: }"
    else
        echo "FAIL mappings/$name.yaml:"; echo "$out"; fail=1
    fi
done
exit $fail
