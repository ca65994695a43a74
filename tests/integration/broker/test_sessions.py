"""Persistent sessions, offline queueing, redelivery with DUP and QoS 2 exactly-once
[MQTT 3.1.1 sections 3.1.2.4, 4.3, 4.4]."""
import struct
import subprocess
import time

from harness import Broker, RawClient, connect_packet, packet, publish_packet, subscribe_packet, wait_for


def run(cmd, timeout=15):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_mosquitto_lab_sequence(broker):
    """The lab every MQTT tutorial runs: durable subscriber, disconnect, publish QoS 1, reconnect, receive."""
    port = str(broker.port)
    first = run(["mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-i", "Sub1", "-t", "test/message", "-q", "1",
                 "-c", "-W", "1"])
    assert first.returncode in (0, 27), first.stderr  # 27: -W timeout, as mosquitto_sub reports it
    for i in range(3):
        r = run(["mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-t", "test/message", "-q", "1", "-m", f"msg {i}"])
        assert r.returncode == 0, r.stderr
    second = run(["mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-i", "Sub1", "-t", "test/message", "-q", "1",
                  "-c", "-C", "3", "-W", "10"])
    assert second.returncode == 0, second.stderr
    assert second.stdout == "msg 0\nmsg 1\nmsg 2\n"


def test_session_present_flag(broker):
    c = RawClient(broker.port)
    assert c.connect("sp", clean=False) == b"\x00\x00"
    c.close()
    time.sleep(0.1)
    c = RawClient(broker.port)
    assert c.connect("sp", clean=False) == b"\x01\x00"  # [MQTT-3.2.2-2]
    c.close()
    c = RawClient(broker.port)
    assert c.connect("sp", clean=True) == b"\x00\x00"  # [MQTT-3.2.2-1]


def test_clean_session_discards_subscriptions(broker):
    c = RawClient(broker.port)
    c.connect("cs", clean=False)
    c.send(subscribe_packet(1, [("cs/t", 1)]))
    c.recv_packet()
    c.close()
    c = RawClient(broker.port)
    c.connect("cs", clean=True)
    p = RawClient(broker.port)
    p.connect("cs-pub")
    p.send(publish_packet("cs/t", "x", qos=1, pid=3))
    assert p.recv_packet() == (0x40, b"\x00\x03")
    try:
        c.recv_packet(timeout=0.5)
        raise AssertionError("subscription survived a clean session")
    except TimeoutError:
        pass


def test_offline_queue_redelivers_in_order_then_dup_on_reconnect(broker):
    sub = RawClient(broker.port)
    sub.connect("q1", clean=False)
    sub.send(subscribe_packet(1, [("q/#", 2)]))
    assert sub.recv_packet()[0] == 0x90
    sub.close()
    time.sleep(0.1)
    pub = RawClient(broker.port)
    pub.connect("q1-pub")
    for i in range(5):
        pub.send(publish_packet("q/x", f"m{i}", qos=1, pid=i + 1))
        assert pub.recv_packet() == (0x40, struct.pack("!H", i + 1))
    # Reconnect, take the messages without acknowledging them.
    sub = RawClient(broker.port)
    assert sub.connect("q1", clean=False) == b"\x01\x00"
    got = []
    for i in range(5):
        first, body = sub.recv_packet()
        assert first & 0xF0 == 0x30 and not first & 0x08
        tlen = struct.unpack("!H", body[:2])[0]
        pid = struct.unpack("!H", body[2 + tlen:4 + tlen])[0]
        got.append((pid, body[4 + tlen:]))
    assert [p for _, p in got] == [f"m{i}".encode() for i in range(5)]
    sub.close()
    time.sleep(0.1)
    # [MQTT-4.4.0-1] unacknowledged messages are re-sent with DUP set and the same packet ids.
    sub = RawClient(broker.port)
    sub.connect("q1", clean=False)
    for pid, payload in got:
        first, body = sub.recv_packet()
        assert first & 0x08, "DUP flag not set on redelivery"
        tlen = struct.unpack("!H", body[:2])[0]
        assert struct.unpack("!H", body[2 + tlen:4 + tlen])[0] == pid
        assert body[4 + tlen:] == payload
        sub.send(packet(0x40, struct.pack("!H", pid)))


