#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# Builds the pinned librdkafka the bridge links statically, into
# $MKB_CACHE/librdkafka (lib/librdkafka.a, include/librdkafka/). Why not
# Debian 12's librdkafka 2.0.2: before 2.6.1 librdkafka repeats the client
# nonce in the SCRAM client-final message (confluentinc/librdkafka#4895),
# and Kafka 4 brokers, which check the nonce as RFC 5802 says, refuse every
# SCRAM-SHA-256/512 login from it as "invalid credentials".
# The source comes from crates.io (the rdkafka-sys crate carries librdkafka's
# release tree), checked against a pinned SHA-256. Idempotent: a complete
# build of the same version is not redone. Needs build-essential, libssl-dev,
# libzstd-dev and zlib1g-dev (scripts/deps.sh build installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

dest="$RDKAFKA_PREFIX"
stamp="$dest/.complete"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$RDKAFKA_CRATE_SHA256" ]; then
    echo "deps: librdkafka $RDKAFKA_VERSION already in $dest"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "deps: fetching librdkafka $RDKAFKA_VERSION (rdkafka-sys $RDKAFKA_CRATE_VERSION from crates.io)"
crate_fetch rdkafka-sys "$RDKAFKA_CRATE_VERSION" "$RDKAFKA_CRATE_SHA256" "$work"
src="$work/rdkafka-sys-$RDKAFKA_CRATE_VERSION/librdkafka"
echo "deps: building librdkafka $RDKAFKA_VERSION into $dest (about a minute)"
rm -rf "$dest"
(
    cd "$src"
    # SSL, SASL SCRAM/PLAIN/OAUTHBEARER (built in), zstd, zlib, lz4 (bundled);
    # no GSSAPI (cyrus-sasl) and no libcurl (OIDC token fetching).
    ./configure --prefix="$dest" --disable-gssapi --disable-curl --enable-static \
        > "$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; exit 1; }
    make -j"$(nproc)" libs > "$work/make.log" 2>&1 || { tail -50 "$work/make.log" >&2; exit 1; }
    make -C src install > "$work/install.log" 2>&1 || { tail -50 "$work/install.log" >&2; exit 1; }
)
grep -q 'WITH_SASL_SCRAM 1' "$dest/include/librdkafka/rdkafka.h" 2>/dev/null ||
    grep -q SASL_SCRAM "$src/config.h"
test -f "$dest/lib/librdkafka.a"
echo "$RDKAFKA_CRATE_SHA256" > "$stamp"
echo "deps: librdkafka $RDKAFKA_VERSION ready"
