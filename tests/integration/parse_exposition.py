#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
"""Parses a Prometheus text exposition (file argv[1]) with prometheus_client's
own parser (Debian's python3-prometheus-client, hence /usr/bin/python3) and prints one line per
sample: FAMILY TYPE SAMPLE VALUE. Exit 1 if the parser refuses the text, 2
if prometheus_client is not installed."""
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("prometheus_client is not installed (python3-prometheus-client)", file=sys.stderr)
    sys.exit(2)

try:
    with open(sys.argv[1], encoding="utf-8") as f:
        for fam in text_string_to_metric_families(f.read()):
            for s in fam.samples:
                print(fam.name, fam.type, s.name, repr(float(s.value)))
except ValueError as e:
    print("prometheus_client refuses the text: %s" % e, file=sys.stderr)
    sys.exit(1)
