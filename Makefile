# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# mqtt-kafka-bridge. See README.md. Targets (the long recipes are in scripts/):
#   make / make all     build ./mqtt-kafka-bridge, build/freeport and the simulator
#   make deps           install build/test dependencies (Debian 12, as root) + Kafka jars, librdkafka
#   make unit           the unit suites (tests/unit, one per module)
#   make integration    the integration suites against real brokers (tests/integration)
#   make check          unit, reuse, monitoring, install, journal, kubernetes and per-mapping checks, then integration
#   make check-install  tests/install/check.sh: make install into a scratch DESTDIR, man page
#   make check-deb      tests/deb/check.sh: the .deb built, lintian, installed and upgraded in a clean bookworm root
#   make check-journal  tests/journal/check.sh: the log under a real systemd-journald (priorities)
#   make check-reuse    reuse lint: every file names its copyright and licence (REUSE 3.3)
#   make check-k8s      tests/kubernetes/check.sh: deploy/kubernetes/ against the Kubernetes schemas, offline
#   make check-k8s-live the pod of deploy/kubernetes/ played against the harness brokers (no cluster)
#   make image          the container image (Dockerfile) with podman or docker: scripts/image.sh
#   make check-image    tests/image/check.sh: that image against the harness brokers
#   make k8s-manifests  regenerate deploy/kubernetes/configmap.yaml from config/ and mappings/
#   make asan           make check with an ASan+UBSan build (in build/asan)
#   make faults         the fault suite: SIGKILLs, outages, damaged journal, full disk, leader kill
#   make valgrind       unit + integration suites with the bridge under valgrind memcheck
#   make lint           lint-tidy and lint-cppcheck; fails on any finding
#   make lint-tidy      clang-tidy (.clang-tidy) over src/, tools/ and tests/
#   make lint-cppcheck  cppcheck (tests/lint/cppcheck.supp) over src/, tools/ and tests/
#   make fuzz           every libFuzzer target (tests/fuzz) FUZZ_SECONDS on its corpus (clang)
#   make check-fuzz     the same for CHECK_FUZZ_SECONDS (40 s) each; fails on any finding
#   make bench          drain and live benchmarks against real brokers (bench/bench.py):
#                       the bridge as shipped, spool off, raw, Telegraf, baselines A, B, C
#   make bench-deps     build the bench's peer, Telegraf 1.37 (Go module), into .cache/bench
#   make bench-spool    the drain with the spool off and on, alternating
#   make bench-sparkplug  the Sparkplug drain alone (pysparkplug DDATA of 20 metrics)
#   make bench-metrics  the drain with metrics off and on (scraped every second)
#   make bench-librdkafka  the drain with Debian's librdkafka and the pinned one
#   make bench-micro    the rule engine's cost per message with 10 and 10,000 routes
#   make demo           brokers + bridge + simulator on this machine; Ctrl-C stops all
#   make docs           regenerate docs/CONFIGURATION.md's key table from the loader's table
#   make format         clang-format over src/ and tests/
#   make install        install under PREFIX (DESTDIR for staging); make uninstall removes it
#   make uninstall      remove the binary, the man page, the unit and share/ (not /etc)
#   make clean          remove build/ and the binary

.PHONY: all deps unit integration check check-install check-deb check-journal check-reuse check-k8s \
        check-k8s-live k8s-manifests image check-image asan faults valgrind lint lint-tidy lint-cppcheck fuzz \
        check-fuzz bench bench-deps bench-spool bench-metrics bench-librdkafka bench-sparkplug \
        bench-micro demo docs format install uninstall clean

SHELL := /bin/bash
.DEFAULT_GOAL := all
.SECONDARY:
VERSION := $(shell cat VERSION)
BUILD   ?= build
BIN     ?= mqtt-kafka-bridge
PREFIX  ?= /usr/local

