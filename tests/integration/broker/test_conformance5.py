"""MQTT 5.0 server-side conformance, byte by byte over a raw socket: the normative statements of chapters 3
and 4 that no other test named. Each test's docstring names the statements ([MQTT-x.y.z-n], MQTT 5.0
numbering) it checks; docs/conformance.md lists every server-side statement and the test that covers it.

A test that fails because the broker misbehaves is a strict xfail whose reason says what the broker does
and what the specification asks for. Timed checks lean on the broker's 0.5 s tick."""
import base64
import hashlib
import hmac
import os
import struct
import subprocess
import time

import pytest

from harness import STARLING, Broker, mqtt_string, packet, varint
from test_mqtt5 import (ALIAS, ALIAS_MAX, EXPIRY, MAX_PACKET, RECEIVE_MAX, SESSION_EXPIRY, SUB_ID, V5, WILL_DELAY,
                        parse_props, parse_publish, prop, puback5, publish5)

BIN = os.path.dirname(STARLING)

REQUEST_PROBLEM, REASON_STRING, USER_PROPERTY = 0x17, 0x1F, 0x26
RESPONSE_TOPIC, CONTENT_TYPE = 0x08, 0x03
AUTH_METHOD, AUTH_DATA = 0x15, 0x16

PUBACK, PUBREC, PUBREL, PUBCOMP = 0x40, 0x50, 0x62, 0x70
DEFINED_CONNACK_CODES = {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95,
                         0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F}


# -- packets ---------------------------------------------------------------------------------------------

def user_prop(name, value):
    return bytes([USER_PROPERTY]) + mqtt_string(name) + mqtt_string(value)


def string_prop(pid, raw):
    """A string property with raw bytes (possibly not UTF-8)."""
    return bytes([pid]) + struct.pack("!H", len(raw)) + raw


