#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# run.sh TEST...: run each integration test binary (inside with-brokers.sh;
# BINARY:TCASE runs one libcheck test case of it);
# exit non-zero if any failed.
fail=0
for t in "$@"; do
    echo "== $t"
    start=$SECONDS
    case $t in
    *:*) CK_RUN_CASE=${t#*:} "${t%%:*}" || fail=1 ;; # BINARY:TCASE runs that test case only
    *) "$t" || fail=1 ;;
    esac
    echo "== $t: $((SECONDS - start)) s"
done
exit $fail
