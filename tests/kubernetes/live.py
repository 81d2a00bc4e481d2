#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
"""The pod of deploy/kubernetes/ played on this machine, against the harness
brokers (run inside tests/harness/with-brokers.sh; `make check-k8s-live`):

the ConfigMaps' files laid out where the Deployment mounts them (under a
scratch root), the Deployment's args and environment, the Secret's keys
holding the harness credentials (MQTT user and password on its password
listener, Kafka SCRAM-SHA-512 over SASL_SSL, the harness CA named by
MKB_KAFKA_SSL_CA_LOCATION as for a private CA mounted into the pod), as the image's user 10001
when run as root (the spool volume handed to that user, as fsGroup does).
Then, as the kubelet would: the startup probe's GET /healthz answers 200,
the readiness probe's GET /readyz 200; an HVAC reading published to the
broker is a record in Kafka; SIGTERM stops the bridge with exit status 0
within terminationGracePeriodSeconds; the spool is on the volume.

Not played: a container runtime (read-only root file system, dropped
capabilities, seccomp), the kubelet, a cluster.

  live.py BINARY      prints ok/FAIL lines and "N passed, N failed"
"""
import contextlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import validate as v

UID = 10001


def http_get(port, path):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace").strip()
    except OSError as e:
        return None, str(e)


def wait_for(fn, seconds, proc=None):
    """Polls FN until its first value is true, SECONDS pass or PROC exits."""
    end = time.monotonic() + seconds
    while True:
        got = fn()
        if got[0] or time.monotonic() > end or (proc and proc.poll() is not None):
            return got
        time.sleep(0.2)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_secret(path):
    with open(path, encoding="utf-8") as f:
        return f.read().rstrip("\n")


def harness_secret(secret):
    h = os.environ
    data = dict(secret["stringData"])
    data.update({"mqtt-username": "bridge",
                 "mqtt-password": read_secret(h["MKB_MQTT_PASSWORD_FILE"]),
                 "kafka-sasl-username": h["MKB_KAFKA_SASL_USER"],
                 "kafka-sasl-password": read_secret(h["MKB_KAFKA_SASL_PASSWORD_FILE"])})
    return dict(secret, stringData=data)


def as_pod_user(root, spool_mount):
    """As root: the image's user, the spool volume its own (fsGroup)."""
    if os.getuid() != 0:
        return []
    os.chmod(root, 0o755)
    os.chown(root + spool_mount, UID, UID)
    return ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups", "--"]


def kafka_record(key):
    p = subprocess.run(["kcat", "-b", os.environ["MKB_KAFKA_BOOTSTRAP"], "-C", "-t", "hvac.telemetry",
                        "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n"],
                       capture_output=True, text=True, timeout=30)
    for line in p.stdout.splitlines():
        k, _, val = line.partition("\t")
        if k == key:
            return True, val
    return False, p.stderr.strip()


def run(binary, objs, root):
    with contextlib.redirect_stdout(io.StringIO()):  # check-k8s reports these
        c, env, secret, cms, vols, mounts = v.pod_checks(objs, binary)
    v.passed = v.failed = 0
    grace = objs[("Deployment", "mqtt-kafka-bridge")][1]["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"]
    v.layout(root, cms, vols, mounts)
    os.makedirs(root + mounts["spool"], mode=0o755)
    os.makedirs(root + mounts["tmp"], mode=0o1777)
    run_env = v.pod_env(root, env, harness_secret(secret), mounts)
    port = free_port()
    run_env.update(MKB_MQTT_URI=os.environ["MKB_MQTT_AUTH_URI"],
                   MKB_KAFKA_BOOTSTRAP=os.environ["MKB_KAFKA_SASL_SSL_BOOTSTRAP"],
                   MKB_CLIENT_ID=f"mkb-k8s-live-{os.getpid()}",
                   MKB_METRICS_LISTEN=f"127.0.0.1:{port}",
                   TMPDIR=root + mounts["tmp"])
    # The harness CA, where a pod would mount it from a Secret: readable by
    # the bridge's user (the harness directory is not).
    ca = os.path.join(root, "etc", "mqtt-kafka-bridge", "kafka-ca", "ca.crt")
    os.makedirs(os.path.dirname(ca), mode=0o755)
    shutil.copyfile(os.path.join(os.environ["MKB_TLS_DIR"], "ca.crt"), ca)
    os.chmod(ca, 0o644)
    run_env["MKB_KAFKA_SSL_CA_LOCATION"] = ca
    prefix = as_pod_user(root, mounts["spool"])
    log = open(os.path.join(root, "bridge.log"), "w+", encoding="utf-8")
    proc = subprocess.Popen(prefix + [binary, *v.pod_args(root, c)], env=run_env, cwd="/",
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        live_checks(proc, port, grace, run_env, root, mounts)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.seek(0)
        print("     bridge log (tail):\n     " + "\n     ".join(log.read().splitlines()[-15:]))
        log.close()


def live_checks(proc, port, grace, run_env, root, mounts):
    user = f"uid {UID}" if os.getuid() == 0 else f"uid {os.getuid()} (not root: no setpriv)"
    st, body = wait_for(lambda: (http_get(port, "/healthz")[0] == 200, ""), 60, proc)
    check = v.check
    check(f"startup probe: GET /healthz answers 200 (bridge as {user})", st, body)
    st, body = wait_for(lambda: (lambda r: (r[0] == 200, r))(http_get(port, "/readyz")), 90, proc)
    check("readiness probe: GET /readyz answers 200 (MQTT with a password, Kafka SASL_SSL "
          "SCRAM-SHA-512)", st, body)
    key, ts = "k8s.ahu-1", int(time.time() * 1000)
    uri = run_env["MKB_MQTT_URI"]
    pub = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", uri.rsplit(":", 1)[1],
                          "-u", run_env["MKB_MQTT_USERNAME"], "-P", run_env["MKB_MQTT_PASSWORD"],
                          "-q", "1", "-t", "sites/k8s/hvac/ahu-1/telemetry",
                          "-m", json.dumps({"temp_f": 71.6, "rh": 41.5, "ts": ts})],
                         capture_output=True, text=True, timeout=30)
    check("mosquitto_pub of an HVAC reading", pub.returncode == 0, pub.stderr.strip())
    got, val = wait_for(lambda: kafka_record(key), 60)
    rec = json.loads(val) if got else {}
    check(f"the reading is a record in Kafka hvac.telemetry, key {key}",
          got and rec.get("humidity_pct") == 41.5 and rec.get("site") == "k8s", val)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - t0
    check(f"SIGTERM: exit 0 in {took:.1f} s, within terminationGracePeriodSeconds {grace}", rc == 0, rc)
    spool = run_env["MKB_SPOOL_DIR"]
    on_volume = os.path.isdir(spool) and spool.startswith(root + mounts["spool"] + "/")
    owner = os.stat(spool).st_uid if os.path.isdir(spool) else None
    check(f"the spool {spool[len(root):]} is on the volume, owned by the bridge's user",
          on_volume and owner == (UID if os.getuid() == 0 else os.getuid()), owner)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: live.py BINARY")
    for name in ("MKB_MQTT_AUTH_URI", "MKB_KAFKA_SASL_SSL_BOOTSTRAP", "MKB_TLS_DIR"):
        if name not in os.environ:
            sys.exit(f"live.py: {name} not set: run inside tests/harness/with-brokers.sh")
    binary = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="mkb-k8s-live.")
    try:
        run(binary, v.load_objects(), root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"kubernetes-live: {v.passed} passed, {v.failed} failed")
    sys.exit(1 if v.failed else 0)


if __name__ == "__main__":
    main()
