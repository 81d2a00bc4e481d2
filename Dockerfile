# Multi-stage image on Debian 12. The package lists come from
# deps/apt-packages.txt through scripts/deps.sh, the same steps `make deps`
# runs, so the image and the test machines install the same things.
FROM debian:12-slim AS build
WORKDIR /src
COPY deps/ deps/
COPY scripts/ scripts/
RUN scripts/deps.sh build runtime
COPY . .
RUN make clean && make -j"$(nproc)" mqtt-kafka-bridge

FROM debian:12-slim
COPY deps/ /tmp/deps/
COPY scripts/deps.sh scripts/common.sh /tmp/scripts/
RUN /tmp/scripts/deps.sh runtime && rm -rf /tmp/deps /tmp/scripts /var/lib/apt/lists/*
COPY --from=build /src/mqtt-kafka-bridge /usr/local/bin/mqtt-kafka-bridge
COPY config/bridge.yaml /etc/mqtt-kafka-bridge/bridge.yaml
RUN useradd --system --no-create-home --shell /usr/sbin/nologin bridge
USER bridge
VOLUME ["/etc/mqtt-kafka-bridge"]
ENTRYPOINT ["/usr/local/bin/mqtt-kafka-bridge"]
CMD ["-c", "/etc/mqtt-kafka-bridge/bridge.yaml"]