def connect_v5(client_id, props=b"", clean=True, keepalive=60, will=None, will_props=b"", username=None,
               password=None):
    flags = 0x02 if clean else 0
    payload = mqtt_string(client_id)
    if will:
        topic, msg, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += varint(len(will_props)) + will_props + mqtt_string(topic) + mqtt_string(msg)
    if username is not None:
        flags |= 0x80
        payload += mqtt_string(username)
    if password is not None:
        flags |= 0x40
        payload += mqtt_string(password)
    body = mqtt_string("MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive) + varint(len(props)) + props
    return packet(0x10, body + payload)


def raw_connect(flags, payload, name=b"MQTT", props=b""):
    body = struct.pack("!H", len(name)) + name + bytes([5, flags]) + struct.pack("!H", 60) + varint(len(props))
    return packet(0x10, body + props + payload)


def raw_string(b):
    return struct.pack("!H", len(b)) + b


def subscribe_v5(pid, filters, sub_id=None):
    """filters: [(filter, options byte)]."""
    props = prop(SUB_ID, sub_id) if sub_id else b""
    body = struct.pack("!H", pid) + varint(len(props)) + props
    for f, opts in filters:
        body += mqtt_string(f) + bytes([opts])
    return packet(0x82, body)


def unsubscribe_v5(pid, filters):
    body = struct.pack("!H", pid) + varint(0)
    for f in filters:
        body += mqtt_string(f)
    return packet(0xA2, body)


def ack(first, pid, reason=None):
    return packet(first, struct.pack("!H", pid) + (b"" if reason is None else bytes([reason])))


def auth_packet(reason, props):
    return packet(0xF0, bytes([reason]) + varint(len(props)) + props)


def disconnect_v5(reason=0, props=b""):
    return packet(0xE0, bytes([reason]) + varint(len(props)) + props)


def opts(qos=0, no_local=False, rap=False, rh=0):
    return qos | (0x04 if no_local else 0) | (0x08 if rap else 0) | (rh << 4)


def parse_ack(first, body):
    """(first byte, packet id, reason code, properties) of PUBACK/PUBREC/PUBREL/PUBCOMP."""
    pid = struct.unpack_from("!H", body, 0)[0]
    reason = body[2] if len(body) > 2 else 0
    props = parse_props(body, 3)[0] if len(body) > 3 else {}
    return first, pid, reason, props


def with_dup(data):
    return bytes([data[0] | 0x08]) + data[1:]


def packet_size(body):
    return 1 + len(varint(len(body))) + len(body)


# -- clients ---------------------------------------------------------------------------------------------

class Client(V5):
    def open(self, client_id, **kw):
        """CONNECT; returns (session present, reason code, CONNACK properties)."""
        self.send(connect_v5(client_id, **kw))
        first, body = self.recv_packet()
        assert first == 0x20, f"expected CONNACK, got {first:#x}"
        return body[0], body[1], parse_props(body, 2)[0]

    def sub(self, pid, filters, sub_id=None):
        self.send(subscribe_v5(pid, filters, sub_id))
        first, body = self.recv_packet()
        assert first == 0x90, hex(first)
        assert struct.unpack_from("!H", body, 0)[0] == pid
        _, i = parse_props(body, 2)
        return body[i:]

    def ack_of(self, expected_first):
        first, body = self.recv_packet()
        assert first == expected_first, f"expected {expected_first:#x}, got {first:#x} {body!r}"
        return parse_ack(first, body)

    def publishes(self, limit=0.4):
        got = []
        while True:
            try:
                got.append(self.next_publish(timeout=limit))
            except (TimeoutError, OSError):
                return got

    def closed_silently(self):
        """The broker closed the connection without sending anything (before any CONNACK)."""
        return self.expect_closed() and self.buf == b""


def client(port, client_id, **kw):
    c = Client(port)
    present, rc, _ = c.open(client_id, **kw)
    assert rc == 0, f"CONNECT of {client_id} refused with {rc:#x}"
    return c


def make_password_file(path, users, hash_args=()):
    first = True
    for user, password in users.items():
        args = [f"{BIN}/starling_passwd", *hash_args] + (["-c"] if first else []) + ["-b", path, user, password]
        subprocess.run(args, check=True, capture_output=True, timeout=30)
        first = False


# -- CONNECT and CONNACK -----------------------------------------------------------------------------------

def test_clean_start_and_session_present(broker):
    """Clean Start 0 without a session creates one, Session Present 0 [MQTT-3.2.2-3] [MQTT-3.1.2-6]; Clean
    Start 1 discards the stored session, its subscriptions and queued messages [MQTT-3.1.2-4]
    [MQTT-3.1.4-4] and answers Session Present 0 with Success [MQTT-3.2.2-2]. The reserved acknowledge flag
    bits are 0 [MQTT-3.2.2-1]."""
    for expected in (0, 1):  # no session yet, then the one just created
        c = Client(broker.port)
        c.send(connect_v5("cs5", clean=False, props=prop(SESSION_EXPIRY, 60)))
        first, body = c.recv_packet()
        assert (first, body[0], body[1]) == (0x20, expected, 0)  # acknowledge flags: bits 7-1 zero
        if not expected:
            c.close()
    assert c.sub(1, [("cs5/t", opts(qos=1))]) == b"\x01"
    c.close()
    p = client(broker.port, "cs5-pub")
    p.send(publish5("cs5/t", b"queued", qos=1, pid=1))
    assert p.ack_of(PUBACK)[2] == 0x00  # a matching (offline) subscription exists
    c = Client(broker.port)
    assert c.open("cs5", clean=True, props=prop(SESSION_EXPIRY, 60))[:2] == (0, 0)
    assert c.nothing_for(0.3), "a message queued for the discarded session was delivered"
    p.send(publish5("cs5/t", b"after", qos=1, pid=2))
    assert p.ack_of(PUBACK)[2] == 0x10, "the discarded session's subscription still matches"
    c.close()
    c = Client(broker.port)
    assert c.open("cs5", clean=False)[:2] == (1, 0)  # the clean session started above was kept (expiry 60)


def test_connack_first_then_queued_messages_in_order(broker):
    """The session is found again by its ClientID [MQTT-3.1.3-2]. On resumption the CONNACK is the first
    packet [MQTT-3.2.0-1]; the messages the Server added to the offline session [MQTT-4.5.0-1] follow in the
    order they were published [MQTT-4.6.0-6], each under a topic name that matches the subscription
    [MQTT-3.3.2-3]. A connected session keeps its state
    [MQTT-4.1.0-1]: the subscription made before still matches after other traffic."""
    s = client(broker.port, "order5", clean=False, props=prop(SESSION_EXPIRY, 60))
    assert s.sub(1, [("order5/#", opts(qos=1))]) == b"\x01"
    s.send(b"\xc0\x00")
    assert s.recv_packet() == (0xD0, b"")
    s.close()
    p = client(broker.port, "order5-pub")
    topics = [f"order5/{i % 3}" for i in range(8)]
    for i, t in enumerate(topics):
        p.send(publish5(t, str(i).encode(), qos=1, pid=i + 1))
        p.ack_of(PUBACK)
    s = Client(broker.port)
    s.send(connect_v5("order5", clean=False, props=prop(SESSION_EXPIRY, 60)))
    first, body = s.recv_packet()
    assert first == 0x20 and body[:2] == b"\x01\x00"
    got = [s.next_publish() for _ in topics]
    assert [m["payload"] for m in got] == [str(i).encode() for i in range(8)]
    assert [m["topic"] for m in got] == topics
    for m in got:
        s.send(puback5(m["pid"]))
    p.send(publish5("order5/live", b"live", qos=1, pid=20))
    assert s.next_publish()["payload"] == b"live"


def test_second_connect_no_second_connack(broker):
    """A second CONNECT is a Protocol Error [MQTT-3.1.0-2]: the Server answers with DISCONNECT 0x82, never
    a second CONNACK [MQTT-3.2.0-2], sends nothing after its DISCONNECT [MQTT-3.14.4-1] and closes the
    connection [MQTT-3.14.4-2] [MQTT-4.13.1-1]."""
    c = client(broker.port, "twice5")
    c.send(connect_v5("twice5"))
    first, body = c.recv_packet()
    assert (first, body[0]) == (0xE0, 0x82)
    assert c.expect_closed() and c.buf == b""


def test_pingreq_gets_pingresp(broker):
    """[MQTT-3.12.4-1] PINGREQ is answered with PINGRESP."""
    c = client(broker.port, "ping5")
    for _ in range(3):
        c.send(b"\xc0\x00")
        assert c.recv_packet() == (0xD0, b"")


def test_client_identifiers():
    """1 to 23 alphanumeric characters are accepted [MQTT-3.1.3-5]; a refused (here: empty, with
    allow_zero_length_clientid false) identifier gets CONNACK 0x85 and the connection is closed
    [MQTT-3.1.3-8] [MQTT-3.2.2-7]."""
    with Broker("allow_zero_length_clientid false") as b:
        for cid in ("a", "0123456789abcdefghijKLM", "Z9"):
            assert Client(b.port).open(cid)[1] == 0
        c = Client(b.port)
        c.send(connect_v5(""))
        first, body = c.recv_packet()
        assert (first, body[0], body[1]) == (0x20, 0x00, 0x85)
        assert c.expect_closed()


def test_refused_connect(tmp_path):
    """A CONNECT that fails authentication: CONNACK with a defined reason code [MQTT-3.2.2-8] 0x86, Session
    Present 0 although a session exists [MQTT-3.2.2-6], then the connection is closed [MQTT-3.1.4-2]
    [MQTT-3.2.2-7] [MQTT-4.13.2-1]; a PUBLISH sent right behind the refused CONNECT is ignored
    [MQTT-3.1.4-6]."""
    pw = str(tmp_path / "pw")
    make_password_file(pw, {"u": "right"})
    with Broker(f"password_file {pw}", anonymous=False) as b:
        c = Client(b.port)
        assert c.open("ref5", clean=False, props=prop(SESSION_EXPIRY, 60), username="u", password="right")[:2] == (0, 0)
        c.close()
        w = client(b.port, "ref5-watch", username="u", password="right")
        assert w.sub(1, [("ref5/#", 0)]) == b"\x00"
        c = Client(b.port)
        c.send(connect_v5("ref5", clean=False, props=prop(SESSION_EXPIRY, 60), username="u", password="wrong") +
               publish5("ref5/sneaked", b"x"))
        first, body = c.recv_packet()
        assert first == 0x20 and body[1] in DEFINED_CONNACK_CODES
        assert (body[0], body[1]) == (0x00, 0x86)
        assert c.expect_closed()
        assert w.nothing_for(0.3), "a PUBLISH after a refused CONNECT was processed"
        c = Client(b.port)  # the session is still there
        assert c.open("ref5", clean=False, props=prop(SESSION_EXPIRY, 60), username="u", password="right")[:2] == (1, 0)


MALFORMED_CONNECTS = {
    # case: (CONNECT bytes, statements)
    "protocol_name": (raw_connect(0x02, raw_string(b"c"), name=b"MQTX"), "3.1.2-1"),
    "reserved_flag": (raw_connect(0x03, raw_string(b"c")), "3.1.2-3"),
    "will_fields_missing": (raw_connect(0x06, raw_string(b"c")), "3.1.2-9"),
    "will_qos_without_will": (raw_connect(0x0A, raw_string(b"c")), "3.1.2-11"),
    "will_qos_3": (raw_connect(0x1E, raw_string(b"c") + b"\x00" + raw_string(b"w") + raw_string(b"x")), "3.1.2-12"),
    "will_retain_without_will": (raw_connect(0x22, raw_string(b"c")), "3.1.2-13"),
    "user_name_without_flag": (raw_connect(0x02, raw_string(b"c") + raw_string(b"user")), "3.1.2-16"),
    "user_name_flag_without_user_name": (raw_connect(0x82, raw_string(b"c")), "3.1.2-17"),
    "password_without_flag": (raw_connect(0x82, raw_string(b"c") + raw_string(b"u") + raw_string(b"pw")), "3.1.2-18"),
    "password_flag_without_password": (raw_connect(0xC2, raw_string(b"c") + raw_string(b"u")), "3.1.2-19"),
    "client_id_missing": (raw_connect(0x02, b""), "3.1.3-3"),
    "client_id_not_utf8": (raw_connect(0x02, raw_string(b"c\xed\xa0\x80")), "3.1.3-4"),
    "will_topic_not_utf8": (
        raw_connect(0x06, raw_string(b"c") + b"\x00" + raw_string(b"w/\xc0\xaf") + raw_string(b"x")), "3.1.3-11"),
    "user_name_not_utf8": (raw_connect(0x82, raw_string(b"c") + raw_string(b"\xffuser")), "3.1.3-12"),
    "trailing_bytes": (raw_connect(0x02, raw_string(b"c") + b"\x00"), "3.1.4-1"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_CONNECTS))
def test_malformed_connect_closes_the_connection(broker, case):
    """A malformed CONNECT closes the connection [MQTT-3.1.4-1] [MQTT-4.13.1-1], without CONNACK and without
    DISCONNECT (none before a CONNACK [MQTT-3.14.0-1]): wrong protocol name [MQTT-3.1.2-1], reserved flag
    [MQTT-3.1.2-3], will fields [MQTT-3.1.2-9] [MQTT-3.1.2-11] [MQTT-3.1.2-12] [MQTT-3.1.2-13], user name and
    password flags that do not match the payload [MQTT-3.1.2-16] [MQTT-3.1.2-17] [MQTT-3.1.2-18]
    [MQTT-3.1.2-19], client identifier missing [MQTT-3.1.3-3] or not UTF-8 [MQTT-3.1.3-4], will topic
    [MQTT-3.1.3-11] or user name [MQTT-3.1.3-12] not UTF-8."""
    data, _ = MALFORMED_CONNECTS[case]
    c = Client(broker.port)
    c.send(data)
    assert c.closed_silently(), f"{case}: got {c.buf!r}"


RETAINED_WILL_ACCEPTED = (
    "broker bug: Shard::handleConnect (src/broker/handle_connect.cpp) accepts a CONNECT whose Will Retain is 1 "
    "when retain_available is false (CONNACK 0x00 with Retain Available 0, the connection stays open); MQTT 5.0 "
    "asks the Server to refuse it, SHOULD with CONNACK 0x9A Retain not supported, and MUST close the "
    "connection [MQTT-3.2.2-13].")


def test_retained_will_refused_when_retain_not_available():
    """[MQTT-3.2.2-13] a Server without retained messages refuses a CONNECT whose Will Retain is 1
    (CONNACK 0x9A) and closes the connection."""
    with Broker("retain_available false") as b:
        c = Client(b.port)
        c.send(connect_v5("rw5", will=("rw5/will", b"x", 0, True)))
        first, body = c.recv_packet()
        assert first == 0x20 and body[1] == 0x9A, f"CONNACK reason {body[1]:#x}"
        assert c.expect_closed()


# -- will ------------------------------------------------------------------------------------------------

def test_will_retain_flag_and_will_sent_once(broker):
    """The will is stored with the session [MQTT-3.1.2-7] and published when the connection ends: with
    Will Retain 0 as a non-retained message [MQTT-3.1.2-14], with Will Retain 1 as a retained one that a
    later subscriber gets [MQTT-3.1.2-15]. Once published it is removed [MQTT-3.1.2-10]: the session
    ending later (expiry 1 s) does not publish it again."""
    w = client(broker.port, "will5-watch")
    assert w.sub(1, [("will5/#", opts(qos=1, rap=True))]) == b"\x01"
    a = client(broker.port, "will5-a", props=prop(SESSION_EXPIRY, 1), will=("will5/plain", b"plain", 1, False))
    z = client(broker.port, "will5-z", will=("will5/kept", b"kept", 1, True))
    a.sock.close()
    m = w.next_publish(timeout=3)
    assert (m["topic"], m["payload"], m["retain"]) == ("will5/plain", b"plain", False)
    w.send(puback5(m["pid"]))
    z.sock.close()
    m = w.next_publish(timeout=3)
    assert (m["topic"], m["payload"], m["retain"]) == ("will5/kept", b"kept", True)
    w.send(puback5(m["pid"]))
    late = client(broker.port, "will5-late")
    late.sub(1, [("will5/#", opts(qos=1))])
    m = late.next_publish()
    assert (m["topic"], m["retain"]) == ("will5/kept", True)
    assert late.nothing_for(0.2), "the non-retained will was stored as retained"
    assert w.nothing_for(1.6), "a will was published twice (again when the session expired)"


def test_normal_disconnect_discards_will_and_0x04_sends_it(broker):
    """DISCONNECT 0x00 discards the will unpublished [MQTT-3.14.4-3] [MQTT-3.1.2-10], also a delayed one;
    DISCONNECT 0x04 (Disconnect with Will Message) publishes it [MQTT-3.1.2-8]."""
    w = client(broker.port, "wd5-watch")
    w.sub(1, [("wd5/#", 0)])
    a = client(broker.port, "wd5-a", will=("wd5/a", b"a", 0, False))
    a.send(disconnect_v5(0x00))
    assert a.expect_closed()
    d = client(broker.port, "wd5-d", props=prop(SESSION_EXPIRY, 30), will=("wd5/d", b"d", 0, False),
               will_props=prop(WILL_DELAY, 1))
    d.send(disconnect_v5(0x00))
    assert d.expect_closed()
    assert w.nothing_for(1.6), "will published after a normal DISCONNECT"
    b = client(broker.port, "wd5-b", will=("wd5/b", b"b", 0, False))
    b.send(disconnect_v5(0x04))
    assert b.expect_closed()
    assert w.next_publish(timeout=2)["payload"] == b"b"


def test_long_will_payload_and_properties_arrive_intact():
    """The will is published as given [MQTT-3.1.2-8], its User Properties in order [MQTT-3.1.3-10], also
    when payload and properties are longer than a short-string buffer (a read after free fixed in 5e02490).
    Its own broker, not the fixture: a sanitizer build would fail the fixture's clean-stop check instead."""
    with Broker() as b:
        w = client(b.port, "wl5-watch")
        w.sub(1, [("wl5/#", 0)])
        payload = bytes(range(65, 65 + 26)) * 4
        wp = user_prop("first-name", "first-value") + user_prop("second-name", "second-value")
        c = client(b.port, "wl5", will=("wl5/t", payload, 0, False), will_props=wp)
        c.sock.close()
        m = w.next_publish(timeout=3)
        assert m["payload"] == payload
        assert m["props"].get(USER_PROPERTY) == [("first-name", "first-value"), ("second-name", "second-value")]


# -- properties, problem information, maximum packet size --------------------------------------------------

def _provoke_acks(c, tag):
    """Makes the broker send c every kind of acknowledgement, error codes included; returns the packets."""
    got = []
    c.send(publish5(f"{tag}/nobody", b"x", qos=1, pid=1))  # PUBACK 0x10
    got.append(c.recv_packet())
    c.send(publish5("$SYS/forged", b"x", qos=1, pid=2))  # PUBACK 0x87
    got.append(c.recv_packet())
    c.send(publish5(f"{tag}/nobody", b"x", qos=2, pid=3))  # PUBREC 0x10
    got.append(c.recv_packet())
    c.send(ack(PUBREL, 3))  # PUBCOMP
    got.append(c.recv_packet())
    c.send(ack(PUBREL, 999))  # PUBCOMP 0x92
    got.append(c.recv_packet())
    c.send(subscribe_v5(4, [(f"{tag}/q2", 2)]))  # SUBACK
    got.append(c.recv_packet())
    c.send(unsubscribe_v5(5, [f"{tag}/none"]))  # UNSUBACK 0x11
    got.append(c.recv_packet())
    c.send(publish5(f"{tag}/q2", b"x", qos=2, pid=6))  # PUBREC, then our own message at QoS 2
    for _ in range(2):
        got.append(c.recv_packet())
    mine = [parse_publish(*p) for p in got if p[0] >> 4 == 3][0]
    c.send(ack(PUBREC, mine["pid"]))  # PUBREL from the broker
    got.append(c.recv_packet())
    c.send(ack(PUBREC, 4321))  # PUBREL 0x92
    got.append(c.recv_packet())
    c.send(ack(PUBCOMP, mine["pid"]))
    c.send(publish5("", b"x", props=prop(ALIAS, 0)))  # DISCONNECT 0x94
    got.append(c.recv_packet())
    assert c.expect_closed()
    kinds = [p[0] for p in got]
    assert PUBREL in kinds and 0x90 in kinds and 0xB0 in kinds and 0xE0 in kinds, [hex(k) for k in kinds]
    return got


def _props_of(first, body):
    kind = first >> 4
    if kind == 3:
        return parse_publish(first, body)["props"]
    if kind in (4, 5, 6, 7):
        return parse_ack(first, body)[3]
    if kind in (9, 11):
        return parse_props(body, 2)[0]
    if kind == 14:
        return parse_props(body, 1)[0] if len(body) > 1 else {}
    return {}


def test_request_problem_information_0(broker):
    """[MQTT-3.1.2-29] with Request Problem Information 0 the Server sends no Reason String and no User
    Property on PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK, error codes included."""
    c = client(broker.port, "rpi5", props=prop(REQUEST_PROBLEM, 0))
    for first, body in _provoke_acks(c, "rpi5"):
        if first >> 4 in (3, 14):  # PUBLISH and DISCONNECT may carry them
            continue
        props = _props_of(first, body)
        assert REASON_STRING not in props and USER_PROPERTY not in props, (hex(first), body)


def test_nothing_sent_beyond_client_maximum_packet_size(broker):
    """A client with Maximum Packet Size 24 gets nothing bigger [MQTT-3.1.2-24]: CONNACK, PUBACK, PUBREC,
    PUBREL, PUBCOMP, SUBACK, UNSUBACK and DISCONNECT fit, and none carries a Reason String or User Property
    that would not [MQTT-3.2.2-19] [MQTT-3.2.2-20] [MQTT-3.4.2-2] [MQTT-3.4.2-3] [MQTT-3.5.2-2] [MQTT-3.5.2-3]
    [MQTT-3.6.2-2] [MQTT-3.6.2-3] [MQTT-3.7.2-2] [MQTT-3.7.2-3] [MQTT-3.9.2-1] [MQTT-3.9.2-2] [MQTT-3.11.2-1]
    [MQTT-3.11.2-2] [MQTT-3.14.2-3] [MQTT-3.14.2-4]."""
    limit = 24
    c = Client(broker.port)
    c.send(connect_v5("mps5", props=prop(MAX_PACKET, limit)))
    first, body = c.recv_packet()
    assert first == 0x20 and body[1] == 0
    packets = [(first, body)] + _provoke_acks(c, "m5")
    for first, body in packets:
        assert packet_size(body) <= limit, (hex(first), body)
        props = _props_of(first, body)
        assert REASON_STRING not in props and USER_PROPERTY not in props, (hex(first), body)


MAX_PACKET_BOUNDARY = (
    "broker bug: Shard::fitsClient (src/broker/delivery.cpp) always counts 3 bytes for a Topic Alias property, "
    "also for a client that allows no aliases, so a PUBLISH of exactly the client's Maximum Packet Size (or up "
    "to 3 bytes less) is dropped as too large although it fits; MQTT 5.0 only lets the Server discard packets "
    "that exceed it [MQTT-3.1.2-24] [MQTT-3.1.2-25], and a dropped QoS 1 message is lost.")


def test_publish_of_exactly_the_client_maximum_packet_size_is_sent(broker):
    """[MQTT-3.1.2-24] [MQTT-3.1.2-25] only packets above the client's Maximum Packet Size are dropped: one of
    exactly that size is delivered, one byte more is not."""
    limit = 64
    s = client(broker.port, "mpb5", props=prop(MAX_PACKET, limit))
    s.sub(1, [("mpb", opts(qos=1))])
    p = client(broker.port, "mpb5-pub")
    # PUBLISH to s: 1 + 1 (remaining length) + 2 + 3 (topic) + 2 (packet id) + 1 (no properties) + payload.
    exact = limit - 10
    p.send(publish5("mpb", b"x" * (exact + 1), qos=1, pid=1))
    p.send(publish5("mpb", b"x" * exact, qos=1, pid=2))
    got = s.publishes()
    assert [packet_size_of(m) for m in got] == [limit]


RESEND_IGNORES_MAXIMUM_PACKET_SIZE = (
    "broker bug: Shard::resendInflight (src/broker/delivery.cpp) sends the unacknowledged PUBLISH packets of a "
    "resumed session again without Shard::fitsClient, so a client that reconnects with a smaller Maximum Packet "
    "Size gets packets above it (109 bytes to a client allowing 50); MQTT 5.0: the Server MUST NOT send packets "
    "exceeding the client's Maximum Packet Size [MQTT-3.1.2-24] but discard them as if sent [MQTT-3.1.2-25].")


def test_resent_publish_respects_the_new_maximum_packet_size(broker):
    """[MQTT-3.1.2-24] [MQTT-3.1.2-25] an unacknowledged message too large for the Maximum Packet Size of the
    client's new connection is not sent again to it."""
    s = client(broker.port, "rmp5", clean=False, props=prop(SESSION_EXPIRY, 60))
    s.sub(1, [("rmp5", opts(qos=1))])
    p = client(broker.port, "rmp5-pub")
    p.send(publish5("rmp5", b"x" * 100, qos=1, pid=1))
    p.ack_of(PUBACK)
    assert len(s.next_publish()["payload"]) == 100  # not acknowledged
    s.close()
    s = Client(broker.port)
    assert s.open("rmp5", clean=False, props=prop(SESSION_EXPIRY, 60) + prop(MAX_PACKET, 50))[0] == 1
    assert [packet_size_of(m) for m in s.publishes()] == []


def packet_size_of(m):
    body_len = 2 + len(m["topic"]) + (2 if m["qos"] else 0) + 1 + len(m["payload"])
    return 1 + len(varint(body_len)) + body_len


def test_server_topic_aliases_are_per_connection(broker):
    """The Server's own topic aliases start at 1, never 0 [MQTT-3.3.2-8], and are forgotten with the network
    connection [MQTT-3.3.2-7]: on a new connection the topic is sent in full again."""
    s = client(broker.port, "sta5", clean=False, props=prop(SESSION_EXPIRY, 60) + prop(ALIAS_MAX, 5))
    s.sub(1, [("sta5/#", 0)])
    p = client(broker.port, "sta5-pub")
    for _ in range(2):
        p.send(publish5("sta5/topic", b"x"))
    first, second = s.next_publish(), s.next_publish()
    assert (first["topic"], first["props"][ALIAS]) == ("sta5/topic", [1])
    assert (second["topic"], second["props"][ALIAS]) == ("", [1])
    s.close()
    s = Client(broker.port)
    assert s.open("sta5", clean=False, props=prop(SESSION_EXPIRY, 60) + prop(ALIAS_MAX, 5))[0] == 1
    p.send(publish5("sta5/topic", b"y"))
    m = s.next_publish()
    assert m["topic"] == "sta5/topic" and m["props"][ALIAS] == [1]


# -- PUBLISH and the QoS flows ----------------------------------------------------------------------------

def test_qos_flows_with_the_server_as_receiver(broker):
    """The Server answers each PUBLISH as its QoS requires [MQTT-3.3.4-1]. QoS 1: PUBACK with the packet id
    [MQTT-4.3.2-4]; the same id afterwards is a new message [MQTT-4.3.2-5]. QoS 2: PUBREC with the packet
    id [MQTT-4.3.3-8], a duplicate before PUBREL gets PUBREC and is not delivered again [MQTT-4.3.3-10],
    PUBREL gets PUBCOMP with the id [MQTT-4.3.3-11], and after it the id is new again [MQTT-4.3.3-12]. Only
    defined reason codes: PUBREC 0x10, PUBCOMP 0x92 for an unknown id [MQTT-3.5.2-1] [MQTT-3.7.2-1]."""
    s = client(broker.port, "rx5-sub")
    s.sub(1, [("rx5", opts(qos=2))])
    p = client(broker.port, "rx5-pub")
    for payload in (b"one", b"two"):
        p.send(publish5("rx5", payload, qos=1, pid=5))
        assert p.ack_of(PUBACK)[1:3] == (5, 0)
        assert s.next_publish()["payload"] == payload
    p.send(publish5("rx5", b"three", qos=2, pid=6))
    assert p.ack_of(PUBREC)[1:3] == (6, 0)
    p.send(with_dup(publish5("rx5", b"three", qos=2, pid=6)))
    assert p.ack_of(PUBREC)[1:3] == (6, 0)
    p.send(ack(PUBREL, 6))
    assert p.ack_of(PUBCOMP)[1:3] == (6, 0)
    m = s.next_publish()
    assert m["payload"] == b"three"
    s.send(ack(PUBREC, m["pid"]))
    assert s.ack_of(PUBREL)[1] == m["pid"]
    s.send(ack(PUBCOMP, m["pid"]))
    assert s.nothing_for(0.3), "a duplicate QoS 2 PUBLISH was delivered twice"
    p.send(publish5("rx5", b"four", qos=2, pid=6))
    assert p.ack_of(PUBREC)[1:3] == (6, 0)
    p.send(ack(PUBREL, 6))
    assert p.ack_of(PUBCOMP)[1:3] == (6, 0)
    assert s.next_publish()["payload"] == b"four"
    p.send(publish5("rx5/nobody", b"x", qos=2, pid=7))
    assert p.ack_of(PUBREC)[1:3] == (7, 0x10)
    p.send(ack(PUBREL, 7))
    p.ack_of(PUBCOMP)
    p.send(ack(PUBREL, 4242))
    assert p.ack_of(PUBCOMP)[1:3] == (4242, 0x92)


def test_failed_pubrec_frees_the_packet_identifier(broker):
    """[MQTT-4.3.3-9] after a PUBREC with a reason code of 0x80 or more, a PUBLISH with the same packet id is a
    new message."""
    s = client(broker.port, "fr5-sub")
    s.sub(1, [("fr5", 0)])
    p = client(broker.port, "fr5-pub")
    p.send(publish5("$SYS/fr5", b"refused", qos=2, pid=9))
    assert p.ack_of(PUBREC)[1:3] == (9, 0x87)
    p.send(publish5("fr5", b"new", qos=2, pid=9))
    assert p.ack_of(PUBREC)[1:3] == (9, 0)
    assert s.next_publish()["payload"] == b"new"


def test_incoming_dup_flag_is_not_forwarded(broker):
    """[MQTT-3.3.1-3] the DUP flag of a forwarded PUBLISH depends on its own retransmission only, not on the
    incoming one's."""
    s = client(broker.port, "dup5-sub")
    s.sub(1, [("dup5", opts(qos=1))])
    p = client(broker.port, "dup5-pub")
    p.send(with_dup(publish5("dup5", b"x", qos=1, pid=3)))
    p.ack_of(PUBACK)
    assert s.next_publish()["dup"] is False


def test_qos_flows_with_the_server_as_sender(broker):
    """QoS 0 goes with DUP 0 [MQTT-4.3.1-1] [MQTT-3.3.1-2]; QoS 1 and 2 each with a free non-zero packet id
    and DUP 0 [MQTT-4.3.2-1] [MQTT-4.3.2-2] [MQTT-4.3.3-1] [MQTT-4.3.3-2]. Unacknowledged ones stay so
    [MQTT-4.3.2-3] [MQTT-4.3.3-3] and are sent again, with DUP, on the next connection; PUBREC is answered
    with PUBREL of the same id [MQTT-4.3.3-4], which stays unacknowledged until PUBCOMP [MQTT-4.3.3-5] (sent
    again on reconnection) while the PUBLISH itself is never sent again [MQTT-4.3.3-6]."""
    s = client(broker.port, "tx5", clean=False, props=prop(SESSION_EXPIRY, 60))
    s.sub(1, [("tx5/#", opts(qos=2))])
    p = client(broker.port, "tx5-pub")
    p.send(publish5("tx5/0", b"q0"))
    for i, q in ((1, 1), (2, 1), (3, 2), (4, 2)):
        p.send(publish5(f"tx5/{i}", b"q%d" % q, qos=q, pid=i))
        p.recv_packet()
    got = [s.next_publish() for _ in range(5)]
    assert [(m["qos"], m["dup"]) for m in got] == [(0, False), (1, False), (1, False), (2, False), (2, False)]
    ids = [m["pid"] for m in got[1:]]
    assert 0 not in ids and len(set(ids)) == 4
    q1_acked, q1_open, q2_released, q2_open = got[1:]
    s.send(puback5(q1_acked["pid"]))
    s.send(ack(PUBREC, q2_released["pid"]))
    assert s.ack_of(PUBREL)[1] == q2_released["pid"]
    s.close()
    s = Client(broker.port)
    assert s.open("tx5", clean=False, props=prop(SESSION_EXPIRY, 60))[0] == 1
    again = []
    for _ in range(3):
        first, body = s.recv_packet()
        again.append(("PUBREL", parse_ack(first, body)[1]) if first == PUBREL else
                     ("PUBLISH", parse_publish(first, body)["pid"], (first >> 3) & 1))
    assert sorted(again) == sorted([("PUBLISH", q1_open["pid"], 1), ("PUBLISH", q2_open["pid"], 1),
                                    ("PUBREL", q2_released["pid"])])
    assert s.nothing_for(0.3)


def test_refused_delivery_is_not_sent_again(broker):
    """[MQTT-4.4.0-2] a PUBLISH the client answered with PUBACK or PUBREC 0x80 or more is not sent again on
    the next connection (and a refused PUBREC gets no PUBREL)."""
    s = client(broker.port, "rf5", clean=False, props=prop(SESSION_EXPIRY, 60))
    s.sub(1, [("rf5", opts(qos=2))])
    p = client(broker.port, "rf5-pub")
    p.send(publish5("rf5", b"one", qos=1, pid=1))
    p.send(publish5("rf5", b"two", qos=2, pid=2))
    one, two = s.next_publish(), s.next_publish()
    s.send(ack(PUBACK, one["pid"], 0x80))
    s.send(ack(PUBREC, two["pid"], 0x80))
    assert s.nothing_for(0.3)
    s.close()
    s = Client(broker.port)
    assert s.open("rf5", clean=False, props=prop(SESSION_EXPIRY, 60))[0] == 1
    assert s.nothing_for(0.5), "a refused message was sent again"


def test_message_expiry_does_not_cut_a_started_qos2_exchange(broker):
    """A QoS 2 PUBLISH already sent is not expired [MQTT-4.3.3-7]: it is sent again (DUP) after its expiry
    interval passed; and the Server as receiver completes a QoS 2 exchange whose message expired
    [MQTT-4.3.3-13]."""
    s = client(broker.port, "mx5", clean=False, props=prop(SESSION_EXPIRY, 60))
    s.sub(1, [("mx5", opts(qos=2))])
    p = client(broker.port, "mx5-pub")
    p.send(publish5("mx5", b"short-lived", qos=2, pid=1, props=prop(EXPIRY, 1)))
    assert p.ack_of(PUBREC)[1:3] == (1, 0)
    m = s.next_publish()
    s.close()
    time.sleep(1.7)
    p.send(ack(PUBREL, 1))
    assert p.ack_of(PUBCOMP)[1:3] == (1, 0)
    s = Client(broker.port)
    assert s.open("mx5", clean=False, props=prop(SESSION_EXPIRY, 60))[0] == 1
    again = s.next_publish()
    assert (again["pid"], again["dup"], again["payload"]) == (m["pid"], True, b"short-lived")


def test_retain_0_leaves_the_retained_message(broker):
    """[MQTT-3.3.1-8] a PUBLISH with RETAIN 0 neither replaces nor removes the retained message of its topic."""
    p = client(broker.port, "r05-pub")
    p.send(publish5("r05", b"kept", qos=1, pid=1, retain=True))
    p.ack_of(PUBACK)
    p.send(publish5("r05", b"live", qos=1, pid=2))
    p.send(publish5("r05", b"", qos=1, pid=3))
    p.ack_of(PUBACK)
    p.ack_of(PUBACK)
    s = client(broker.port, "r05-sub")
    s.sub(1, [("r05", opts(qos=1))])
    m = s.next_publish()
    assert (m["payload"], m["retain"]) == (b"kept", True)


def test_topic_matching_without_normalisation(broker):
    """[MQTT-4.7.3-4] topics are matched as they are: no case folding, no Unicode normalisation."""
    s = client(broker.port, "norm5")
    s.sub(1, [("Caf\u00e9/Bar", 0)])
    p = client(broker.port, "norm5-pub")
    for i, t in enumerate(["caf\u00e9/bar", "Cafe\u0301/Bar", "Caf\u00e9/Bar"]):
        p.send(publish5(t, t.encode(), qos=1, pid=i + 1))
    assert [p.ack_of(PUBACK)[2] for _ in range(3)] == [0x10, 0x10, 0x00]
    assert [m["topic"] for m in s.publishes()] == ["Caf\u00e9/Bar"]


# -- subscriptions ------------------------------------------------------------------------------------------

def test_resubscribe_replaces_the_subscription(broker):
    """Every SUBSCRIBE gets a SUBACK [MQTT-3.8.4-1] with its packet id [MQTT-3.8.4-2]; the same filter again
    replaces the subscription [MQTT-3.8.4-3]: one copy, at the new QoS, with the new identifier only."""
    s = client(broker.port, "rs5")
    assert s.sub(11, [("rs5", opts(qos=0))], sub_id=1) == b"\x00"
    assert s.sub(12, [("rs5", opts(qos=1))], sub_id=2) == b"\x01"
    p = client(broker.port, "rs5-pub")
    p.send(publish5("rs5", b"x", qos=2, pid=1))
    got = s.publishes()
    assert [(m["qos"], m["props"].get(SUB_ID)) for m in got] == [(1, [2])]


def test_multi_filter_subscribe_with_a_refusal(tmp_path):
    """A SUBSCRIBE of several filters is handled as one per filter with one SUBACK [MQTT-3.8.4-5] holding a
    reason code per filter [MQTT-3.8.4-6], in their order [MQTT-3.9.3-1]: the granted QoS or, for the filter
    the ACL refuses, a failure code [MQTT-3.8.4-7] that the specification defines (0x87) [MQTT-3.9.3-2]."""
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite open/#\n")
    with Broker(f"acl_file {acl}") as b:
        s = client(b.port, "mf5")
        codes = s.sub(3, [("open/a", opts(qos=2)), ("closed/x", opts(qos=1)), ("open/b", opts(qos=1)),
                          ("open/#", opts(qos=0))])
        assert codes == b"\x02\x87\x01\x00"
        p = client(b.port, "mf5-pub")
        p.send(publish5("open/a", b"x", qos=2, pid=1))
        assert s.next_publish()["qos"] == 2


def test_shared_and_normal_copies_carry_their_own_identifier(broker):
    """[MQTT-3.3.4-5] a message sent as separate copies (a shared and a normal subscription of one client)
    carries in each copy the identifier of the subscription it came through."""
    s = client(broker.port, "sid5")
    s.sub(1, [("$share/g/sid5/#", 0)], sub_id=1)
    s.sub(2, [("sid5/#", 0)], sub_id=2)
    p = client(broker.port, "sid5-pub")
    p.send(publish5("sid5/x", b"x"))
    got = s.publishes()
    assert sorted(m["props"][SUB_ID] for m in got) == [[1], [2]]


def test_unsubscribe(broker):
    """UNSUBSCRIBE of several filters is handled as one per filter [MQTT-3.10.4-6] and answered with one
    UNSUBACK [MQTT-3.10.4-4] with its packet id, also when nothing was removed [MQTT-3.10.4-5], one reason
    code per filter in order [MQTT-3.11.3-1], 0x11 for the one that did not exist [MQTT-3.11.3-2]."""
    s = client(broker.port, "un5")
    s.sub(1, [("un5/a", 0), ("un5/b", 0)])
    s.send(unsubscribe_v5(77, ["un5/a", "un5/none", "un5/b"]))
    first, body = s.recv_packet()
    assert first == 0xB0 and struct.unpack_from("!H", body, 0)[0] == 77
    assert body[parse_props(body, 2)[1]:] == b"\x00\x11\x00"
    s.send(unsubscribe_v5(78, ["un5/none"]))
    first, body = s.recv_packet()
    assert first == 0xB0 and struct.unpack_from("!H", body, 0)[0] == 78
    p = client(broker.port, "un5-pub")
    p.send(publish5("un5/a", b"x", qos=1, pid=1))
    assert p.ack_of(PUBACK)[2] == 0x10


def test_unsubscribe_completes_messages_in_flight(broker):
    """[MQTT-3.10.4-3] a QoS 1 or 2 message sent before the UNSUBSCRIBE is still completed after it; new
    messages are no longer sent [MQTT-3.10.4-2]."""
    s = client(broker.port, "uf5")
    s.sub(1, [("uf5", opts(qos=2))])
    p = client(broker.port, "uf5-pub")
    p.send(publish5("uf5", b"two", qos=2, pid=1))
    m = s.next_publish()
    s.send(unsubscribe_v5(2, ["uf5"]))
    assert s.recv_packet()[0] == 0xB0
    s.send(ack(PUBREC, m["pid"]))
    assert s.ack_of(PUBREL)[1:3] == (m["pid"], 0)
    s.send(ack(PUBCOMP, m["pid"]))
    p.send(publish5("uf5", b"after", qos=1, pid=5))
    assert s.nothing_for(0.3)


def test_client_receive_maximum_is_the_initial_send_quota(broker):
    """[MQTT-4.9.0-1] the Server's send quota starts at the client's Receive Maximum (3): three QoS 1
    messages go out at once, the fourth after an acknowledgement."""
    s = client(broker.port, "rq5", props=prop(RECEIVE_MAX, 3))
    s.sub(1, [("rq5", opts(qos=1))])
    p = client(broker.port, "rq5-pub")
    for i in range(4):
        p.send(publish5("rq5", str(i).encode(), qos=1, pid=i + 1))
    first = s.publishes(limit=0.5)
    assert [m["payload"] for m in first] == [b"0", b"1", b"2"]
    s.send(puback5(first[0]["pid"]))
    assert s.next_publish()["payload"] == b"3"


RESEND_IGNORES_RECEIVE_MAXIMUM = (
    "broker bug: Shard::resendInflight (src/broker/delivery.cpp) sends every unacknowledged QoS 1/2 PUBLISH of "
    "a resumed session again at once, whatever the Receive Maximum of the new connection (5 to a client that "
    "allows 2); MQTT 5.0: never more unacknowledged QoS 1/2 PUBLISH packets than the client's Receive Maximum "
    "[MQTT-3.3.4-9], none while the send quota is zero [MQTT-4.9.0-2]; the quota is set anew per connection.")


def test_resent_publishes_respect_the_new_receive_maximum(broker):
    """[MQTT-3.3.4-9] [MQTT-4.9.0-2] on a resumed session, unacknowledged messages are sent again only within
    the Receive Maximum of the new connection; the rest follow as acknowledgements come."""
    s = client(broker.port, "rrm5", clean=False, props=prop(SESSION_EXPIRY, 60))
    s.sub(1, [("rrm5", opts(qos=1))])
    p = client(broker.port, "rrm5-pub")
    for i in range(5):
        p.send(publish5("rrm5", str(i).encode(), qos=1, pid=i + 1))
        p.ack_of(PUBACK)
    assert len(s.publishes()) == 5  # none acknowledged
    s.close()
    s = Client(broker.port)
    assert s.open("rrm5", clean=False, props=prop(SESSION_EXPIRY, 60) + prop(RECEIVE_MAX, 2))[0] == 1
    again = s.publishes(limit=0.5)
    assert [m["payload"] for m in again] == [b"0", b"1"]
    s.send(puback5(again[0]["pid"]))
    assert s.next_publish()["payload"] == b"2"


# -- shared subscriptions ----------------------------------------------------------------------------------

def _shared_pair(port, prefix, qos, **kw):
    members = []
    for i in range(2):
        m = client(port, f"{prefix}{i}", **kw)
        assert m.sub(1, [(f"$share/g/{prefix}", opts(qos=qos))]) == bytes([qos])
        members.append(m)
    return members


def _who_got_it(members):
    got = [m.publishes(limit=0.5) for m in members]
    assert sorted(len(g) for g in got) == [0, 1], got
    i = 0 if got[0] else 1
    return i, got[i][0]


def test_shared_qos2_delivery_completes_on_reconnect(broker):
    """[MQTT-4.8.2-4] a shared QoS 2 message whose delivery was interrupted is completed with the same client
    when it reconnects; the other member does not get it."""
    members = _shared_pair(broker.port, "sr5-", 2, clean=False, props=prop(SESSION_EXPIRY, 60))
    p = client(broker.port, "sr5-pub")
    p.send(publish5("sr5-", b"once", qos=2, pid=1))
    p.ack_of(PUBREC)
    i, m = _who_got_it(members)
    members[i].close()
    again = Client(broker.port)
    assert again.open(f"sr5-{i}", clean=False, props=prop(SESSION_EXPIRY, 60))[0] == 1
    m2 = again.next_publish()
    assert (m2["pid"], m2["dup"], m2["payload"]) == (m["pid"], True, b"once")
    assert members[1 - i].nothing_for(0.3)


SHARED_QOS2_REDIRECT = (
    "broker bug: Shard::redistributeShared (src/broker/delivery.cpp) sends the unacknowledged messages of a "
    "shared-subscription member whose session ended to another member, QoS 2 ones included; MQTT 5.0 4.8.2 "
    "allows that for QoS 1 but for a QoS 2 message already sent says the Server MUST NOT send it to any other "
    "subscribed client [MQTT-4.8.2-5]. Skip in-flight QoS 2 entries there.")


def test_shared_qos2_message_not_redirected_when_the_session_ends(broker):
    """[MQTT-4.8.2-5] a shared QoS 2 message sent to a member whose session then ends (no PUBREC) is not
    sent to another member."""
    members = _shared_pair(broker.port, "sx5-", 2)
    p = client(broker.port, "sx5-pub")
    p.send(publish5("sx5-", b"once", qos=2, pid=1))
    p.ack_of(PUBREC)
    i, _ = _who_got_it(members)
    members[i].sock.close()  # session expiry 0: the session ends now
    assert members[1 - i].nothing_for(0.8), "the QoS 2 message went to the other member"


def test_shared_message_refused_by_its_member_is_discarded(broker):
    """[MQTT-4.8.2-6] a shared message the chosen member refuses (PUBACK or PUBREC 0x80 or more) is discarded:
    when that member's session then ends, it is not sent to the other member."""
    for prefix, qos, kind in (("sd5a-", 1, PUBACK), ("sd5b-", 2, PUBREC)):
        members = _shared_pair(broker.port, prefix, qos)
        p = client(broker.port, prefix + "pub")
        p.send(publish5(prefix, b"refused", qos=qos, pid=1))
        p.recv_packet()
        i, m = _who_got_it(members)
        members[i].send(ack(kind, m["pid"], 0x80))
        time.sleep(0.1)
        members[i].sock.close()  # session expiry 0: the session ends now
        assert members[1 - i].nothing_for(0.6), f"QoS {qos}: the refused message went to the other member"


# -- DISCONNECT, errors -------------------------------------------------------------------------------------

def test_server_disconnect(broker):
    """A Server DISCONNECT uses a defined reason code [MQTT-3.14.2-1], never carries a Session Expiry Interval
    [MQTT-3.14.2-2], is the last packet [MQTT-3.14.4-1] and the connection closes [MQTT-3.14.4-2]; the
    reason code 0x80 or more means the connection ends [MQTT-4.13.2-1]. Here: session taken over (0x8E)
    and a protocol error (0x82)."""
    old = client(broker.port, "sd5x", props=prop(SESSION_EXPIRY, 60))
    client(broker.port, "sd5x", props=prop(SESSION_EXPIRY, 60))
    e = client(broker.port, "sd5y", props=prop(SESSION_EXPIRY, 60))
    e.send(publish5("", b"x", props=prop(ALIAS, 1)))  # alias never set: protocol error
    for c, reason in ((old, 0x8E), (e, 0x82)):
        first, body = c.recv_packet()
        assert (first, body[0]) == (0xE0, reason)
        props = parse_props(body, 1)[0] if len(body) > 1 else {}
        assert SESSION_EXPIRY not in props
        assert c.expect_closed() and c.buf == b""


def test_no_disconnect_before_connack(broker):
    """[MQTT-3.14.0-1] before a CONNACK the Server sends no DISCONNECT: a first packet that is not CONNECT
    closes the connection with nothing sent."""
    c = Client(broker.port)
    c.send(publish5("t", b"x"))
    assert c.closed_silently()
    c = Client(broker.port)
    c.send(b"\xc0\x00")
    assert c.closed_silently()


INVALID_AFTER_CONNACK = {
    # case: (packet, acceptable DISCONNECT reason codes, statements)
    "publish_qos_3": (packet(0x36, mqtt_string("t") + b"\x00\x01\x00x"), {0x81}, "3.3.1-4"),
    "publish_topic_not_utf8": (packet(0x30, raw_string(b"a\xff") + b"\x00x"), {0x81}, "3.3.2-1"),
    "publish_topic_wildcard": (publish5("a/+", b"x"), {0x81, 0x82, 0x90}, "3.3.2-2 4.7.0-1"),
    "publish_topic_null": (packet(0x30, raw_string(b"a\x00b") + b"\x00x"), {0x81, 0x90}, "4.7.3-2"),
    "response_topic_not_utf8": (publish5("t", b"x", props=string_prop(RESPONSE_TOPIC, b"r\xc0\x80")), {0x81},
                                "3.3.2-13"),
    "response_topic_wildcard": (publish5("t", b"x", props=string_prop(RESPONSE_TOPIC, b"r/#")),
                                {0x81, 0x82, 0x90}, "3.3.2-14"),
    "content_type_not_utf8": (publish5("t", b"x", props=string_prop(CONTENT_TYPE, b"\xed\xbf\xbf")), {0x81},
                              "3.3.2-19"),
    "topic_alias_0": (publish5("t", b"x", props=prop(ALIAS, 0)), {0x94}, "3.3.2-8"),
    "pubrel_flags": (packet(0x60, b"\x00\x01"), {0x81}, "3.6.1-1"),
    "puback_undefined_reason": (ack(PUBACK, 1, 0x03), {0x81, 0x82}, "3.4.2-1"),
    "pubrel_undefined_reason": (ack(PUBREL, 1, 0x10), {0x81, 0x82}, "3.6.2-1"),
    "subscribe_flags": (packet(0x80, b"\x00\x01\x00" + mqtt_string("t") + b"\x00"), {0x81}, "3.8.1-1"),
    "subscribe_filter_not_utf8": (packet(0x82, b"\x00\x01\x00" + raw_string(b"t\xff") + b"\x00"), {0x81},
                                  "3.8.3-1"),
    "subscribe_no_filter": (packet(0x82, b"\x00\x01\x00"), {0x81, 0x82}, "3.8.3-2"),
    "subscribe_no_local_shared": (subscribe_v5(1, [("$share/g/t", opts(no_local=True))]), {0x82}, "3.8.3-4"),
    "subscribe_reserved_option_bits": (subscribe_v5(1, [("t", 0x40)]), {0x81}, "3.8.3-5"),
    "subscribe_hash_not_last": (subscribe_v5(1, [("a/#/b", 0)]), {0x81, 0x82, 0x8F}, "4.7.1-1"),
    "subscribe_plus_not_alone": (subscribe_v5(1, [("a/b+", 0)]), {0x81, 0x82, 0x8F}, "4.7.1-2"),
    "subscribe_empty_filter": (subscribe_v5(1, [("", 0)]), {0x81, 0x82, 0x8F}, "4.7.3-1"),
    "subscribe_share_name_empty": (subscribe_v5(1, [("$share//t", 0)]), {0x81, 0x82, 0x8F}, "4.8.2-1"),
    "subscribe_share_name_wildcard": (subscribe_v5(1, [("$share/g+/t", 0)]), {0x81, 0x82, 0x8F}, "4.8.2-2"),
    "subscribe_share_without_filter": (subscribe_v5(1, [("$share/g", 0)]), {0x81, 0x82, 0x8F}, "4.8.2-2"),
    "unsubscribe_flags": (packet(0xA0, b"\x00\x01\x00" + mqtt_string("t")), {0x81}, "3.10.1-1"),
    "unsubscribe_filter_not_utf8": (packet(0xA2, b"\x00\x01\x00" + raw_string(b"t\xed\xa0\x80")), {0x81},
                                    "3.10.3-1"),
    "unsubscribe_no_filter": (packet(0xA2, b"\x00\x01\x00"), {0x81, 0x82}, "3.10.3-2"),
    "disconnect_flags": (b"\xe1\x00", {0x81}, "3.14.1-1"),
    "disconnect_undefined_reason": (disconnect_v5(0x03), {0x81, 0x82}, "3.14.2-1"),
    "auth_flags": (b"\xf1\x00", {0x81}, "3.15.1-1"),
    "auth_undefined_reason": (auth_packet(0x01, b""), {0x81, 0x82}, "3.15.2-1"),
}


@pytest.mark.parametrize("case", sorted(INVALID_AFTER_CONNACK))
def test_invalid_packet_after_connack_ends_the_connection(broker, case):
    """A Malformed Packet or Protocol Error after CONNACK: DISCONNECT with the reason code the specification
    gives, then the connection is closed [MQTT-4.13.1-1] [MQTT-4.13.2-1]. PUBLISH: QoS 3 [MQTT-3.3.1-4],
    topic not UTF-8 [MQTT-3.3.2-1], with a wildcard [MQTT-3.3.2-2] [MQTT-4.7.0-1] or U+0000 [MQTT-4.7.3-2],
    Response Topic not UTF-8 [MQTT-3.3.2-13] or with a wildcard [MQTT-3.3.2-14], Content Type not UTF-8
    [MQTT-3.3.2-19], Topic Alias 0 [MQTT-3.3.2-8]. Acknowledgements: PUBREL flags [MQTT-3.6.1-1], undefined
    reason codes [MQTT-3.4.2-1] [MQTT-3.6.2-1]. SUBSCRIBE: flags [MQTT-3.8.1-1], filter not UTF-8
    [MQTT-3.8.3-1], no filter [MQTT-3.8.3-2], No Local on a shared subscription [MQTT-3.8.3-4], reserved
    option bits [MQTT-3.8.3-5], misplaced wildcards [MQTT-4.7.1-1] [MQTT-4.7.1-2], empty filter
    [MQTT-4.7.3-1], bad share names [MQTT-4.8.2-1] [MQTT-4.8.2-2]. UNSUBSCRIBE: flags [MQTT-3.10.1-1], filter
    not UTF-8 [MQTT-3.10.3-1], no filter [MQTT-3.10.3-2]. DISCONNECT: flags [MQTT-3.14.1-1], undefined reason
    [MQTT-3.14.2-1]. AUTH: flags [MQTT-3.15.1-1], undefined reason [MQTT-3.15.2-1]."""
    data, reasons, _ = INVALID_AFTER_CONNACK[case]
    c = client(broker.port, f"bad-{case}")
    c.send(data)
    first, body = c.recv_packet()
    assert first == 0xE0, f"{case}: expected DISCONNECT, got {first:#x} {body!r}"
    assert body[0] in reasons, f"{case}: DISCONNECT reason {body[0]:#x}, expected one of {sorted(reasons)}"
    assert c.expect_closed()


# -- enhanced authentication ----------------------------------------------------------------------------------

class Scram:
    """The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677)."""

    def __init__(self, user, password):
        self.user, self.password = user, password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n={user},r={self.nonce}"

    def first(self):
        return ("n,," + self.first_bare).encode()

    def final(self, server_first, tamper=False):
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        self.auth_message = f"{self.first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(hashlib.sha256(client_key).digest(), self.auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        if tamper:
            proof = bytes([proof[0] ^ 1]) + proof[1:]
        self.server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def server_signature_ok(self, server_final):
        expected = hmac.new(self.server_key, self.auth_message, hashlib.sha256).digest()
        return server_final == b"v=" + base64.b64encode(expected)


def method_props(data):
    return prop(AUTH_METHOD, "SCRAM-SHA-256") + bytes([AUTH_DATA]) + struct.pack("!H", len(data)) + data


def _auth_exchange(c, scram, first_reason, tamper=False, connect_props=b""):
    """Sends the client-first (in CONNECT when first_reason is None, else in AUTH first_reason), checks the
    server-first AUTH, sends the client-final. Returns the server-first AUTH's properties."""
    if first_reason is None:
        c.send(connect_v5(c.client_id, props=connect_props + method_props(scram.first())))
    else:
        c.send(auth_packet(first_reason, method_props(scram.first())))
    first, body = c.recv_packet()
    assert first == 0xF0 and body[0] == 0x18, (hex(first), body)
    props = parse_props(body, 1)[0]
    assert REASON_STRING not in props and USER_PROPERTY not in props
    c.send(auth_packet(0x18, method_props(scram.final(props[AUTH_DATA][0].decode(), tamper=tamper))))
    c.auth_sizes.append(packet_size(body))
    return props


@pytest.fixture
def scram_broker(tmp_path):
    pw = str(tmp_path / "pw")
    make_password_file(pw, {"carol": "pencil"}, hash_args=("-H", "scram-sha-256"))
    b = Broker(f"password_file {pw}", anonymous=False)
    yield b
    b.stop()


def test_enhanced_authentication_exchange(scram_broker):
    """SCRAM-SHA-256 over AUTH: the Server's continuing AUTH has reason 0x18 [MQTT-4.12.0-2], a defined code
    [MQTT-3.15.2-1]; it and the successful CONNACK carry the client's Authentication Method [MQTT-4.12.0-5];
    AUTH is the only packet before the CONNACK [MQTT-3.2.0-1]. Re-authentication: the same, ending with AUTH
    0x00 and the method. Every AUTH fits the client's Maximum Packet Size (here 160) and carries no Reason
    String or User Property [MQTT-3.15.2-2] [MQTT-3.15.2-3]."""
    limit = 160
    c = Client(scram_broker.port)
    c.client_id, c.auth_sizes = "scram5", []
    scram = Scram("carol", "pencil")
    props = _auth_exchange(c, scram, None, connect_props=prop(MAX_PACKET, limit))
    assert props[AUTH_METHOD] == [b"SCRAM-SHA-256"]
    first, body = c.recv_packet()
    assert first == 0x20 and body[1] == 0
    props = parse_props(body, 2)[0]
    assert props[AUTH_METHOD] == [b"SCRAM-SHA-256"] and scram.server_signature_ok(props[AUTH_DATA][0])
    scram = Scram("carol", "pencil")
    props = _auth_exchange(c, scram, 0x19)
    assert props[AUTH_METHOD] == [b"SCRAM-SHA-256"]
    first, body = c.recv_packet()
    assert first == 0xF0 and body[0] == 0x00
    props = parse_props(body, 1)[0]
    assert props[AUTH_METHOD] == [b"SCRAM-SHA-256"]
    assert REASON_STRING not in props and USER_PROPERTY not in props
    assert max(c.auth_sizes + [packet_size(body)]) <= limit, c.auth_sizes
    c.send(b"\xc0\x00")
    assert c.recv_packet() == (0xD0, b"")


def test_enhanced_authentication_refusals(scram_broker):
    """An unsupported Authentication Method: CONNACK 0x8C, then close [MQTT-4.12.0-1]. A failed exchange:
    CONNACK 0x87, then close [MQTT-4.12.0-4]. A failed re-authentication: DISCONNECT, then close
    [MQTT-4.12.1-2]."""
    c = Client(scram_broker.port)
    c.send(connect_v5("scram5-m", props=prop(AUTH_METHOD, "GSSAPI")))
    first, body = c.recv_packet()
    assert (first, body[1]) == (0x20, 0x8C)
    assert c.expect_closed()
    c = Client(scram_broker.port)
    c.client_id, c.auth_sizes = "scram5-bad", []
    _auth_exchange(c, Scram("carol", "pencil"), None, tamper=True)
    first, body = c.recv_packet()
    assert (first, body[1]) == (0x20, 0x87)
    assert c.expect_closed()
    c = Client(scram_broker.port)
    c.client_id, c.auth_sizes = "scram5-re", []
    _auth_exchange(c, Scram("carol", "pencil"), None)
    assert c.recv_packet()[1][1] == 0
    _auth_exchange(c, Scram("carol", "pencil"), 0x19, tamper=True)
    first, body = c.recv_packet()
    assert first == 0xE0 and body[0] >= 0x80
    assert c.expect_closed()


def test_no_authentication_method_no_auth(broker):
    """[MQTT-4.12.0-6] without an Authentication Method in CONNECT the Server sends no AUTH and no
    Authentication Method in CONNACK."""
    c = Client(broker.port)
    present, rc, props = c.open("noauth5")
    assert rc == 0 and AUTH_METHOD not in props and AUTH_DATA not in props
    c.send(b"\xc0\x00")
    assert c.recv_packet() == (0xD0, b"")
