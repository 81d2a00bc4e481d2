#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# scripts/valgrind.sh: `make valgrind`. Valgrind memcheck: the unit suites,
# then the integration suites with the bridge started under valgrind
# (MKB_BRIDGE_WRAP in tests/integration/itest.c) and MKB_TEST_SCALE=VG_SCALE
# (timeouts longer, load-only message counts smaller; libcheck's own timeouts
# through CK_TIMEOUT_MULTIPLIER). Then tests/valgrind-check.sh: every log
# (VG_DIR/vg-<pid>.log) must say "ERROR SUMMARY: 0 errors" and lose no bytes
# definitely or indirectly; a bridge SIGKILLed by a test has no summary, but
# its errors still count.
# The Makefile passes every variable explicitly:
#   VALGRIND    the valgrind command line (its --log-file in VG_DIR)
#   VG_DIR      where the logs go (emptied first)
#   VG_SCALE    MKB_TEST_SCALE and CK_TIMEOUT_MULTIPLIER
#   UNIT_TESTS  the unit suites; VG_TESTS the integration suites (or
#               BINARY:TCASE, see tests/integration/run.sh)
#   BRIDGE_BIN  the bridge (absolute); FREEPORT build/freeport (absolute)
set -uo pipefail
: "${VALGRIND:?} ${VG_DIR:?} ${VG_SCALE:?} ${UNIT_TESTS:?} ${VG_TESTS:?} ${BRIDGE_BIN:?} ${FREEPORT:?}"
read -r -a unit_tests <<<"$UNIT_TESTS"
read -r -a vg_tests <<<"$VG_TESTS"
read -r -a valgrind <<<"$VALGRIND"

rm -rf "$VG_DIR"
mkdir -p "$VG_DIR"
fail=0
start=$SECONDS
for t in "${unit_tests[@]}"; do
    echo "== valgrind $t"
    CK_FORK=no "${valgrind[@]}" "$t" || fail=1
done
echo "== unit suites under valgrind: $((SECONDS - start)) s"
MKB_BRIDGE_WRAP="$VALGRIND" MKB_TEST_SCALE=$VG_SCALE CK_TIMEOUT_MULTIPLIER=$VG_SCALE \
    MKB_BRIDGE_BIN=$BRIDGE_BIN HARNESS_FREEPORT=$FREEPORT \
    tests/harness/with-brokers.sh tests/integration/run.sh "${vg_tests[@]}" || fail=1
tests/valgrind-check.sh "$VG_DIR" || fail=1
echo "== make valgrind: $((SECONDS - start)) s"
if [ $fail -ne 0 ]; then echo "make valgrind: FAILED"; else echo "make valgrind: all passed"; fi
exit $fail
