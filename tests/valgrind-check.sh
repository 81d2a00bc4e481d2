#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# valgrind-check.sh DIR: checks the memcheck logs (vg-<pid>.log) that
# `make valgrind` leaves in DIR. A process that ran to its end must report
# "ERROR SUMMARY: 0 errors" and no definitely or indirectly lost bytes. A
# process that was SIGKILLed (tests do that on purpose) writes no summary: it
# cannot report leaks, but any error it met is in its log and counts.
# Prints one line per log with a problem, then a total; exit 1 if any.
set -uo pipefail
dir=${1:?usage: valgrind-check.sh DIR}
shopt -s nullglob
logs=("$dir"/vg-*.log)
if [ ${#logs[@]} -eq 0 ]; then
    echo "valgrind-check: no logs in $dir" >&2
    exit 1
fi
# The first line of each memcheck error report (see the memcheck manual,
# "Explanation of error messages").
errors='(Invalid (read|write|free|realloc)|Mismatched free|Conditional jump or move|Use of uninitialised|Syscall param|Source and destination overlap|Argument .* of function|Jump to the invalid address|Process terminating with default action|uninitialised byte\(s\))'
bad=0 finished=0 killed=0 possible=0
for log in "${logs[@]}"; do
    cmd=$(grep -m1 -o 'Command: .*' "$log" || true)
    if grep -q 'ERROR SUMMARY:' "$log"; then
        finished=$((finished + 1))
        if ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
            echo "valgrind-check: $log: $(grep -m1 -o 'ERROR SUMMARY: .*' "$log") ($cmd)"
            bad=$((bad + 1))
        elif grep -E -q '(definitely|indirectly) lost: [1-9]' "$log"; then
            echo "valgrind-check: $log: leaks: $(grep -E -o '(definitely|indirectly) lost: [0-9,]+ bytes' "$log" | tr '\n' ' ') ($cmd)"
            bad=$((bad + 1))
        fi
        ! grep -E -q 'possibly lost: [1-9]' "$log" || possible=$((possible + 1))
    else
        killed=$((killed + 1))
        if grep -E -q "^==[0-9]+== +$errors" "$log"; then
            echo "valgrind-check: $log: errors before it was killed: $(grep -E -m1 -o "$errors.*" "$log") ($cmd)"
            bad=$((bad + 1))
        fi
    fi
done
echo "valgrind-check: ${#logs[@]} logs, $finished finished, $killed killed (no summary)," \
    "$bad with errors or leaks, $possible with possibly lost bytes (not an error)"
[ "$bad" -eq 0 ]
