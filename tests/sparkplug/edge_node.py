#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
"""A Sparkplug B edge node with one device, for the live tests and make demo.

Built on pysparkplug 0.6.1 (PyPI; https://github.com/matteosox/pysparkplug,
docs https://pysparkplug.mattefay.com): its EdgeNode and Device publish the
NBIRTH (with the bdSeq metric), the DBIRTH, and set the NDEATH as the MQTT
will (pysparkplug/_edge_node.py, EdgeNode.connect and _setup_will); its
Metric, NData/DData/NBirth/DBirth payload classes and Client encode
everything else. Nothing here encodes protobuf by hand: the bridge's decoder
is checked against an implementation this project did not write.

Usage: edge_node.py --uri tcp://HOST:PORT --group G --edge-node E --device D
                    [--client-id ID] [--auto SECONDS]

Commands on stdin, one a line; each is answered with one JSON line on stdout
once it is done ({"reply": COMMAND, ...}):
  connect   connect; pysparkplug publishes NBIRTH (seq 0, bdSeq) and DBIRTH
  data      one NDATA and one DDATA, every metric BY ALIAS ONLY (no name, no
            datatype: the bridge must name and type them from the births)
  gap       skip one seq number (the next data message shows a gap)
  death     drop the TCP connection without DISCONNECT: the broker publishes
            the NDEATH will pysparkplug set at connect
  quit      disconnect cleanly (pysparkplug's own NDEATH) and exit
Lines that come by themselves: {"event": "ncmd", ...} for every NCMD received
(pysparkplug's cmd_callback), then {"event": "rebirth", ...} after answering
a `Node Control/Rebirth` with a new NBIRTH and DBIRTH (spec 3.0, 5.x
"Rebirth Request": same bdSeq, seq from 0, no reconnect).
Every reply that published lists exactly what was sent in "sent": one entry
per message {topic, type, seq, metrics: [{name, alias, datatype, timestamp,
value}]}, where name/alias are what the bridge should report (a data message
carries only the alias on the wire: "on_wire": ["alias"]), datatype is the
specification's name and value is in the JSON form the bridge's decoder
documents (docs: Float as its shortest decimal, DateTime ISO 8601, Bytes
base64, UInt64 above 2^63-1 as a string).

QoS: pysparkplug publishes births and data at QoS 0 and sets the will at
QoS 0 (the specification asks for QoS 0 data and QoS 1 will/STATE). The tests
run against a broker on localhost, where QoS 0 loses nothing.

--auto SECONDS (make demo): connect at once, then `data` every SECONDS.
"""

import argparse
import base64
import datetime
import itertools
import json
import logging
import math
import socket
import struct
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

import pysparkplug as psp
from pysparkplug import DataType, Metric

# Spec names of the datatypes (Sparkplug 3.0, 6.4.16), from pysparkplug's enum.
SPEC_NAMES = {
    DataType.INT8: "Int8", DataType.INT16: "Int16", DataType.INT32: "Int32",
    DataType.INT64: "Int64", DataType.UINT8: "UInt8", DataType.UINT16: "UInt16",
    DataType.UINT32: "UInt32", DataType.UINT64: "UInt64", DataType.FLOAT: "Float",
    DataType.DOUBLE: "Double", DataType.BOOLEAN: "Boolean", DataType.STRING: "String",
    DataType.DATETIME: "DateTime", DataType.TEXT: "Text", DataType.UUID: "UUID",
    DataType.BYTES: "Bytes", DataType.FILE: "File",
    DataType.INT8_ARRAY: "Int8Array", DataType.INT16_ARRAY: "Int16Array",
    DataType.INT32_ARRAY: "Int32Array", DataType.INT64_ARRAY: "Int64Array",
    DataType.UINT8_ARRAY: "UInt8Array", DataType.UINT16_ARRAY: "UInt16Array",
    DataType.UINT32_ARRAY: "UInt32Array", DataType.UINT64_ARRAY: "UInt64Array",
    DataType.FLOAT_ARRAY: "FloatArray", DataType.DOUBLE_ARRAY: "DoubleArray",
    DataType.BOOLEAN_ARRAY: "BooleanArray", DataType.STRING_ARRAY: "StringArray",
    DataType.DATETIME_ARRAY: "DateTimeArray",
}
REBIRTH = "Node Control/Rebirth"
T0_MS = 1796479392123  # 2026-12-05T14:03:12.123Z: DateTime values count from here


def dt_ms(ms):
    """A UTC datetime that pysparkplug encodes back to exactly MS."""
    value = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    if DataType.DATETIME.encode(value) != ms:  # int(timestamp() * 1000) truncates
        value += datetime.timedelta(microseconds=500)
    assert DataType.DATETIME.encode(value) == ms
    return value


