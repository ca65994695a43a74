"""MQTT 3.1.1 server-side conformance over a raw socket: the normative statements of chapters 3 and 4 that
no other test named. Each docstring names the statements it checks in MQTT 3.1.1 numbering, which differs
from MQTT 5.0's for the same number; docs/conformance.md has both tables."""
import struct
import time

import pytest

from harness import Broker, RawClient, connect_packet, mqtt_string, packet, publish_packet, subscribe_packet
from test_conformance5 import make_password_file, raw_string


def connect311(flags, payload):
    return packet(0x10, mqtt_string("MQTT") + bytes([4, flags]) + struct.pack("!H", 60) + payload)


def unsubscribe311(pid, filters):
    return packet(0xA2, struct.pack("!H", pid) + b"".join(mqtt_string(f) for f in filters))


def parse_publish(first, body):
    qos = (first >> 1) & 3
    n = struct.unpack_from("!H", body, 0)[0]
    i = 2 + n
    pid = struct.unpack_from("!H", body, i)[0] if qos else None
    return {"topic": body[2:i].decode(), "qos": qos, "pid": pid, "payload": body[i + (2 if qos else 0):],
            "dup": bool(first & 8), "retain": bool(first & 1)}


class Client(RawClient):
    def publishes(self, limit=0.4):
        got = []
        while True:
            try:
                first, body = self.recv_packet(limit)
            except (TimeoutError, OSError):
                return got
            assert first >> 4 == 3, f"expected PUBLISH, got {first:#x}"
            got.append(parse_publish(first, body))

    def next_publish(self, timeout=5.0):
        first, body = self.recv_packet(timeout)
        assert first >> 4 == 3, f"expected PUBLISH, got {first:#x}"
        return parse_publish(first, body)

    def sub(self, pid, filters):
        self.send(subscribe_packet(pid, filters))
        first, body = self.recv_packet()
        assert first == 0x90 and struct.unpack_from("!H", body, 0)[0] == pid
        return body[2:]

    def closed_silently(self):
        return self.expect_closed() and self.buf == b""


def client(port, client_id, **kw):
    c = Client(port)
    assert c.connect(client_id, **kw)[1] == 0
    return c


def ack(first, pid):
    return packet(first, struct.pack("!H", pid))


def test_clean_session(broker):
    """CleanSession 0 without a stored session: Session Present 0 [MQTT-3.2.2-3], the session is created and
    kept [MQTT-3.1.2-4]; CleanSession 1 discards it, subscriptions and queued messages included, and the new
    one is never reused [MQTT-3.1.2-6] [MQTT-3.1.4-3]. Sessions are told apart by ClientId [MQTT-3.1.3-2]."""
    for cid in ("cs311", "cs311-other"):
        c = Client(broker.port)
        assert c.connect(cid, clean=False) == b"\x00\x00"
        assert c.sub(1, [("cs311/t", 1)]) == b"\x01"
        c.close()
    p = client(broker.port, "cs311-pub")
    p.send(publish_packet("cs311/t", "queued", qos=1, pid=1))
    assert p.recv_packet()[0] == 0x40
    c = Client(broker.port)
    assert c.connect("cs311", clean=True) == b"\x00\x00"
    assert c.publishes(0.3) == [], "a message queued for the discarded session was delivered"
    c.send(b"\xe0\x00")
    assert c.expect_closed()
    c = Client(broker.port)
    assert c.connect("cs311", clean=False) == b"\x00\x00", "the clean session was kept"
    other = Client(broker.port)
    assert other.connect("cs311-other", clean=False) == b"\x01\x00"
    assert other.next_publish()["payload"] == b"queued"


