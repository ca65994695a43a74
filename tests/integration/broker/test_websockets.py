"""MQTT over WebSocket (ws and wss, subprotocol mqtt): MQTT.js (npm) and paho-mqtt's websocket transport,
exchanging messages with TCP clients; bad upgrade requests and text frames are refused without disturbing
the broker."""
import base64
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import paho.mqtt.client as mqtt
import pytest

from certs import make_certs
from harness import Broker, RawClient, free_port, publish_packet, wait_for

WS_DIR = os.path.join(os.path.dirname(__file__), "..", "ws")


@pytest.fixture(scope="module")
def certs():
    return make_certs(tempfile.mkdtemp(prefix="starling-ws-certs-"))


@pytest.fixture
def ws_broker(certs):
    ws, wss = free_port(), free_port()
    scrt, skey = certs["server"]
    b = Broker(f"listener {ws} 127.0.0.1\nprotocol websockets\n"
               f"listener {wss} 127.0.0.1\nprotocol websockets\ncertfile {scrt}\nkeyfile {skey}\n", workers=2)
    b.ws, b.wss = ws, wss
    yield b
    b.stop()


@pytest.mark.skipif(not os.path.isdir(os.path.join(WS_DIR, "node_modules", "mqtt")),
                    reason="MQTT.js not installed (scripts/setup runs npm ci in tests/integration/ws)")
def test_mqttjs_over_ws_and_wss(ws_broker, certs):
    r = subprocess.run(["node", os.path.join(WS_DIR, "mqttjs_check.js"), str(ws_broker.ws), str(ws_broker.wss),
                        certs["ca"][0], str(ws_broker.port)], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode() + ws_broker.log()[-2000:]
    assert r.stdout.decode().count(": ok") == 4


def test_paho_websockets_with_tcp_clients(ws_broker, certs):
    got = []
    c = mqtt.Client("paho-ws", transport="websockets", protocol=mqtt.MQTTv5)
    c.on_message = lambda cl, ud, m: got.append((m.topic, m.payload))
    c.connect("127.0.0.1", ws_broker.ws)
    c.loop_start()
    try:
        c.subscribe("mix/#", 1)
        wait_for(lambda: "paho-ws" in ws_broker.log(), what="ws client connected")
        time.sleep(0.3)
        t = RawClient(ws_broker.port)
        t.connect("tcp-pub")
        t.send(publish_packet("mix/tcp", "to ws", qos=1, pid=1))
        assert t.recv_packet()[0] == 0x40
        wait_for(lambda: got, what="message over ws")
        assert got[0] == ("mix/tcp", b"to ws")
    finally:
        c.loop_stop()
        c.disconnect()
    # And paho over wss, publishing to a TCP subscriber.
    s = RawClient(ws_broker.port)
    s.connect("tcp-sub")
    s.send(b"\x82\x0a\x00\x01\x00\x05mix/w\x01")
    assert s.recv_packet()[0] == 0x90
    w = mqtt.Client("paho-wss", transport="websockets")
    w.tls_set(ca_certs=certs["ca"][0])
    w.connect("localhost", ws_broker.wss)
    w.loop_start()
    try:
        w.publish("mix/w", b"over wss", qos=1).wait_for_publish(5)
        first, body = s.recv_packet()
        assert body.endswith(b"over wss")
    finally:
        w.loop_stop()
        w.disconnect()


def upgrade(port, headers):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(("GET /mqtt HTTP/1.1\r\nHost: x\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) +
               "\r\n").encode())
    return s


def test_bad_upgrades_and_text_frames_are_refused(ws_broker):
    s = upgrade(ws_broker.ws, {})
    assert s.recv(200).startswith(b"HTTP/1.1 426")
    key = base64.b64encode(os.urandom(16)).decode()
    s = upgrade(ws_broker.ws, {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": key,
                               "Sec-WebSocket-Version": "13", "Sec-WebSocket-Protocol": "mqtt"})
    head = s.recv(1000)
    assert head.startswith(b"HTTP/1.1 101") and b"Sec-WebSocket-Protocol: mqtt" in head
    # [MQTT-6.0.0-1] MQTT goes in binary frames: a text frame closes the connection (1003).
    s.sendall(bytes([0x81, 0x80 | 4]) + b"\x00\x00\x00\x00" + b"abcd")
    data = s.recv(100)
    assert data[:2] == b"\x88\x02" and data[2:4] == struct.pack("!H", 1003)
    assert ws_broker.alive()
    assert "text WebSocket frame" in ws_broker.log()
