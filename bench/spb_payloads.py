#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
"""Sparkplug B payloads for the benchmark's Sparkplug drain (bench.py, contender
bridge-spb), encoded by a real implementation: pysparkplug 0.6.1's payload and
Metric classes and its protobuf encoder (never by hand, never by the bridge's
own encoder).

    .cache/sparkplug/bin/python bench/spb_payloads.py OUTDIR [NDATA]

writes into OUTDIR:
  nbirth.bin        NBIRTH of edge node node1, seq 0: bdSeq (Int64) and
                    NODE_METRICS node metrics, each with a name, datatype, alias
  dbirth.bin        DBIRTH of device dev1, seq 1: DEVICE_METRICS (20) metrics of
                    mixed datatypes, each with a name, datatype and alias
  ddata/NNN.bin     NDATA (default 256, a multiple of 256) DDATA payloads, DDATA i with seq
                    (2 + i) % 256 and the 20 device metrics by alias only (no
                    name, no datatype), as edge nodes send them after the birth
  counts.json       {"nbirth_metrics", "dbirth_metrics", "ddata_metrics",
                    "ndata"}: what bench.py needs to compute how many per-metric
                    records Kafka must hold

Publishing nbirth, dbirth, then the DDATA files in a cycle (message i = file
i % 256) gives an unbroken seq 0, 1, 2, ..., 255, 0, ...: a bridge tracking
seq must see no gap. Timestamps start at the current time, so that Kafka keeps
the records (the per-metric record's timestamp is the metric's).

Group Bench; topics spBv1.0/Bench/NBIRTH/node1, .../DBIRTH/node1/dev1,
.../DDATA/node1/dev1 (bench.py publishes them).
"""
import datetime
import json
import os
import sys
import time

from pysparkplug import DataType, DBirth, DData, Metric, NBirth

# The device's 20 metrics: (name, datatype, alias). Aliases are unique across
# the edge node and its devices (node metrics 1.., device metrics 101..), as
# the specification asks.
DEVICE_METRICS = [
    ("Motor/Speed", DataType.DOUBLE, 101),
    ("Motor/Current", DataType.FLOAT, 102),
    ("Motor/Temperature", DataType.FLOAT, 103),
    ("Motor/Running", DataType.BOOLEAN, 104),
    ("Motor/Starts", DataType.INT32, 105),
    ("Motor/Hours", DataType.INT64, 106),
    ("Motor/Mode", DataType.STRING, 107),
    ("Pump/Pressure", DataType.DOUBLE, 108),
    ("Pump/Flow", DataType.FLOAT, 109),
    ("Pump/Valve", DataType.UINT16, 110),
    ("Pump/Level", DataType.UINT8, 111),
    ("Pump/Alarm", DataType.BOOLEAN, 112),
    ("Pump/Cycles", DataType.UINT32, 113),
    ("Pump/Delta", DataType.INT16, 114),
    ("Pump/Offset", DataType.INT8, 115),
    ("Line/Count", DataType.UINT64, 116),
    ("Line/Energy", DataType.DOUBLE, 117),
    ("Line/Batch", DataType.STRING, 118),
    ("Line/LastStop", DataType.DATETIME, 119),
    ("Line/Setpoint", DataType.INT32, 120),
]
NODE_METRICS = [
    ("Node/Uptime", DataType.INT64, 1),
    ("Node/Firmware", DataType.STRING, 2),
]


def value(dt, name, i, ts):
    """A plausible value of metric NAME of datatype DT in message I (varies
    with I, so that the DDATA payloads differ)."""
    h = sum(map(ord, name))
    return {
        DataType.DOUBLE: 1000.0 + h % 97 + i * 0.125,
        DataType.FLOAT: 20.0 + (h + i) % 50 * 0.5,
        DataType.BOOLEAN: (h + i) % 2 == 0,
        DataType.INT32: -5000 + (h * 7 + i * 13) % 100000,
        DataType.INT64: 3_600_000_000 + h + i,
        DataType.STRING: f"{name.split('/')[0].lower()}-{(h + i) % 16}",
        DataType.UINT16: (h * 31 + i) % 65536,
        DataType.UINT8: (h + i) % 256,
        DataType.UINT32: 4_000_000_000 + (h + i) % 1000,
        DataType.INT16: -300 + (h + i) % 600,
        DataType.INT8: -100 + (h + i) % 200,
        DataType.UINT64: 10_000_000_000 + h * 1000 + i,
        DataType.DATETIME: datetime.datetime.fromtimestamp((ts - 3_600_000 + i) / 1000,
                                                     tz=datetime.timezone.utc),
    }[dt]


def metric(spec, i, ts, by_alias_only=False):
    name, dt, alias = spec
    # In a DDATA the datatype still selects the protobuf value field, but
    # DData.encode() leaves it out of the payload (include_dtypes=False).
    return Metric(timestamp=ts, name=None if by_alias_only else name, datatype=dt,
                  value=value(dt, name, i, ts), alias=alias)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    if len(sys.argv) not in (2, 3):
        sys.stderr.write("usage: spb_payloads.py OUTDIR [NDATA]\n")
        return 2
    out = sys.argv[1]
    ndata = int(sys.argv[2]) if len(sys.argv) == 3 else 256
    if ndata <= 0 or ndata % 256:
        # Cycling through them must continue seq without a gap: 256 per cycle.
        sys.stderr.write("spb_payloads.py: NDATA must be a positive multiple of 256\n")
        return 2
    os.makedirs(os.path.join(out, "ddata"), exist_ok=True)
    t0 = int(time.time() * 1000)
    node = [metric(s, 0, t0) for s in NODE_METRICS]
    node.append(Metric(timestamp=t0, name="bdSeq", datatype=DataType.INT64, value=0))
    nbirth = NBirth(timestamp=t0, seq=0, metrics=tuple(node))
    write(os.path.join(out, "nbirth.bin"), nbirth.encode())  # births always carry datatypes
    dbirth = DBirth(timestamp=t0 + 1, seq=1, metrics=tuple(metric(s, 0, t0 + 1)
                                                          for s in DEVICE_METRICS))
    write(os.path.join(out, "dbirth.bin"), dbirth.encode())
    for i in range(ndata):
        ts = t0 + 2 + i
        ddata = DData(timestamp=ts, seq=(2 + i) % 256,
                      metrics=tuple(metric(s, i + 1, ts, by_alias_only=True)
                                    for s in DEVICE_METRICS))
        write(os.path.join(out, "ddata", f"{i:03d}.bin"), ddata.encode(include_dtypes=False))
    with open(os.path.join(out, "counts.json"), "w") as f:
        json.dump({"nbirth_metrics": len(nbirth.metrics), "dbirth_metrics": len(dbirth.metrics),
                   "ddata_metrics": len(DEVICE_METRICS), "ndata": ndata}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