def test_session_state_while_connected_and_offline(broker):
    """The first packet to the client is the CONNACK [MQTT-3.2.0-1]; the Server added the messages published
    while the client was away to its session [MQTT-4.5.0-1] [MQTT-3.1.2-5], kept the session state for the
    session's whole life [MQTT-4.1.0-1] [MQTT-4.1.0-2], and sends them in order [MQTT-4.6.0-5], under topic
    names matching the subscription [MQTT-3.3.2-3]."""
    s = client(broker.port, "ord311", clean=False)
    assert s.sub(1, [("ord311/#", 1)]) == b"\x01"
    s.close()
    p = client(broker.port, "ord311-pub")
    topics = [f"ord311/{i % 3}" for i in range(6)]
    for i, t in enumerate(topics):
        p.send(publish_packet(t, str(i), qos=1, pid=i + 1))
        assert p.recv_packet()[0] == 0x40
    s = Client(broker.port)
    s.send(connect_packet("ord311", clean=False))
    assert s.recv_packet() == (0x20, b"\x01\x00")
    got = [s.next_publish() for _ in topics]
    assert [m["payload"] for m in got] == [str(i).encode() for i in range(6)]
    assert [m["topic"] for m in got] == topics
    for m in got:
        s.send(ack(0x40, m["pid"]))
    p.send(publish_packet("ord311/x", "live", qos=1, pid=9))
    assert s.next_publish()["payload"] == b"live"


def test_retained_messages(broker):
    """Retained messages are not session state and outlive the publisher's session [MQTT-3.1.2-7]; a retained
    QoS 0 message replaces the one before [MQTT-3.3.1-7]."""
    p = client(broker.port, "ret311-pub")
    p.send(publish_packet("ret311", "first", qos=1, pid=1, retain=True))
    assert p.recv_packet()[0] == 0x40
    p.send(publish_packet("ret311", "second", qos=0, retain=True))
    p.send(b"\xe0\x00")
    assert p.expect_closed()
    time.sleep(0.1)
    s = client(broker.port, "ret311-sub")
    s.sub(1, [("ret311", 1)])
    m = s.next_publish()
    assert (m["payload"], m["qos"], m["retain"]) == (b"second", 0, True)
    assert s.publishes(0.2) == []


def test_will_flags(broker):
    """Will Flag 0: nothing is published when the connection ends [MQTT-3.1.2-12]; Will Retain 1: the will is
    published as a retained message [MQTT-3.1.2-17]."""
    w = client(broker.port, "will311-watch")
    w.sub(1, [("will311/#", 1)])
    a = client(broker.port, "will311-none")
    a.sock.close()
    assert w.publishes(0.5) == [], "a will was published for a client without one"
    b = client(broker.port, "will311-kept", will=("will311/kept", "kept", 1, True))
    b.sock.close()
    assert w.next_publish()["payload"] == b"kept"
    late = client(broker.port, "will311-late")
    late.sub(1, [("will311/#", 1)])
    m = late.next_publish()
    assert (m["topic"], m["payload"], m["retain"]) == ("will311/kept", b"kept", True)


MALFORMED_CONNECTS = {
    "will_fields_without_will_flag": (connect311(0x02, raw_string(b"c") + raw_string(b"w") + raw_string(b"x")),
                                      "3.1.2-11"),
    "user_name_without_flag": (connect311(0x02, raw_string(b"c") + raw_string(b"user")), "3.1.2-18"),
    "password_without_flag": (connect311(0x82, raw_string(b"c") + raw_string(b"u") + raw_string(b"pw")), "3.1.2-20"),
    "password_flag_without_password": (connect311(0xC2, raw_string(b"c") + raw_string(b"u")), "3.1.2-21"),
    "client_id_missing": (connect311(0x02, b""), "3.1.3-3"),
    "will_topic_not_utf8": (connect311(0x06, raw_string(b"c") + raw_string(b"w/\xc0\xaf") + raw_string(b"x")),
                            "3.1.3-10"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_CONNECTS))
def test_malformed_connect_closes_without_connack(broker, case):
    """A malformed CONNECT closes the connection without CONNACK [MQTT-3.1.4-1] (no return code fits
    [MQTT-3.2.2-6]): will fields without the Will Flag [MQTT-3.1.2-11], user name or password without their
    flags [MQTT-3.1.2-18] [MQTT-3.1.2-20], Password Flag without a password [MQTT-3.1.2-21], no ClientId
    [MQTT-3.1.3-3], a will topic that is not UTF-8 [MQTT-3.1.3-10]."""
    c = Client(broker.port)
    c.send(MALFORMED_CONNECTS[case][0])
    assert c.closed_silently(), f"{case}: got {c.buf!r}"


