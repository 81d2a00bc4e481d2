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
# build of the same version and configure options is not redone (the stamp
# holds both, so changing either rebuilds it on `make deps`). Needs
# build-essential, libssl-dev, libzstd-dev, zlib1g-dev, libsasl2-dev and
# libcurl4-openssl-dev (scripts/deps.sh build installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

dest="$RDKAFKA_PREFIX"
stamp="$dest/.complete"
# SSL, SASL SCRAM/PLAIN/OAUTHBEARER (built in), GSSAPI (cyrus-sasl: Kerberos),
# OIDC token fetching (libcurl), zstd, zlib, lz4 (bundled).
configure_opts="--enable-static --enable-gssapi --enable-curl"
want="$RDKAFKA_CRATE_SHA256 $configure_opts"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
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
    # shellcheck disable=SC2086 # configure_opts is a list of words
    ./configure --prefix="$dest" $configure_opts \
        > "$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; exit 1; }
    # Only the static library: the bridge links nothing else, and the shared
    # one fails to link where Debian's libzstd.a (not built with -fPIC) is
    # what mklove finds (a debian:12 container: R_X86_64_PC32 ... recompile
    # with -fPIC).
    make -C src -j"$(nproc)" librdkafka.a > "$work/make.log" 2>&1 ||
        { tail -50 "$work/make.log" >&2; exit 1; }
)
mkdir -p "$dest/lib" "$dest/include/librdkafka"
cp "$src/src/librdkafka.a" "$dest/lib/"
cp "$src/src/rdkafka.h" "$src/src/rdkafka_mock.h" "$dest/include/librdkafka/"
# --enable-X only asks: configure drops a feature whose library is missing.
for want_def in WITH_SASL_SCRAM WITH_SASL_CYRUS WITH_CURL WITH_OAUTHBEARER_OIDC; do
    grep -q "define $want_def 1" "$src/config.h" ||
        { echo "deps: librdkafka configured without $want_def (libsasl2-dev, libcurl4-openssl-dev?)" >&2; exit 1; }
done
test -f "$dest/lib/librdkafka.a"
echo "$want" > "$stamp"
echo "deps: librdkafka $RDKAFKA_VERSION ready"