# (name, alias, datatype, value of the i-th message): the node's metrics and the
# device's. Aliases are unique across the node and its devices (spec 3.0).
NODE_METRICS = [
    ("Node/Int8", 1, DataType.INT8, lambda i: -100 + i % 50),
    ("Node/Int16", 2, DataType.INT16, lambda i: -30000 + i % 1000),
    ("Node/Int32", 3, DataType.INT32, lambda i: -2000000000 + i),
    ("Node/Int64", 4, DataType.INT64, lambda i: -9000000000000 - i),
    ("Node/UInt8", 5, DataType.UINT8, lambda i: 200 + i % 50),
    ("Node/UInt16", 6, DataType.UINT16, lambda i: 65000 + i % 500),
    ("Node/UInt32", 7, DataType.UINT32, lambda i: 4000000000 + i),
    ("Node/UInt64", 8, DataType.UINT64, lambda i: 18446744073709551000 + i % 600),
    ("Node/Float", 9, DataType.FLOAT, lambda i: round(21.5 + (i % 100) * 0.1, 1)),
    ("Node/Double", 10, DataType.DOUBLE, lambda i: 3.141592653589793 + i),
    ("Node/Boolean", 11, DataType.BOOLEAN, lambda i: i % 2 == 0),
    ("Node/String", 12, DataType.STRING, lambda i: f"h\u00e9llo \"{i}\""),
    ("Node/DateTime", 13, DataType.DATETIME, lambda i: dt_ms(T0_MS + i * 1001)),
    ("Node/Text", 14, DataType.TEXT, lambda i: f"line one\nline {i}"),
    ("Node/UUID", 15, DataType.UUID, lambda i: str(uuid.UUID(int=0xABC0 + i))),
    ("Node/Bytes", 16, DataType.BYTES, lambda i: bytes([0, 1, 2, 255, i % 256])),
]
DEVICE_METRICS = [
    ("Motor/Speed", 101, DataType.DOUBLE, lambda i: 1450.25 + i),
    ("Motor/Running", 102, DataType.BOOLEAN, lambda i: i % 3 != 0),
    ("Motor/Temp", 103, DataType.FLOAT, lambda i: round(0.1 + (i % 50) * 0.2, 1)),
    ("Motor/Count", 104, DataType.UINT32, lambda i: i),
    ("Motor/Int16Array", 105, DataType.INT16_ARRAY, lambda i: (-1, 0, 32767, -32768, i % 100)),
    ("Motor/DoubleArray", 106, DataType.DOUBLE_ARRAY, lambda i: (1.5, -2.25, i + 0.5)),
    ("Motor/BooleanArray", 107, DataType.BOOLEAN_ARRAY,
     lambda i: (True, False, True, True, False, False, True, False, i % 2 == 1)),
    ("Motor/StringArray", 108, DataType.STRING_ARRAY, lambda i: ("a", "b c", f"n{i}")),
    ("Motor/Label", 109, DataType.STRING, lambda i: f"motor-{i}"),
]


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def shortest_float(x):
    """The shortest decimal that reads back as the same 32-bit float."""
    if math.isnan(x) or math.isinf(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    for p in range(1, 10):
        s = float(f"{x:.{p}g}")
        if f32(s) == f32(x):
            return s
    return f32(x)


def iso_ms(ms):
    d = datetime.datetime.fromtimestamp(ms // 1000, tz=datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def json_value(datatype, value):
    """VALUE of DATATYPE in the JSON form the bridge documents."""
    if datatype == DataType.UINT64 and value > 2**63 - 1:
        return str(value)
    if datatype == DataType.FLOAT:
        return shortest_float(value)
    if datatype == DataType.FLOAT_ARRAY:
        return [shortest_float(v) for v in value]
    if datatype == DataType.DATETIME:
        return iso_ms(DataType.DATETIME.encode(value))
    if datatype == DataType.DATETIME_ARRAY:
        return [iso_ms(DataType.DATETIME.encode(v)) for v in value]
    if datatype in (DataType.BYTES, DataType.FILE):
        return base64.b64encode(value).decode()
    if isinstance(value, tuple):
        return list(value)
    return value


ALIAS_NAMES = {alias: name for name, alias, _, _ in NODE_METRICS + DEVICE_METRICS}


def describe(message, on_wire):
    """One "sent" entry: what pysparkplug was given to publish MESSAGE."""
    payload = message.payload
    out = {"topic": str(message.topic), "type": str(message.topic.message_type),
           "timestamp": payload.timestamp, "metrics": []}
    if hasattr(payload, "seq"):
        out["seq"] = payload.seq
    metrics = payload.metrics if hasattr(payload, "metrics") else (payload.bd_seq_metric,)
    for m in metrics:
        name = m.name if m.name is not None else ALIAS_NAMES.get(m.alias)
        d = {"name": name, "datatype": SPEC_NAMES[m.datatype],
             "value": None if m.is_null else json_value(m.datatype, m.value)}
        if m.alias is not None:
            d["alias"] = m.alias
        if m.timestamp is not None:
            d["timestamp"] = m.timestamp
        d["on_wire"] = on_wire
        out["metrics"].append(d)
    return out


class Node:
    """The pysparkplug EdgeNode with one Device, and what it published."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()  # stdout and the seq cycler: two threads use them
        self.count = 0
        # What was published (describe()): by the main thread (data), and by
        # paho's network thread (the births of connect, a rebirth).
        self.sent = {"main": [], "paho": []}
        self.bd_seq_metric = None  # the birth's bdSeq (pysparkplug moves on to the next)
        client = psp.Client(client_id=args.client_id,
                            client_options=psp.ClientOptions(reconnect_on_failure=False))
        # A command pysparkplug cannot decode must not stop the network thread.
        client._client.suppress_exceptions = True
        self.client = client
        self._wrap_publish()
        self.node = psp.EdgeNode(args.group, args.edge_node, self.metrics(NODE_METRICS, 0),
                                 client=client, cmd_callback=self.on_ncmd)
        self.device = psp.Device(args.device, self.metrics(DEVICE_METRICS, 0),
                                 cmd_callback=self.on_dcmd)
        self.node.register(self.device)

    def _wrap_publish(self):
        """Records every message pysparkplug publishes (EdgeNode.connect
        publishes the births from paho's thread, inside Client.publish)."""
        publish = self.client.publish

        def recording(message, *, include_dtypes=False):
            publish(message, include_dtypes=include_dtypes)
            with self.lock:
                kind = str(message.topic.message_type)
                if kind == "NBIRTH":
                    self.bd_seq_metric = next(m for m in message.payload.metrics
                                              if m.name == "bdSeq")
                on_wire = ["name", "alias", "datatype"] if include_dtypes or \
                    kind.endswith("BIRTH") else ["alias"]
                who = "main" if threading.current_thread() is threading.main_thread() \
                    else "paho"
                self.sent[who].append(describe(message, on_wire))

        self.client.publish = recording

    def metrics(self, table, i, by_alias=False):
        now = psp.get_current_timestamp()
        return [Metric(timestamp=now, name=None if by_alias else name, alias=alias,
                       datatype=dt, value=value(i)) for name, alias, dt, value in table]

    def emit(self, obj):
        with self.lock:
            print(json.dumps(obj, separators=(",", ":")), flush=True)

    def take_sent(self, who="main"):
        with self.lock:
            sent, self.sent[who] = self.sent[who], []
        return sent

    def flush(self, timeout=5.0):
        """Waits until paho wrote everything queued to the socket."""
        paho = self.client._client
        end = time.monotonic() + timeout
        while paho._out_packet and time.monotonic() < end:
            time.sleep(0.01)

    def connect(self):
        uri = urlparse(self.args.uri)
        self.node.connect(uri.hostname, port=uri.port or 1883, keepalive=10)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            with self.lock:
                if any(s["type"] == "DBIRTH" for s in self.sent["paho"]):
                    break
            time.sleep(0.01)
        self.flush()
        return {"reply": "connect", "sent": self.take_sent("paho")}

    def data(self):
        """NDATA and DDATA by alias only: EdgeNode.update would send names and
        datatypes, so the payloads are built from pysparkplug's classes and
        published through its client without them."""
        self.count += 1
        topic = psp.Topic(message_type=psp.MessageType.NDATA, group_id=self.args.group,
                          edge_node_id=self.args.edge_node)
        with self.lock:
            seq = self.node._seq
        payload = psp.NData(timestamp=psp.get_current_timestamp(), seq=seq,
                            metrics=tuple(self.metrics(NODE_METRICS, self.count, True)))
        self.client.publish(psp.Message(topic=topic, payload=payload,
                                        qos=psp.QoS.AT_MOST_ONCE, retain=False))
        self._ddata()
        self.flush()
        return {"reply": "data", "count": self.count, "sent": self.take_sent()}

    def _ddata(self):
        topic = psp.Topic(message_type=psp.MessageType.DDATA, group_id=self.args.group,
                          edge_node_id=self.args.edge_node, device_id=self.args.device)
        with self.lock:
            seq = self.node._seq
        payload = psp.DData(timestamp=psp.get_current_timestamp(), seq=seq,
                            metrics=tuple(self.metrics(DEVICE_METRICS, self.count, True)))
        self.client.publish(psp.Message(topic=topic, payload=payload,
                                        qos=psp.QoS.AT_MOST_ONCE, retain=False))

    def gap(self):
        with self.lock:
            skipped = self.node._seq  # EdgeNode's private seq cycler moves on
        return {"reply": "gap", "skipped_seq": skipped}

    def death(self):
        """Drops the connection the way a crash or a cut cable would: no
        DISCONNECT, so the broker publishes the will (pysparkplug's NDEATH)."""
        self.flush()
        paho = self.client._client
        sock = paho.socket()
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        paho.loop_stop()  # reconnect_on_failure=False: the loop ends
        bd = self.bd_seq_metric
        return {"reply": "death", "bdSeq": bd.value if bd else None,
                "will_topic": f"spBv1.0/{self.args.group}/NDEATH/{self.args.edge_node}"}

    def quit(self):
        self.node.disconnect()
        return {"reply": "quit", "sent": self.take_sent()}

    def rebirth(self):
        """A new NBIRTH (seq 0, the same bdSeq) and DBIRTH, as EdgeNode.connect
        publishes them; pysparkplug has no rebirth call of its own."""
        with self.lock:
            self.node._EdgeNode__seq_cycler = itertools.cycle(range(256))
            seq = self.node._seq
        node_metrics = (*self.metrics(NODE_METRICS, self.count), self.bd_seq_metric)
        topic = psp.Topic(message_type=psp.MessageType.NBIRTH, group_id=self.args.group,
                          edge_node_id=self.args.edge_node)
        self.client.publish(psp.Message(
            topic=topic, qos=psp.QoS.AT_MOST_ONCE, retain=False,
            payload=psp.NBirth(timestamp=psp.get_current_timestamp(), seq=seq,
                               metrics=node_metrics)), include_dtypes=True)
        topic = psp.Topic(message_type=psp.MessageType.DBIRTH, group_id=self.args.group,
                          edge_node_id=self.args.edge_node, device_id=self.args.device)
        with self.lock:
            seq = self.node._seq
        self.client.publish(psp.Message(
            topic=topic, qos=psp.QoS.AT_MOST_ONCE, retain=False,
            payload=psp.DBirth(timestamp=psp.get_current_timestamp(), seq=seq,
                               metrics=tuple(self.metrics(DEVICE_METRICS, self.count)))),
            include_dtypes=True)

    def on_ncmd(self, _node, message):
        """pysparkplug's cmd_callback (paho's network thread)."""
        metrics = [{"name": m.name, "datatype": SPEC_NAMES.get(m.datatype, str(m.datatype)),
                    "value": json_value(m.datatype, m.value) if m.value is not None else None}
                   for m in message.payload.metrics]
        self.emit({"event": "ncmd", "topic": str(message.topic), "metrics": metrics})
        if any(m.name == REBIRTH and m.value is True for m in message.payload.metrics):
            self.take_sent("paho")
            self.rebirth()  # no flush(): this is the thread that writes the socket
            self.emit({"event": "rebirth", "sent": self.take_sent("paho")})

    def on_dcmd(self, _node, message):
        metrics = [{"name": m.name, "value": json_value(m.datatype, m.value)
                    if m.value is not None else None} for m in message.payload.metrics]
        self.emit({"event": "dcmd", "topic": str(message.topic), "metrics": metrics})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--uri", required=True, help="tcp://HOST:PORT of the MQTT broker")
    ap.add_argument("--group", default="Demo")
    ap.add_argument("--edge-node", default="Line1")
    ap.add_argument("--device", default="Motor1")
    ap.add_argument("--client-id", default=None)
    ap.add_argument("--auto", type=float, default=0, help="connect, then data every N s")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    node = Node(args)
    commands = {"connect": node.connect, "data": node.data, "gap": node.gap,
                "death": node.death, "quit": node.quit}
    if args.auto > 0:
        node.emit(node.connect())
        while True:
            time.sleep(args.auto)
            node.emit(node.data())
    for line in sys.stdin:
        cmd = line.strip()
        if not cmd:
            continue
        if cmd not in commands:
            node.emit({"reply": cmd, "error": "unknown command"})
            continue
        node.emit(commands[cmd]())
        if cmd == "quit":
            break


if __name__ == "__main__":
    main()
