#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# scripts/install.sh install|uninstall: `make install` / `make uninstall`.
# The Makefile passes every variable explicitly (none has a default here):
#   BIN BUILD DESTDIR PREFIX SYSCONFDIR UNITDIR SHAREDIR MAN8DIR MAPPING_FILES
#   DEVICE_MAPPING_FILES ECHO (0 under make -s: the commands are not printed)
# install: the binary and the man page under PREFIX, the unit under UNITDIR
# (ExecStart rewritten to PREFIX/bin), the configuration under SYSCONFDIR: an
# edited bridge.yaml or mapping file is kept, and the new one lands beside it
# as .new. The installed bridge.yaml names the mappings and the spool by
# absolute paths (the sed below); the example mappings are also kept pristine
# in SHAREDIR. The device families (DEVICE_MAPPING_FILES, mappings/devices/)
# are documentation only: SHAREDIR/mappings/devices, never SYSCONFDIR, whose
# mappings/*.yaml the installed bridge.yaml loads (their generic filters would
# subscribe to nearly every topic). uninstall removes the binary, the man
# page, the unit and the examples in SHAREDIR, never SYSCONFDIR or /var/lib.
set -euo pipefail
: "${BIN:?} ${BUILD:?} ${PREFIX:?} ${SYSCONFDIR:?} ${UNITDIR:?} ${SHAREDIR:?} ${MAN8DIR:?}"
: "${MAPPING_FILES:?} ${DEVICE_MAPPING_FILES:?} ${ECHO:?}"
DESTDIR=${DESTDIR-}
read -r -a mappings <<<"$MAPPING_FILES"
read -r -a devices <<<"$DEVICE_MAPPING_FILES"

# Prints a command, then runs it (as make prints a recipe's lines).
v() {
    [ "$ECHO" = 0 ] || echo "$*"
    "$@"
}

install_all() {
    mkdir -p "$BUILD"
    v install -d -m 0755 "$DESTDIR$PREFIX/bin" "$DESTDIR$MAN8DIR" "$DESTDIR$UNITDIR" \
        "$DESTDIR$SHAREDIR/mappings/devices" "$DESTDIR$SYSCONFDIR/mappings"
    v install -m 0755 "$BIN" "$DESTDIR$PREFIX/bin/mqtt-kafka-bridge"
    sed -e "s|/usr/local/share/mqtt-kafka-bridge|$SHAREDIR|g" man/mqtt-kafka-bridge.8 \
        >"$BUILD/mqtt-kafka-bridge.8"
    v install -m 0644 "$BUILD/mqtt-kafka-bridge.8" "$DESTDIR$MAN8DIR/mqtt-kafka-bridge.8"
    sed -e "s|/usr/local/bin/mqtt-kafka-bridge|$PREFIX/bin/mqtt-kafka-bridge|g" \
        systemd/mqtt-kafka-bridge.service >"$BUILD/mqtt-kafka-bridge.service"
    v install -m 0644 "$BUILD/mqtt-kafka-bridge.service" "$DESTDIR$UNITDIR/mqtt-kafka-bridge.service"
    v install -m 0644 "${mappings[@]}" "$DESTDIR$SHAREDIR/mappings/"
    v install -m 0644 "${devices[@]}" "$DESTDIR$SHAREDIR/mappings/devices/"
    # An earlier install put the device families in SHAREDIR/mappings and in
    # SYSCONFDIR/mappings, where they are active: the copies in share/ go, the
    # ones in /etc are the operator's to remove (never touched), so say so.
    for f in "${devices[@]}"; do
        rm -f "$DESTDIR$SHAREDIR/mappings/${f##*/}"
        [ ! -e "$DESTDIR$SYSCONFDIR/mappings/${f##*/}" ] ||
            echo "install: $SYSCONFDIR/mappings/${f##*/} (a device example of an earlier" \
                "install) is active; remove it unless you use it"
    done
    # ${MKB_...} in single quotes: text of bridge.yaml, not expanded here
    sed -e 's|\${MKB_MAPPINGS_DIR:-\.\./mappings}|${MKB_MAPPINGS_DIR:-'"$SYSCONFDIR"'/mappings}|' \
        -e 's|\${MKB_SPOOL_DIR:-\.\./\.spool}|${MKB_SPOOL_DIR:-/var/lib/mqtt-kafka-bridge/spool}|' \
        config/bridge.yaml >"$BUILD/bridge.yaml"
    grep -q "$SYSCONFDIR/mappings/\*\.yaml" "$BUILD/bridge.yaml" &&
        grep -q '/var/lib/mqtt-kafka-bridge/spool' "$BUILD/bridge.yaml" ||
        { echo "install: config/bridge.yaml: mappings:/spool.dir lines not found to rewrite" >&2; exit 1; }
    keep "$BUILD/bridge.yaml" "$DESTDIR$SYSCONFDIR/bridge.yaml"
    for f in "${mappings[@]}"; do keep "$f" "$DESTDIR$SYSCONFDIR/mappings/${f##*/}"; done
}

# keep NEW DEST: installs NEW as DEST, or beside an edited DEST as DEST.new.
keep() {
    if [ ! -e "$2" ]; then
        install -m 0644 "$1" "$2"
        echo "install: $2"
    elif cmp -s "$1" "$2"; then
        echo "install: $2 unchanged"
    else
        install -m 0644 "$1" "$2.new"
        echo "install: kept your $2; the new default is $2.new"
    fi
}

uninstall_all() {
    v rm -f "$DESTDIR$PREFIX/bin/mqtt-kafka-bridge" "$DESTDIR$MAN8DIR/mqtt-kafka-bridge.8" \
        "$DESTDIR$UNITDIR/mqtt-kafka-bridge.service"
    v rm -f "${mappings[@]/#/$DESTDIR$SHAREDIR/}" "${devices[@]/#/$DESTDIR$SHAREDIR/}"
    for f in "${devices[@]}"; do rm -f "$DESTDIR$SHAREDIR/mappings/${f##*/}"; done # earlier installs
    rmdir "$DESTDIR$SHAREDIR/mappings/devices" "$DESTDIR$SHAREDIR/mappings" "$DESTDIR$SHAREDIR" \
        2>/dev/null || true
    echo "uninstall: $SYSCONFDIR and /var/lib/mqtt-kafka-bridge are left in place"
}

case ${1:-} in
install) install_all ;;
uninstall) uninstall_all ;;
*) echo "usage: scripts/install.sh install|uninstall (from the Makefile)" >&2; exit 2 ;;
esac
