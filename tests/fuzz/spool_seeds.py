#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed inputs of fuzz_spool (tests/fuzz/corpus/spool): segment
files laid out as spool.c writes them, whole, torn, flipped and with an ack
mark. Input layout: see tests/fuzz/fuzz_spool.c."""
import os
import struct
import sys
import zlib


def record(topic, value, key=None, profile=b"", headers=(), dead=False, ts=1700000000000):
    flags = (1 if dead else 0) | (2 if key is not None else 0)
    key = key or b""
    body = struct.pack("<BBBBqHHIIq", 1, flags, len(profile), 0, ts, len(topic), len(headers),
                       len(key), len(value), ts - 5)
    body += profile + b"\0" + topic + b"\0" + key + value
    for name, val in headers:
        body += struct.pack("<HI", len(name), len(val)) + name + b"\0" + val
    return struct.pack("<III", 0x53424B4D, len(body), zlib.crc32(body)) + body


def inp(flags, segs, ack_seg=0, ack_off=0):
    return struct.pack("<BBH", flags, ack_seg, ack_off) + b"\nSEG\n".join(segs)


def main(out):
    a = record(b"t.one", b'{"v":1}', key=b"k1", headers=[(b"h", b"v")])
    b = record(b"t.two", b"raw", profile=b"cold", dead=True)
    c = record(b"readings", b"x" * 100, key=b"", headers=[(b"a", b""), (b"b", b"1")])
    seeds = {
        "one": inp(1, [a]),
        "three": inp(1, [a + b + c]),
        "two-segments": inp(1, [a + b, c + a]),
        "three-segments-ack": inp(3, [a, b + c, a], ack_seg=1, ack_off=len(a)),
        "ack-half": inp(5, [a + b + c + a]),
        "ack-mid-record": inp(3, [a + b + c], ack_seg=0, ack_off=len(a) + 7),
        "torn-tail": inp(0, [a + b + c[:30]]),
        "flipped": inp(0, [a + b[:20] + bytes([b[20] ^ 0xFF]) + b[21:] + c]),
        "garbage-between": inp(1, [a + b"MKBS\x05\x00\x00\x00junk" + b]),
        "empty": inp(1, [b""]),
    }
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/spool")
