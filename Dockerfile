# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# mqtt-kafka-bridge on Debian 12, in two stages. Both install their Debian
# packages with scripts/deps.sh from deps/apt-packages.txt, as `make deps`
# does: the build stage the [build] section, the runtime stage [runtime]
# only (the build stage also builds the pinned librdkafka, statically linked:
# scripts/librdkafka.sh). The runtime stage gets what `make install` puts in a DESTDIR: the
# binary and /etc/mqtt-kafka-bridge (bridge.yaml naming
# /etc/mqtt-kafka-bridge/mappings and /var/lib/mqtt-kafka-bridge/spool).
# The runtime stage needs no librdkafka or Paho package: both are linked
# statically. apt's downloaded .debs and lists are removed in the same layer.
#   docker build -t mqtt-kafka-bridge .      compose.yaml: with Mosquitto and Kafka
#   make image                               podman (or docker), a local
#                                            debian:12 when none can be pulled
# DEBIAN_IMAGE: the Debian 12 image both stages start from (make image passes
# its IMAGE_BASE).
ARG DEBIAN_IMAGE=debian:12
FROM ${DEBIAN_IMAGE} AS build
WORKDIR /src
COPY deps/ deps/
COPY scripts/deps.sh scripts/common.sh scripts/librdkafka.sh scripts/paho.sh scripts/
COPY third_party/paho/ third_party/paho/
RUN scripts/deps.sh build
COPY . .
RUN make clean && make -j"$(nproc)" mqtt-kafka-bridge \
    && make install DESTDIR=/out PREFIX=/usr/local

FROM ${DEBIAN_IMAGE}
COPY deps/ /tmp/deps/
COPY scripts/deps.sh scripts/common.sh /tmp/scripts/
RUN /tmp/scripts/deps.sh runtime \
    && apt-get clean \
    && rm -rf /tmp/deps /tmp/scripts /var/lib/apt/lists/* \
    && useradd --no-log-init --uid 10001 --user-group --no-create-home \
        --home-dir /var/lib/mqtt-kafka-bridge --shell /usr/sbin/nologin mkb \
    && install -d -o mkb -g mkb -m 0750 /var/lib/mqtt-kafka-bridge
COPY --from=build /out/usr/local/bin/mqtt-kafka-bridge /usr/local/bin/mqtt-kafka-bridge
COPY --from=build /out/etc/mqtt-kafka-bridge/ /etc/mqtt-kafka-bridge/
# bridge.yaml reads MKB_METRICS_LISTEN (default 127.0.0.1:9464), and
# MKB_MQTT_URI, MKB_KAFKA_BOOTSTRAP, MKB_CLIENT_ID, MKB_SPOOL_DIR,
# MKB_MAPPINGS_DIR (see mqtt-kafka-bridge(8), ENVIRONMENT).
ENV MKB_METRICS_LISTEN=0.0.0.0:9464
USER 10001:10001
VOLUME ["/etc/mqtt-kafka-bridge", "/var/lib/mqtt-kafka-bridge"]
EXPOSE 9464
# Liveness on /healthz (200 while the process runs); no curl in the image.
# The port is MKB_METRICS_LISTEN's (a container on the host's network may
# need another one than 9464), asked on 127.0.0.1: listen on 0.0.0.0, [::]
# or 127.0.0.1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\"${MKB_METRICS_LISTEN##*:}\" && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200 OK' <&3"]
# SIGTERM (docker stop) flushes to Kafka for up to kafka.flush_timeout_ms:
# give it a stop timeout above that (compose.yaml: stop_grace_period 60s).
# `docker kill -s HUP` reloads the mapping files. The command comes first, so
# the configuration path is in CMD: `docker run IMAGE check` works.
ENTRYPOINT ["/usr/local/bin/mqtt-kafka-bridge"]
CMD ["-c", "/etc/mqtt-kafka-bridge/bridge.yaml"]
