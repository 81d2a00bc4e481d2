#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# Builds what `make bench` measures the bridge against and the project does
# not ship: Telegraf (mqtt_consumer -> kafka, the JSON parser and serializer
# only) from its Go module, into $MKB_CACHE/bench/bin/telegraf. Telegraf's
# `custom` build tag leaves out every plugin not named by its own tag
# (plugins/*/all/*.go: `//go:build !custom || inputs.mqtt_consumer`), which
# keeps the build to about two minutes on 2 cores. Idempotent: a binary of the
# same version and tags is not rebuilt. Runs at nice 19 (it is a build, not a
# measurement). Needs Go (the version Telegraf's go.mod asks for, or a newer
# one) and the Go module proxy; when either is missing it says so and exits 1,
# and bench/bench.py runs without Telegraf.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

# The newest v1.37.x the Go module proxy serves
# (`go list -m -versions github.com/influxdata/telegraf`).
TELEGRAF_VERSION=${TELEGRAF_VERSION:-v1.37.2}
TELEGRAF_TAGS=custom,inputs.mqtt_consumer,outputs.kafka,parsers.json,serializers.json
bindir="$MKB_CACHE/bench/bin"
stamp="$bindir/telegraf.stamp"
# As Telegraf's release builds do (its Makefile): no cgo, stripped, the
# version stamped in (`telegraf --version`; go install alone says "unknown").
TELEGRAF_LDFLAGS="-w -s -X github.com/influxdata/telegraf/internal.Version=${TELEGRAF_VERSION#v}"
want="$TELEGRAF_VERSION $TELEGRAF_TAGS CGO_ENABLED=0 $TELEGRAF_LDFLAGS"

if [ -x "$bindir/telegraf" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "bench-deps: telegraf $TELEGRAF_VERSION already in $bindir"
    exit 0
fi
if ! command -v go > /dev/null; then
    echo "bench-deps: no Go toolchain; the bench runs without Telegraf" >&2
    exit 1
fi
mkdir -p "$bindir"
rm -f "$stamp"
log="$MKB_CACHE/bench/telegraf-build.log"
echo "bench-deps: building telegraf $TELEGRAF_VERSION ($TELEGRAF_TAGS) into $bindir" \
     "(about 2 minutes on 2 cores; log $log)"
start=$(date +%s)
if ! GOBIN="$bindir" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" nice -n 19 \
        go install -tags "$TELEGRAF_TAGS" -ldflags "$TELEGRAF_LDFLAGS" \
        "github.com/influxdata/telegraf/cmd/telegraf@$TELEGRAF_VERSION" > "$log" 2>&1; then
    tail -20 "$log" >&2
    echo "bench-deps: telegraf did not build; the bench runs without Telegraf" >&2
    exit 1
fi
# The build must hold the plugins the bench configures, or the bench's
# contender would fail at start-up rather than here.
plugins=$("$bindir/telegraf" plugins inputs 2>/dev/null; "$bindir/telegraf" plugins outputs 2>/dev/null)
for p in mqtt_consumer kafka; do
    grep -qw "$p" <<< "$plugins" || {
        echo "bench-deps: the telegraf built lacks plugin $p" >&2; exit 1; }
done
echo "$want" > "$stamp"
echo "bench-deps: $("$bindir/telegraf" --version) ready ($(( $(date +%s) - start )) s)"
