#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# Builds the Paho MQTT C the bridge links statically, into
# $MKB_CACHE/paho (lib/libpaho-mqtt3as.a, include/). The same release as
# Debian 12's libpaho-mqtt1.3 (1.3.12), so the custody behaviour
# docs/ARCHITECTURE.md describes is the same code, but built with
# PAHO_HIGH_PERFORMANCE: Debian's build traces every Paho function's entry
# and exit under a global mutex and tracks every allocation in a tree
# (StackTrace.c, Heap.c), which cost the bridge 27% of its CPU per message
# (bench/results/2026-12-05-issue19.md). Paho's error log (the trace
# callback the bridge routes into its log) stays. Two patches are applied,
# in this order:
# - third_party/paho/readahead.patch (one recv() for many packets instead of
#   one per header byte, and no poll() while bytes are buffered;
#   bench/results/2026-12-05-readahead.md);
# - third_party/paho/int4.patch (Paho 1.3.13's fix for four-byte integers of
#   2^31 or more: 1.3.12 sends the Session Expiry Interval 4294967295 as
#   255 s, and the broker drops the session 255 s after a lost connection).
# The source comes from crates.io (the paho-mqtt-sys crate carries Paho C's
# release tree), checked against a pinned SHA-256. Idempotent: a complete
# build of the same version is not redone. Needs build-essential, cmake and
# libssl-dev (scripts/deps.sh build installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
dest="$PAHO_PREFIX"
stamp="$dest/.complete"
patches=("$here/../third_party/paho/readahead.patch" "$here/../third_party/paho/int4.patch")
want="$PAHO_CRATE_SHA256 $(cat "${patches[@]}" | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "deps: Paho MQTT C $PAHO_VERSION already in $dest"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "deps: fetching Paho MQTT C $PAHO_VERSION (paho-mqtt-sys $PAHO_CRATE_VERSION from crates.io)"
crate_fetch paho-mqtt-sys "$PAHO_CRATE_VERSION" "$PAHO_CRATE_SHA256" "$work"
src="$work/paho-mqtt-sys-$PAHO_CRATE_VERSION/paho.mqtt.c"
got="$(cat "$src/version.major").$(cat "$src/version.minor").$(cat "$src/version.patch")"
[ "$got" = "$PAHO_VERSION" ] || { echo "deps: the crate holds Paho $got, not $PAHO_VERSION" >&2; exit 1; }
for p in "${patches[@]}"; do
    patch -s -p1 -d "$src" < "$p"
done
echo "deps: building Paho MQTT C $PAHO_VERSION into $dest (seconds)"
rm -rf "$dest"
mkdir -p "$work/build"
(
    cd "$work/build"
    cmake "$src" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$dest" \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DPAHO_BUILD_STATIC=TRUE \
        -DPAHO_BUILD_SHARED=FALSE -DPAHO_WITH_SSL=TRUE -DPAHO_HIGH_PERFORMANCE=TRUE \
        -DPAHO_ENABLE_TESTING=FALSE -DPAHO_BUILD_SAMPLES=FALSE \
        > "$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; exit 1; }
    make -j"$(nproc)" paho-mqtt3as-static > "$work/make.log" 2>&1 ||
        { tail -50 "$work/make.log" >&2; exit 1; }
)
mkdir -p "$dest/lib" "$dest/include"
cp "$work/build/src/libpaho-mqtt3as.a" "$dest/lib/"
cp "$src"/src/MQTTAsync.h "$src"/src/MQTTClientPersistence.h "$src"/src/MQTTProperties.h \
    "$src"/src/MQTTReasonCodes.h "$src"/src/MQTTSubscribeOpts.h \
    "$src"/src/MQTTExportDeclarations.h "$dest/include/"
# Not a tracing build: StackTrace_entry would be linked in otherwise.
! nm "$dest/lib/libpaho-mqtt3as.a" 2>/dev/null | grep -q ' T StackTrace_entry'
echo "$want" > "$stamp"
echo "deps: Paho MQTT C $PAHO_VERSION ready"