def test_client_identifiers():
    """1 to 23 alphanumeric characters are accepted [MQTT-3.1.3-5]; a ClientId the Server refuses (here the
    empty one, allow_zero_length_clientid false) gets CONNACK 0x02 [MQTT-3.1.3-9], Session Present 0
    [MQTT-3.2.2-4], and the connection is closed [MQTT-3.2.2-5]."""
    with Broker("allow_zero_length_clientid false") as b:
        for cid in ("a", "0123456789abcdefghijKLM"):
            assert Client(b.port).connect(cid) == b"\x00\x00"
        c = Client(b.port)
        c.send(connect_packet("", clean=True))
        assert c.recv_packet() == (0x20, b"\x00\x02")
        assert c.expect_closed()


def test_refused_connect_ignores_what_follows(tmp_path):
    """A refused CONNECT (bad password) with a stored session: CONNACK 0x05 with Session Present 0
    [MQTT-3.2.2-4], the connection closed [MQTT-3.2.2-5], and a PUBLISH sent behind the CONNECT ignored
    [MQTT-3.1.4-5]."""
    pw = str(tmp_path / "pw")
    make_password_file(pw, {"u": "right"})
    with Broker(f"password_file {pw}", anonymous=False) as b:
        c = Client(b.port)
        assert c.connect("ref311", clean=False, username="u", password="right") == b"\x00\x00"
        c.close()
        w = client(b.port, "ref311-watch", username="u", password="right")
        w.sub(1, [("ref311/#", 0)])
        c = Client(b.port)
        c.send(connect_packet("ref311", clean=False, username="u", password="wrong") +
               publish_packet("ref311/sneaked", "x"))
        assert c.recv_packet() == (0x20, b"\x00\x05")
        assert c.expect_closed()
        assert w.publishes(0.3) == []


def test_qos_flows(broker):
    """The Server answers each PUBLISH as its QoS requires [MQTT-3.3.4-1]: QoS 1 with PUBACK, a reused id
    after it being a new message [MQTT-4.3.2-2]; QoS 2 with PUBREC, duplicates not delivered again before
    PUBREL, PUBCOMP for PUBREL [MQTT-4.3.3-2]. As sender: QoS 0 once with DUP 0 [MQTT-4.3.1-1], QoS 1 and 2
    with fresh packet ids and DUP 0, PUBREL after PUBREC [MQTT-4.3.2-1] [MQTT-4.3.3-1]; the DUP flag of the
    incoming PUBLISH is not forwarded [MQTT-3.3.1-3]."""
    s = client(broker.port, "qos311-sub")
    s.sub(1, [("qos311", 2)])
    p = client(broker.port, "qos311-pub")
    for payload in ("a", "b"):
        p.send(publish_packet("qos311", payload, qos=1, pid=5, dup=payload == "b"))
        assert p.recv_packet() == (0x40, b"\x00\x05")
    p.send(publish_packet("qos311", "c", qos=2, pid=6))
    assert p.recv_packet() == (0x50, b"\x00\x06")
    p.send(publish_packet("qos311", "c", qos=2, pid=6, dup=True))
    assert p.recv_packet() == (0x50, b"\x00\x06")
    p.send(ack(0x62, 6))
    assert p.recv_packet() == (0x70, b"\x00\x06")
    p.send(publish_packet("qos311", "d", qos=0))
    got = s.publishes()
    assert [(m["payload"], m["qos"], m["dup"]) for m in got] == [(b"a", 1, False), (b"b", 1, False),
                                                                 (b"c", 2, False), (b"d", 0, False)]
    ids = [m["pid"] for m in got[:3]]
    assert 0 not in ids and len(set(ids)) == 3
    s.send(ack(0x40, ids[0]))
    s.send(ack(0x40, ids[1]))
    s.send(ack(0x50, ids[2]))
    assert s.recv_packet() == (0x62, struct.pack("!H", ids[2]))
    s.send(ack(0x70, ids[2]))


def test_unauthorized_publish_and_subscribe(tmp_path):
    """A PUBLISH the ACL refuses is acknowledged normally and not forwarded [MQTT-3.3.5-2]; a SUBSCRIBE the
    ACL refuses gets the failure return code 0x80 for that filter, the granted QoS for the others
    [MQTT-3.8.4-5]."""
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite open/#\ntopic read ro/#\n")
    with Broker(f"acl_file {acl}") as b:
        s = client(b.port, "acl311")
        assert s.sub(1, [("open/#", 1), ("closed/#", 1), ("ro/#", 2)]) == b"\x01\x80\x02"
        s.send(publish_packet("ro/x", "refused", qos=1, pid=3))
        assert s.recv_packet() == (0x40, b"\x00\x03")
        assert s.publishes(0.3) == []


