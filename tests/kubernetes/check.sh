#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# make check-k8s: the Kubernetes manifests of deploy/kubernetes/, offline.
# tests/kubernetes/validate.py in the venv: the ConfigMaps are what
# config/bridge.yaml and mappings/*.yaml make (scripts/k8s-manifests.py
# --check), so they never drift from the shipped files; the schemas
# (kubernetes-validate, the Prometheus Operator's ServiceMonitor CRD); what
# ties the objects together; `mqtt-kafka-bridge check` on the ConfigMaps'
# files with the Deployment's environment.
# --live (make check-k8s-live): tests/kubernetes/live.py instead, inside
# tests/harness/with-brokers.sh: the pod played on this machine, as uid 10001,
# against real Mosquitto and Kafka (password, SASL_SSL): probes, a reading
# into Kafka, SIGTERM.
# Needs the venv .cache/k8s (`make deps`, or K8S_VENV). No cluster is used.
#   tests/kubernetes/check.sh [--live] BINARY
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/scripts/common.sh"
live=
[ "${1:-}" != --live ] || { live=1; shift; }
bin=${1:?usage: tests/kubernetes/check.sh [--live] BINARY}
venv=${K8S_VENV:-$MKB_CACHE/k8s}
py=$venv/bin/python
if ! "$py" -c 'import kubernetes_validate, jsonschema, yaml' 2>/dev/null; then
    echo "check-k8s: no venv with kubernetes-validate at $venv: run make deps" >&2
    echo "kubernetes: 0 passed, 1 failed"
    exit 1
fi
if [ -n "$live" ]; then
    exec "$root/tests/harness/with-brokers.sh" "$py" "$root/tests/kubernetes/live.py" "$bin"
fi
exec "$py" "$root/tests/kubernetes/validate.py" "$bin"