CC      ?= cc
PKGS    := yaml-0.1 jansson libmicrohttpd openssl libprotobuf-c
# librdkafka: the pinned build scripts/librdkafka.sh makes (`make deps`),
# linked statically: Debian 12's 2.0.2 cannot log in with SCRAM to Kafka 4
# (docs/ARCHITECTURE.md). Without that build, the system's librdkafka-dev.
RDKAFKA_PREFIX ?= $(CURDIR)/.cache/librdkafka
ifneq ($(wildcard $(RDKAFKA_PREFIX)/lib/librdkafka.a),)
RDK_CFLAGS := -isystem $(RDKAFKA_PREFIX)/include
RDK_LIBS   := $(RDKAFKA_PREFIX)/lib/librdkafka.a -lsasl2 -lcurl -lzstd -lssl -lcrypto -lz -ldl -lrt
RDK_DEP    := $(RDKAFKA_PREFIX)/.complete
else
RDK_CFLAGS := $(shell pkg-config --cflags rdkafka)
RDK_LIBS   := $(shell pkg-config --libs rdkafka)
endif
# Paho MQTT C: the pinned build scripts/paho.sh makes (`make deps`): Debian
# 12's release (1.3.12) built with PAHO_HIGH_PERFORMANCE, linked statically
# (docs/ARCHITECTURE.md, "Paho"). Without that build, the system's
# libpaho-mqtt-dev.
PAHO_PREFIX ?= $(CURDIR)/.cache/paho
ifneq ($(wildcard $(PAHO_PREFIX)/lib/libpaho-mqtt3as.a),)
PAHO_CFLAGS := -isystem $(PAHO_PREFIX)/include
PAHO_LIBS   := $(PAHO_PREFIX)/lib/libpaho-mqtt3as.a -lssl -lcrypto
PAHO_DEP    := $(PAHO_PREFIX)/.complete
else
PAHO_LIBS   := -lpaho-mqtt3as
endif
PKG_CFLAGS := $(RDK_CFLAGS) $(PAHO_CFLAGS) $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(RDK_LIBS) $(shell pkg-config --libs $(PKGS))
OPT     ?= -O2 -g
SAN     ?=
ifneq ($(SAN),)
OPT     := -O1 -g -fno-omit-frame-pointer
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
endif
# Sparkplug B's schema (the Eclipse Sparkplug 3.0 specification's
# sparkplug_b.proto, third_party/sparkplug/) compiled with protoc-c at build
# time into GEN; src/spb.c reads payloads through it.
GEN     := build/gen
SPB_PB  := $(GEN)/sparkplug_b.pb-c
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DMKB_VERSION=\"$(VERSION)\" -Isrc -I$(GEN)
CFLAGS  += -std=c11 -Wall -Wextra -Werror $(OPT) $(SANFLAGS) $(PKG_CFLAGS)
LDFLAGS += $(SANFLAGS)
LDLIBS  := $(PKG_LIBS) $(PAHO_LIBS) -lz -lpthread -lm
CHECK_LIBS := $(shell pkg-config --libs check)