def test_offline_queue_is_bounded():
    with Broker("max_queued_messages 3") as b:
        sub = RawClient(b.port)
        sub.connect("bounded", clean=False)
        sub.send(subscribe_packet(1, [("b", 1)]))
        sub.recv_packet()
        sub.close()
        time.sleep(0.1)
        pub = RawClient(b.port)
        pub.connect("bounded-pub")
        for i in range(10):
            pub.send(publish_packet("b", f"{i}", qos=1, pid=i + 1))
            pub.recv_packet()
        sub = RawClient(b.port)
        sub.connect("bounded", clean=False)
        payloads = []
        for _ in range(3):
            first, body = sub.recv_packet()
            payloads.append(body[5:])
            sub.send(packet(0x40, body[3:5]))
        assert payloads == [b"0", b"1", b"2"]
        try:
            sub.recv_packet(timeout=0.5)
            raise AssertionError("more than max_queued_messages were queued")
        except TimeoutError:
            pass


def test_qos0_not_queued_unless_configured(broker):
    sub = RawClient(broker.port)
    sub.connect("q0", clean=False)
    sub.send(subscribe_packet(1, [("z", 1)]))
    sub.recv_packet()
    sub.close()
    time.sleep(0.1)
    pub = RawClient(broker.port)
    pub.connect("q0-pub")
    pub.send(publish_packet("z", "zero", qos=0))
    pub.send(publish_packet("z", "one", qos=1, pid=9))
    pub.recv_packet()
    sub = RawClient(broker.port)
    sub.connect("q0", clean=False)
    first, body = sub.recv_packet()
    assert body.endswith(b"one")


def test_qos2_duplicate_publish_not_forwarded_twice(broker):
    """[MQTT-4.3.3-9] a re-sent QoS 2 PUBLISH with the same packet id before PUBREL is not forwarded again."""
    sub = RawClient(broker.port)
    sub.connect("x2-sub")
    sub.send(subscribe_packet(1, [("x2", 0)]))
    sub.recv_packet()
    pub = RawClient(broker.port)
    pub.connect("x2-pub")
    pub.send(publish_packet("x2", "once", qos=2, pid=7))
    assert pub.recv_packet() == (0x50, b"\x00\x07")
    pub.send(publish_packet("x2", "once", qos=2, pid=7, dup=True))
    assert pub.recv_packet() == (0x50, b"\x00\x07")
    pub.send(packet(0x62, b"\x00\x07"))
    assert pub.recv_packet() == (0x70, b"\x00\x07")
    first, body = sub.recv_packet()
    assert body.endswith(b"once")
    try:
        sub.recv_packet(timeout=0.5)
        raise AssertionError("QoS 2 message forwarded twice")
    except TimeoutError:
        pass
    # After PUBREL the id is free again: a new message with it is forwarded.
    pub.send(publish_packet("x2", "again", qos=2, pid=7))
    assert pub.recv_packet() == (0x50, b"\x00\x07")
    assert sub.recv_packet()[1].endswith(b"again")


def test_qos2_outgoing_flow_and_pubrel_resent_after_reconnect(broker):
    sub = RawClient(broker.port)
    sub.connect("o2", clean=False)
    sub.send(subscribe_packet(1, [("o2", 2)]))
    sub.recv_packet()
    pub = RawClient(broker.port)
    pub.connect("o2-pub")
    pub.send(publish_packet("o2", "hello", qos=2, pid=1))
    pub.recv_packet()
    pub.send(packet(0x62, b"\x00\x01"))
    pub.recv_packet()
    first, body = sub.recv_packet()
    assert first & 0x06 == 0x04
    pid = body[4:6]
    sub.send(packet(0x50, pid))  # PUBREC
    assert sub.recv_packet() == (0x62, pid)  # PUBREL
    sub.close()
    time.sleep(0.1)
    sub = RawClient(broker.port)
    assert sub.connect("o2", clean=False) == b"\x01\x00"
    assert sub.recv_packet() == (0x62, pid)  # [MQTT-4.4.0-1] PUBREL re-sent, not the PUBLISH
    sub.send(packet(0x70, pid))  # PUBCOMP


def test_inflight_window_limits_unacknowledged():
    with Broker("max_inflight_messages 2") as b:
        sub = RawClient(b.port)
        sub.connect("win")
        sub.send(subscribe_packet(1, [("win", 1)]))
        sub.recv_packet()
        pub = RawClient(b.port)
        pub.connect("win-pub")
        for i in range(5):
            pub.send(publish_packet("win", f"{i}", qos=1, pid=i + 1))
            pub.recv_packet()
        p1 = sub.recv_packet()
        p2 = sub.recv_packet()
        try:
            sub.recv_packet(timeout=0.5)
            raise AssertionError("window of 2 exceeded")
        except TimeoutError:
            pass
        sub.send(packet(0x40, p1[1][5:7]))
        p3 = sub.recv_packet()
        assert p3[1].endswith(b"2")
