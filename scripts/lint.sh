#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# scripts/lint.sh tidy|cppcheck: `make lint-tidy` / `make lint-cppcheck`.
# clang-tidy with the checked-in .clang-tidy (every diagnostic an error) and
# cppcheck with tests/lint/cppcheck.supp, over src/, tools/ and tests/, each
# file group with the flags it is built with. Exit 1 on any finding; false
# positives are silenced at their line with a reason.
# The Makefile passes every variable explicitly:
#   CLANG_TIDY CPPCHECK  the tools
#   LINT_CFLAGS          the flags src/ is built with (for tidy)
#   LINT_TEST_CFLAGS     the flags tests/ are built with (for tidy)
#   CPPCHECK_DEFS        the -D and -I flags (for cppcheck)
set -uo pipefail
: "${CLANG_TIDY:?} ${CPPCHECK:?} ${LINT_CFLAGS:?} ${LINT_TEST_CFLAGS:?} ${CPPCHECK_DEFS:?}"
read -r -a lint_cflags <<<"$LINT_CFLAGS"
read -r -a lint_test_cflags <<<"$LINT_TEST_CFLAGS"
read -r -a cppcheck_defs <<<"$CPPCHECK_DEFS"

# clang prints "N warnings generated." for the diagnostics it suppressed in
# system headers; only the findings are of interest.
tidy() {
    "$CLANG_TIDY" --quiet "$@" 2>&1 | grep -v '^[0-9]* warnings\? generated\.$'
    return "${PIPESTATUS[0]}"
}

case ${1:-} in
tidy)
    fail=0
    echo "== clang-tidy src/"
    tidy src/*.c -- "${lint_cflags[@]}" || fail=1
    echo "== clang-tidy tests/ (unit, integration, faults, fuzz)"
    tidy tests/unit/*.c tests/integration/*.c tests/faults/*.c tests/fuzz/*.c \
        -- "${lint_test_cflags[@]}" || fail=1
    echo "== clang-tidy tools/simulator.c tests/harness/freeport.c"
    tidy tools/simulator.c tests/harness/freeport.c -- -std=c11 -Wall -Wextra || fail=1
    exit $fail
    ;;
cppcheck)
    echo "== cppcheck src/ tools/ tests/"
    exec "$CPPCHECK" --quiet --std=c11 --enable=warning,style,performance,portability \
        --library=posix --inline-suppr --suppressions-list=tests/lint/cppcheck.supp \
        --error-exitcode=1 --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
        "${cppcheck_defs[@]}" \
        src tools tests/unit tests/integration tests/faults tests/fuzz tests/harness/freeport.c
    ;;
*) echo "usage: scripts/lint.sh tidy|cppcheck (from the Makefile)" >&2; exit 2 ;;
esac
