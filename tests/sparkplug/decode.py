# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
"""Decodes a Sparkplug B payload with pysparkplug (an implementation that is
not ours) and prints it as JSON, for the tests to compare with what they
encoded: {"timestamp", "seq" (when present), "metrics": [{"name", "alias",
"datatype" (the number), "datatype_name" (pysparkplug's), "value",
"is_null"}]}. Values: bytes as base64, datetimes as epoch ms, tuples as
lists, NaN/Infinity and integers above INT64_MAX as strings.

usage: decode.py FILE NCMD|DCMD|NDATA|DDATA   (FILE "-": standard input)
Exit 2 when pysparkplug cannot decode the payload (its error on stderr)."""
import base64
import datetime
import json
import math
import sys

import pysparkplug as spb


def plain(v):
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, datetime.datetime):
        return round(v.timestamp() * 1000)
    if isinstance(v, (tuple, list)):
        return [plain(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool) and v > 2**63 - 1:
        return str(v)  # jansson holds int64 only
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def main():
    path, kind = sys.argv[1], sys.argv[2]
    raw = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    cls = {"NCMD": spb.NCmd, "DCMD": spb.DCmd, "NDATA": spb.NData, "DDATA": spb.DData}[kind]
    try:
        p = cls.decode(raw)
    except Exception as e:  # pysparkplug's own complaint is the test's evidence
        print(f"pysparkplug: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)
    out = {"timestamp": p.timestamp, "metrics": []}
    if getattr(p, "seq", None) is not None:
        out["seq"] = p.seq
    for m in p.metrics:
        out["metrics"].append({
            "name": m.name,
            "alias": m.alias,
            "datatype": int(m.datatype),
            "datatype_name": m.datatype.name,
            "value": plain(m.value),
            "is_null": bool(m.is_null),
            "timestamp": m.timestamp,
        })
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
