#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# make image: the container image of ./Dockerfile, with podman (or docker
# where podman is missing). When the engine has no IMAGE_BASE (debian:12 by
# default; no registry is reachable on some build machines), one is made
# from Debian's packages: mmdebstrap --variant=minbase bookworm into
# build/image/ (kept: a second import needs no download), imported as
# IMAGE_BASE. Then `ENGINE build IMAGE_BUILD_FLAGS --build-arg
# DEBIAN_IMAGE=IMAGE_BASE -t IMAGE .`.
# The Dockerfile stays a plain one: what this machine needs is in the flags
# (Makefile variables), not in it.
#   IMAGE                the tag to build (default mqtt-kafka-bridge:VERSION)
#   IMAGE_BASE           the Debian 12 image both stages start from
#   IMAGE_ENGINE         podman or docker (default: podman when installed)
#   IMAGE_BUILD_FLAGS    default for podman: --network host --isolation chroot
#                        --format docker (HEALTHCHECK is a Docker-format field:
#                        the OCI format drops it) and the host's CA bundle
#                        mounted read-only where scripts/common.sh's
#                        crate_fetch looks (HTTPS through a machine's own CA)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=$(cat VERSION)
IMAGE=${IMAGE:-mqtt-kafka-bridge:$version}
IMAGE_BASE=${IMAGE_BASE:-debian:12}
engine=${IMAGE_ENGINE:-$(command -v podman >/dev/null && echo podman || echo docker)}
ca=/etc/ssl/certs/ca-certificates.crt
if [ -z "${IMAGE_BUILD_FLAGS+set}" ]; then
    IMAGE_BUILD_FLAGS=
    if [ "$engine" = podman ]; then
        IMAGE_BUILD_FLAGS="--network host --isolation chroot --format docker"
        [ ! -r "$ca" ] || IMAGE_BUILD_FLAGS+=" -v $ca:/run/mkb-host-ca.crt:ro"
    fi
fi
t0=$SECONDS

if ! "$engine" image inspect "$IMAGE_BASE" >/dev/null 2>&1; then
    tar=build/image/debian-12-minbase.tar
    if [ ! -s "$tar" ]; then
        command -v mmdebstrap >/dev/null ||
            { echo "image: $IMAGE_BASE is missing and mmdebstrap is not installed (make deps)" >&2; exit 1; }
        mkdir -p build/image
        echo "image: no $IMAGE_BASE: making one with mmdebstrap --variant=minbase bookworm"
        mmdebstrap --quiet --variant=minbase --format=tar bookworm "$tar.part"
        mv "$tar.part" "$tar"
    fi
    "$engine" import "$tar" "$IMAGE_BASE" >/dev/null
    echo "image: imported $tar as $IMAGE_BASE ($((SECONDS - t0)) s)"
fi

# shellcheck disable=SC2086 # IMAGE_BUILD_FLAGS is a list of words
"$engine" build $IMAGE_BUILD_FLAGS --build-arg DEBIAN_IMAGE="$IMAGE_BASE" -t "$IMAGE" .
size=$("$engine" image inspect --format '{{.Size}}' "$IMAGE")
echo "image: built $IMAGE with $engine in $((SECONDS - t0)) s, $((size / 1000000)) MB"
