# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
"""A Sparkplug B edge node made with pysparkplug (not our code), for the
command tests: it connects, publishes its NBIRTH and the DBIRTH of one
device, and writes each NCMD/DCMD it receives, as pysparkplug decoded it,
to OUT as a JSON line {"type", "device", "metrics": [{"name", "datatype"
(number), "value"}]}. The line "births" is written once the births are out.

usage: cmd_edge_node.py URI GROUP NODE DEVICE OUT [COMMANDS [SECONDS]]
Stops after COMMANDS commands (default 1) or SECONDS (default 60)."""
import datetime
import json
import sys
import time
import urllib.parse

import pysparkplug as spb

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from decode import plain  # noqa: E402  the same value rules as decode.py


def main():
    uri, group, node_id, device_id, out = sys.argv[1:6]
    want = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    seconds = float(sys.argv[7]) if len(sys.argv) > 7 else 60.0
    u = urllib.parse.urlsplit(uri)
    got = []
    f = open(out, "a", buffering=1)

    def on_cmd(_node, message):
        got.append(1)
        f.write(json.dumps({
            "type": str(message.topic.message_type),
            "device": message.topic.device_id,
            "metrics": [{"name": m.name, "datatype": int(m.datatype), "value": plain(m.value)}
                        for m in message.payload.metrics],
        }) + "\n")

    ts = spb.get_current_timestamp()
    node = spb.EdgeNode(group, node_id,
                        [spb.Metric(timestamp=ts, name="Temp", datatype=spb.DataType.DOUBLE,
                                    value=21.5)],
                        cmd_callback=on_cmd)
    node.register(spb.Device(device_id, [
        spb.Metric(timestamp=ts, name="Speed", datatype=spb.DataType.INT16, value=0),
        spb.Metric(timestamp=ts, name="Valve", datatype=spb.DataType.UINT8, value=0),
        spb.Metric(timestamp=ts, name="When", datatype=spb.DataType.DATETIME,
                   value=datetime.datetime.now(datetime.timezone.utc)),
    ], cmd_callback=on_cmd))
    node.connect(u.hostname, port=u.port, blocking=False)
    end = time.time() + seconds
    while not node._connected and time.time() < end:
        time.sleep(0.05)
    time.sleep(0.5)  # the births are published from the connect callback
    f.write("births\n")
    while len(got) < want and time.time() < end:
        time.sleep(0.05)
    node.disconnect()
    f.close()
    sys.exit(0 if len(got) >= want else 1)


if __name__ == "__main__":
    main()
