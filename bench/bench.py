#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
"""make bench: the bridge as it ships against a real peer, a scripted bridge and
its ceilings, side by side, every figure from one run.

Runs inside tests/harness/with-brokers.sh (real Mosquitto and Kafka on free
loopback ports; their addresses come in MKB_* variables).

Drain: BENCH_N QoS 1 readings of about 200 bytes are queued in Mosquitto for
one persistent session per contender while the contenders are offline (each
contender's session is made, subscribed, before the one publication); then
each contender in turn starts and the clock runs until it has taken all of
them (for the bridges, Telegraf and the kcat pipeline: until Kafka holds all
of them, by the partition's high watermark; the bridges' count of delivery
reports and records sampled from Kafka are checked). Contenders, in the
order they run:
  bridge-shipped  the bridge as it ships, the headline: the HVAC rules, the
                  spool on (fsync: interval, in the harness dir), metrics on
                  (metrics.listen on a free loopback port, /metrics scraped
                  once a second during the drain, as Prometheus would; one
                  more scrape after it checks the records counter)
  bridge-hvac     the bridge with the HVAC rules, spool off, no metrics
  bridge-raw      the bridge with a raw pass-through rule, spool off
  telegraf        Telegraf 1.37 (make bench-deps builds it into .cache/bench/bin;
                  --telegraf or $TELEGRAF another binary): inputs.mqtt_consumer
                  with a persistent session (client_id, persistent_session,
                  qos 1, its default tracking: a message is acked to MQTT
                  after the output wrote it), the same filter, the readings
                  parsed as JSON (data_format json: the numeric fields, the
                  time from "ts"), tags site and unit from the topic
                  (topic_parsing), outputs.kafka to its own topic with JSON
                  serialization; agent flush_interval 100ms (the default 10 s
                  would hold the last partial batch that long), batches of
                  1000 (the default). Its setup run proves the subscription:
                  a probe message on a second topic it subscribes must reach
                  Kafka. Left out, with the reason in the report, when it has
                  not been built.
  A mosquitto_sub   mosquitto_sub draining the session to /dev/null
  B paho_sink       a minimal Paho MQTTAsync subscriber that does nothing
  C sub|kcat        mosquitto_sub | kcat -P into Kafka (a scripted bridge)
  bridge-spb    the bridge with a Sparkplug B route (payload: sparkplug_b,
                records: per_metric) on a Sparkplug workload: an NBIRTH and a
                DBIRTH of 20 metrics, then BENCH_N DDATA of those 20 metrics by
                alias only (no name, no datatype, as edge nodes send them after
                their birth), seq unbroken (BENCH_SPB_N DDATA, default
                BENCH_N when set, else 50000: each makes 20 records); all written by pysparkplug 0.6.1
                (bench/spb_payloads.py, run with .cache/sparkplug/bin/python or
                $SPB_PYTHON) and published with pub --files. The clock runs until
                Kafka holds one record per metric (births' included). Reported
                per message and per metric; checked: the bridge logged no seq
                gap and asked for no rebirth, and records sampled from Kafka
                are named and not "unresolved".
The report gives msg/s, CPU seconds per million messages and peak RSS of
each, the ratios issue 19's targets name (shipped / C and shipped / Telegraf
in msg/s and CPU per message, raw / C) and a Targets section: each target met
or not, with its numbers.
CPU is user+sys of the process(es) (wait4); peak RSS is the largest VmHWM
read from /proc while they run (wait4's maxrss would count the forked Python
image before exec).

Live: the bridge in the shipped configuration (spool, metrics scraped every
second) while publishers offer fixed rates (BENCH_RATES, default 5000, 20000,
50000 msg/s) for BENCH_LIVE_S seconds each. One bench/pub paces at most
--pub-rate msg/s (default 25000), so a rate R is offered by ceil(R / 25000)
publisher processes each paced at R/k (--live-pubs K: always K); the offered
rate achieved is reported (the sum of the publishers' own rates, and all
their messages over the longest publisher's time), and the publishers' CPU
per million messages (they share the 2 cores with the bridge: bench/pub is
on libmosquitto in one thread and sends in one burst per millisecond, about
3 CPU s per million where Paho's MQTTAsync took 26,
bench/results/2026-12-05-livepub.md). Reported: p50/p99/max
latency from publish (the publisher's clock, in the payload) to a Kafka
consumer; the backlog: once a second, sent by the publishers, held by Kafka
(the partition's high watermark, which the latency consumer asks of the
broker ten times a second: kafka_tool latency) and consumed, and the
consumer's lag (the latency of its latest record); the tail, seconds from
the last PUBACK the publishers got until Kafka held every record (a backlog
that grew in the bridge during the window shows here; over 1 s counts as
grown, as does a growth of the backlog, sent but not yet in Kafka, by more
than half a second's worth of the rate from a quarter of the window to its
end); the bridge's CPU, and its RSS at steady load (the median of VmRSS
sampled once a second after the first two seconds) and peak (VmHWM).

Cost curves: bench/micro_mapper (the rule engine alone) with 10 and 10,000
routes and 100 B, 1 KB and 10 KB payloads.

--spool-compare (instead of all the above): the drain of the bridge with the
spool off and on (spool: { dir, fsync: interval }), alternating off, on for
--rounds rounds per config (--spool-configs, default hvac,raw), each run with
its own persistent session, its own N readings published just before it, its
own Kafka topic and a wiped spool directory in the harness dir. Prints each
run (msg/s, CPU s per million, peak RSS, CPU by thread) and the medians with
the ratio on/off; --md PATH also writes that as Markdown. BENCH_N (default
200000 in this mode) readings per run.

--metrics-compare (instead of all the above): the same drain with the
Prometheus endpoint off (no metrics section: no per-route counters, no
latency histogram) and on (metrics: { listen: 127.0.0.1:PORT }, a free
loopback port per run), alternating off, on for --rounds rounds (default 4)
per config (--spool-configs, default hvac,raw). While a run is "on", a thread
of this script GETs /metrics once per second over a kept-alive connection, as
a Prometheus scraping every second would; after the drain one more scrape
checks the per-route counter and the histogram's count. Target: on within 2%
of off (ratio on/off of the median msg/s >= 0.98).

--only spb (instead of all the above; make bench-sparkplug): the Sparkplug
drain alone (bridge-spb), its own Markdown report.

--only LIST (a comma list of shipped, spool-off, raw, telegraf, A, B, C, spb,
live, curves): only those parts of make bench, the same report with the rest
left out (ratios whose contenders did not run read n/a); for smoke runs.

--order (both comparisons): off,on (default), on,off, or alternate (off, on
in odd rounds, on, off in even ones).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import http.client

ENV = os.environ
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "mqtt-kafka-bridge")  # --bin; machine() asks it for its librdkafka
TOPIC = "sites/s1/hvac/ahu-1/telemetry"
FILTER = "sites/+/hvac/+/telemetry"
# The Sparkplug drain: group Bench, edge node node1, device dev1.
SPB_FILTER = "spBv1.0/Bench/#"
SPB_NBIRTH = "spBv1.0/Bench/NBIRTH/node1"
SPB_DBIRTH = "spBv1.0/Bench/DBIRTH/node1/dev1"
SPB_DDATA = "spBv1.0/Bench/DDATA/node1/dev1"
SPB_TOPIC = "bench.spb"
SPB_PYTHON = ENV.get("SPB_PYTHON", os.path.join(ROOT, ".cache", "sparkplug", "bin", "python"))
# Telegraf as scripts/bench-deps.sh builds it (make bench-deps).
TELEGRAF = ENV.get("TELEGRAF", os.path.join(ROOT, ".cache", "bench", "bin", "telegraf"))
TELEGRAF_PROBE = "bench/probe/telegraf"  # its setup run's probe; only Telegraf subscribes
# --only's names for the drain's contenders, in the order they run.
CONTENDERS = {"shipped": "bridge-shipped", "spool-off": "bridge-hvac", "raw": "bridge-raw",
              "telegraf": "telegraf", "A": "A", "B": "B", "C": "C", "spb": "bridge-spb"}
PARTS = list(CONTENDERS) + ["live", "curves"]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout.strip()


class Bench:
    def __init__(self, args):
        self.a = args
        self.dir = ENV["MKB_HARNESS_DIR"]
        self.port = ENV["MKB_MQTT_PORT"]
        self.uri = ENV["MKB_MQTT_URI"]
        self.kafka = ENV["MKB_KAFKA_BOOTSTRAP"]
        self.tool = os.path.join(args.build, "bench")
        self.n = args.n
        self.spb_n = args.spb_n
        self.telegraf, self.telegraf_why = args.telegraf, None
        if not os.access(self.telegraf, os.X_OK):
            self.telegraf_why = (f"not run: {self.telegraf} is not there (make bench-deps builds "
                                 "it; it needs Go and the Go module proxy)")
            self.telegraf = None
        self.telegraf_base = 0  # records the setup run's probes left in its topic

    def kt(self, *a, **kw):
        return sh([os.path.join(self.tool, "kafka_tool"), self.kafka, *map(str, a)], **kw)

    def bridge_config(self, name, raw, spool_dir=None, metrics_listen=None, spb=False):
        rules = (
            f"  - name: spb\n    mqtt: {{ filter: \"{SPB_FILTER}\", qos: 1 }}\n"
            f"    payload: sparkplug_b\n    kafka: {{ topic: {name} }}\n"
            "    sparkplug: { records: per_metric }\n"
            if spb else
            f"  - name: raw\n    mqtt: {{ filter: \"{FILTER}\", qos: 1 }}\n"
            f"    kafka: {{ topic: {name} }}\n    payload: raw\n"
            if raw else
            f"  - name: hvac\n    mqtt: {{ filter: \"sites/{{site}}/hvac/{{unit}}/telemetry\", qos: 1 }}\n"
            f"    kafka: {{ topic: {name}, key: \"{{site}}.{{unit}}\" }}\n"
            "    fields:\n"
            "      seq: { type: integer }\n"
            "      t_us: { type: integer }\n"
            "      temperature_c: { from: /temp_f, convert: fahrenheit_to_celsius }\n"
            "      humidity_pct: { from: /rh, type: number, required: true }\n"
            "      air_quality: { from: /aqi, type: integer }\n"
            "    add: { site: \"{site}\", unit: \"{unit}\" }\n"
            "    timestamp: { from: /ts, format: epoch_ms }\n")
        path = os.path.join(self.dir, f"bench-{name}.yaml")
        with open(path, "w") as f:
            f.write(f"mqtt: {{ uri: \"{self.uri}\", client_id: bench-{name}, version: 3.1.1 }}\n"
                    f"kafka: {{ bootstrap: \"{self.kafka}\" }}\nlog_level: warn\n"
                    + (f"spool: {{ dir: \"{spool_dir}\", fsync: interval }}\n" if spool_dir else "")
                    + (f"metrics: {{ listen: \"{metrics_listen}\" }}\n" if metrics_listen else "")
                    + f"routes:\n{rules}")
        return path

    def telegraf_config(self, topic):
        """Telegraf's configuration for the drain (see the docstring): the same
        filter, readings and session set-up as the bridges', its own topic."""
        path = os.path.join(self.dir, "bench-telegraf.conf")
        brokers = ", ".join(f'"{b}"' for b in self.kafka.split(","))
        with open(path, "w") as f:
            f.write(f"""[agent]
  interval = "10s"
  round_interval = false
  metric_batch_size = 1000
  metric_buffer_limit = 10000
  flush_interval = "100ms"
  flush_jitter = "0s"
  omit_hostname = true
  skip_processors_after_aggregators = false  # today's default, said (no warning)

[[inputs.mqtt_consumer]]
  servers = ["{self.uri}"]
  topics = ["{FILTER}", "{TELEGRAF_PROBE}"]
  qos = 1
  persistent_session = true
  client_id = "bench-telegraf"
  max_undelivered_messages = 1000
  topic_tag = ""
  name_override = "hvac"
  data_format = "json"
  json_time_key = "ts"
  json_time_format = "unix_ms"
  [[inputs.mqtt_consumer.topic_parsing]]
    topic = "{FILTER}"
    tags = "_/site/_/unit/_"

[[outputs.kafka]]
  brokers = [{brokers}]
  topic = "{topic}"
  routing_tag = "unit"
  data_format = "json"
  json_timestamp_units = "1ms"
""")
        return path

    def start_telegraf(self, log):
        return subprocess.Popen([self.telegraf, "--config", os.path.join(self.dir,
                                                                         "bench-telegraf.conf")],
                                stdout=log, stderr=log)

    def setup_telegraf(self, topic):
        """Runs Telegraf until its persistent session is subscribed, then stops
        it. Proof of the subscription: a probe on TELEGRAF_PROBE (subscribed
        in the same SUBSCRIBE as the filter, by no other contender) reaches
        TOPIC. Sets self.telegraf_base: the probes Kafka then holds."""
        self.telegraf_config(topic)
        logp = os.path.join(self.dir, "telegraf-setup.log")
        with open(logp, "w") as log:
            p = self.start_telegraf(log)
            ok = self.wait_log(logp, "Connected")
            pub = os.path.join(self.tool, "pub")
            for _ in range(5 if ok else 0):
                sh([pub, self.uri, TELEGRAF_PROBE, "1", "200", "0"])
                w = subprocess.run([os.path.join(self.tool, "kafka_tool"), self.kafka, "wait",
                                    topic, "1", "5"], capture_output=True)
                if w.returncode == 0:
                    break
            else:
                ok = False
            p.send_signal(signal.SIGTERM)
            rc = self.reap(p, 30)
            if rc is None:
                p.kill()
                p.wait()
        if not ok:
            raise RuntimeError(f"telegraf: no probe reached Kafka; log {logp}:\n{self.tail(logp)}")
        self.telegraf_base = int(self.kt("count", topic))

    def telegraf_check(self, topic):
        """Records sampled from Telegraf's topic (the first readings after the
        probes, and the last two) must be the readings: measurement hvac,
        tags site and unit from the topic, the numeric fields, a timestamp in
        ms. Returns a note; raises on a failed check."""
        recs = []
        for offset, cnt in ((str(self.telegraf_base), 2), ("-2", 2)):
            out = sh(["kcat", "-C", "-q", "-e", "-b", self.kafka, "-t", topic, "-p", "0", "-o",
                      offset, "-c", str(cnt), "-f", "%s\n"])
            recs += [json.loads(l) for l in out.splitlines() if l.strip()]
        want = {"seq", "t_us", "temp_f", "rh", "aqi", "rssi", "battery_v"}
        wrong = [r for r in recs if r.get("name") != "hvac"
                 or r.get("tags") != {"site": "s1", "unit": "ahu-1"}
                 or not want <= set(r.get("fields", {}))
                 or not 1e12 < r.get("timestamp", 0) < 1e14]
        if len(recs) < 4 or wrong:
            raise RuntimeError(f"telegraf: of {len(recs)} records sampled, these are not the "
                               f"readings: {wrong[:2]}")
        print(f"      a Telegraf record: {json.dumps(recs[-1])}", flush=True)
        return f"{len(recs)} records sampled: hvac, tags site and unit, {len(want)} fields"

    def start_bridge(self, cfg, log, binary=None):
        p = subprocess.Popen([binary or self.a.bin, "-c", cfg, "-l", "info"], stdout=log,
                             stderr=log)
        return p

    def wait_log(self, path, needle, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            with open(path) as f:
                if needle in f.read():
                    return True
            time.sleep(0.05)
        return False

    # ---- contenders: (setup, run) -------------------------------------------------
    def sub_cmd(self, cid, extra):
        return ["mosquitto_sub", "-h", "127.0.0.1", "-p", self.port, "-i", cid, "-c", "-q", "1",
                "-t", FILTER, *extra]

    def drain(self, only):
        """The drain of the contenders ONLY names (keys of CONTENDERS' values),
        in the order of CONTENDERS. Returns {contender: row}."""
        n = self.n
        contenders = [c for c in CONTENDERS.values() if c in only]
        if "telegraf" in contenders and not self.telegraf:
            print(f"  telegraf: {self.telegraf_why}", flush=True)
            contenders.remove("telegraf")
        topics = {"bridge-shipped": "bench.shipped", "bridge-hvac": "bench.hvac",
                  "bridge-raw": "bench.raw", "telegraf": "bench.telegraf", "C": "bench.kcat",
                  "bridge-spb": SPB_TOPIC}
        sessions = {"telegraf": "bench-telegraf", "A": "bench-A", "B": "bench-B", "C": "bench-C"}
        for c in contenders:
            if c in topics:
                self.kt("create", topics[c])
        # Persistent sessions first, all subscribed, then one publication for all
        # (the Sparkplug one goes to bridge-spb's filter only, the readings to
        # the others': the filters do not overlap).
        for c in contenders:
            if c.startswith("bridge"):
                spool = self.shipped_spool() if c == "bridge-shipped" else None
                self.setup_bridge(c, self.bridge_config(topics[c], c == "bridge-raw", spool,
                                                        spb=c == "bridge-spb"))
                if spool:
                    shutil.rmtree(spool, ignore_errors=True)
            elif c == "telegraf":
                try:  # a peer failing is a finding to report, not the bench's end
                    self.setup_telegraf(topics[c])
                except (RuntimeError, subprocess.CalledProcessError) as e:
                    self.telegraf_why = f"failed in its setup run: {e}"
                    print(f"  telegraf: {self.telegraf_why}", flush=True)
                    self.drop_session(sessions[c])
            elif c == "B":
                sh([os.path.join(self.tool, "paho_sink"), self.uri, "bench-B", FILTER, "0"])
            else:
                sh(self.sub_cmd(f"bench-{c}", ["-E"]))
        if self.telegraf_why and "telegraf" in contenders:
            contenders.remove("telegraf")
        if any(c != "bridge-spb" for c in contenders):
            t0 = time.time()
            out = subprocess.run([os.path.join(self.tool, "pub"), self.uri, TOPIC, str(n), "200",
                                  "0"], check=True, capture_output=True, text=True)
            print(f"published {n} readings in {time.time() - t0:.1f} s: {out.stderr.strip()}",
                  flush=True)
        if "bridge-spb" in contenders:
            self.spb_publish()
        rows = {}
        for c in contenders:
            try:
                rows[c] = self.run_one(c, topics.get(c))
            except (RuntimeError, subprocess.CalledProcessError) as e:
                if c != "telegraf":
                    raise
                self.telegraf_why = f"failed: {e}"
                print(f"  telegraf: {self.telegraf_why}", flush=True)
                continue
            finally:
                # Drop the drained session: an offline persistent session would
                # queue every later message (the live run's) in Mosquitto.
                self.drop_session(sessions.get(c) or f"bench-{topics[c]}")
            self.print_row(c, rows[c])
        return rows

    def shipped_spool(self):
        """The shipped configuration's spool directory (in the harness dir)."""
        return os.path.join(self.dir, "spool-shipped")

    @staticmethod
    def print_row(c, r):
        print(f"  {c:15s} {r['rate']:9.0f} msg/s  {r['cpu_per_m']:6.1f} CPU s/M  "
              f"{r['rss_mb']:6.1f} MiB  ({r['note']})", flush=True)
        if "metrics" in r:
            print(f"  {'':12s} {r['metrics_rate']:9.0f} metrics/s  {r['cpu_per_m_metrics']:6.2f} "
                  f"CPU s per million metrics  ({r['msgs']} messages, {r['metrics']} metric "
                  f"records)", flush=True)

    def setup_bridge(self, c, cfg):
        """Runs the bridge with CFG until it is ready (subscribed), then stops
        it: its persistent session queues what is published meanwhile."""
        logp = os.path.join(self.dir, f"{c}-setup.log")
        with open(logp, "w") as log:
            p = self.start_bridge(cfg, log)
            ok = self.wait_log(logp, "ready: forwarding")
            p.send_signal(signal.SIGTERM)
            p.wait()
        assert ok, f"{c} not ready; log {logp}:\n{self.tail(logp)}"

    # ---- the Sparkplug drain ------------------------------------------------------
    def spb_publish(self):
        """Writes the Sparkplug payloads with pysparkplug (bench/spb_payloads.py)
        and publishes the NBIRTH, the DBIRTH and N DDATA (message i: DDATA
        file i % 256, so seq runs on unbroken) into bridge-spb's offline
        session. Sets self.spb: messages and metric records expected."""
        d = os.path.join(self.dir, "spb")
        shutil.rmtree(d, ignore_errors=True)
        if not os.access(SPB_PYTHON, os.X_OK):
            raise RuntimeError(f"{SPB_PYTHON}: no pysparkplug venv (SPB_PYTHON: a python with "
                               "pysparkplug 0.6.1)")
        sh([SPB_PYTHON, os.path.join(ROOT, "bench", "spb_payloads.py"), d])
        with open(os.path.join(d, "counts.json")) as f:
            k = json.load(f)
        pub = os.path.join(self.tool, "pub")
        t0 = time.time()
        for topic, count, files in ((SPB_NBIRTH, 1, "nbirth.bin"), (SPB_DBIRTH, 1, "dbirth.bin"),
                                    (SPB_DDATA, self.spb_n, "ddata")):
            out = subprocess.run([pub, self.uri, topic, str(count), "0", "0", "--files",
                                  os.path.join(d, files)], check=True, capture_output=True,
                                 text=True)
        births = k["nbirth_metrics"] + k["dbirth_metrics"]
        self.spb = {"msgs": self.spb_n + 2, "births": births,
                    "records": births + k["ddata_metrics"] * self.spb_n,
                    "per_ddata": k["ddata_metrics"], "bytes": os.path.getsize(
                        os.path.join(d, "ddata", "000.bin"))}
        print(f"published the Sparkplug births ({births} metrics) and {self.spb_n} DDATA of "
              f"{k['ddata_metrics']} metrics (~{self.spb['bytes']} bytes) in "
              f"{time.time() - t0:.1f} s: {out.stderr.strip()}", flush=True)

    def spb_check(self, logp, topic):
        """What the Sparkplug drain must not have seen: a seq gap or an alias
        no birth named (the bridge logs the first, asks for a rebirth on
        either), dead letters; and records sampled from Kafka (the births and
        the first DDATA, the last DDATA) must be named metrics, not marked
        unresolved. Returns a note; raises on a failed check."""
        with open(logp) as f:
            text = f.read()
        lines = text.splitlines()
        bad = [l for l in lines if re.search(r"was expected|rebirth|unresolved|sparkplug", l)
               and re.search(r"\b(WARN|ERROR)\b|rebirth", l)]
        if bad:
            raise RuntimeError(f"bridge-spb: the bridge's log says:\n" + "\n".join(bad[:10]))
        other = [l for l in lines if re.search(r"\b(WARN|ERROR)\b", l)]
        m = re.findall(r"final: received=(\d+) .*records=(\d+) dead_letters=(\d+)", text)
        if not m or int(m[-1][0]) != self.spb["msgs"] or int(m[-1][2]) != 0:
            raise RuntimeError(f"bridge-spb: final counts {m[-1] if m else '?'} (received, records, "
                               f"dead letters): {self.spb['msgs']} messages expected, no dead letter")
        recs = []
        for offset in ("beginning", str(-2 * self.spb["per_ddata"])):
            out = sh(["kcat", "-C", "-q", "-e", "-b", self.kafka, "-t", topic, "-p", "0", "-o",
                      offset, "-c", str(self.spb["births"] + 2 * self.spb["per_ddata"]),
                      "-f", "%s\n"])
            recs += [json.loads(l) for l in out.splitlines() if l.strip()]
        wrong = [r for r in recs if not r.get("name") or "unresolved" in r or "value" not in r]
        types = {r.get("type") for r in recs}
        if wrong or len(recs) < self.spb["births"] + 3 * self.spb["per_ddata"] or \
                not {"NBIRTH", "DBIRTH", "DDATA"} <= types:
            raise RuntimeError(f"bridge-spb: of {len(recs)} records sampled (types {types}), "
                               f"{len(wrong)} are unnamed or unresolved: {wrong[:3]}")
        for l in other[:5]:  # not the Sparkplug's: shown, not failed (rdkafka's start-up)
            print(f"      log: {l}", flush=True)
        print(f"      a DDATA record: {json.dumps(recs[-1])}", flush=True)
        return (f"no seq gap, no rebirth asked; {len(recs)} records sampled, all named "
                f"(e.g. {recs[-1]['name']!r} = {recs[-1]['value']!r})")

    def spb_only(self):
        """--only spb: the Sparkplug drain alone."""
        self.kt("create", SPB_TOPIC)
        self.setup_bridge("bridge-spb", self.bridge_config(SPB_TOPIC, False, spb=True))
        self.spb_publish()
        r = self.run_one("bridge-spb", SPB_TOPIC)
        self.drop_session(f"bench-{SPB_TOPIC}")
        self.print_row("bridge-spb", r)
        return r

    def wait_kafka(self, topic, n, procs, timeout=600, must_live=False, peaks=None):
        """Seconds until TOPIC holds N records, sampling the peak RSS of PROCS
        meanwhile (they may exit before the end: a pipeline does; with
        MUST_LIVE, one exiting first is an error). PEAKS, a dict, also gets
        the peak of other /proc/PID/status fields (RssAnon, RssFile)."""
        t0 = time.time()
        w = subprocess.Popen([os.path.join(self.tool, "kafka_tool"), self.kafka, "wait", topic,
                              str(n), str(timeout)], stdout=subprocess.PIPE)
        rss = 0
        while w.poll() is None:
            rss = max([rss] + [self.hwm(p.pid) for p in procs])
            if peaks is not None:
                for k, v in self.status(procs[0].pid).items():
                    peaks[k] = max(peaks.get(k, 0), v)
            if must_live and any(p.poll() is not None for p in procs):
                w.kill()
                w.wait()
                raise RuntimeError(f"{topic}: the process exited (status "
                                   f"{[p.returncode for p in procs]}) before Kafka held {n} records "
                                   f"(it holds {self.kt('count', topic)})")
            time.sleep(0.02)
        elapsed = time.time() - t0
        if w.returncode != 0:
            raise RuntimeError(f"{topic}: not all {n} records reached Kafka")
        return elapsed, rss

    def drop_session(self, client_id):
        """Connects once with a clean session under CLIENT_ID: the broker
        discards the persistent one and its queue."""
        sh(["mosquitto_sub", "-h", "127.0.0.1", "-p", self.port, "-i", client_id, "-t",
            "bench/none", "-E"])

    def run_one(self, c, topic):
        n = self.n
        spb = c == "bridge-spb"
        procs, note = [], ""
        t0 = time.time()
        scraper = None
        if c.startswith("bridge"):
            logp = os.path.join(self.dir, f"{c}.log")
            log = open(logp, "w")
            cfg = os.path.join(self.dir, f"bench-{topic}.yaml")
            if c == "bridge-shipped":  # the setup run had no endpoint: this one binds it
                mport = self.free_port()
                cfg = self.bridge_config(topic, False, self.shipped_spool(),
                                         f"127.0.0.1:{mport}")
            p = self.start_bridge(cfg, log)
            if c == "bridge-shipped":
                scraper = MetricsScraper(mport)
            procs = [p]
            try:
                elapsed, rss_c = self.wait_kafka(topic, self.spb["records"] if spb else n, procs)
            finally:
                if scraper:
                    scraper.stop()
            if scraper:
                scrape = scraper.summary()
                scrape["final"] = scraper.get_once()
            p.send_signal(signal.SIGTERM)
        elif c == "telegraf":
            logp = os.path.join(self.dir, "telegraf.log")
            log = open(logp, "w")
            p = self.start_telegraf(log)
            procs = [p]
            try:
                elapsed, rss_c = self.wait_kafka(topic, self.telegraf_base + n, procs,
                                                 must_live=True)
            except RuntimeError as e:
                p.kill()
                p.wait()
                log.close()
                raise RuntimeError(f"{e}\ntelegraf log {logp}:\n{self.tail(logp)}")
            p.send_signal(signal.SIGTERM)
        elif c == "A":
            p = subprocess.Popen(self.sub_cmd("bench-A", ["-C", str(n)]), stdout=subprocess.DEVNULL)
            procs = [p]
        elif c == "B":
            p = subprocess.Popen([os.path.join(self.tool, "paho_sink"), self.uri, "bench-B", FILTER,
                                  str(n)])
            procs = [p]
        else:
            p1 = subprocess.Popen(self.sub_cmd("bench-C", ["-C", str(n)]), stdout=subprocess.PIPE)
            p2 = subprocess.Popen(["kcat", "-q", "-b", self.kafka, "-P", "-t", topic],
                                  stdin=p1.stdout)
            p1.stdout.close()
            procs = [p1, p2]
            elapsed, rss_c = self.wait_kafka(topic, n, procs)
        rss = 0
        if c in ("A", "B"):  # they exit after N: sample their peak until then
            flags = os.WEXITED | os.WNOHANG | os.WNOWAIT  # wait4 below reaps it
            while os.waitid(os.P_PID, procs[0].pid, flags) is None:
                rss = max(rss, self.hwm(procs[0].pid))
                time.sleep(0.02)
        else:
            rss = rss_c
        cpu = 0.0
        for p in procs:
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            cpu += ru.ru_utime + ru.ru_stime
        if c in ("A", "B"):
            elapsed = time.time() - t0
        if c.startswith("bridge"):
            log.close()
            with open(logp) as f:
                text = f.read()
            m = re.findall(r"final: .*delivered=(\d+)", text)
            note = f"Kafka has {self.kt('count', topic)}, bridge delivered {m[-1] if m else '?'}"
            sp = re.findall(r"final: spool appended=(\d+) sent=(\d+) acked=(\d+)", text)
            if sp:
                note += f"; spool appended {sp[-1][0]}, sent {sp[-1][1]}, acked {sp[-1][2]}"
            if scraper:
                f = scrape["final"]
                note += (f"; {scrape['ok']} scrape{'' if scrape['ok'] == 1 else 's'} of "
                         "/metrics during the drain"
                         + (f" ({scrape['errors']} failed)" if scrape["errors"] else "")
                         + (f", then records_total {f['records']}" if f
                            else ", final scrape FAILED"))
            if p.returncode != 0:
                note += f"; exit status {p.returncode}"
            if spb:
                note += "; " + self.spb_check(logp, topic)
            if c == "bridge-shipped":
                shutil.rmtree(self.shipped_spool(), ignore_errors=True)
        elif c == "telegraf":
            log.close()
            probes = self.telegraf_base
            note = (f"Kafka has {self.kt('count', topic)} (the setup run's probe"
                    f"{'s' if probes > 1 else ''}: {probes}); " + self.telegraf_check(topic))
            if p.returncode != 0:
                note += f"; exit status {p.returncode}"
        elif c == "C":
            note = f"Kafka has {self.kt('count', topic)}"
        else:
            note = "exit after N"
        if spb:  # per message (the births included) and per metric record
            msgs, recs = self.spb["msgs"], self.spb["records"]
            return {"elapsed": elapsed, "rate": msgs / elapsed, "cpu": cpu,
                    "cpu_per_m": cpu / msgs * 1e6, "rss_mb": rss / 1024.0, "note": note,
                    "msgs": msgs, "metrics": recs, "metrics_rate": recs / elapsed,
                    "cpu_per_m_metrics": cpu / recs * 1e6, "ddata_bytes": self.spb["bytes"],
                    "per_ddata": self.spb["per_ddata"]}
        return {"elapsed": elapsed, "rate": n / elapsed, "cpu": cpu, "cpu_per_m": cpu / n * 1e6,
                "rss_mb": rss / 1024.0, "note": note}

    def live(self):
        """The bridge in the shipped configuration (HVAC rules, spool with
        fsync: interval, metrics scraped once a second) at each rate of
        --rates; one row per rate (live_rate)."""
        rates = [int(r) for r in self.a.rates.split(",")]
        topic = "bench.live"
        self.kt("create", topic)
        spool = os.path.join(self.dir, "spool-live")
        shutil.rmtree(spool, ignore_errors=True)
        mport = self.free_port()
        cfg = self.bridge_config(topic, False, spool, f"127.0.0.1:{mport}")
        logp = os.path.join(self.dir, "live.log")
        log = open(logp, "w")
        p = self.start_bridge(cfg, log)
        scraper = None
        rows = []
        try:
            if not self.wait_log(logp, "ready: forwarding"):
                raise RuntimeError(f"live: bridge not ready; log {logp}:\n{self.tail(logp)}")
            scraper = MetricsScraper(mport)
            for rate in rates:
                r = self.live_rate(p, topic, rate)
                rows.append(r)
                print(f"  {rate:6d}/s offered {r['achieved']:6.0f}/s by {r['pubs']} pubs "
                      f"(over the span {r['offered_span']:.0f}/s)  p50 {r['p50']:7.2f} ms  "
                      f"p99 {r['p99']:7.2f} ms  max {r['max']:8.2f} ms  lag at the end "
                      f"{r['lag_end']:.1f} ms, tail {r['tail_s']:.2f} s, backlog "
                      f"{r['backlog_growth']:+d} (max {r['backlog_max']}) "
                      f"({'no growing backlog' if r['sustained'] else 'BACKLOG'})  bridge CPU "
                      f"{r['cpu_pct']:5.1f}%  RSS {r['rss_steady_mb']:.1f} MiB steady, peak "
                      f"{r['hwm_mb']:.1f}  ({r['got']}/{r['sent']})", flush=True)
                print(f"         sent/in Kafka/consumed by second: "
                      + ", ".join(f"{t:.0f}s {pb}/{kf}/{cs}" for t, pb, kf, cs, _ in r["series"]),
                      flush=True)
                print(f"         publishers: {r['pub']}", flush=True)
        finally:
            if scraper:
                scraper.stop()
            p.send_signal(signal.SIGTERM)
            if self.reap(p, 60) is None:
                p.kill()
                p.wait()
            log.close()
            self.drop_session("bench-bench.live")
            shutil.rmtree(spool, ignore_errors=True)
        return rows

    def live_rate(self, p, topic, rate):
        """RATE msg/s offered for --live-s seconds by k publishers (--live-pubs,
        or one per --pub-rate msg/s) each paced at RATE/k, to the running
        bridge P; a Kafka consumer on TOPIC times each record from publish."""
        k = self.a.live_pubs or max(1, -(-rate // self.a.pub_rate))
        each = rate * self.a.live_s // k
        count = each * k
        lat = subprocess.Popen([os.path.join(self.tool, "kafka_tool"), self.kafka, "latency",
                                topic, str(count), str(self.a.live_s + 60)],
                               stdout=subprocess.PIPE, text=True)
        if lat.stdout.readline().strip() != "ready":
            raise RuntimeError("live: the latency consumer did not start")
        time.sleep(1)  # the consumer's assignment settles
        cons = {"got": 0, "lag": 0.0, "kafka": 0, "result": None, "t_kafka": None}

        def read_consumer():
            for line in lat.stdout:
                f = line.split()
                if len(f) == 4 and f[0] == "progress":
                    cons["got"], cons["lag"] = int(f[1]), float(f[2])
                    cons["kafka"] = max(cons["kafka"], int(f[3]))
                    if cons["kafka"] >= count and cons["t_kafka"] is None:
                        cons["t_kafka"] = time.time()  # Kafka holds the last record
                elif len(f) == 4:
                    cons["result"] = f
        rc_thread = threading.Thread(target=read_consumer, daemon=True)
        rc_thread.start()
        sent, t_all_acked = [0] * k, [None] * k

        def read_pub(i, pp):
            for line in pp.stdout:
                f = line.split()
                if len(f) == 3 and f[0] == "progress":
                    sent[i] = int(f[1])
                    if int(f[2]) == each:  # the broker has acknowledged them all
                        t_all_acked[i] = time.time()
        cpu0 = self.proc_cpu(p.pid)
        t0 = time.time()
        pubs = [subprocess.Popen([os.path.join(self.tool, "pub"), self.uri, TOPIC, str(each),
                                  "200", f"{rate / k:g}", "--progress"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(k)]
        readers = [threading.Thread(target=read_pub, args=(i, pp), daemon=True)
                   for i, pp in enumerate(pubs)]
        for t in readers:
            t.start()
        series, rss = [], []  # once a second: (s, sent, in Kafka, consumed, lag ms)
        next_t = t0 + 1.0
        while any(pp.poll() is None for pp in pubs):
            time.sleep(0.05)
            if time.time() >= next_t:
                next_t += 1.0
                kb = self.vmrss(p.pid)
                series.append((time.time() - t0, sum(sent), cons["kafka"], cons["got"],
                               cons["lag"]))
                if time.time() - t0 >= 2:  # past the start: steady load
                    rss.append(kb)
        t_pubs = time.time()
        errs = [pp.stderr.read().strip() for pp in pubs]
        for t in readers:
            t.join()
        lat.wait()
        rc_thread.join()
        wall = time.time() - t0
        cpu = self.proc_cpu(p.pid) - cpu0
        if not cons["result"]:
            raise RuntimeError(f"live {rate}/s: the consumer got no record (publishers: {errs})")
        for pp, e in zip(pubs, errs):
            if pp.returncode != 0:  # its rate is missing from the offered sum
                print(f"      a publisher failed (exit {pp.returncode}): {e}", flush=True)
        got, p50, p99, mx = (int(cons["result"][0]), *map(float, cons["result"][1:]))
        rates = [int(m.group(1)) for m in (re.search(r"\((\d+)/s\)", e) for e in errs) if m]
        secs = [float(m.group(1)) for m in (re.search(r"in ([\d.]+) s", e) for e in errs) if m]
        pcpu = [float(m.group(1)) for m in (re.search(r"cpu ([\d.]+) s", e) for e in errs) if m]
        # From the last PUBACK (the publishers' last line) to the consumer's last record.
        t_pubs = max([t for t in t_all_acked if t is not None], default=t_pubs)
        tail = (cons["t_kafka"] - t_pubs) if cons["t_kafka"] else float("inf")
        lags = [x[4] for x in series]
        q = lambda f: lags[min(len(lags) - 1, int(f * len(lags)))] if lags else 0.0
        # Sent but not yet in Kafka, once a second; its growth from a quarter
        # of the window to the end (the counts are up to 0.25 s old: only a
        # growth past half a second's worth of the rate counts).
        backlog = [pb - kf for _, pb, kf, _, _ in series]
        growth = backlog[-1] - backlog[len(backlog) // 4] if backlog else 0
        return {"rate": rate, "pubs": k, "achieved": sum(rates),
                "pub_cpu_per_m": sum(pcpu) / count * 1e6 if len(pcpu) == k else None,
                "offered_span": count / max(secs) if secs else 0.0, "sent": count, "got": got,
                "p50": p50, "p99": p99, "max": mx, "cpu_pct": 100.0 * cpu / wall,
                "cpu_per_m": cpu / max(got, 1) * 1e6,
                "rss_steady_mb": statistics.median(rss) / 1024.0 if rss else 0.0,
                "rss_max_mb": max(rss, default=0) / 1024.0,
                "hwm_mb": self.proc_rss(p.pid) / 1024.0, "tail_s": max(tail, 0.0),
                "lag_q": [q(0.25), q(0.5), q(0.75)],
                "lag_end": lags[-1] if lags else 0.0,
                "backlog_max": max(backlog, default=0), "backlog_growth": growth,
                # The backlog did not grow over the window, and Kafka held
                # every record within a second of the last PUBACK.
                "sustained": tail <= 1.0 and growth <= 0.5 * rate, "series": series,
                "pub": "; ".join(errs)}

    @staticmethod
    def vmrss(pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        except (OSError, AttributeError):
            return 0

    @staticmethod
    def proc_cpu(pid):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def hwm(pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
        except (OSError, AttributeError):
            return 0

    @staticmethod
    def status(pid, keys=("RssAnon", "RssFile")):
        try:
            with open(f"/proc/{pid}/status") as f:
                text = f.read()
        except OSError:
            return {}
        out = {}
        for k in keys:
            m = re.search(rf"{k}:\s+(\d+)", text)
            if m:
                out[k] = int(m.group(1))
        return out

    @staticmethod
    def threads_cpu(pid):
        """[(tid, comm, CPU seconds, context switches)] of PID's threads, by
        thread id (switches: voluntary + involuntary)."""
        out = []
        tck = os.sysconf("SC_CLK_TCK")
        try:
            tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
        except OSError:
            return out
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    st = f.read()
            except OSError:
                continue
            comm = st[st.index("(") + 1:st.rindex(")")]
            fields = st.rsplit(")", 1)[1].split()
            csw = 0
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    csw = sum(int(v) for v in re.findall(r"ctxt_switches:\s+(\d+)", f.read()))
            except OSError:
                pass
            out.append((tid, comm, (int(fields[11]) + int(fields[12])) / tck, csw))
        return out

    # ---- --spool-compare ------------------------------------------------------------
    def spool_run(self, cfg, mode, rnd, kind="spool"):
        """One drain of the bridge with config CFG (hvac|raw), the spool (KIND
        spool) or the metrics endpoint (KIND metrics) MODE (off|on): a fresh
        topic and persistent session, N readings published into it, then the
        bridge started and timed until Kafka holds N. With metrics on, /metrics
        is scraped once per second meanwhile (MetricsScraper)."""
        n = self.n
        tag = {"spool": "sc", "metrics": "mc", "bin": "bc"}[kind]
        # --bin-compare: "off" runs the baseline binary, "on" --bin.
        binary = self.a.bin_compare if kind == "bin" and mode == "off" else self.a.bin
        name = f"bench.{tag}-{cfg}-{mode}-{rnd}"
        spool_dir = (os.path.join(self.dir, f"spool-{cfg}")
                     if (kind == "spool" and mode == "on") or (kind == "bin" and self.a.bin_spool)
                     else None)
        mport = self.free_port() if kind == "metrics" and mode == "on" else None
        self.kt("create", name)
        # The setup run (it only makes the persistent session) has no endpoint:
        # the drain's bridge binds the port once.
        cfgp = self.bridge_config(name, cfg == "raw", spool_dir)
        client = f"bench-{name}"

        def wipe():
            if spool_dir:
                shutil.rmtree(spool_dir, ignore_errors=True)
        wipe()
        logp = os.path.join(self.dir, f"{tag}-{cfg}-{mode}-{rnd}-setup.log")
        with open(logp, "w") as log:
            p = self.start_bridge(cfgp, log)
            ok = self.wait_log(logp, "ready: forwarding")
            p.send_signal(signal.SIGTERM)
            rc = self.reap(p, 60)
        if not ok or rc is None:
            raise RuntimeError(f"{name}: setup bridge {'not ready' if not ok else 'hung at exit'}; "
                               f"log {logp}:\n{self.tail(logp)}")
        wipe()
        t0 = time.time()
        out = subprocess.run([os.path.join(self.tool, "pub"), self.uri, TOPIC, str(n), "200", "0"],
                             check=True, capture_output=True, text=True)
        pub = f"published in {time.time() - t0:.1f} s: {out.stderr.strip()}"
        if mport:
            cfgp = self.bridge_config(name, cfg == "raw", spool_dir, f"127.0.0.1:{mport}")
        logp = os.path.join(self.dir, f"{tag}-{cfg}-{mode}-{rnd}.log")
        log = open(logp, "w")
        load = os.getloadavg()[0]
        p = self.start_bridge(cfgp, log, binary)
        scraper = MetricsScraper(mport) if mport else None
        perf = None
        if self.a.perf:
            # perf record -p follows only the threads there when it attaches:
            # wait for Paho's receive thread (it misses the drain's start).
            end = time.time() + 10
            while time.time() < end and not any(t[1] == "MQTTAsync_rcv"
                                                 for t in self.threads_cpu(p.pid)):
                time.sleep(0.005)
            os.makedirs(self.a.perf, exist_ok=True)
            perf = subprocess.Popen(["perf", "record", "-q", "-F", "999", "--call-graph",
                                     "dwarf,16384", "-o",
                                     os.path.join(self.a.perf, f"{tag}-{cfg}-{mode}-{rnd}.data"),
                                     "-p", str(p.pid)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        peaks = {}
        try:
            elapsed, rss = self.wait_kafka(name, n, [p], timeout=self.a.drain_timeout,
                                           must_live=True, peaks=peaks)
        except RuntimeError as e:
            threads = self.threads_cpu(p.pid)
            if scraper:
                scraper.stop()
            if perf:
                perf.send_signal(signal.SIGINT)
                perf.wait()
            p.send_signal(signal.SIGTERM)
            if self.reap(p, 30) is None:
                p.kill()
                p.wait()
            log.close()
            self.drop_session(client)
            raise RuntimeError(f"{e}\nthreads: {threads}\nbridge log {logp}:\n{self.tail(logp)}")
        threads = self.threads_cpu(p.pid)  # before the shutdown
        io = self.proc_io(p.pid)
        scrape = None
        if scraper:
            scraper.stop()
            scrape = scraper.summary()
            # One more scrape once Kafka holds N: do the counters say so?
            # (The last delivery reports may still be on their way.)
            final = scraper.get_once()
            scrape["final"] = final
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
        p.send_signal(signal.SIGTERM)
        t_stop = time.time()
        ru = self.reap(p, 60, rusage=True)
        if ru is None:
            p.kill()
            p.wait()
            log.close()
            self.drop_session(client)
            raise RuntimeError(f"{name}: the bridge did not exit within 60 s of SIGTERM; "
                               f"log {logp}:\n{self.tail(logp)}")
        stop_s = time.time() - t_stop
        log.close()
        self.drop_session(client)
        with open(logp) as f:
            text = f.read()
        m = re.findall(r"final: .*delivered=(\d+)", text)
        sp = re.findall(r"final: spool appended=(\d+) sent=(\d+) acked=(\d+)", text)
        note = f"Kafka has {self.kt('count', name)}, bridge delivered {m[-1] if m else '?'}"
        if sp:
            note += f"; spool appended {sp[-1][0]}, sent {sp[-1][1]}, acked {sp[-1][2]}"
        bad = [l for l in text.splitlines() if re.search(r"\b(error|warn|WARN|ERROR)\b", l)]
        if scrape:
            f = scrape["final"]
            note += (f"; {scrape['ok']} scrapes during the drain"
                     + (f" ({scrape['errors']} failed)" if scrape["errors"] else "")
                     + (f", then records_total {f['records']}, latency count {f['lat_count']}"
                        + (f" (p50 <= {f['p50_le_ms']:g} ms, p99 <= {f['p99_le_ms']:g} ms)"
                           if f["p50_le_ms"] is not None and f["p99_le_ms"] is not None else "")
                        if f else ", final scrape FAILED"))
        if p.returncode != 0:
            note += f"; exit status {p.returncode}"
        if spool_dir:
            wipe()
        cpu = ru.ru_utime + ru.ru_stime
        groups, csw = self.thread_groups(threads, p.pid)
        return {"cfg": cfg, "mode": mode, "round": rnd, "elapsed": elapsed, "rate": n / elapsed,
                "cpu": cpu, "cpu_per_m": cpu / n * 1e6, "user_per_m": ru.ru_utime / n * 1e6,
                "sys_per_m": ru.ru_stime / n * 1e6, "rss_mb": rss / 1024.0,
                "anon_mb": peaks.get("RssAnon", 0) / 1024.0,
                "file_mb": peaks.get("RssFile", 0) / 1024.0,
                "write_mb": io.get("write_bytes", 0) / 2**20, "load": load, "stop_s": stop_s,
                "threads": threads, "groups": groups, "csw": csw,
                "note": note, "log_warnings": bad[:5], "pub": pub, "scrape": scrape}

    @staticmethod
    def reap(p, timeout, rusage=False):
        """Waits up to TIMEOUT s for P; its exit status (or rusage), None if
        it is still running."""
        end = time.time() + timeout
        while time.time() < end:
            if os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                _, status, ru = os.wait4(p.pid, 0)
                p.returncode = os.waitstatus_to_exitcode(status)
                return ru if rusage else p.returncode
            time.sleep(0.02)
        return None

    @staticmethod
    def tail(path, lines=40):
        try:
            with open(path) as f:
                return "\n".join(f.read().splitlines()[-lines:])
        except OSError as e:
            return str(e)

    @staticmethod
    def thread_groups(threads, pid):
        """CPU seconds and context switches by role: main (the process's first
        thread), sender (the bridge's only other own thread: named like the
        main one), MQTT receive/send (Paho), rdkafka."""
        g = {"main": 0.0, "mqtt-rcv": 0.0, "sender": 0.0, "rdkafka": 0.0, "http": 0.0,
             "other": 0.0}
        csw = dict.fromkeys(g, 0)
        main_comm = next((c for t, c, _, _ in threads if t == pid), None)
        for tid, comm, cpu, n in threads:
            k = ("main" if tid == pid else "mqtt-rcv" if comm == "MQTTAsync_rcv"
                 else "rdkafka" if comm.startswith("rdk:") else "http"
                 if comm.startswith("MHD") else "sender"
                 if comm == main_comm else "other")
            g[k] += cpu
            csw[k] += n
        return g, csw

    @staticmethod
    def proc_io(pid):
        """/proc/PID/io: write_bytes counts the page-cache bytes the process
        dirtied (its file writes), not its socket traffic."""
        try:
            with open(f"/proc/{pid}/io") as f:
                return {k: int(v) for k, v in (l.split(":") for l in f.read().splitlines())}
        except (OSError, ValueError):
            return {}

    def free_port(self):
        """A free loopback port (tests/harness/freeport, as the harness uses)."""
        fp = ENV.get("HARNESS_FREEPORT") or os.path.join(self.a.build, "freeport")
        return int(sh([fp, "1"]).split()[0])

    def spool_compare(self, kind="spool"):
        configs = self.a.spool_configs.split(",")
        runs = []
        for rnd in range(1, self.a.rounds + 1):
            for cfg in configs:
                for mode in order_of(self.a.order, rnd):
                    r = self.spool_run(cfg, mode, rnd, kind)
                    runs.append(r)
                    th = ", ".join(f"{c}:{s:.2f}/{k}" for _, c, s, k in r["threads"])
                    sc = r["scrape"]
                    if sc:
                        th += (f"\n      scrapes: {sc['ok']} ok, {sc['errors']} failed, "
                               f"{sc['refused']} before the endpoint listened; median "
                               f"{sc['ms_med']:.2f} ms, max {sc['ms_max']:.2f} ms, "
                               f"{sc['bytes']} bytes")
                    print(f"  round {rnd} {cfg:4s} {kind} {mode:3s} {r['rate']:9.0f} msg/s  "
                          f"{r['cpu_per_m']:6.1f} CPU s/M (usr {r['user_per_m']:.1f} sys "
                          f"{r['sys_per_m']:.1f})  {r['rss_mb']:6.1f} MiB  "
                          f"wrote {r['write_mb']:.1f} MiB  load {r['load']:.1f}  "
                          f"exit {r['stop_s']:.1f} s  ({r['note']})\n"
                          f"      threads (tid order, CPU s/context switches): {th}\n"
                          f"      {r['pub']}", flush=True)
                    for l in r["log_warnings"]:
                        print(f"      log: {l}", flush=True)
        return runs

    @staticmethod
    def proc_rss(pid):
        with open(f"/proc/{pid}/status") as f:
            return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))

    def curves(self):
        micro = os.path.join(self.tool, "micro_mapper")
        rows = []
        for routes, size in [(10, 200), (10000, 200), (10, 100), (10, 1000), (10, 10000)]:
            out = sh([micro, str(routes), str(self.a.micro_n), str(size)])
            ns = float(re.search(r"ns/msg=(\d+)", out).group(1))
            rows.append({"routes": routes, "size": size, "ns": ns})
            print(f"  routes {routes:6d}  payload {size:6d} B  {ns:8.0f} ns/msg", flush=True)
        return rows


def order_of(order, rnd):
    """The modes of round RND: off, on; on, off; or (alternate) off, on in odd
    rounds and on, off in even ones, so that a bias of the second run of a
    pair cancels out over an even number of rounds."""
    if order == "on,off" or (order == "alternate" and rnd % 2 == 0):
        return ("on", "off")
    return ("off", "on")


def order_text(order):
    return {"off,on": "order off, on", "on,off": "order on, off",
            "alternate": "order off, on in odd rounds, on, off in even ones"}[order]


class MetricsScraper:
    """GET /metrics on 127.0.0.1:PORT every INTERVAL s in a thread, over one
    kept-alive connection (reopened after an error), like a Prometheus server
    with scrape_interval 1s. Attempts refused before the first answer are the
    bridge starting up, not failures."""

    def __init__(self, port, interval=1.0):
        self.port, self.interval = port, interval
        self.conn = None
        self.ok = self.errors = self.refused = self.bytes = 0
        self.ms = []
        self.last_error = None
        self.done = threading.Event()
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def get(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        self.conn.request("GET", "/metrics", headers={
            "Accept": "text/plain;version=0.0.4;q=1,*/*;q=0.1",
            "User-Agent": "bench.py (Prometheus-like)"})
        r = self.conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}")
        return body.decode()

    def loop(self):
        next_t = time.monotonic()
        while not self.done.is_set():
            t0 = time.monotonic()
            try:
                body = self.get()
                self.ms.append((time.monotonic() - t0) * 1e3)
                self.ok += 1
                self.bytes = len(body)
            except (OSError, http.client.HTTPException, RuntimeError) as e:
                if self.conn:
                    self.conn.close()
                    self.conn = None
                if self.ok == 0 and isinstance(e, ConnectionRefusedError):
                    self.refused += 1
                    next_t = time.monotonic() + 0.05  # not up yet: try again soon
                    self.done.wait(0.05)
                    continue
                self.errors += 1
                self.last_error = repr(e)
            next_t += self.interval
            self.done.wait(max(0.0, next_t - time.monotonic()))

    def stop(self):
        self.done.set()
        self.t.join()

    def summary(self):
        return {"ok": self.ok, "errors": self.errors, "refused": self.refused,
                "bytes": self.bytes, "last_error": self.last_error,
                "ms_med": statistics.median(self.ms) if self.ms else 0.0,
                "ms_max": max(self.ms) if self.ms else 0.0}

    def get_once(self):
        """The per-route records total (summed) and the latency histogram's
        count from one more scrape; None if it fails."""
        try:
            body = self.get()
        except (OSError, http.client.HTTPException, RuntimeError):
            return None
        finally:
            if self.conn:
                self.conn.close()
                self.conn = None
        rec = sum(int(v) for v in re.findall(r"^mkb_records_total\{[^}]*\} (\d+)$", body, re.M))
        lat = re.search(r"^mkb_delivery_latency_seconds_count (\d+)$", body, re.M)
        buckets = [(float(le), int(v)) for le, v in re.findall(
            r'^mkb_delivery_latency_seconds_bucket\{le="([^"]+)"\} (\d+)$', body, re.M)]
        total = buckets[-1][1] if buckets else 0

        def q(f):  # the upper bound of the bucket holding quantile F, in ms
            return next((le * 1e3 for le, v in buckets if total and v >= f * total), None)
        return {"records": rec, "lat_count": int(lat.group(1)) if lat else None,
                "p50_le_ms": q(0.5), "p99_le_ms": q(0.99)}


def first_line(cmd):
    try:
        return sh(cmd, shell=True).splitlines()[0]
    except Exception:
        return "?"


def machine():
    first = first_line
    cpu = first("lscpu | sed -n 's/^Model name: *//p'")
    return {
        "cpu": cpu, "cores": os.cpu_count(),
        "mem": first("free -g | awk '/Mem:/ {print $2 \" GiB\"}'"),
        "kernel": platform.release(),
        "os": first(". /etc/os-release && echo $PRETTY_NAME"),
        "mosquitto": first("dpkg-query -W -f='${Version}' mosquitto"),
        "librdkafka": first(f"{BIN} --version | sed -n 's/.*(librdkafka \\(.*\\))/\\1/p'")
        or first("dpkg-query -W -f='${Version}' librdkafka1"),
        # The bridge and the Paho tools link scripts/paho.sh's build when it is
        # there (the Makefile's choice), else Debian's.
        "paho": (first(f"sed -n 's/^PAHO_VERSION=//p' {ROOT}/scripts/common.sh")
                 + " (scripts/paho.sh: static, PAHO_HIGH_PERFORMANCE, third_party/paho/readahead.patch)"
                 if os.path.exists(os.path.join(ROOT, ".cache/paho/lib/libpaho-mqtt3as.a"))
                 else first("dpkg-query -W -f='${Version}' libpaho-mqtt1.3") + " (Debian)"),
        "libmosquitto": first("dpkg-query -W -f='${Version}' libmosquitto1"),
        "kcat": first("dpkg-query -W -f='${Version}' kcat"),
        "kafka": first(f"sed -n 's:.*<kafka.version>\\(.*\\)</kafka.version>.*:\\1:p' {ROOT}/deps/kafka/pom.xml"),
    }


NAMES = {"bridge-shipped": "**bridge as shipped**: HVAC rules, spool (fsync: interval), metrics on",
         "bridge-hvac": "bridge, HVAC rules, spool off",
         "bridge-raw": "bridge, raw pass-through, spool off",
         "telegraf": "Telegraf 1.37: mqtt_consumer (JSON parsed, tags from the topic) -> kafka",
         "A": "A: mosquitto_sub > /dev/null (broker ceiling)",
         "B": "B: minimal Paho MQTTAsync subscriber (library ceiling)",
         "C": "C: mosquitto_sub \\| kcat -P (a scripted bridge)"}


def ratios(drain):
    """The ratios issue 19's targets name, None where a contender did not
    run: (label, msg/s ratio, CPU-per-message ratio)."""
    def r(a, b):
        if a in drain and b in drain:
            return (drain[a]["rate"] / drain[b]["rate"],
                    drain[a]["cpu_per_m"] / drain[b]["cpu_per_m"])
        return (None, None)
    return [("shipped / C", *r("bridge-shipped", "C")),
            ("shipped / Telegraf", *r("bridge-shipped", "telegraf")),
            ("raw / C", *r("bridge-raw", "C")),
            ("spool off / C", *r("bridge-hvac", "C")),
            ("shipped / spool off", *r("bridge-shipped", "bridge-hvac"))]


def fmt(v, spec=".2f", suffix="x"):
    return "n/a" if v is None else f"{v:{spec}}{suffix}"


def targets(drain, live, telegraf_why):
    """Issue 19's targets: [(target, verdict, numbers)]; verdict is met, NOT
    met, or n/a (what it needs did not run)."""
    out = []

    def check(target, a, b, field, op, bound):
        """Target A/B of FIELD (rate or cpu_per_m) OP BOUND."""
        if a not in drain or b not in drain:
            missing = [NAMES[k].split(":")[0].strip("*") for k in (a, b) if k not in drain]
            why = (f"Telegraf {telegraf_why}" if "telegraf" in (a, b) and telegraf_why
                   else f"not run: {'; '.join(missing)}")
            out.append((target, "n/a", why))
            return
        x, y = drain[a][field], drain[b][field]
        ok = x / y >= bound if op == ">=" else x / y <= bound
        unit = "msg/s" if field == "rate" else "CPU s per million"
        out.append((target, "met" if ok else "NOT met",
                    f"{x / y:.2f}x ({x:.{0 if field == 'rate' else 1}f} vs "
                    f"{y:.{0 if field == 'rate' else 1}f} {unit})"))
    check("shipped msg/s >= 1.0x C", "bridge-shipped", "C", "rate", ">=", 1.0)
    check("shipped CPU per message <= C's", "bridge-shipped", "C", "cpu_per_m", "<=", 1.0)
    check("shipped msg/s >= 3x Telegraf's", "bridge-shipped", "telegraf", "rate", ">=", 3.0)
    check("shipped CPU per message <= 1/4 of Telegraf's", "bridge-shipped", "telegraf",
          "cpu_per_m", "<=", 0.25)
    check("raw pass-through msg/s >= 1.1x C", "bridge-raw", "C", "rate", ">=", 1.1)

    def verdict(ok):
        return "n/a" if ok is None else "met" if ok else "NOT met"
    by = {r["rate"]: r for r in live or []}
    r = by.get(20000)
    out.append(("live p99 < 10 ms at 20k msg/s", verdict(None if r is None else r["p99"] < 10),
                "not run" if r is None else
                f"p99 {r['p99']:.2f} ms (offered {r['achieved']:.0f} msg/s)"))
    r = by.get(50000)
    out.append(("50k msg/s offered (95% achieved) and sustained, no growing backlog",
                verdict(None if r is None else r["achieved"] >= 0.95 * 50000 and r["sustained"]),
                "not run" if r is None else
                f"offered {r['achieved']:.0f} msg/s by {r['pubs']} publishers; "
                f"backlog (sent, not in Kafka) {r['backlog_growth']:+d} from 1/4 of the "
                f"window to its end, at most {r['backlog_max']}; Kafka held the last of "
                f"{r['sent']} {r['tail_s']:.2f} s after the last PUBACK; consumer lag {r['lag_q'][0]:.1f} / {r['lag_q'][1]:.1f} / "
                f"{r['lag_q'][2]:.1f} / {r['lag_end']:.1f} ms at 1/4, 1/2, 3/4, end"))
    if live:
        worst = max(live, key=lambda r: r["rss_steady_mb"])
        out.append(("RSS < 32 MiB at steady load", verdict(worst["rss_steady_mb"] < 32),
                    ", ".join(f"{r['rss_steady_mb']:.1f} MiB at {r['rate']}/s" for r in live)
                    + f" (peak VmHWM {max(r['hwm_mb'] for r in live):.1f} MiB)"))
    else:
        out.append(("RSS < 32 MiB at steady load", "n/a", "live not run"))
    out.append(("nothing given up (make faults, check, asan, valgrind, check-fuzz; custody)",
                "n/a", "not measured by make bench: run those suites"))
    return out


def drain_lines(drain, telegraf_why):
    """The drain's table, its ratios and the targets that rest on it."""
    c = drain.get("C")
    lines = ["| contender | msg/s | CPU s per million msgs | peak RSS MiB | msg/s / C | "
             "CPU / C | check |", "|---|---:|---:|---:|---:|---:|---|"]
    for k in NAMES:
        if k not in drain:
            if k == "telegraf" and telegraf_why:
                lines.append(f"| {NAMES[k]} | - | - | - | - | - | {telegraf_why} |")
            continue
        r = drain[k]
        rc = fmt(r["rate"] / c["rate"]) if c else "n/a"
        cc = fmt(r["cpu_per_m"] / c["cpu_per_m"]) if c and k not in ("A", "B") else "-"
        lines.append(f"| {NAMES[k]} | {r['rate']:.0f} | {r['cpu_per_m']:.1f} | {r['rss_mb']:.1f} | "
                     f"{rc} | {cc} | {r['note']} |")
    lines += ["", "| ratio | msg/s | CPU per message |", "|---|---:|---:|"]
    for label, a, b in ratios(drain):
        lines.append(f"| {label} | {fmt(a)} | {fmt(b)} |")
    return lines


def pub_cpu(r):
    """The live row R's publishers' CPU s per million messages, as a cell."""
    v = r.get("pub_cpu_per_m")
    return "CPU ?" if v is None else f"{v:.1f} CPU s/M"


def report(args, m, drain, live, curves, telegraf_why=None, wall=0.0):
    lines = [f"# Benchmark {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC", "",
             "Reproduce: `make bench` (BENCH_N, BENCH_SPB_N, BENCH_LIVE_S, BENCH_RATES to change "
             "the sizes; make bench-deps builds Telegraf).", "",
             "## Machine", "",
             f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['mem']}; {m['os']}, kernel {m['kernel']}",
             f"- Mosquitto {m['mosquitto']}, Apache Kafka {m['kafka']} (KRaft, one node), "
             f"librdkafka {m['librdkafka']}, Paho MQTT C {m['paho']}, kcat {m['kcat']}, "
             f"{m.get('telegraf', 'Telegraf not run')}",
             f"- Spools (the shipped configuration's) on {m.get('spool_fs', '?')}",
             f"- Brokers, contenders and load generator (bench/pub on libmosquitto "
             f"{m.get('libmosquitto', '?')}) share the machine (loopback); load "
             f"average at the start {m.get('load', '?')}; wall time {wall:.0f} s.", ""]
    if any(k in drain for k in NAMES):
        lines += [f"## Drain: {args.n} QoS 1 readings of ~200 bytes queued in a persistent session",
                  "", "Each contender's session is subscribed before the one publication; the "
                  "clock runs from the contender's start until Kafka holds all N (A and B: until "
                  "they exit after N). CPU is user+sys (wait4), peak RSS the largest VmHWM.", ""]
        lines += drain_lines(drain, telegraf_why) + [""]
    if "bridge-spb" in drain:
        lines += spb_section(args, drain["bridge-spb"])
    if live:
        lines += [f"## Live: the shipped configuration, publishers at fixed rates, "
                  f"{args.live_s} s each", "",
                  "| rate msg/s | offered msg/s (publishers, their CPU s per million) | records | p50 ms | p99 ms | max ms | "
                  "consumer lag ms at 1/4, 1/2, 3/4, end | tail s | backlog: growth, max | "
                  "bridge CPU % of a "
                  "core | CPU s per million | bridge RSS MiB steady (peak) |",
                  "|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---:|---:|"]
        for r in live:
            lines.append(
                f"| {r['rate']} | {r['achieved']:.0f} ({r['pubs']}, {pub_cpu(r)}; over the span "
                f"{r['offered_span']:.0f}) | {r['got']}/{r['sent']} | {r['p50']:.2f} | "
                f"{r['p99']:.2f} | {r['max']:.2f} | "
                f"{' / '.join(f'{x:.1f}' for x in r['lag_q'])} / {r['lag_end']:.1f} | "
                f"{r['tail_s']:.2f} | {r['backlog_growth']:+d}, {r['backlog_max']}"
                f"{'' if r['sustained'] else ' **grew**'} | "
                f"{r['cpu_pct']:.1f} | {r['cpu_per_m']:.1f} | {r['rss_steady_mb']:.1f} "
                f"({r['hwm_mb']:.1f}) |")
        lines += ["", "Latency is publish (the publisher's clock, in the payload) to consumption "
                  "by a Kafka consumer on the same machine; it includes the `hot` profile's 2 ms "
                  "linger. Offered: the sum of the publishers' own rates (each paced at rate/k; "
                  "bench/pub, libmosquitto, one burst per millisecond; their CPU, user + system, "
                  "per million messages); "
                  "over the span: all their messages over the longest publisher's time. Lag: the "
                  "latency of the consumer's latest record, sampled once a second. Tail: from "
                  "the last PUBACK the publishers got until Kafka held every record (the "
                  "partition's high watermark, asked of the broker ten times a second). Backlog: "
                  "sent but not in Kafka, once a second; growth: from a quarter of the window "
                  "to its end. It counts as grown when the growth passes half a second's worth "
                  "of the rate or the tail passes 1 s. Once a second: sent by "
                  "the publishers (handed to their MQTT client) / in Kafka / consumed by the "
                  "latency consumer (counts up to 0.25 s old):", ""]
        for r in live:
            lines.append(f"- {r['rate']}/s: " + ", ".join(
                f"{t:.0f} s {pb}/{kf}/{cs}" for t, pb, kf, cs, _ in r["series"]))
        lines += ["", "The publishers' last lines (window full: bursts cut short because "
                  "Mosquitto's PUBACKs lagged; late: the worst wait for a CPU after a 1 ms tick):",
                  ""]
        for r in live:
            lines.append(f"- {r['rate']}/s: {r['pub']}")
        lines.append("")
    if curves:
        lines += ["## Cost curves: the rule engine alone (bench/micro_mapper, match + normalize + "
                  "render)", "", "| routes | payload bytes | ns per message |", "|---:|---:|---:|"]
        for r in curves:
            lines.append(f"| {r['routes']} | {r['size']} | {r['ns']:.0f} |")
        lines.append("")
    lines += ["## Targets (issue 19; ratios from this run)", "",
              "| target | verdict | numbers |", "|---|---|---|"]
    for t, v, num in targets(drain, live, telegraf_why):
        lines.append(f"| {t} | {'**' + v + '**' if v != 'n/a' else v} | {num} |")
    lines.append("")
    return "\n".join(lines)


def print_summary(drain, telegraf_why):
    """The drain's figures and ratios on the console, once all have run."""
    print(f"  {'contender':16s} {'msg/s':>9s} {'CPU s/M':>8s} {'RSS MiB':>8s}", flush=True)
    for k in NAMES:
        if k in drain:
            r = drain[k]
            print(f"  {k:16s} {r['rate']:9.0f} {r['cpu_per_m']:8.1f} {r['rss_mb']:8.1f}")
        elif k == "telegraf" and telegraf_why:
            print(f"  {k:16s} {telegraf_why}")
    for label, a, b in ratios(drain):
        print(f"  {label:20s} msg/s {fmt(a):>7s}  CPU per message {fmt(b):>7s}")
    for t, v, num in targets(drain, [], telegraf_why)[:5]:
        print(f"  target: {t}: {v} ({num})", flush=True)


def spb_section(args, r):
    """The Sparkplug drain's table (report(), --only spb)."""
    return [f"## Sparkplug drain: an NBIRTH, a DBIRTH and {args.spb_n} DDATA of {r['per_ddata']} "
            f"metrics by alias (~{r['ddata_bytes']} bytes) queued in a persistent session", "",
            "Payloads by pysparkplug 0.6.1 (bench/spb_payloads.py: mixed datatypes, DDATA "
            "metrics by alias only, no datatype, seq unbroken); route `payload: sparkplug_b`, "
            "`sparkplug: { records: per_metric }`: one Kafka record per metric, the births' "
            "included. The clock runs until Kafka holds them all.", "",
            "| contender | msg/s | metrics/s | CPU s per million messages | "
            "CPU s per million metrics | peak RSS MiB | check |",
            "|---|---:|---:|---:|---:|---:|---|",
            f"| bridge, Sparkplug B per metric ({r['msgs']} messages, {r['metrics']} records) | "
            f"{r['rate']:.0f} | {r['metrics_rate']:.0f} | {r['cpu_per_m']:.1f} | "
            f"{r['cpu_per_m_metrics']:.2f} | {r['rss_mb']:.1f} | {r['note']} |", ""]


def spb_report(args, m, r):
    """--only spb: the machine and the Sparkplug drain."""
    return "\n".join([f"# Sparkplug drain {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC", "",
                      "Reproduce: `make bench-sparkplug` (BENCH_SPB_N or BENCH_N: the number of "
                      "DDATA).", "",
                      f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['mem']}; {m['os']}, "
                      f"kernel {m['kernel']}",
                      f"- Mosquitto {m['mosquitto']}, Apache Kafka {m['kafka']} (KRaft, one node), "
                      f"librdkafka {m['librdkafka']}, Paho MQTT C {m['paho']}",
                      f"- load average at the end: {os.getloadavg()[0]:.1f}", ""]
                     + spb_section(args, r))


def spool_report(args, m, runs, wall):
    med = statistics.median
    n = args.n
    lines = [f"## Spool off/on, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC: drain of {n} QoS 1 "
             f"readings per run, {args.rounds} rounds, {order_text(args.order)}", "",
             f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['mem']}; {m['os']}, kernel {m['kernel']}",
             f"- Mosquitto {m['mosquitto']}, Apache Kafka {m['kafka']} (KRaft, one node), "
             f"librdkafka {m['librdkafka']}, Paho MQTT C {m['paho']}",
             f"- spool: {{ dir: <harness dir>/spool-<config>, fsync: interval }} (1000 ms), "
             f"on {m.get('spool_fs', '?')}; wiped before and after each run", "",
             "| round | config | spool | msg/s | CPU s per million (user + sys) | peak RSS MiB "
             "(anon / file) | file writes MiB | load avg at start | check |",
             "|---:|---|---|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        lines.append(f"| {r['round']} | {r['cfg']} | {r['mode']} | {r['rate']:.0f} | "
                     f"{r['cpu_per_m']:.1f} ({r['user_per_m']:.1f} + {r['sys_per_m']:.1f}) | "
                     f"{r['rss_mb']:.1f} ({r['anon_mb']:.1f} / {r['file_mb']:.1f}) | "
                     f"{r['write_mb']:.1f} | {r['load']:.1f} | {r['note']} |")
    lines += ["", "Bridge CPU by thread, microseconds per message (read from /proc when Kafka "
              "held all N, before the shutdown; MQTTAsync_rcv runs the callback: parse, rules, "
              "journal write, PUBACK):", "",
              "| round | config | spool | MQTT receive | sender | rdkafka | main | MQTT send + other | "
              "context switches per message: receive / sender / rdkafka |",
              "|---:|---|---|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        g = {k: v / n * 1e6 for k, v in r["groups"].items()}
        c = {k: v / n for k, v in r["csw"].items()}
        lines.append(f"| {r['round']} | {r['cfg']} | {r['mode']} | {g['mqtt-rcv']:.1f} | "
                     f"{g['sender']:.1f} | {g['rdkafka']:.1f} | {g['main']:.1f} | {g['other']:.1f} | "
                     f"{c['mqtt-rcv']:.2f} / {c['sender']:.2f} / {c['rdkafka']:.2f} |")
    lines += ["", "Medians (ratio on/off of the medians; per round: on/off of the same round):", "",
              "| config | spool | msg/s | CPU s per million | peak RSS MiB | ratio on/off msg/s | "
              "per-round ratios | CPU on/off |",
              "|---|---|---:|---:|---:|---:|---|---:|"]
    summary = {}
    for cfg in args.spool_configs.split(","):
        mm = {}
        for mode in ("off", "on"):
            rs = [r for r in runs if r["cfg"] == cfg and r["mode"] == mode]
            mm[mode] = {k: med([r[k] for r in rs]) for k in ("rate", "cpu_per_m", "rss_mb")}
        ratio = mm["on"]["rate"] / mm["off"]["rate"]
        cpu_ratio = mm["on"]["cpu_per_m"] / mm["off"]["cpu_per_m"]
        per = []
        for rnd in range(1, args.rounds + 1):
            a = [r for r in runs if r["cfg"] == cfg and r["round"] == rnd]
            off = next(r for r in a if r["mode"] == "off")
            on = next(r for r in a if r["mode"] == "on")
            per.append(on["rate"] / off["rate"])
        summary[cfg] = ratio
        for mode in ("off", "on"):
            x = mm[mode]
            lines.append(f"| {cfg} | {mode} | {x['rate']:.0f} | {x['cpu_per_m']:.1f} | {x['rss_mb']:.1f} | "
                         + (f"**{ratio:.2f}x** | {', '.join(f'{v:.2f}' for v in per)} | {cpu_ratio:.2f} |"
                            if mode == "on" else " | | |"))
    lines += ["", "Target: spool on >= 0.8x spool off in drain throughput (median-based): "
              + "; ".join(f"{cfg} **{v:.2f}x** ({'met' if v >= 0.8 else 'NOT met'})"
                          for cfg, v in summary.items()) + f". Wall time of the comparison: {wall:.0f} s.", ""]
    return "\n".join(lines)


def bin_report(args, m, runs, wall):
    """--bin-compare: the same drains with the baseline binary (off) and --bin (on)."""
    med = statistics.median
    ver = lambda b: first_line(f"{b} --version")
    lines = [f"## Binary A/B, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC: drain of {args.n} "
             f"QoS 1 readings per run, {args.rounds} rounds, {order_text(args.order)}", "",
             f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['mem']}; {m['os']}, kernel {m['kernel']}",
             f"- Mosquitto {m['mosquitto']}, Apache Kafka {m['kafka']} (KRaft, one node), "
             f"Paho MQTT C {m['paho']}",
             f"- off: `{args.bin_compare}` ({ver(args.bin_compare)}); on: `{args.bin}` "
             f"({ver(args.bin)}); spool {'on (fsync: interval)' if args.bin_spool else 'off'}", "",
             "| round | config | binary | msg/s | CPU s per million (user + sys) | peak RSS MiB | "
             "load avg at start | check |", "|---:|---|---|---:|---:|---:|---:|---|"]
    for r in runs:
        lines.append(f"| {r['round']} | {r['cfg']} | {r['mode']} | {r['rate']:.0f} | "
                     f"{r['cpu_per_m']:.2f} ({r['user_per_m']:.2f} + {r['sys_per_m']:.2f}) | "
                     f"{r['rss_mb']:.1f} | {r['load']:.1f} | {r['note']} |")
    lines += ["", "| config | msg/s off | msg/s on | on/off | CPU s/M off | CPU s/M on | on/off | "
              "peak RSS MiB off / on |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for cfg in args.spool_configs.split(","):
        x = {mode: [r for r in runs if r["cfg"] == cfg and r["mode"] == mode] for mode in ("off", "on")}
        rate = {k: med([r["rate"] for r in v]) for k, v in x.items()}
        cpu = {k: med([r["cpu_per_m"] for r in v]) for k, v in x.items()}
        rss = {k: med([r["rss_mb"] for r in v]) for k, v in x.items()}
        lines.append(f"| {cfg} | {rate['off']:.0f} | {rate['on']:.0f} | **{rate['on'] / rate['off']:.3f}x** | "
                     f"{cpu['off']:.2f} | {cpu['on']:.2f} | **{cpu['on'] / cpu['off']:.3f}** | "
                     f"{rss['off']:.1f} / {rss['on']:.1f} |")
    lines += ["", f"Medians over the rounds. Wall time of the comparison: {wall:.0f} s.", ""]
    return "\n".join(lines)


def metrics_report(args, m, runs, wall):
    med = statistics.median
    n = args.n
    configs = args.spool_configs.split(",")
    lines = [f"## Metrics off/on, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC: drain of {n} QoS 1 "
             f"readings per run, {args.rounds} rounds, {order_text(args.order)}", "",
             f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['mem']}; {m['os']}, kernel {m['kernel']}",
             f"- Mosquitto {m['mosquitto']}, Apache Kafka {m['kafka']} (KRaft, one node), "
             f"librdkafka {m['librdkafka']}, Paho MQTT C {m['paho']}, "
             f"libmicrohttpd {m.get('microhttpd', '?')}",
             "- off: no `metrics` section; on: `metrics: { listen: \"127.0.0.1:PORT\" }` (a free "
             "port per run), /metrics scraped once per second during the drain by this script "
             "(one kept-alive HTTP connection, like Prometheus with scrape_interval 1s)", "",
             "| round | config | metrics | msg/s | CPU s per million (user + sys) | peak RSS MiB | "
             "load avg at start | scrapes (ok / failed; median ms) | check |",
             "|---:|---|---|---:|---:|---:|---:|---|---|"]
    for r in runs:
        sc = r["scrape"]
        scs = f"{sc['ok']} / {sc['errors']}; {sc['ms_med']:.2f}" if sc else "-"
        lines.append(f"| {r['round']} | {r['cfg']} | {r['mode']} | {r['rate']:.0f} | "
                     f"{r['cpu_per_m']:.2f} ({r['user_per_m']:.2f} + {r['sys_per_m']:.2f}) | "
                     f"{r['rss_mb']:.1f} | {r['load']:.1f} | {scs} | {r['note']} |")
    lines += ["", "Bridge CPU by thread, microseconds per message (read from /proc when Kafka "
              "held all N, before the shutdown; MQTTAsync_rcv runs the callback: parse, rules, "
              "produce, per-route counter; main serves the delivery reports: latency histogram; "
              "HTTP = libmicrohttpd's thread):", "",
              "| round | config | metrics | MQTT receive | main | rdkafka | HTTP | other | "
              "context switches per message: receive / main / rdkafka |",
              "|---:|---|---|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        g = {k: v / n * 1e6 for k, v in r["groups"].items()}
        c = {k: v / n for k, v in r["csw"].items()}
        lines.append(f"| {r['round']} | {r['cfg']} | {r['mode']} | {g['mqtt-rcv']:.2f} | "
                     f"{g['main']:.2f} | {g['rdkafka']:.2f} | {g['http'] + g['sender']:.3f} | "
                     f"{g['other']:.2f} | "
                     f"{c['mqtt-rcv']:.3f} / {c['main']:.3f} / {c['rdkafka']:.3f} |")
    lines += ["", "Medians (ratio on/off of the medians; per round: on/off of the same round, and "
              "the median of those):", "",
              "| config | metrics | msg/s | CPU s per million | MQTT receive µs/msg | peak RSS MiB | "
              "msg/s on/off | per-round msg/s ratios (median) | CPU on/off | "
              "per-round CPU ratios (median) |",
              "|---|---|---:|---:|---:|---:|---:|---|---:|---|"]
    summary = {}
    for cfg in configs:
        mm = {}
        for mode in ("off", "on"):
            rs = [r for r in runs if r["cfg"] == cfg and r["mode"] == mode]
            mm[mode] = {k: med([r[k] for r in rs]) for k in ("rate", "cpu_per_m", "rss_mb")}
            mm[mode]["rcv"] = med([r["groups"]["mqtt-rcv"] / n * 1e6 for r in rs])
        ratio = mm["on"]["rate"] / mm["off"]["rate"]
        cpu_ratio = mm["on"]["cpu_per_m"] / mm["off"]["cpu_per_m"]
        per, per_cpu = [], []
        for rnd in range(1, args.rounds + 1):
            a = [r for r in runs if r["cfg"] == cfg and r["round"] == rnd]
            off = next(r for r in a if r["mode"] == "off")
            on = next(r for r in a if r["mode"] == "on")
            per.append(on["rate"] / off["rate"])
            per_cpu.append(on["cpu_per_m"] / off["cpu_per_m"])
        summary[cfg] = (ratio, cpu_ratio, med(per), med(per_cpu))
        for mode in ("off", "on"):
            x = mm[mode]
            lines.append(f"| {cfg} | {mode} | {x['rate']:.0f} | {x['cpu_per_m']:.2f} | "
                         f"{x['rcv']:.2f} | {x['rss_mb']:.1f} | "
                         + (f"**{ratio:.3f}x** | {', '.join(f'{v:.2f}' for v in per)} "
                            f"({med(per):.3f}) | **{cpu_ratio:.3f}** | "
                            f"{', '.join(f'{v:.2f}' for v in per_cpu)} ({med(per_cpu):.3f}) |"
                            if mode == "on" else " | | | |"))
    lines += ["", "Target: metrics on within 2% of metrics off (msg/s on/off >= 0.98; read on "
              "CPU per message: on/off <= 1.02), median-based: "
              + "; ".join(f"{cfg} msg/s **{v[0]:.3f}x** ({'met' if v[0] >= 0.98 else 'NOT met'}), "
                          f"CPU **{v[1]:.3f}** ({'met' if v[1] <= 1.02 else 'NOT met'})"
                          for cfg, v in summary.items())
              + f". Wall time of the comparison: {wall:.0f} s.", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--bin", default=os.path.join(ROOT, "mqtt-kafka-bridge"))
    ap.add_argument("--n", type=int, default=None,
                    help="readings per drain (BENCH_N; default 500000, 200000 with --spool-compare)")
    ap.add_argument("--spb-n", type=int,
                    default=int(ENV.get("BENCH_SPB_N") or ENV.get("BENCH_N") or 50000),
                    help="DDATA in the Sparkplug drain (BENCH_SPB_N; default BENCH_N when set, "
                    "else 50000: 20 records each)")
    ap.add_argument("--live-s", type=int, default=int(ENV.get("BENCH_LIVE_S", 30)))
    ap.add_argument("--rates", default=ENV.get("BENCH_RATES", "5000,20000,50000"))
    ap.add_argument("--micro-n", type=int, default=200000)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--only", metavar="LIST",
                    help="spb alone: only the Sparkplug drain, its own report (make "
                    "bench-sparkplug); else a comma list of " + ", ".join(PARTS)
                    + ": only those parts of make bench")
    ap.add_argument("--telegraf", default=TELEGRAF,
                    help="the Telegraf binary (default .cache/bench/bin/telegraf, make bench-deps; "
                    "$TELEGRAF)")
    ap.add_argument("--live-pubs", type=int, default=0,
                    help="live: publisher processes per rate (default: one per --pub-rate msg/s)")
    ap.add_argument("--pub-rate", type=int, default=25000,
                    help="live: the most msg/s one publisher is asked to pace (default 25000)")
    ap.add_argument("--spool-compare", action="store_true",
                    help="only the drain of the bridge with the spool off and on, alternating")
    ap.add_argument("--metrics-compare", action="store_true",
                    help="only the drain of the bridge with the metrics endpoint off and on "
                    "(scraped every second), alternating")
    ap.add_argument("--bin-compare", metavar="BASELINE_BIN",
                    help="only the drain of BASELINE_BIN (off) and --bin (on), alternating")
    ap.add_argument("--bin-spool", action="store_true",
                    help="--bin-compare: both binaries with the spool on (fsync: interval)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="--spool-compare (default 3), --metrics-compare (default 4): rounds of off, on")
    ap.add_argument("--order", default="off,on", choices=("off,on", "on,off", "alternate"),
                    metavar="off,on|on,off|alternate", help="--spool-compare, --metrics-compare: order of the two runs of a round")
    ap.add_argument("--spool-configs", default="hvac,raw", help="--spool-compare, --metrics-compare: hvac, raw or both")
    ap.add_argument("--drain-timeout", type=int, default=600,
                    help="--spool-compare, --metrics-compare: seconds a drain may take before it is reported as hung")
    ap.add_argument("--md", help="--spool-compare, --metrics-compare: also write the Markdown tables to this file")
    ap.add_argument("--perf", help="--spool-compare, --metrics-compare: perf record each drain into this directory "
                    "(perturbs the timings: use for profiles, not for the numbers)")
    args = ap.parse_args()
    global BIN
    BIN = args.bin
    if args.spool_compare and args.metrics_compare:
        ap.error("--spool-compare and --metrics-compare are separate runs")
    compare = args.spool_compare or args.metrics_compare or args.bin_compare
    if args.n is None:
        args.n = int(ENV.get("BENCH_N", 200000 if compare else 500000))
    if args.rounds is None:
        args.rounds = 4 if args.metrics_compare else 3
    b = Bench(args)
    t0 = time.time()
    if args.bin_compare:
        print(f"== binaries {args.bin_compare} (off) / {args.bin} (on): {args.n} readings per "
              f"run, {args.rounds} rounds of {args.spool_configs}"
              f"{', spool on' if args.bin_spool else ''}", flush=True)
        runs = b.spool_compare("bin")
        text = bin_report(args, machine(), runs, time.time() - t0)
        if args.md:
            with open(args.md, "w") as f:
                f.write(text)
        print(text)
        return 0
    if args.metrics_compare:
        print(f"== metrics off/on: {args.n} readings per run, {args.rounds} rounds of "
              f"{args.spool_configs}; binary {args.bin}", flush=True)
        m = machine()
        m["microhttpd"] = first_line("dpkg-query -W -f='${Version}' libmicrohttpd12")
        runs = b.spool_compare("metrics")
        text = metrics_report(args, m, runs, time.time() - t0)
        if args.md:
            with open(args.md, "w") as f:
                f.write(text)
        print(text)
        return 0
    if args.spool_compare:
        print(f"== spool off/on: {args.n} readings per run, {args.rounds} rounds of "
              f"{args.spool_configs}", flush=True)
        m = machine()
        m["spool_fs"] = first_line(f"df -T {b.dir} | awk 'NR==2 {{print $2 \" (\" $1 \")\"}}'")
        runs = b.spool_compare()
        text = spool_report(args, m, runs, time.time() - t0)
        if args.md:
            with open(args.md, "w") as f:
                f.write(text)
        print(text)
        return 0
    only = set(PARTS)
    if args.only and args.only != "spb":
        only = set(args.only.split(","))
        if only - set(PARTS):
            ap.error(f"--only: unknown {', '.join(sorted(only - set(PARTS)))} (one of "
                     f"{', '.join(PARTS)}, or spb alone)")
    if args.only == "spb":
        print(f"== Sparkplug drain: {args.spb_n} DDATA", flush=True)
        r = b.spb_only()
        text = spb_report(args, machine(), r)
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, f"{datetime.datetime.utcnow():%Y-%m-%d}-{platform.node()}"
                            "-sparkplug.md")
        with open(path, "w") as f:
            f.write(text)
        print(text)
        print(f"written to {path} ({time.time() - t0:.0f} s)")
        return 0
    m = machine()
    m["load"] = f"{os.getloadavg()[0]:.1f}"
    m["spool_fs"] = first_line(f"df -T {b.dir} | awk 'NR==2 {{print $2 \" (\" $1 \")\"}}'")
    if b.telegraf:
        m["telegraf"] = first_line(f"{b.telegraf} --version")
    drain, live, curves = {}, [], []
    wanted = {CONTENDERS[k] for k in only if k in CONTENDERS}
    if wanted:
        print("== drain", flush=True)
        drain = b.drain(wanted)
        if "telegraf" not in wanted:
            b.telegraf_why = None  # not asked for: not reported
        print_summary(drain, b.telegraf_why)
    if "live" in only:
        print("== live", flush=True)
        live = b.live()
    if "curves" in only:
        print("== cost curves", flush=True)
        curves = b.curves()
    text = report(args, m, drain, live, curves, b.telegraf_why, time.time() - t0)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{datetime.datetime.utcnow():%Y-%m-%d}-{platform.node()}.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print(f"written to {path} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
