#!/usr/bin/env bash
# run.sh TEST...: run each integration test binary (inside with-brokers.sh);
# exit non-zero if any failed.
fail=0
for t in "$@"; do
    echo "== $t"
    "$t" || fail=1
done
exit $fail
