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
from harness import Broker, RawClient, free_port, publish_packet, subscribe_packet, wait_for

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


@pytest.mark.parametrize("secure", [False, True], ids=["ws", "wss"])
def test_many_and_large_messages_over_websockets(ws_broker, certs, secure):
    """Frames are decoded into a buffer shared by the worker's connections (after TLS for wss): a burst of
    small messages and one larger than that buffer (64 KiB) arrive intact and in order."""
    sub = RawClient(ws_broker.port)
    sub.connect(f"burst-sub-{secure}")
    sub.send(subscribe_packet(1, [("burst/t", 0)]))
    assert sub.recv_packet()[0] == 0x90
    payloads = [f"{i:05d}".encode() * 20 for i in range(1000)]
    payloads.insert(500, os.urandom(200_000))
    w = mqtt.Client(f"burst-pub-{secure}", transport="websockets")
    if secure:
        w.tls_set(ca_certs=certs["ca"][0])
    w.connect("localhost", ws_broker.wss if secure else ws_broker.ws)
    w.loop_start()
    try:
        for p in payloads:
            w.publish("burst/t", p, qos=1)
        got = []
        while len(got) < len(payloads):
            first, body = sub.recv_packet()
            got.append(body[2 + len("burst/t"):])
        assert got == payloads
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


def ws_frame(payload, opcode=0x2, fin=True, mask=b"\x12\x34\x56\x78"):
    """A client frame (masked, RFC 6455 5.3)."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n <= 0xFFFF:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_ws_frames(s, want, timeout=5.0):
    """Reads server frames until `want` data bytes arrived; returns (data, control frames [(opcode, payload)])."""
    s.settimeout(timeout)
    buf, data, controls = b"", b"", []
    deadline = time.monotonic() + timeout
    while len(data) < want:
        assert time.monotonic() < deadline, f"got {len(data)} of {want} bytes"
        chunk = s.recv(65536)
        assert chunk, "connection closed"
        buf += chunk
        while len(buf) >= 2:
            n, off = buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, off = struct.unpack("!H", buf[2:4])[0], 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, off = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < off + n:
                break
            op, body, buf = buf[0] & 0x0F, buf[off:off + n], buf[off + n:]
            if op & 0x8:
                controls.append((op, body))
            else:
                data += body
    return data, controls


def test_frames_split_anywhere_fragmented_and_interleaved_with_pings(ws_broker):
    """Frame headers and masking keys cut at every byte, a message in continuation frames with a ping between
    them, and a 300 KiB message: the MQTT bytes come out exactly (the broker unmasks as bytes arrive)."""
    key = base64.b64encode(os.urandom(16)).decode()
    s = upgrade(ws_broker.ws, {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": key,
                               "Sec-WebSocket-Version": "13", "Sec-WebSocket-Protocol": "mqtt"})
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1000)
    assert head.startswith(b"HTTP/1.1 101")
    connect = bytes([0x10, 18, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 6]) + b"ws-raw"
    for b in ws_frame(connect):  # one byte per send: headers and mask split everywhere
        s.sendall(bytes([b]))
        time.sleep(0.001)
    data, _ = read_ws_frames(s, 4)
    assert data == b"\x20\x02\x00\x00"  # CONNACK accepted
    sub = bytes([0x82, 12, 0, 1, 0, 7]) + b"ws/big/" + bytes([0])
    half = len(sub) // 2
    # The SUBSCRIBE in two frames (binary + continuation) with a ping in between.
    s.sendall(ws_frame(sub[:half], fin=False) + ws_frame(b"hi", opcode=0x9) + ws_frame(sub[half:], opcode=0x0))
    data, controls = read_ws_frames(s, 5)
    assert data == b"\x90\x03\x00\x01\x00"
    assert (0xA, b"hi") in controls
    # A large PUBLISH to itself, sent in uneven pieces.
    payload = os.urandom(300 * 1024)
    topic = b"ws/big/"
    body = struct.pack("!H", len(topic)) + topic + payload
    n, rl = len(body), b""
    while True:
        d, n = n % 128, n // 128
        rl += bytes([d | (0x80 if n else 0)])
        if not n:
            break
    frame = ws_frame(bytes([0x30]) + rl + body, mask=os.urandom(4))
    for i in range(0, len(frame), 7919):
        s.sendall(frame[i:i + 7919])
    data, _ = read_ws_frames(s, 1 + len(rl) + len(body), timeout=10)
    assert data == bytes([0x30]) + rl + body
    s.close()
    assert ws_broker.alive()
