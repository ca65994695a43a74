"""Last Will and retained messages [MQTT 3.1.1 sections 3.1.2.5, 3.3.1.3]."""
import time

from harness import Broker, RawClient, connect_packet, packet, publish_packet, subscribe_packet, wait_for


def subscriber(port, cid, filt, qos=0):
    s = RawClient(port)
    s.connect(cid)
    s.send(subscribe_packet(1, [(filt, qos)]))
    assert s.recv_packet()[0] == 0x90
    return s


def publish_body_payload(body):
    tlen = int.from_bytes(body[:2], "big")
    return body[2:2 + tlen].decode(), body[2 + tlen:]


def test_will_published_when_socket_closes(broker):
    s = subscriber(broker.port, "w-sub", "will/#")
    c = RawClient(broker.port)
    c.connect("dies", will=("will/dies", "gone", 0, False))
    c.sock.close()
    first, body = s.recv_packet()
    assert publish_body_payload(body) == ("will/dies", b"gone")


def test_no_will_after_disconnect(broker):
    """[MQTT-3.14.4-3] DISCONNECT discards the will."""
    s = subscriber(broker.port, "w-sub2", "will/#")
    c = RawClient(broker.port)
    c.connect("polite", will=("will/polite", "gone", 0, False))
    c.send(b"\xe0\x00")
    assert c.expect_closed()
    try:
        s.recv_packet(timeout=0.7)
        raise AssertionError("will sent after DISCONNECT")
    except TimeoutError:
        pass


def test_will_on_keepalive_expiry(broker):
    """[MQTT-3.1.2-24] no packet within 1.5 x keep-alive: the connection is closed and the will sent."""
    s = subscriber(broker.port, "w-sub3", "will/#")
    c = RawClient(broker.port)
    c.connect("silent", keepalive=1, will=("will/silent", "timeout", 1, False))
    start = time.monotonic()
    first, body = s.recv_packet(timeout=5)
    assert publish_body_payload(body) == ("will/silent", b"timeout")
    assert 1.4 <= time.monotonic() - start <= 3.5
    assert c.expect_closed()
    wait_for(lambda: "keep-alive timeout" in broker.log(), what="keep-alive log")


def test_pingreq_keeps_connection_alive(broker):
    c = RawClient(broker.port)
    c.connect("pinger", keepalive=1)
    for _ in range(4):
        time.sleep(0.5)
        c.send(b"\xc0\x00")
        assert c.recv_packet() == (0xD0, b"")


def test_will_on_protocol_error(broker):
    s = subscriber(broker.port, "w-sub4", "will/#")
    c = RawClient(broker.port)
    c.connect("broken", will=("will/broken", "err", 0, False))
    c.send(b"\x00\x00")  # packet type 0 is reserved
    assert s.recv_packet()[1].endswith(b"err")


def test_will_on_takeover(broker):
    s = subscriber(broker.port, "w-sub5", "will/#")
    c = RawClient(broker.port)
    c.connect("twin", will=("will/twin", "taken", 0, False))
    d = RawClient(broker.port)
    d.connect("twin")
    assert s.recv_packet()[1].endswith(b"taken")


def test_will_retain_and_qos(broker):
    c = RawClient(broker.port)
    c.connect("wr", will=("will/retained", "last", 1, True))
    c.sock.close()
    time.sleep(0.3)
    s = RawClient(broker.port)
    s.connect("late")
    s.send(subscribe_packet(1, [("will/retained", 1)]))
    s.recv_packet()
    first, body = s.recv_packet()
    assert first & 0x01 and (first >> 1) & 3 == 1


def test_retained_sent_on_subscribe_with_flag_and_cleared_on_forward(broker):
    """[MQTT-3.3.1-6] retained messages go to new subscribers with RETAIN=1; [MQTT-3.3.1-9] live
    forwarding clears it."""
    p = RawClient(broker.port)
    p.connect("rp")
    p.send(publish_packet("r/a", "one", retain=True))
    time.sleep(0.2)
    s = RawClient(broker.port)
    s.connect("rs")
    s.send(subscribe_packet(1, [("r/#", 0)]))
    assert s.recv_packet()[0] == 0x90
    first, body = s.recv_packet()
    assert first & 0x01 and publish_body_payload(body) == ("r/a", b"one")
    p.send(publish_packet("r/a", "two", retain=True))
    first, body = s.recv_packet()
    assert not first & 0x01 and body.endswith(b"two")


def test_retained_replaced_and_deleted(broker):
    """[MQTT-3.3.1-5] one retained message per topic; [MQTT-3.3.1-10] an empty payload deletes it."""
    p = RawClient(broker.port)
    p.connect("rp2")
    p.send(publish_packet("rr/x", "old", retain=True))
    p.send(publish_packet("rr/x", "new", retain=True))
    p.send(publish_packet("rr/y", "y", retain=True))
    p.send(publish_packet("rr/y", "", retain=True))
    time.sleep(0.2)
    s = RawClient(broker.port)
    s.connect("rs2")
    s.send(subscribe_packet(1, [("rr/#", 0)]))
    s.recv_packet()
    first, body = s.recv_packet()
    assert publish_body_payload(body) == ("rr/x", b"new")
    try:
        s.recv_packet(timeout=0.5)
        raise AssertionError("deleted retained message delivered")
    except TimeoutError:
        pass


def test_retained_not_matched_by_leading_wildcard_for_dollar_topics():
    with Broker("sys_interval 1") as b:
        time.sleep(1.5)
        s = RawClient(b.port)
        s.connect("rd")
        s.send(subscribe_packet(1, [("#", 0)]))
        s.recv_packet()
        try:
            first, body = s.recv_packet(timeout=0.5)
            raise AssertionError(f"$SYS retained matched by '#': {body[:40]!r}")
        except TimeoutError:
            pass


def test_sys_topics_published():
    with Broker("sys_interval 1") as b:
        s = RawClient(b.port)
        s.connect("sys")
        s.send(subscribe_packet(1, [("$SYS/broker/#", 0)]))
        s.recv_packet()
        topics = {}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(topics) < 25:
            first, body = s.recv_packet()
            t, v = publish_body_payload(body)
            topics[t] = v
        for t in ["$SYS/broker/version", "$SYS/broker/uptime", "$SYS/broker/clients/connected",
                  "$SYS/broker/clients/total", "$SYS/broker/clients/maximum", "$SYS/broker/messages/received",
                  "$SYS/broker/messages/sent", "$SYS/broker/bytes/received", "$SYS/broker/bytes/sent",
                  "$SYS/broker/retained messages/count", "$SYS/broker/subscriptions/count",
                  "$SYS/broker/load/messages/received/1min"]:
            assert t in topics, f"{t} missing from {sorted(topics)}"
        assert topics["$SYS/broker/version"].startswith(b"starling version ")
        assert int(topics["$SYS/broker/clients/connected"]) >= 1
