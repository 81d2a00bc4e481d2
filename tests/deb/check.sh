#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# tests/deb/check.sh (make check-deb): the Debian package, built and installed
# into a clean Debian 12 root as a user would. Needs root, dpkg-dev,
# debhelper, lintian and mmdebstrap (make deps) and the Debian mirror.
#  1. builds the package twice from a copy of the tree (dpkg-buildpackage):
#     VERSION (source and binary), and VERSION+debtest1 (binary) whose bridge.yaml differs (an upgrade
#     that changes a conffile); lintian on the first (.dsc, .deb) must
#     report nothing that debian/*.lintian-overrides does not justify.
#  2. a fresh copy of a minbase bookworm root (mmdebstrap, with systemd for
#     systemd-analyze; the tarball is cached in MKB_DEB_CACHE), the .deb
#     installed with apt so its dependencies come from Debian's mirror;
#  3. checks the unit (systemd-analyze verify in the root: no systemd runs
#     there, so the unit is verified, not started), the conffiles dpkg
#     registered, `check` of the installed configuration, the system user
#     and the spool directory;
#  4. edits bridge.yaml, upgrades with --force-confold: the edit stays, the
#     new default lands as bridge.yaml.dpkg-dist, the version changed.
# MKB_DEB_CACHE: where the base tarball is kept (default $MKB_CACHE/deb).
set -euo pipefail
start=$SECONDS
root_dir=$(cd "$(dirname "$0")/../.." && pwd)
. "$root_dir/scripts/common.sh"
pkg=mqtt-kafka-bridge
version=$(cat "$root_dir/VERSION")
version2="$version+debtest1"
cache=${MKB_DEB_CACHE:-$MKB_CACHE/deb}
base="$cache/bookworm-minbase.tar"
work=$(mktemp -d /tmp/mkb-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
# expect DESCRIPTION COMMAND...: a check that passes when COMMAND succeeds.
expect() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
[ "$(id -u)" = 0 ] || { echo "check-deb: needs root (chroot, mmdebstrap)" >&2; exit 2; }
for t in dpkg-buildpackage dh lintian mmdebstrap; do
    command -v "$t" >/dev/null || { echo "check-deb: $t is missing: run make deps" >&2; exit 2; }
done

# 1. Two packages from a copy of the tree (the tracked and new files).
echo "== building $pkg $version and $version2"
mkdir -p "$work/src"
(cd "$root_dir" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 cp -d --parents -t "$work/src")
MKB_CACHE=$(cd "$MKB_CACHE" && pwd -P)
export MKB_CACHE
(cd "$work/src" && dpkg-buildpackage -us -uc >"$work/build1.log" 2>&1) ||
    { tail -40 "$work/build1.log"; echo "check-deb: dpkg-buildpackage failed"; exit 1; }
deb1="$work/${pkg}_${version}_$(dpkg --print-architecture).deb"
expect "dpkg-buildpackage built ${deb1##*/}" test -f "$deb1"
echo "== lintian"
# Every tag down to info and pedantic, on the .dsc, the .deb and the
# -dbgsym .deb (the .changes). The output is read rather than --fail-on:
# lintian 2.116 exits 2 on the .changes while printing no tag.
lint=$(lintian -I --pedantic "$work/${pkg}_${version}_"*.changes 2>&1 | grep -v 'running with root' || true)
[ -z "$lint" ] && ok "lintian (source and binary): no tag but the justified overrides" ||
    bad "lintian: $lint"
# The upgrade: a new version whose bridge.yaml changed (a comment), built in
# the same copy (-nc: the objects that do not carry the version are reused).
(cd "$work/src" && rm -rf debian/.debhelper debian/debhelper-build-stamp "debian/$pkg" debian/files &&
    echo "$version2" >VERSION && echo "# upgrade test ($version2)" >>config/bridge.yaml &&
    sed -i "s/\"$pkg $version\"/\"$pkg $version2\"/" "man/$pkg.8" &&
    { printf '%s (%s) unstable; urgency=medium\n\n  * Upgrade test.\n\n -- %s  %s\n\n' \
        "$pkg" "$version2" "$(dpkg-parsechangelog -SMaintainer)" "$(date -R)"; cat debian/changelog; } \
        >debian/changelog.new && mv debian/changelog.new debian/changelog &&
    dpkg-buildpackage -us -uc -b -nc >"$work/build2.log" 2>&1) ||
    { tail -40 "$work/build2.log"; echo "check-deb: dpkg-buildpackage (upgrade) failed"; exit 1; }
deb2="$work/${pkg}_${version2}_$(dpkg --print-architecture).deb"
echo "== built both in $((SECONDS - start)) s"

# 2. A clean root, from the cached minbase tarball (made once).
if [ ! -s "$base" ]; then
    echo "== mmdebstrap: $base (once)"
    mkdir -p "$cache"
    mmdebstrap --quiet --variant=minbase --include=systemd bookworm "$cache/new.tar" \
        "deb http://deb.debian.org/debian bookworm main" \
        "deb http://deb.debian.org/debian bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main"
    mv "$cache/new.tar" "$base"
fi
r="$work/root"
mkdir "$r"
tar -xf "$base" -C "$r"
cp /etc/resolv.conf "$r/etc/resolv.conf"
cp "$deb1" "$deb2" "$r/tmp/"
# in_root CMD...: CMD in the root with /proc and /dev, in a mount namespace
# of its own, so nothing stays mounted when it ends.
in_root() {
    unshare --mount --propagation private -- sh -c \
        'mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && exec chroot "$0" "$@"' "$r" "$@"
}
echo "== apt install ${deb1##*/} into a fresh bookworm root"
in_root env DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get -qq update && apt-get -y -qq install /tmp/${deb1##*/}" >"$work/apt1.log" 2>&1 ||
    { tail -30 "$work/apt1.log"; echo "check-deb: apt install failed"; exit 1; }

# 3. What the package installed.
st=$(in_root dpkg-query -W -f='${Status} ${Version}' "$pkg")
expect "dpkg: $st" test "$st" = "install ok installed $version"
v=$(in_root "$pkg" -V)
expect "mqtt-kafka-bridge -V: $v" grep -qx "$pkg $version (librdkafka .*)" <<<"$v"
unit=/lib/systemd/system/$pkg.service
expect "unit installed, runs as the system user" grep -qx "User=$pkg" "$r$unit"
expect "unit: ExecStart is /usr/bin/$pkg" grep -q "^ExecStart=/usr/bin/$pkg " "$r$unit"
# --man=no: minbase has no man-db to run the man:mqtt-kafka-bridge(8) link
# with; the page itself is checked below.
out=$(in_root systemd-analyze verify --man=no "$unit" 2>&1) && [ -z "$out" ] &&
    ok "systemd-analyze verify $unit: no finding" ||
    bad "systemd-analyze verify $unit: $out"
expect "man page installed" test -s "$r/usr/share/man/man8/$pkg.8.gz"
en=$(in_root systemctl is-enabled "$pkg.service" 2>&1 || true)
expect "unit not enabled on install (systemctl is-enabled: $en)" test "$en" = disabled
conffiles=$(in_root dpkg-query -W -f='${Conffiles}\n' "$pkg" | awk 'NF { print $1 }' | sort)
shipped=$(cd "$r" && find etc/mqtt-kafka-bridge -type f -name '*.yaml' | sed 's|^|/|' | sort)
echo "     conffiles: $(tr '\n' ' ' <<<"$conffiles")"
expect "every file in /etc/mqtt-kafka-bridge is a conffile" test "$conffiles" = "$shipped"
expect "bridge.yaml and a mapping among them" grep -qx /etc/mqtt-kafka-bridge/bridge.yaml <<<"$conffiles"
expect "mqtt-kafka-bridge check of the installed configuration" \
    in_root "$pkg" check -c /etc/mqtt-kafka-bridge/bridge.yaml
pw=$(in_root getent passwd "$pkg" || true)
echo "     passwd: $pw"
expect "system user $pkg (uid < 1000, no login shell)" \
    awk -F: -v n="$pkg" '$1 == n && $3 < 1000 && $7 ~ /nologin|false/ { f = 1 } END { exit !f }' <<<"$pw"
expect "spool directory owned by $pkg, mode 700" \
    test "$(in_root stat -c '%U %a' "/var/lib/$pkg")" = "$pkg 700"
expect "bridge.yaml readable by group $pkg only" \
    test "$(in_root stat -c '%U %G %a' "/etc/$pkg/bridge.yaml")" = "root $pkg 640"

# 4. An edited conffile across an upgrade that changes it.
edit="# edited by tests/deb/check.sh"
echo "$edit" >>"$r/etc/$pkg/bridge.yaml"
echo "== apt install ${deb2##*/} (--force-confold)"
in_root env DEBIAN_FRONTEND=noninteractive apt-get -y -qq -o Dpkg::Options::=--force-confold \
    install "/tmp/${deb2##*/}" >"$work/apt2.log" 2>&1 ||
    { tail -30 "$work/apt2.log"; echo "check-deb: apt upgrade failed"; exit 1; }
st=$(in_root dpkg-query -W -f='${Status} ${Version}' "$pkg")
expect "upgraded: $st" test "$st" = "install ok installed $version2"
expect "the binary is the new one (-V)" grep -qx "$pkg $version2 (librdkafka .*)" <<<"$(in_root "$pkg" -V)"
expect "the edit of bridge.yaml survived the upgrade" grep -qx "$edit" "$r/etc/$pkg/bridge.yaml"
expect "the new default beside it as bridge.yaml.dpkg-dist" \
    grep -qx "# upgrade test ($version2)" "$r/etc/$pkg/bridge.yaml.dpkg-dist"
expect "check of the edited configuration after the upgrade" \
    in_root "$pkg" check -c /etc/mqtt-kafka-bridge/bridge.yaml
expect "bridge.yaml still group $pkg, 640" \
    test "$(in_root stat -c '%U %G %a' "/etc/$pkg/bridge.yaml")" = "root $pkg 640"

echo "== check-deb: $((SECONDS - start)) s"
[ $fail = 0 ] && echo "check-deb: all passed" || echo "check-deb: FAILED"
exit $fail
