# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# Shared by scripts/deps.sh, tests/harness/brokers.sh and the demo:
# where the pinned Kafka broker jars live. Source it; it sets variables and defines crate_fetch.
MKB_ROOT=${MKB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
KAFKA_POM="$MKB_ROOT/deps/kafka/pom.xml"
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM")
MKB_CACHE=${MKB_CACHE:-$MKB_ROOT/.cache}   # repo-local: `sudo make deps` then `make check` as a user both see it
KAFKA_LIBS=${KAFKA_LIBS:-$MKB_CACHE/kafka-$KAFKA_VERSION/libs}
# The librdkafka the bridge links statically (scripts/librdkafka.sh builds it;
# the Makefile uses it when present). From the rdkafka-sys crate, pinned.
RDKAFKA_VERSION=2.12.1
RDKAFKA_CRATE_VERSION=4.10.0+$RDKAFKA_VERSION
RDKAFKA_CRATE_SHA256=e234cf318915c1059d4921ef7f75616b5219b10b46e9f3a511a15eb4b56a3f77
RDKAFKA_PREFIX=${RDKAFKA_PREFIX:-$MKB_CACHE/librdkafka}
# The Paho MQTT C the bridge links statically (scripts/paho.sh builds it; the
# Makefile uses it when present): Paho 1.3.12, the release Debian 12 ships,
# built with PAHO_HIGH_PERFORMANCE (no per-call stack tracing, no heap
# tracking: docs/ARCHITECTURE.md, "Paho"). From the paho-mqtt-sys crate
# (it carries Paho C's release tree), pinned.
PAHO_VERSION=1.3.12
PAHO_CRATE_VERSION=0.8.1
PAHO_CRATE_SHA256=1782b5e75d712f951a2a4c7d3175a2ef37d93ddb3ad8656b37092f3f05464bc9
PAHO_PREFIX=${PAHO_PREFIX:-$MKB_CACHE/paho}

# crate_fetch NAME VERSION SHA256 DIR: the crates.io crate NAME-VERSION,
# checked against SHA256, unpacked into DIR (DIR/NAME-VERSION/).
crate_fetch() {
    local crate="$1-$2.crate" ca=()
    # `make image` mounts the build machine's CA bundle here: machines whose
    # HTTPS goes through their own CA need it inside the build container.
    [ -r /run/mkb-host-ca.crt ] && ca=(--cacert /run/mkb-host-ca.crt)
    curl -fsSL --retry 3 "${ca[@]}" -o "$4/$crate" "https://static.crates.io/crates/$1/$crate"
    echo "$3  $4/$crate" | sha256sum -c --quiet -
    tar -xzf "$4/$crate" -C "$4"
}