SRCS := $(wildcard src/*.c)
OBJS := $(SRCS:src/%.c=$(BUILD)/src/%.o) $(BUILD)/gen/sparkplug_b.pb-c.o
LIB_OBJS := $(filter-out $(BUILD)/src/main.o,$(OBJS))

# Unit tests: one suite per module, linked against that module (and the
# lower layers it is built on) only.
UNIT_TESTS := $(BUILD)/tests/unit/test_trie $(BUILD)/tests/unit/test_ytree \
              $(BUILD)/tests/unit/test_config $(BUILD)/tests/unit/test_mapper \
              $(BUILD)/tests/unit/test_jarena $(BUILD)/tests/unit/test_spool \
              $(BUILD)/tests/unit/test_log $(BUILD)/tests/unit/test_kafka_errors \
              $(BUILD)/tests/unit/test_normalize $(BUILD)/tests/unit/test_template \
              $(BUILD)/tests/unit/test_downlink_offsets $(BUILD)/tests/unit/test_kafka_client \
              $(BUILD)/tests/unit/test_bridge_metrics $(BUILD)/tests/unit/test_dead_letter \
              $(BUILD)/tests/unit/test_examples $(BUILD)/tests/unit/test_tzinfo \
              $(BUILD)/tests/unit/test_subcover $(BUILD)/tests/unit/test_subheld \
              $(BUILD)/tests/unit/test_spb $(BUILD)/tests/unit/test_spb_state \
              $(BUILD)/tests/unit/test_spb_encode $(BUILD)/tests/unit/test_mapper_spb \
              $(BUILD)/tests/unit/test_procstat $(BUILD)/tests/unit/test_listen_addr \
              $(BUILD)/tests/unit/test_kafka_features
$(BUILD)/tests/unit/test_kafka_features: $(BUILD)/src/kafka_features.o
$(BUILD)/tests/unit/test_tzinfo: $(BUILD)/src/tzinfo.o
$(BUILD)/tests/unit/test_log: $(BUILD)/src/log.o
$(BUILD)/tests/unit/test_kafka_errors: $(BUILD)/src/kafka_errors.o
$(BUILD)/tests/unit/test_bridge_metrics: $(addprefix $(BUILD)/src/,bridge_metrics.o metrics.o procstat.o listen_addr.o \
    kafka_errors.o buf.o log.o err.o)
$(BUILD)/tests/unit/test_procstat: $(addprefix $(BUILD)/src/,procstat.o buf.o err.o)
$(BUILD)/tests/unit/test_listen_addr: $(addprefix $(BUILD)/src/,listen_addr.o err.o)
$(BUILD)/tests/unit/test_trie: $(BUILD)/src/trie.o $(BUILD)/src/err.o
$(BUILD)/tests/unit/test_subcover: $(addprefix $(BUILD)/src/,subcover.o trie.o buf.o err.o)
# Sparkplug B: the decoder and the protobuf-c code generated from the schema.
$(BUILD)/tests/unit/test_spb: $(BUILD)/src/spb.o $(BUILD)/gen/sparkplug_b.pb-c.o $(BUILD)/src/err.o
# The birth state, on the datatype names of spb.c.
$(BUILD)/tests/unit/test_spb_state: $(addprefix $(BUILD)/src/,spb_state.o spb.o err.o) \
    $(BUILD)/gen/sparkplug_b.pb-c.o
# The command encoder; its payloads are checked by pysparkplug (tests/sparkplug/decode.py).
$(BUILD)/tests/unit/test_spb_encode: $(addprefix $(BUILD)/src/,spb_encode.o spb.o buf.o err.o) \
    $(BUILD)/gen/sparkplug_b.pb-c.o
$(BUILD)/tests/unit/test_subheld: $(addprefix $(BUILD)/src/,subheld.o buf.o log.o err.o)
$(BUILD)/tests/unit/test_ytree: $(BUILD)/src/ytree.o $(BUILD)/src/diag.o $(BUILD)/src/buf.o $(BUILD)/src/err.o
# The configuration: loader, key table, cross-field checks, and below them
# diagnostics, YAML and the normalizer's list of conversions.
CONFIG_OBJS := $(addprefix $(BUILD)/src/,config.o config_keys.o config_check.o kafka_features.o \
               listen_addr.o diag.o buf.o ytree.o normalize.o jparse.o tzinfo.o err.o)
$(BUILD)/tests/unit/test_config: $(CONFIG_OBJS)
ENGINE_OBJS := $(sort $(addprefix $(BUILD)/src/,mapper.o cond.o trie.o subcover.o template.o jdump.o jptr.o \
               jarena.o kafka_client.o log.o spb_msg.o spb.o spb_state.o) $(CONFIG_OBJS)) \
               $(BUILD)/gen/sparkplug_b.pb-c.o
$(BUILD)/tests/unit/test_mapper: $(ENGINE_OBJS)
$(BUILD)/tests/unit/test_mapper_spb: $(ENGINE_OBJS)
# The worked examples: tests/fixtures/devices through mappings/devices/.
$(BUILD)/tests/unit/test_examples: $(ENGINE_OBJS)
$(BUILD)/tests/unit/test_jarena: $(BUILD)/src/jarena.o $(BUILD)/src/jparse.o
$(BUILD)/tests/unit/test_spool: $(BUILD)/src/spool.o $(BUILD)/src/log.o $(BUILD)/src/err.o
# A simulated small disk (tests/unit/test_spool.c): the spool's writes and
# fstatvfs go through the test's wrappers.
$(BUILD)/tests/unit/test_spool: LDFLAGS += -Wl,--wrap=write -Wl,--wrap=fstatvfs
$(BUILD)/tests/unit/test_downlink_offsets: $(BUILD)/src/downlink_offsets.o
$(BUILD)/tests/unit/test_dead_letter: $(BUILD)/src/dead_letter.o
# test_kafka_client stubs config_is_secret_property (config.c).
$(BUILD)/tests/unit/test_kafka_client: $(BUILD)/src/kafka_client.o $(BUILD)/src/log.o
$(BUILD)/tests/unit/test_normalize: $(BUILD)/src/normalize.o $(BUILD)/src/jparse.o \
    $(BUILD)/src/tzinfo.o $(BUILD)/src/err.o
# test_template stubs config_nearest (config.c), which template.c asks for a did-you-mean.
$(BUILD)/tests/unit/test_template: $(BUILD)/src/template.o $(BUILD)/src/jdump.o $(BUILD)/src/jptr.o $(BUILD)/src/buf.o \
    $(BUILD)/src/err.o

INTEG_TESTS := $(BUILD)/tests/integration/test_uplink $(BUILD)/tests/integration/test_resilience \
               $(BUILD)/tests/integration/test_commands $(BUILD)/tests/integration/test_metrics \
               $(BUILD)/tests/integration/test_systemd $(BUILD)/tests/integration/test_security \
               $(BUILD)/tests/integration/test_limits $(BUILD)/tests/integration/test_examples \
               $(BUILD)/tests/integration/test_cover $(BUILD)/tests/integration/test_sparkplug
$(BUILD)/tests/integration/test_uplink: $(BUILD)/tests/integration/itest.o
$(BUILD)/tests/integration/test_cover: $(BUILD)/tests/integration/itest.o
$(BUILD)/tests/integration/test_sparkplug: $(BUILD)/tests/integration/itest.o
$(BUILD)/tests/integration/test_security: $(BUILD)/tests/integration/itest.o
$(BUILD)/tests/integration/test_commands: $(BUILD)/tests/integration/itest.o
$(BUILD)/tests/integration/test_metrics: $(BUILD)/tests/integration/itest.o
$(BUILD)/tests/integration/test_systemd: $(BUILD)/tests/integration/itest.o $(BUILD)/src/notify.o \
    $(BUILD)/src/err.o
$(BUILD)/tests/integration/test_resilience: $(BUILD)/tests/integration/itest.o
$(BUILD)/tests/integration/test_limits: $(BUILD)/tests/integration/itest.o
$(BUILD)/tests/integration/test_examples: $(BUILD)/tests/integration/itest.o

all: $(BIN) $(BUILD)/freeport $(BUILD)/mqtt-kafka-bridge-sim

# The HVAC sensor and actuator simulator (make demo uses it).
$(BUILD)/mqtt-kafka-bridge-sim: tools/simulator.c Makefile
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g $(SANFLAGS) $(PAHO_CFLAGS) -o $@ $< $(PAHO_LIBS) -lpthread

$(BIN): $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Header dependencies come from -MMD (the .d files included at the end); -MP
# keeps a deleted or renamed header from breaking the next build.
$(BUILD)/src/%.o: src/%.c Makefile $(RDK_DEP) $(PAHO_DEP) | $(SPB_PB).h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The version (VERSION, the one source: -V, mkb_build_info) is compiled into
# these two: a bump rebuilds them.
$(BUILD)/src/main.o $(BUILD)/src/bridge_metrics.o: VERSION

$(SPB_PB).c $(SPB_PB).h &: third_party/sparkplug/sparkplug_b.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=third_party/sparkplug --c_out=$(GEN) $<

$(BUILD)/gen/sparkplug_b.pb-c.o: $(SPB_PB).c $(SPB_PB).h Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c Makefile $(RDK_DEP) $(PAHO_DEP) | $(SPB_PB).h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(shell pkg-config --cflags check) -Itests -Itests/integration -DMKB_SOURCE_DIR=\"$(CURDIR)\" -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tests/integration/%: $(BUILD)/tests/integration/%.o
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/bench/micro_mapper: bench/micro_mapper.c $(ENGINE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $(filter %.c %.o,$^) $(LDLIBS)

# The Sparkplug B decoder's cost per metric (bench/micro.sh runs it too).
$(BUILD)/bench/micro_spb: bench/micro_spb.c $(addprefix $(BUILD)/src/,spb.o jarena.o err.o) \
    $(BUILD)/gen/sparkplug_b.pb-c.o
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -DMKB_SOURCE_DIR=\"$(CURDIR)\" -MMD -MP -o $@ $(filter %.c %.o,$^) $(LDLIBS)

BENCH_TOOLS := $(BUILD)/bench/paho_sink $(BUILD)/bench/pub $(BUILD)/bench/kafka_tool
# The load generator is on libmosquitto (Debian libmosquitto-dev, [test] in
# deps/apt-packages.txt): a fraction of Paho's CPU per message, which the live
# bench's publishers would otherwise take from the bridge on 2 cores.
$(BUILD)/bench/pub: LDLIBS += -lmosquitto
$(BUILD)/bench/%: bench/%.c Makefile
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g $(PKG_CFLAGS) -o $@ $< \
	    $(LDLIBS)

# Drain and live benchmarks against real brokers (bench/bench.py); results
# in bench/results/. The drain's contenders: the bridge as shipped (HVAC
# rules, spool with fsync: interval, metrics on; the headline), the bridge
# with the spool off, with a raw rule, Telegraf, and the baselines A, B, C;
# the live run offers 5k, 20k and 50k msg/s from several publishers to the
# shipped configuration. BENCH_N messages per drain run (default 500000),
# BENCH_SPB_N DDATA in the Sparkplug drain (default BENCH_N when set, else
# 50000), BENCH_LIVE_S seconds per live rate, BENCH_RATES the rates;
# BENCH_ARGS: more bench.py options (e.g. --only shipped,telegraf,C).
# Telegraf comes from bench-deps; when it cannot be built the bench says so
# and runs without it.
bench: all $(BENCH_TOOLS) $(BUILD)/bench/micro_mapper $(BUILD)/bench/micro_spb
	scripts/bench-deps.sh || echo "bench: Telegraf not built (see above); it is left out"
	HARNESS_FREEPORT=$(abspath $(BUILD)/freeport) tests/harness/with-brokers.sh \
	    python3 bench/bench.py --build $(BUILD) --bin $(abspath $(BIN)) $(BENCH_ARGS)

# What the bench measures the bridge against and the project does not ship:
# Telegraf v1.37.x (inputs.mqtt_consumer, outputs.kafka, the JSON parser and
# serializer) built from its Go module into .cache/bench/bin (about 2 minutes
# on 2 cores, at nice 19; skipped when that version is there). Needs Go.
bench-deps:
	scripts/bench-deps.sh

# The Sparkplug drain alone: the bridge's sparkplug_b route (per metric) on
# pysparkplug's NBIRTH, DBIRTH and DDATA of 20 metrics by alias (needs the
# venv .cache/sparkplug or SPB_PYTHON); report bench/results/DATE-HOST-sparkplug.md.
bench-sparkplug: all $(BENCH_TOOLS)
	HARNESS_FREEPORT=$(abspath $(BUILD)/freeport) tests/harness/with-brokers.sh \
	    python3 bench/bench.py --build $(BUILD) --bin $(abspath $(BIN)) --only spb

# The same drain with the spool off and on, alternating, in one run
# (bench/results/2026-11-28-spool.md); target: on >= 0.8x off.
bench-spool: all $(BENCH_TOOLS)
	HARNESS_FREEPORT=$(abspath $(BUILD)/freeport) tests/harness/with-brokers.sh \
	    python3 bench/bench.py --build $(BUILD) --bin $(abspath $(BIN)) --spool-compare

# The same drain with metrics off and on (scraped every second), in one run
# (bench/results/2026-11-28-metrics.md); target: within 2%.
bench-metrics: all $(BENCH_TOOLS)
	HARNESS_FREEPORT=$(abspath $(BUILD)/freeport) tests/harness/with-brokers.sh \
	    python3 bench/bench.py --build $(BUILD) --bin $(abspath $(BIN)) --metrics-compare

# The same drain with the bridge built against Debian's librdkafka (off,
# build/sysrdk) and the pinned one `make deps` builds (on), in one run.
bench-librdkafka: all $(BENCH_TOOLS)
	$(MAKE) --no-print-directory BUILD=build/sysrdk BIN=build/sysrdk/mqtt-kafka-bridge \
	    RDKAFKA_PREFIX=/nonexistent build/sysrdk/mqtt-kafka-bridge
	HARNESS_FREEPORT=$(abspath $(BUILD)/freeport) tests/harness/with-brokers.sh \
	    python3 bench/bench.py --build $(BUILD) --bin $(abspath $(BIN)) \
	    --bin-compare $(abspath build/sysrdk/mqtt-kafka-bridge)

# The rule engine's cost per message with 10 and 10,000 routes.
bench-micro: $(BUILD)/bench/micro_mapper $(BUILD)/bench/micro_spb
	bench/micro.sh $(BUILD)/bench/micro_mapper $(BUILD)/bench/micro_spb

# libFuzzer targets (clang), one per tests/fuzz/fuzz_*.c: the rule engine,
# the config loader, the JSON parser (against jansson), the spool's recovery
# and record decoding, the downlink's command rules against hostile Kafka
# records, the time zone reader against damaged TZif files, the Sparkplug B
# decoder (spb) against hostile payloads, the Sparkplug
# births file (spb_state) as hostile bytes, the log line formats (log)
# against hostile message bytes (through headers: no target includes a .c
# file). `make fuzz` runs each for FUZZ_SECONDS on a scratch
# copy of its seed corpus (tests/fuzz/corpus/<name>); `make check-fuzz` (CI)
# runs each for CHECK_FUZZ_SECONDS and fails if any crashes, leaks or times
# out (scripts/fuzz.sh). A crash leaves its input in build/fuzz/<target>-crash-*.
# CHECK_FUZZ_SECONDS is 40 since there are ten targets, so check-fuzz stays
# within the 7 minutes of CI that seven targets at 60 s took.
FUZZ_SECONDS ?= 300
CHECK_FUZZ_SECONDS ?= 40
FUZZ_CC ?= clang
FUZZ_FLAGS := -std=c11 -Wall -Wextra -Werror -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
              $(CPPFLAGS) $(PKG_CFLAGS)
# Every module below the bridge's wiring (main, bridge, bridge_metrics,
# cli_map, metrics, notify are not reached by any target).
FUZZ_SRCS := $(filter-out $(addprefix src/,main.c bridge.c bridge_metrics.c cli_map.c metrics.c \
             notify.c), \
             $(wildcard src/*.c))
FUZZERS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

# Each source compiled once for all targets (build/fuzz/obj, header
# dependencies from -MMD), then each target linked with every module.
FUZZ_OBJS := $(FUZZ_SRCS:%.c=build/fuzz/obj/%.o) build/fuzz/obj/$(SPB_PB).o
build/fuzz/obj/%.o: %.c Makefile | $(SPB_PB).h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -MMD -MP -c -o $@ $<

build/fuzz/%: build/fuzz/obj/tests/fuzz/%.o $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< \
	    $(FUZZ_OBJS) $(LDLIBS)

fuzz: $(FUZZERS)
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZERS)

check-fuzz: $(FUZZERS)
	@scripts/fuzz.sh $(CHECK_FUZZ_SECONDS) $(FUZZERS)
	@echo "make check-fuzz: all $(words $(FUZZERS)) targets passed"

# Valgrind memcheck (scripts/valgrind.sh): the unit suites, then the
# integration suites with the bridge started under valgrind and
# MKB_TEST_SCALE=VG_SCALE, then tests/valgrind-check.sh over the logs
# (build/valgrind/vg-<pid>.log). Leaks of kind "possible" (blocks reached
# only through an interior pointer, e.g. of a library thread still running at
# exit: nondeterministic) and "still reachable" (libraries' globals not freed
# at exit, ~20 KB: not a leak) are counted by the check but are not errors.
# VG_TESTS: the integration suites run (default: all of them; BINARY:TCASE
# for one libcheck test case, see tests/integration/run.sh).
VG_SCALE ?= 10
VG_DIR := $(abspath $(BUILD))/valgrind
VG_TESTS ?= $(INTEG_TESTS)
VALGRIND := valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
            --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
            --child-silent-after-fork=yes --num-callers=30 \
            --suppressions=$(abspath tests/valgrind.supp) --log-file=$(VG_DIR)/vg-%p.log

valgrind: all $(UNIT_TESTS) $(INTEG_TESTS)
	@VALGRIND="$(VALGRIND)" VG_DIR=$(VG_DIR) VG_SCALE=$(VG_SCALE) UNIT_TESTS="$(UNIT_TESTS)" \
	    VG_TESTS="$(VG_TESTS)" BRIDGE_BIN=$(abspath $(BIN)) FREEPORT=$(abspath $(BUILD)/freeport) \
	    scripts/valgrind.sh

$(BUILD)/freeport: tests/harness/freeport.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -o $@ $<

deps:
	scripts/deps.sh

unit: $(UNIT_TESTS)
	@fail=0; for t in $(UNIT_TESTS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

integration: all $(INTEG_TESTS)
	MKB_BRIDGE_BIN=$(abspath $(BIN)) HARNESS_FREEPORT=$(abspath $(BUILD)/freeport) \
	    tests/harness/with-brokers.sh \
	    tests/integration/run.sh $(INTEG_TESTS)

check: all $(UNIT_TESTS) $(INTEG_TESTS)
	@fail=0; \
	$(MAKE) --no-print-directory unit || fail=1; \
	echo "== reuse lint"; $(MAKE) --no-print-directory check-reuse || fail=1; \
	echo "== tests/monitoring/check.sh"; tests/monitoring/check.sh || fail=1; \
	echo "== tests/install/check.sh"; MKB_INSTALL_BIN=$(BIN) tests/install/check.sh || fail=1; \
	echo "== tests/examples/check-mappings.sh"; tests/examples/check-mappings.sh $(abspath $(BIN)) || fail=1; \
	echo "== tests/journal/check.sh"; tests/journal/check.sh $(abspath $(BIN)) || fail=1; \
	echo "== tests/kubernetes/check.sh"; tests/kubernetes/check.sh $(abspath $(BIN)) || fail=1; \
	echo "== tests/kubernetes/check.sh --live"; \
	HARNESS_FREEPORT=$(abspath $(BUILD)/freeport) tests/kubernetes/check.sh --live $(abspath $(BIN)) || fail=1; \
	$(MAKE) --no-print-directory integration || fail=1; \
	if [ $$fail -ne 0 ]; then echo "make check: FAILED"; else echo "make check: all passed"; fi; \
	exit $$fail

# ASan + UBSan build of the bridge and the tests, then the same test suite.
asan:
	$(MAKE) BUILD=build/asan BIN=build/asan/mqtt-kafka-bridge SAN=1 check

demo: all
	scripts/demo.sh

# Regenerates the key table of docs/CONFIGURATION.md from the loader's table.
docs: $(BIN)
	scripts/config-keys-md.sh ./$(BIN) > $(BUILD)/keys.md
	sed -i -e '/<!-- keys:begin/,/<!-- keys:end -->/{/<!-- keys:begin/{p;r $(BUILD)/keys.md' \
	    -e '};/<!-- keys:end -->/p;d}' docs/CONFIGURATION.md

# Static analysis (scripts/lint.sh): clang-tidy with the checked-in
# .clang-tidy (every diagnostic an error) and cppcheck with
# tests/lint/cppcheck.supp, over src/, tools/ and tests/, each file group with
# the flags it is built with. Fails on any finding; false positives are
# silenced at their line with a reason.
CLANG_TIDY ?= clang-tidy
CPPCHECK ?= cppcheck
LINT_CFLAGS = $(CPPFLAGS) -std=c11 -Wall -Wextra $(PKG_CFLAGS)
LINT_TEST_CFLAGS = $(LINT_CFLAGS) $(shell pkg-config --cflags check) -Itests -Itests/integration \
                   -DMKB_SOURCE_DIR=\"$(CURDIR)\"
# cppcheck reads no system header: the two protobuf-c version macros the
# generated sparkplug_b.pb-c.h tests come from protobuf-c.h (Debian 12: 1.4.1).
CPPCHECK_DEFS = -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DMKB_VERSION=\"$(VERSION)\" \
                -DMKB_SOURCE_DIR=\"$(CURDIR)\" -Isrc -I$(GEN) -Itests -Itests/integration \
                -DPROTOBUF_C_VERSION_NUMBER=1004001 -DPROTOBUF_C_MIN_COMPILER_VERSION=1000000

lint:
	@fail=0; $(MAKE) --no-print-directory lint-tidy || fail=1; \
	$(MAKE) --no-print-directory lint-cppcheck || fail=1; \
	if [ $$fail -ne 0 ]; then echo "make lint: FAILED"; else echo "make lint: clean"; fi; exit $$fail

LINT_VARS = CLANG_TIDY="$(CLANG_TIDY)" CPPCHECK="$(CPPCHECK)" LINT_CFLAGS="$(LINT_CFLAGS)" \
            LINT_TEST_CFLAGS="$(LINT_TEST_CFLAGS)" CPPCHECK_DEFS="$(CPPCHECK_DEFS)"

lint-tidy: $(SPB_PB).h
	@$(LINT_VARS) scripts/lint.sh tidy

lint-cppcheck: $(SPB_PB).h
	@$(LINT_VARS) scripts/lint.sh cppcheck

format:
	clang-format -i src/*.c src/*.h tests/*/*.c tests/*/*.h

clean:
	rm -rf build $(BIN)

-include $(wildcard $(BUILD)/src/*.d $(BUILD)/tests/*/*.d $(BUILD)/bench/*.d \
                   build/fuzz/obj/src/*.d build/fuzz/obj/tests/fuzz/*.d)

# Fault suite (tests/faults/faults.c): the bridge with its spool SIGKILLed
# at random moments, Kafka stopped mid-stream, a damaged journal, the spool
# on a full 8 MiB tmpfs, a route's topic not created yet through a 40 s
# Kafka outage (with and without the spool) and one that really is absent,
# Kafka hung (SIGSTOP) and MQTT intake paused with /readyz checked, a SIGTERM
# while intake is paused (single node), then a partition leader SIGKILLed in
# a three-node cluster. Prints a table (scenario, published, in Kafka, lost,
# duplicated); fails if any scenario did. MKB_FAULTS_SEED=N repeats a run's
# random delays.
FAULTS_BIN := $(BUILD)/tests/faults/faults
$(FAULTS_BIN): $(BUILD)/tests/faults/faults.o $(BUILD)/tests/integration/itest.o
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

faults: all $(FAULTS_BIN)
	@rm -f $(BUILD)/faults-table.txt; fail=0; start=$$SECONDS; \
	export MKB_BRIDGE_BIN=$(abspath $(BIN)) HARNESS_FREEPORT=$(abspath $(BUILD)/freeport) \
	    MKB_FAULTS_TABLE=$(abspath $(BUILD)/faults-table.txt); \
	tests/harness/with-brokers.sh $(FAULTS_BIN) sigkill kafka-outage torn-tail disk-full \
	    topic-later topic-absent topic-later-nospool kafka-hung intake-paused queue-full \
	    paused-sigterm || fail=1; \
	MKB_KAFKA_NODES=3 tests/harness/with-brokers.sh $(FAULTS_BIN) cluster || fail=1; \
	echo "== make faults: all scenarios ($$((SECONDS - start)) s)"; \
	cat $(BUILD)/faults-table.txt 2>/dev/null || echo "(no table)"; \
	if [ $$fail -ne 0 ]; then echo "make faults: FAILED"; else echo "make faults: all passed"; fi; \
	exit $$fail

# Install (PREFIX, default /usr/local; DESTDIR for staging and packaging),
# scripts/install.sh: the binary and the man page go under $(PREFIX), the unit
# under /lib/systemd (ExecStart rewritten to $(PREFIX)/bin), the configuration
# under /etc/mqtt-kafka-bridge: an edited bridge.yaml or mapping file is kept,
# and the new one lands beside it as .new. The installed bridge.yaml names the
# mappings and the spool by absolute paths; the example mappings are also
# kept pristine in $(PREFIX)/share/mqtt-kafka-bridge. The device families
# (mappings/devices/) are documentation only: they go to
# $(PREFIX)/share/mqtt-kafka-bridge/mappings/devices, never to /etc, where the
# installed bridge.yaml would load them. `make uninstall` removes the binary,
# the man page, the unit and the examples in share/, never /etc or /var/lib.
SYSCONFDIR  := /etc/mqtt-kafka-bridge
UNITDIR     := /lib/systemd/system
SHAREDIR     = $(PREFIX)/share/mqtt-kafka-bridge
MAN8DIR      = $(PREFIX)/share/man/man8
MAPPING_FILES := $(wildcard mappings/*.yaml)
DEVICE_MAPPING_FILES := $(wildcard mappings/devices/*.yaml)

INSTALL_VARS = BIN=$(BIN) BUILD=$(BUILD) DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) \
               SYSCONFDIR=$(SYSCONFDIR) UNITDIR=$(UNITDIR) SHAREDIR=$(SHAREDIR) \
               MAN8DIR=$(MAN8DIR) MAPPING_FILES="$(MAPPING_FILES)" \
               DEVICE_MAPPING_FILES="$(DEVICE_MAPPING_FILES)" \
               ECHO=$(if $(findstring s,$(firstword -$(MAKEFLAGS))),0,1)

install: $(BIN)
	@$(INSTALL_VARS) scripts/install.sh install

uninstall:
	@$(INSTALL_VARS) scripts/install.sh uninstall

# tests/install/check.sh: `make install` into a scratch DESTDIR (files,
# modes, rewritten paths, `check` of the installed configuration), the man
# page against --help and its lint, hadolint and compose.yaml when the tools
# are there. Needs no broker.
check-install: all
	tests/install/check.sh

# tests/deb/check.sh: the Debian package (debian/, dpkg-buildpackage)
# built twice, lintian on it, then installed with apt into a fresh copy of a
# minbase bookworm root (mmdebstrap, tarball cached in .cache/deb) and
# upgraded: unit, conffiles, `check`, system user, an edited conffile kept.
# Needs root and the Debian mirror; about 40 s with the tarball cached.
check-deb:
	tests/deb/check.sh

# Licensing (REUSE Specification 3.3, https://reuse.software): every file
# says its copyright and licence, in an SPDX header at its top or, for files
# that cannot hold a comment (fixtures, JSON), in REUSE.toml; the licence
# texts are in LICENSES/. reuse, pinned in tests/lint/reuse-requirements.txt,
# comes from `make deps` (.cache/reuse), so this runs offline. A new file
# without a header fails here: `reuse annotate --copyright "The
# mqtt-kafka-bridge authors" --license Apache-2.0 FILE` adds one.
REUSE ?= $(CURDIR)/.cache/reuse/bin/reuse
check-reuse:
	@[ -x "$(REUSE)" ] || { echo "check-reuse: $(REUSE) is missing: run make deps"; exit 1; }
	@$(REUSE) --root $(CURDIR) lint --lines || { echo "check-reuse: FAILED: give each file above an SPDX" \
	    "header (or a REUSE.toml entry when its bytes must stay as they are)"; exit 1; }
	@echo "check-reuse: every file names its copyright and licence ($$($(REUSE) --version | head -n 1))"

# The container image (scripts/image.sh): IMAGE built from ./Dockerfile with
# IMAGE_ENGINE (podman, or docker where podman is missing), from IMAGE_BASE
# (debian:12; made with mmdebstrap and imported when the engine has none).
# IMAGE_BUILD_FLAGS (unset: podman's defaults of scripts/image.sh: host
# network, chroot isolation, Docker format for HEALTHCHECK, the host's CA
# bundle mounted read-only for the build's HTTPS downloads).
# check-image runs it on the host's network against the harness brokers
# (tests/image/check.sh) with IMAGE_RUN_FLAGS: runc, since crun refuses a
# hybrid cgroup setup, and ulimits a container without CAP_SYS_RESOURCE may
# set (podman's default nofile of 1048576 cannot be). Empty them elsewhere.
IMAGE ?= mqtt-kafka-bridge:$(VERSION)
IMAGE_BASE ?= debian:12
IMAGE_RUN_FLAGS ?= --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096
export IMAGE IMAGE_BASE IMAGE_RUN_FLAGS
image:
	scripts/image.sh

check-image: $(BUILD)/freeport
	HARNESS_FREEPORT=$(abspath $(BUILD)/freeport) tests/harness/with-brokers.sh tests/image/check.sh

# deploy/kubernetes/ offline (no cluster): the ConfigMaps current with
# config/bridge.yaml and mappings/, every object against the Kubernetes
# schemas kubernetes-validate ships and the ServiceMonitor against the
# Prometheus Operator's CRD (tests/kubernetes/crd/), then `check` of the
# ConfigMaps' files with the Deployment's environment. Venv: .cache/k8s.
check-k8s: $(BIN)
	tests/kubernetes/check.sh $(abspath $(BIN))

# The pod played on this machine against the harness brokers (about 15 s):
# the ConfigMaps' files where the Deployment mounts them, its args and env,
# the Secret's keys holding the harness credentials (MQTT password, Kafka
# SCRAM-SHA-512 over SASL_SSL), as uid 10001: the probes' /healthz and
# /readyz answer 200, a reading reaches Kafka, SIGTERM exits 0 in the grace
# period, the spool is on the volume (tests/kubernetes/live.py).
check-k8s-live: all
	HARNESS_FREEPORT=$(abspath $(BUILD)/freeport) tests/kubernetes/check.sh --live $(abspath $(BIN))

# Rewrites deploy/kubernetes/configmap.yaml (and the pod's config-sha256
# annotation) from config/bridge.yaml and mappings/*.yaml.
k8s-manifests:
	$(or $(K8S_VENV),$(CURDIR)/.cache/k8s)/bin/python scripts/k8s-manifests.py

# The log's <N> priorities read by a journald of the test's own (root: a
# private mount namespace).
check-journal: all
	tests/journal/check.sh $(abspath $(BIN))
