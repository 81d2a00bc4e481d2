#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# The bridge's log under a real systemd-journald (Debian's systemd package):
# a journald of the test's own, in a private mount namespace with tmpfs on
# /run/systemd and /run/log (the machine's journal, if any, is not touched),
# and systemd-cat connecting the bridge's stderr to it as a service's would
# be. For each log_format the bridge runs 3 s against brokers that refuse
# connections (errors from librdkafka and Paho's connect, warnings, info):
#   - JOURNAL_STREAM naming its stderr (device:inode of the stream socket, as
#     systemd sets it): journald files every line with the priority its <N>
#     prefix says (the level inside the line), takes the prefix off, and
#     `journalctl -p err` shows exactly the error lines;
#   - JOURNAL_STREAM naming something else: no prefix is written, so every
#     line has systemd-cat's default priority (info).
# Needs root (mount namespace); skips when unshare or journald can't run.
#   tests/journal/check.sh [BRIDGE_BIN]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:-$here/../../mqtt-kafka-bridge}")
pass=0 fail=0 skip=0
ok()   { pass=$((pass + 1)); echo "ok   $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL $*"; }
summary() { echo "journal: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; }

journald=/lib/systemd/systemd-journald
if [ "$(id -u)" -ne 0 ] || [ ! -x "$journald" ] || ! command -v systemd-cat >/dev/null ||
    ! unshare -m --propagation private true 2>/dev/null; then
    echo "skip journald: needs root, unshare and Debian's systemd package"
    skip=1
    summary
    exit
fi

tmp=$(mktemp -d /tmp/mkb-journal.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/bridge.yaml" <<'YAML'
mqtt:
  uri: "tcp://127.0.0.1:1"
  client_id: mkb-journal-check
kafka:
  bootstrap: 127.0.0.1:1
routes:
  - name: r
    mqtt: { filter: "journal/#", qos: 1 }
    kafka: { topic: t }
    payload: raw
YAML

# In the namespace: start journald, run the bridge under systemd-cat as
# identifier TAG (JOURNAL_STREAM: "match" or "other"), then dump the entries
# as JSON lines into OUT.
inner() {
    local fmt=$1 stream=$2 tag=$3 out=$4
    mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/log && mount -t tmpfs tmpfs /run/log || exit 3
    mkdir -p /run/systemd/journal
    "$journald" >"$tmp/journald-$tag.log" 2>&1 &
    local jpid=$!
    for _ in $(seq 100); do [ -S /run/systemd/journal/stdout ] && break; sleep 0.05; done
    [ -S /run/systemd/journal/stdout ] || { kill "$jpid"; exit 4; }
    timeout -s TERM 3 systemd-cat -t "$tag" env MKB_STREAM="$stream" sh -c '
        if [ "$MKB_STREAM" = match ]; then
            JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2)
        else
            JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/0)
        fi
        export JOURNAL_STREAM
        exec "$0" -c "$1" --log-format "$2"' "$bin" "$tmp/bridge.yaml" "$fmt"
    journalctl --sync 2>/dev/null || sleep 1
    journalctl --no-pager -t "$tag" -o json >"$out"
    journalctl --no-pager -t "$tag" -p err -o cat >"$out.err"
    kill "$jpid"
    wait "$jpid" 2>/dev/null
    exit 0
}
export -f inner
export tmp journald bin

# The level each entry's text says, its priority, and what -p err showed.
judge() { # FORMAT STREAM FILE
    python3 - "$@" <<'PY'
import json, re, sys
fmt, stream, path = sys.argv[1:4]
prio = {"error": "3", "warn": "4", "info": "6", "debug": "7"}
tags = {"ERROR": "error", "WARN": "warn", "INFO": "info", "DEBUG": "debug"}
def level(msg):
    if fmt == "json":
        return json.loads(msg)["level"]
    if fmt == "logfmt":
        return re.match(r"ts=\S+ level=(\w+) ", msg).group(1)
    return tags[msg.split()[1]]
entries = [json.loads(l) for l in open(path)]
msgs = [e["MESSAGE"] for e in entries]
if any(isinstance(m, list) for m in msgs):
    sys.exit("a MESSAGE that is not UTF-8 text")
errs = [l for l in open(path + ".err").read().splitlines()]
levels = [level(m) for m in msgs]
got = {}
for e, lv in zip(entries, levels):
    got.setdefault(lv, set()).add(e["PRIORITY"])
print(f"  {len(msgs)} entries; level -> PRIORITY: "
      + ", ".join(f"{k} {sorted(v)}" for k, v in sorted(got.items()))
      + f"; journalctl -p err: {len(errs)} line(s)")
problems = []
if len(msgs) < 5 or "error" not in got or "info" not in got:
    problems.append("too few lines, or no error or info line")
if any(m.startswith("<") for m in msgs):
    problems.append("a MESSAGE still starts with '<'")
if stream == "match":
    if any(got[lv] != {prio[lv]} for lv in got):
        problems.append("a priority does not match its level")
    if sorted(errs) != sorted(m for m, lv in zip(msgs, levels) if lv == "error"):
        problems.append("journalctl -p err is not exactly the error lines")
else:
    if any(e["PRIORITY"] != "6" for e in entries) or errs:
        problems.append("a priority other than systemd-cat's default: a prefix was written")
if problems:
    sys.exit("; ".join(problems))
PY
}

for fmt in text json logfmt; do
    for stream in match other; do
        tag="mkb-journal-$fmt-$stream"
        out="$tmp/$tag.json"
        if ! unshare -m --propagation private bash -c 'inner "$@"' _ "$fmt" "$stream" "$tag" "$out"; then
            bad "$fmt, JOURNAL_STREAM $stream: journald did not run ($(tail -n1 "$tmp/journald-$tag.log" 2>/dev/null))"
            continue
        fi
        if res=$(judge "$fmt" "$stream" "$out" 2>&1); then
            ok "$fmt, JOURNAL_STREAM $stream: $(echo "$res" | tail -n1 | sed 's/^ *//')"
        else
            bad "$fmt, JOURNAL_STREAM $stream: $res"
        fi
    done
done
summary