def test_resubscribe(broker):
    """SUBACK has the SUBSCRIBE's packet id [MQTT-3.8.4-2]; the same filter again replaces the subscription
    (new QoS, one copy) and its retained messages are sent again [MQTT-3.8.4-3]."""
    p = client(broker.port, "rs311-pub")
    p.send(publish_packet("rs311", "kept", qos=1, pid=1, retain=True))
    assert p.recv_packet()[0] == 0x40
    s = client(broker.port, "rs311")
    assert s.sub(21, [("rs311", 0)]) == b"\x00"
    assert s.next_publish()["payload"] == b"kept"
    assert s.sub(22, [("rs311", 1)]) == b"\x01"
    m = s.next_publish()
    assert (m["payload"], m["retain"], m["qos"]) == (b"kept", True, 1)
    s.send(ack(0x40, m["pid"]))
    p.send(publish_packet("rs311", "live", qos=1, pid=2))
    got = s.publishes()
    assert [(m["payload"], m["qos"]) for m in got] == [(b"live", 1)]


def test_unsubscribe(broker):
    """UNSUBSCRIBE of several filters is handled as one per filter with one UNSUBACK [MQTT-3.10.4-6], sent
    also when nothing was unsubscribed [MQTT-3.10.4-5]; a QoS 2 message already sent is still completed
    [MQTT-3.10.4-3]."""
    s = client(broker.port, "un311")
    s.sub(1, [("un311/a", 2), ("un311/b", 0)])
    p = client(broker.port, "un311-pub")
    p.send(publish_packet("un311/a", "two", qos=2, pid=1))
    m = s.next_publish()
    s.send(unsubscribe311(7, ["un311/a", "un311/none", "un311/b"]))
    assert s.recv_packet() == (0xB0, b"\x00\x07")
    s.send(unsubscribe311(8, ["un311/none"]))
    assert s.recv_packet() == (0xB0, b"\x00\x08")
    s.send(ack(0x50, m["pid"]))
    assert s.recv_packet() == (0x62, struct.pack("!H", m["pid"]))
    s.send(ack(0x70, m["pid"]))
    p.send(publish_packet("un311/b", "gone", qos=1, pid=2))
    assert s.publishes(0.3) == []


def test_pingreq(broker):
    """[MQTT-3.12.4-1] PINGREQ is answered with PINGRESP."""
    c = client(broker.port, "ping311")
    for _ in range(3):
        c.send(b"\xc0\x00")
        assert c.recv_packet() == (0xD0, b"")


@pytest.mark.parametrize("data", [publish_packet("a/+", "x"), publish_packet("a/#", "x"),
                                  subscribe_packet(1, [("a/#/b", 0)]), subscribe_packet(1, [("a#", 0)]),
                                  subscribe_packet(1, [("a/b+", 0)])],
                         ids=["publish_plus", "publish_hash", "hash_not_last", "hash_not_alone", "plus_not_alone"])
def test_protocol_violations_close_the_connection(broker, data):
    """A protocol violation closes the connection [MQTT-4.8.0-1]: wildcards in a topic name
    [MQTT-4.7.1-1], '#' not alone or not last [MQTT-4.7.1-2], '+' not alone in its level [MQTT-4.7.1-3]."""
    c = client(broker.port, "viol311")
    c.send(data)
    assert c.expect_closed()


def test_topic_matching_without_normalisation(broker):
    """[MQTT-4.7.3-4] topics are matched as they are: no case folding, no Unicode normalisation."""
    s = client(broker.port, "norm311")
    s.sub(1, [("Caf\u00e9/Bar", 0)])
    p = client(broker.port, "norm311-pub")
    for t in ["caf\u00e9/bar", "Cafe\u0301/Bar", "Caf\u00e9/Bar"]:
        p.send(publish_packet(t, t, qos=0))
    assert [m["topic"] for m in s.publishes()] == ["Caf\u00e9/Bar"]
