#!/usr/bin/env python3
"""make bench: the bridge against its ceilings and a naive bridge, side by side.

Runs inside tests/harness/with-brokers.sh (real Mosquitto and Kafka on free
loopback ports; their addresses come in MKB_* variables).

Drain: BENCH_N QoS 1 readings of about 200 bytes are queued in Mosquitto for
one persistent session per contender while the contenders are offline; then
each contender in turn starts and the clock runs until it has taken all of
them (for the bridges and the kcat pipeline: until Kafka holds all of them,
by the partition's high watermark, cross-checked with the bridge's count of
delivery reports). Contenders:
  bridge-hvac   the bridge with the HVAC rules (normalization on)
  bridge-raw    the bridge with a raw pass-through rule
  A mosquitto_sub   mosquitto_sub draining the session to /dev/null
  B paho_sink       a minimal Paho MQTTAsync subscriber that does nothing
  C sub|kcat        mosquitto_sub | kcat -P into Kafka (a scripted bridge)
CPU is user+sys of the process(es) (wait4); peak RSS is the largest VmHWM
read from /proc while they run (wait4's maxrss would count the forked Python
image before exec).

Live: a publisher at fixed rates for BENCH_LIVE_S seconds each while the
bridge (HVAC rules) runs; p50/p99/max latency from publish to a Kafka
consumer, and the bridge's CPU and RSS.

Cost curves: bench/micro_mapper (the rule engine alone) with 10 and 10,000
routes and 100 B, 1 KB and 10 KB payloads.
"""
import argparse
import datetime
import os
import platform
import re
import signal
import subprocess
import sys
import time

