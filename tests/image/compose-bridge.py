#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
"""compose-bridge.py COMPOSE IMAGE: print a compose file holding only the
bridge service of COMPOSE, as shipped (its environment names, mounts, named
volume, stop_grace_period), changed only where tests/image/check.sh runs it:
the image IMAGE (no build), the host's network with the harness brokers'
addresses (MKB_MQTT_URI, MKB_KAFKA_BOOTSTRAP, MKB_METRICS_LISTEN from the
environment) instead of the mosquitto and kafka services, whose images come
from a registry (so no depends_on, no ports), and bind mounts made absolute.
"""
import os
import sys

import yaml


def main():
    compose_path, image = sys.argv[1:3]
    with open(compose_path, encoding="utf-8") as f:
        c = yaml.safe_load(f)
    base = os.path.dirname(os.path.abspath(compose_path))
    b = dict(c["services"]["bridge"])
    for key in ("build", "depends_on", "ports"):
        b.pop(key, None)
    b["image"] = image
    b["network_mode"] = "host"
    b["restart"] = "no"
    b["environment"] = dict(b["environment"], **{
        k: os.environ[k] for k in ("MKB_MQTT_URI", "MKB_KAFKA_BOOTSTRAP", "MKB_METRICS_LISTEN")})
    b["volumes"] = [os.path.join(base, v[2:]) if v.startswith("./") else v for v in b["volumes"]]
    named = {v.split(":")[0] for v in b["volumes"] if not v.startswith("/")}
    out = {"services": {"bridge": b}, "volumes": {n: c["volumes"][n] for n in named}}
    yaml.safe_dump(out, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