ENV = os.environ
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOPIC = "sites/s1/hvac/ahu-1/telemetry"
FILTER = "sites/+/hvac/+/telemetry"


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

    def kt(self, *a, **kw):
        return sh([os.path.join(self.tool, "kafka_tool"), self.kafka, *map(str, a)], **kw)

    def bridge_config(self, name, raw):
        rules = (
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
                    f"kafka: {{ bootstrap: \"{self.kafka}\" }}\nlog_level: warn\nroutes:\n{rules}")
        return path

    def start_bridge(self, cfg, log):
        p = subprocess.Popen([self.a.bin, "-c", cfg, "-l", "info"], stdout=log, stderr=log)
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

    def drain(self):
        n = self.n
        contenders = ["bridge-hvac", "bridge-raw", "A", "B", "C"]
        topics = {"bridge-hvac": "bench.hvac", "bridge-raw": "bench.raw", "C": "bench.kcat"}
        for t in topics.values():
            self.kt("create", t)
        # Persistent sessions first, all subscribed, then one publication for all.
        for c in contenders:
            if c.startswith("bridge"):
                cfg = self.bridge_config(topics[c], c == "bridge-raw")
                logp = os.path.join(self.dir, f"{c}-setup.log")
                with open(logp, "w") as log:
                    p = self.start_bridge(cfg, log)
                    ok = self.wait_log(logp, "ready: forwarding")
                    p.send_signal(signal.SIGTERM)
                    p.wait()
                    assert ok, f"{c} not ready"
            elif c == "B":
                sh([os.path.join(self.tool, "paho_sink"), self.uri, "bench-B", FILTER, "0"])
            else:
                sh(self.sub_cmd(f"bench-{c}", ["-E"]))
        t0 = time.time()
        out = subprocess.run([os.path.join(self.tool, "pub"), self.uri, TOPIC, str(n), "200", "0"],
                             check=True, capture_output=True, text=True)
        print(f"published {n} readings in {time.time() - t0:.1f} s: {out.stderr.strip()}",
              flush=True)
        rows = {}
        for c in contenders:
            rows[c] = self.run_one(c, topics.get(c))
            # Drop the drained session: an offline persistent session would
            # queue every later message (the live run's) in Mosquitto.
            self.drop_session({"bridge-hvac": "bench-bench.hvac", "bridge-raw": "bench-bench.raw",
                               "A": "bench-A", "B": "bench-B", "C": "bench-C"}[c])
            r = rows[c]
            print(f"  {c:12s} {r['rate']:9.0f} msg/s  {r['cpu_per_m']:6.1f} CPU s/M  "
                  f"{r['rss_mb']:6.1f} MiB  ({r['note']})", flush=True)
        return rows

    def wait_kafka(self, topic, n, procs):
        """Seconds until TOPIC holds N records, sampling the peak RSS of PROCS
        meanwhile (they may exit before the end: a pipeline does)."""
        t0 = time.time()
        w = subprocess.Popen([os.path.join(self.tool, "kafka_tool"), self.kafka, "wait", topic,
                              str(n), "600"], stdout=subprocess.PIPE)
        rss = 0
        while w.poll() is None:
            rss = max([rss] + [self.hwm(p.pid) for p in procs])
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
        procs, note = [], ""
        t0 = time.time()
        if c.startswith("bridge"):
            logp = os.path.join(self.dir, f"{c}.log")
            log = open(logp, "w")
            cfg = os.path.join(self.dir, f"bench-{topic}.yaml")
            p = self.start_bridge(cfg, log)
            procs = [p]
            elapsed, rss_c = self.wait_kafka(topic, n, procs)
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
            p.returncode = status
            cpu += ru.ru_utime + ru.ru_stime
        if c in ("A", "B"):
            elapsed = time.time() - t0
        if c.startswith("bridge"):
            log.close()
            with open(logp) as f:
                m = re.findall(r"final: .*delivered=(\d+)", f.read())
            note = f"Kafka has {self.kt('count', topic)}, bridge delivered {m[-1] if m else '?'}"
        elif c == "C":
            note = f"Kafka has {self.kt('count', topic)}"
        else:
            note = "exit after N"
        return {"elapsed": elapsed, "rate": n / elapsed, "cpu": cpu, "cpu_per_m": cpu / n * 1e6,
                "rss_mb": rss / 1024.0, "note": note}

    def live(self):
        rates = [int(r) for r in self.a.rates.split(",")]
        topic = "bench.live"
        self.kt("create", topic)
        cfg = self.bridge_config(topic, False)
        logp = os.path.join(self.dir, "live.log")
        log = open(logp, "w")
        p = self.start_bridge(cfg, log)
        assert self.wait_log(logp, "ready: forwarding"), "bridge not ready"
        rows = []
        for rate in rates:
            count = rate * self.a.live_s
            lat = subprocess.Popen([os.path.join(self.tool, "kafka_tool"), self.kafka, "latency",
                                    topic, str(count), str(self.a.live_s + 60)],
                                   stdout=subprocess.PIPE, text=True)
            assert lat.stdout.readline().strip() == "ready"
            time.sleep(1)  # the consumer's assignment settles
            cpu0 = self.proc_cpu(p.pid)
            t0 = time.time()
            pub = subprocess.run([os.path.join(self.tool, "pub"), self.uri, TOPIC, str(count), "200",
                                  str(rate)], capture_output=True, text=True)
            out = lat.stdout.read().split()
            lat.wait()
            wall = time.time() - t0
            cpu = self.proc_cpu(p.pid) - cpu0
            rss = self.proc_rss(p.pid)
            got, p50, p99, mx = int(out[0]), float(out[1]), float(out[2]), float(out[3])
            m = re.search(r"\((\d+)/s\)", pub.stderr)
            rows.append({"rate": rate, "achieved": int(m.group(1)) if m else 0,
                         "sent": count, "got": got, "p50": p50, "p99": p99,
                         "max": mx, "cpu_pct": 100.0 * cpu / wall, "cpu_per_m": cpu / max(got, 1) * 1e6,
                         "rss_mb": rss / 1024.0, "pub": pub.stderr.strip()})
            r = rows[-1]
            print(f"  {rate:6d}/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  max {mx:8.2f} ms  "
                  f"bridge CPU {r['cpu_pct']:5.1f}%  RSS {r['rss_mb']:.1f} MiB  ({got}/{count})",
                  flush=True)
        p.send_signal(signal.SIGTERM)
        p.wait()
        log.close()
        self.drop_session("bench-bench.live")
        return rows

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


def machine():
    def first(cmd):
        try:
            return sh(cmd, shell=True).splitlines()[0]
        except Exception:
            return "?"
    cpu = first("lscpu | sed -n 's/^Model name: *//p'")
    return {
        "cpu": cpu, "cores": os.cpu_count(),
        "mem": first("free -g | awk '/Mem:/ {print $2 \" GiB\"}'"),
        "kernel": platform.release(),
        "os": first(". /etc/os-release && echo $PRETTY_NAME"),
        "mosquitto": first("dpkg-query -W -f='${Version}' mosquitto"),
        "librdkafka": first("dpkg-query -W -f='${Version}' librdkafka1"),
        "paho": first("dpkg-query -W -f='${Version}' libpaho-mqtt1.3"),
        "kcat": first("dpkg-query -W -f='${Version}' kcat"),
        "kafka": first(f"sed -n 's:.*<kafka.version>\\(.*\\)</kafka.version>.*:\\1:p' {ROOT}/deps/kafka/pom.xml"),
    }


def report(args, m, drain, live, curves):
    b = drain["B"]["rate"]
    c = drain["C"]
    lines = [f"# Benchmark {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC", "",
             "Reproduce: `make bench` (BENCH_N, BENCH_LIVE_S, BENCH_RATES to change the sizes).", "",
             "## Machine", "",
             f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['mem']}; {m['os']}, kernel {m['kernel']}",
             f"- Mosquitto {m['mosquitto']}, Apache Kafka {m['kafka']} (KRaft, one node), "
             f"librdkafka {m['librdkafka']}, Paho MQTT C {m['paho']}, kcat {m['kcat']}",
             "- Brokers, contenders and load generator share the machine (loopback).", "",
             f"## Drain: {args.n} QoS 1 readings of ~200 bytes queued in a persistent session", "",
             "| contender | msg/s | ratio to B | CPU s per million | peak RSS MiB | check |",
             "|---|---:|---:|---:|---:|---|"]
    names = {"bridge-hvac": "bridge, HVAC rules (normalized)", "bridge-raw": "bridge, raw pass-through",
             "A": "A: mosquitto_sub > /dev/null (broker ceiling)",
             "B": "B: minimal Paho MQTTAsync subscriber (library ceiling)",
             "C": "C: mosquitto_sub \\| kcat -P (naive bridge)"}
    for k in ["bridge-hvac", "bridge-raw", "A", "B", "C"]:
        r = drain[k]
        lines.append(f"| {names[k]} | {r['rate']:.0f} | {r['rate'] / b:.2f} | {r['cpu_per_m']:.1f} | "
                     f"{r['rss_mb']:.1f} | {r['note']} |")
    h = drain["bridge-hvac"]
    lines += ["", "Targets: bridge with normalization >= 0.85x B: "
              f"**{h['rate'] / b:.2f}x**; >= 1.0x C in throughput: **{h['rate'] / c['rate']:.2f}x**; "
              f"CPU per message at most C's: **{h['cpu_per_m']:.1f} vs {c['cpu_per_m']:.1f}** CPU s per million.", ""]
    lines += [f"## Live: publisher at fixed rates, {args.live_s} s each, bridge with the HVAC rules", "",
              "| rate msg/s (achieved) | records | p50 ms | p99 ms | max ms | bridge CPU % of a core | CPU s per million | bridge RSS MiB |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in live:
        lines.append(f"| {r['rate']} ({r['achieved']}) | {r['got']}/{r['sent']} | {r['p50']:.2f} | {r['p99']:.2f} | {r['max']:.2f} | "
                     f"{r['cpu_pct']:.1f} | {r['cpu_per_m']:.1f} | {r['rss_mb']:.1f} |")
    lines += ["", "Latency is publish (publisher's clock) to consumption by a Kafka consumer on the same "
              "machine; it includes the `hot` profile's 5 ms linger.", "",
              "## Cost curves: the rule engine alone (bench/micro_mapper, match + normalize + render)", "",
              "| routes | payload bytes | ns per message |", "|---:|---:|---:|"]
    for r in curves:
        lines.append(f"| {r['routes']} | {r['size']} | {r['ns']:.0f} |")
    lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--bin", default=os.path.join(ROOT, "mqtt-kafka-bridge"))
    ap.add_argument("--n", type=int, default=int(ENV.get("BENCH_N", 500000)))
    ap.add_argument("--live-s", type=int, default=int(ENV.get("BENCH_LIVE_S", 30)))
    ap.add_argument("--rates", default=ENV.get("BENCH_RATES", "5000,20000,50000"))
    ap.add_argument("--micro-n", type=int, default=200000)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = ap.parse_args()
    b = Bench(args)
    t0 = time.time()
    print("== drain", flush=True)
    drain = b.drain()
    print("== live", flush=True)
    live = b.live()
    print("== cost curves", flush=True)
    curves = b.curves()
    text = report(args, machine(), drain, live, curves)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{datetime.datetime.utcnow():%Y-%m-%d}-{platform.node()}.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print(f"written to {path} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
