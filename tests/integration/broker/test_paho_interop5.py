"""The Eclipse Paho MQTT 5 interoperability suite (paho.mqtt.testing, interoperability/client_test5.py),
rewritten as pytest tests against the real starling binary with paho-mqtt's MQTT 5 client (Properties,
SubscribeOptions): the 3.1.1 scenarios in MQTT 5, then session expiry, will delay, shared subscriptions,
subscription identifiers, topic aliases, server keep alive, payload format, message expiry, flow control,
request/response, user properties, subscribe options and assigned client identifiers. Same checks as
Paho's, our own code; each test gets its own broker.

Absences are proven with a sentinel published after what must not arrive, by the same client (per-publisher
ordering [MQTT-4.6.0-5]), at QoS 2 (paho hands QoS 2 messages to on_message only at PUBREL, so a lower-QoS
sentinel could overtake them). Timed features (keep alive, expiry, will delay) are measured against the
broker's clock, which ticks every 0.5 s.
"""
import struct
import time

import pytest

from harness import Broker, RawClient, connect_packet, packet, publish_packet, subscribe_packet, varint
from paho_client import Client, PacketTypes, SubscribeOptions, props

TOPICS = ("TopicA", "TopicA/B", "Topic/C", "TopicA/C", "/TopicA")
WILDTOPICS = ("TopicA/+", "+/C", "#", "/#", "/+", "+/+", "TopicA/#")
NOSUBSCRIBE_TOPICS = ("test/nosubscribe",)

SENTINEL = b"sentinel"
USER_PROPS = [("a", "2"), ("c", "3")]


def v5(port, client_id="", **kw):
    return Client(port, client_id, v5=True, **kw)


def connect_props(**values):
    return props(PacketTypes.CONNECT, **values)


def publish_props(**values):
    return props(PacketTypes.PUBLISH, **values)


def codes(reason_codes):
    """The numeric values of a SUBACK/UNSUBACK's reason code(s)."""
    if not isinstance(reason_codes, list):
        reason_codes = [reason_codes]
    return [rc.value for rc in reason_codes]


def has(properties, name):
    return properties is not None and hasattr(properties, name)


# -- raw MQTT 5 over a socket, for what paho will not do (pause, count packets) -----------------------

def prop_u32(ident, value):
    return bytes([ident]) + struct.pack("!I", value)


def prop_u16(ident, value):
    return bytes([ident]) + struct.pack("!H", value)


SESSION_EXPIRY, RECEIVE_MAXIMUM, TOPIC_ALIAS = 0x11, 0x21, 0x23


def publish_v5(topic, payload, qos=0, pid=1, properties=b""):
    body = struct.pack("!H", len(topic)) + topic.encode() + (struct.pack("!H", pid) if qos else b"")
    return packet(0x30 | (qos << 1), body + varint(len(properties)) + properties + payload)


def read_varint(data, i):
    value, mult = 0, 1
    while True:
        b = data[i]
        i += 1
        value += (b & 0x7F) * mult
        mult *= 128
        if not b & 0x80:
            return value, i


def publish_fields(first, body):
    """(topic, qos, dup, packet id, payload) of an MQTT 5 PUBLISH."""
    assert first & 0xF0 == 0x30, f"expected PUBLISH, got {first:#x}"
    tlen = struct.unpack("!H", body[:2])[0]
    topic = body[2:2 + tlen].decode()
    qos = (first >> 1) & 3
    i = 2 + tlen
    pid = 0
    if qos:
        pid = struct.unpack("!H", body[i:i + 2])[0]
        i += 2
    plen, i = read_varint(body, i)
    return topic, qos, bool(first & 0x08), pid, body[i + plen:]


def puback(pid):
    return packet(0x40, struct.pack("!H", pid))


# ------------------------------------------------------------------------------------------------------
# The 3.1.1 scenarios, in MQTT 5

def test_basic(broker):
    """Connect, disconnect, connect (CONNACK reason Success [MQTT-3.1.4-5] [MQTT-3.2.2-2]); subscribe at
    QoS 2 and receive our own publications at QoS 0, 1, 2 in order [MQTT-3.8.4-8] [MQTT-4.6.0-5]. A second
    CONNECT is a Protocol Error that ends the connection [MQTT-3.1.0-2]; so does protocol name 'hj'
    [MQTT-3.1.2-1]."""
    a = v5(broker.port, "myclientid")
    a.disconnect()

    a = v5(broker.port, "myclientid")
    assert a.rc == 0 and str(a.rc) == "Success"
    assert codes(a.subscribe(TOPICS[0], 2)) == [2]
    for qos in (0, 1, 2):
        a.publish(TOPICS[0], f"qos {qos}".encode(), qos)
    got = a.get_n(3)
    assert [(m.topic, m.payload, m.qos) for m in got] == [(TOPICS[0], f"qos {q}".encode(), q) for q in (0, 1, 2)]
    a.disconnect()

    raw = RawClient(broker.port)
    assert raw.connect("myclientid", level=5)[:2] == b"\x00\x00"
    raw.send(connect_packet("myclientid", level=5))
    assert raw.expect_closed(), "a second CONNECT did not close the connection"
    if raw.buf:  # an optional DISCONNECT: Protocol Error
        assert raw.buf[0] == 0xE0 and raw.buf[2] == 0x82, raw.buf

    raw = RawClient(broker.port)
    raw.send(connect_packet("myclientid", level=5, name="hj"))
    assert raw.expect_closed(), "a CONNECT with protocol name 'hj' did not close the connection"
    assert not (raw.buf[:1] == b"\x20" and raw.buf[3:4] == b"\x00"), "CONNECT with protocol name 'hj' was accepted"


def test_retained_message(broker):
    """Retained messages keep their User Properties, in order [MQTT-3.3.2-17] [MQTT-3.3.2-18], and QoS
    [MQTT-3.3.1-5]; a new subscription gets them [MQTT-3.3.1-9]; empty retained publications delete them
    [MQTT-3.3.1-6] [MQTT-3.3.1-7]."""
    a = v5(broker.port, "myclientid")
    pp = publish_props(UserProperty=USER_PROPS)
    a.publish(TOPICS[1], b"qos 0", 0, retain=True, properties=pp)
    a.publish(TOPICS[2], b"qos 1", 1, retain=True, properties=pp)
    a.publish(TOPICS[3], b"qos 2", 2, retain=True, properties=pp)
    a.subscribe(WILDTOPICS[5], 2)
    got = a.get_n(3)
    assert sorted((m.topic, m.payload, m.qos, m.retain) for m in got) == sorted(
        [(TOPICS[1], b"qos 0", 0, True), (TOPICS[2], b"qos 1", 1, True), (TOPICS[3], b"qos 2", 2, True)])
    for m in got:
        assert m.properties.UserProperty == USER_PROPS, m.properties
    a.disconnect()

    a = v5(broker.port, "myclientid")
    for t in TOPICS[1:4]:
        a.publish(t, b"", 1, retain=True)
    a.subscribe(WILDTOPICS[5], 2)
    a.publish(TOPICS[1], SENTINEL, 2)
    assert [(m.topic, m.payload) for m in a.until(SENTINEL)] == []
    a.disconnect()


def test_will_message(broker):
    """A client that goes away without DISCONNECT has its will published [MQTT-3.1.2-8] with its User
    Properties in order [MQTT-3.1.3-10]; Will Delay Interval 0 means at once."""
    b = v5(broker.port, "myclientid2", clean=False)
    b.subscribe(TOPICS[2], 2)
    wp = props(PacketTypes.WILLMESSAGE, WillDelayInterval=0, UserProperty=USER_PROPS)
    a = v5(broker.port, "myclientid", keepalive=2, loop=False, will=(TOPICS[2], b"will message", 0, False, wp))
    a.kill()
    m = b.get(timeout=3)
    assert (m.topic, m.payload) == (TOPICS[2], b"will message")
    assert m.properties.UserProperty == USER_PROPS
    b.nothing(0.3)
    b.disconnect()


def test_zero_length_clientid(broker):
    """MQTT 5 accepts an empty client id even with Clean Start 0: the broker assigns one
    [MQTT-3.1.3-6] [MQTT-3.1.3-7]; and with Clean Start 1."""
    c = v5(broker.port, "", clean=False)
    assert c.rc == 0
    c.disconnect()
    c = v5(broker.port, "", clean=True)
    assert c.rc == 0
    c.disconnect()


def test_offline_message_queueing(broker):
    """A session with an expiry interval keeps QoS 1/2 messages while its client is away and delivers them
    when it resumes [MQTT-3.1.2-5] [MQTT-3.1.2-23] [MQTT-3.2.2-3]. QoS 0 ones are not kept by default."""
    a = v5(broker.port, "myclientid", properties=connect_props(SessionExpiryInterval=99999))
    a.subscribe(WILDTOPICS[5], 2)
    a.disconnect()

    b = v5(broker.port, "myclientid2")
    b.publish(TOPICS[1], b"qos 0", 0)
    b.publish(TOPICS[2], b"qos 1", 1)
    b.publish(TOPICS[3], b"qos 2", 2)

    a = v5(broker.port, "myclientid", clean=False, properties=connect_props(SessionExpiryInterval=99999))
    assert a.session_present
    b.publish(TOPICS[1], SENTINEL, 2)
    got = sorted((m.topic, m.payload, m.qos) for m in a.until(SENTINEL))
    assert got == sorted([(TOPICS[2], b"qos 1", 1), (TOPICS[3], b"qos 2", 2)])
    a.disconnect()
    b.disconnect()


def test_overlapping_subscriptions(broker):
    """Overlapping subscriptions at QoS 2 and 1: one message at QoS 2, or one per subscription
    [MQTT-3.3.4-2] [MQTT-3.8.4-5]."""
    a = v5(broker.port, "myclientid")
    assert codes(a.subscribe([(WILDTOPICS[6], SubscribeOptions(2)), (WILDTOPICS[0], SubscribeOptions(1))])) == [2, 1]
    a.publish(TOPICS[3], b"overlapping topic filters", 2)
    a.publish(TOPICS[3], SENTINEL, 2)
    got = a.until(SENTINEL)
    assert sorted(m.qos for m in got) in ([2], [1, 2]), [m.qos for m in got]
    a.disconnect()


def test_keepalive(broker):
    """Silent for one and a half keep-alive periods: the broker closes the connection [MQTT-3.1.2-22]
    and publishes the will [MQTT-3.1.2-8]."""
    b = v5(broker.port, "myclientid2", keepalive=0)
    b.subscribe(TOPICS[4], 2)
    a = v5(broker.port, "myclientid", keepalive=2, loop=False, will=(TOPICS[4], b"ka expiry", 0, False))
    start = time.monotonic()
    m = b.get(timeout=8, what="the will after keep-alive expiry")
    elapsed = time.monotonic() - start
    assert (m.topic, m.payload) == (TOPICS[4], b"ka expiry")
    assert 2.7 <= elapsed <= 5.0, f"will after {elapsed:.2f}s, expected 1.5 x 2 s (+ the broker's 0.5 s tick)"
    rc, _ = a.wait_disconnected()
    assert rc == 0x8D, f"DISCONNECT reason {rc}, expected 0x8D Keep Alive timeout"
    b.disconnect()


def test_redelivery_on_reconnect(broker):
    """Unacknowledged QoS 1 and 2 deliveries are sent again on session resumption, DUP set, same packet
    ids [MQTT-4.4.0-1] [MQTT-3.3.1-1]. The paused subscriber is a raw socket that never acknowledges."""
    paused = RawClient(broker.port)
    paused.connect("myclientid2", clean=False, level=5, props=prop_u32(SESSION_EXPIRY, 99999))
    paused.send(subscribe_packet(1, [(WILDTOPICS[6], 2)], level=5))
    first, body = paused.recv_packet()
    assert first == 0x90 and body[-1] == 2

    a = v5(broker.port, "myclientid")
    a.publish(TOPICS[1], b"", 1)
    a.publish(TOPICS[3], b"", 2)
    sent = [publish_fields(*paused.recv_packet()) for _ in range(2)]
    assert [(t, q, dup) for t, q, dup, _, _ in sent] == [(TOPICS[1], 1, False), (TOPICS[3], 2, False)]
    paused.close()

    b = v5(broker.port, "myclientid2", clean=False, properties=connect_props(SessionExpiryInterval=99999))
    assert b.session_present
    got = b.get_n(2)
    assert [(m.topic, m.qos, bool(m.dup), m.mid) for m in got] == [(t, q, True, pid) for t, q, _, pid, _ in sent]
    b.disconnect()

    b = v5(broker.port, "myclientid2", clean=False, properties=connect_props(SessionExpiryInterval=99999))
    a.publish(TOPICS[1], SENTINEL, 2)
    assert [(m.topic, m.payload) for m in b.until(SENTINEL)] == []
    b.disconnect()
    a.disconnect()


def test_subscribe_failure(tmp_path):
    """A subscription the server does not allow gets a failure code [MQTT-3.8.4-7] [MQTT-3.9.3-2]. Paho's
    suite expects 0x80 (unspecified error); Starling answers 0x87 (not authorized), the code MQTT 5.0 defines
    for a subscription the ACL refuses (section 3.9.3), so the test accepts any failure code and checks 0x87."""
    acl = tmp_path / "acl"
    acl.write_text(f"topic deny {NOSUBSCRIBE_TOPICS[0]}\ntopic readwrite #\n")
    with Broker(f"acl_file {acl}") as b:
        a = v5(b.port, "myclientid")
        assert codes(a.subscribe(NOSUBSCRIBE_TOPICS[0], 2)) == [0x87]
        a.disconnect()


def test_dollar_topics(broker):
    """Filters starting with a wildcard do not match topics starting with '$' [MQTT-4.7.2-1]."""
    watcher = v5(broker.port, "watcher")
    watcher.subscribe("$" + TOPICS[1], 1)
    b = v5(broker.port, "myclientid2", keepalive=0)
    b.subscribe([(WILDTOPICS[5], SubscribeOptions(2)), (WILDTOPICS[2], SubscribeOptions(2))])
    b.publish("$" + TOPICS[1], b"", 1)
    b.publish(TOPICS[1], SENTINEL, 2)
    assert [(m.topic, m.payload) for m in b.until(SENTINEL)] == []
    assert watcher.get().topic == "$" + TOPICS[1]
    b.disconnect()
    watcher.disconnect()


def test_unsubscribe(broker):
    """UNSUBSCRIBE of one of three filters stops its messages only [MQTT-3.10.4-1] [MQTT-3.10.4-2];
    UNSUBACK reason Success, or 0x11 No subscription existed [MQTT-3.11.3-2]."""
    b = v5(broker.port, "myclientid2")
    for t in TOPICS[:3]:
        b.subscribe(t, 2)
    assert codes(b.unsubscribe(TOPICS[0])) == [0]
    assert codes(b.unsubscribe(TOPICS[0])) == [0x11]

    a = v5(broker.port, "myclientid")
    a.publish(TOPICS[0], b"topic 0 - unsubscribed", 1)
    a.publish(TOPICS[1], b"topic 1", 1)
    a.publish(TOPICS[2], b"topic 2", 1)
    a.publish(TOPICS[2], SENTINEL, 2)
    assert [(m.topic, m.payload) for m in b.until(SENTINEL)] == [(TOPICS[1], b"topic 1"), (TOPICS[2], b"topic 2")]
    b.disconnect()
    a.disconnect()


# ------------------------------------------------------------------------------------------------------
# MQTT 5 features

def test_session_expiry(broker):
    """Session Expiry Interval: 0 ends the session with the connection; N keeps it N seconds after it
    [MQTT-3.1.2-23] [MQTT-4.1.0-2] [MQTT-3.2.2-3]; DISCONNECT may change it, including to 0."""
    def connect(clean, expiry):
        return v5(broker.port, "myclientid", clean=clean, properties=connect_props(SessionExpiryInterval=expiry))

    a = connect(True, 0)
    assert not a.session_present
    a.subscribe(TOPICS[0], 2)
    a.disconnect()
    a = connect(False, 0)
    assert not a.session_present, "a session with expiry 0 outlived its connection"
    a.disconnect()

    a = connect(True, 3)
    a.subscribe(TOPICS[0], 2)
    a.disconnect()
    time.sleep(1.0)  # well within the 3 s
    a = connect(False, 3)
    assert a.session_present, "session gone 1 s into a 3 s expiry interval"
    a.disconnect()
    time.sleep(4.5)  # 3 s + the broker's 0.5 s tick + margin
    a = connect(False, 3)
    assert not a.session_present, "session still there 4 s after the end of a 3 s expiry interval"
    a.disconnect()

    a = connect(True, 1)
    a.subscribe(TOPICS[0], 2)
    a.disconnect(properties=props(PacketTypes.DISCONNECT, SessionExpiryInterval=5))
    time.sleep(2.0)  # past the 1 s of CONNECT, within the 5 s of DISCONNECT
    a = connect(False, 1)
    assert a.session_present, "DISCONNECT's Session Expiry Interval 5 was not applied"
    a.disconnect(properties=props(PacketTypes.DISCONNECT, SessionExpiryInterval=0))
    a = connect(False, 1)
    assert not a.session_present, "DISCONNECT's Session Expiry Interval 0 did not end the session"
    a.disconnect()


def test_user_properties(broker):
    """User Properties are forwarded unchanged [MQTT-3.3.2-17], in order [MQTT-3.3.2-18], at every QoS."""
    a = v5(broker.port, "myclientid")
    a.subscribe(TOPICS[0], 2)
    pp = publish_props(UserProperty=USER_PROPS)
    for qos in (0, 1, 2):
        a.publish(TOPICS[0], b"", qos, properties=pp)
    got = a.get_n(3)
    assert sorted(m.qos for m in got) == [0, 1, 2]
    for m in got:
        assert m.properties.UserProperty == USER_PROPS, m.properties
    a.disconnect()


def test_payload_format(broker):
    """Payload Format Indicator [MQTT-3.3.2-4] and Content Type [MQTT-3.3.2-20] are forwarded unchanged."""
    a = v5(broker.port, "myclientid")
    a.subscribe(TOPICS[0], 2)
    pp = publish_props(PayloadFormatIndicator=1, ContentType="My name")
    for qos in (0, 1, 2):
        a.publish(TOPICS[0], b"", qos, properties=pp)
    got = a.get_n(3)
    assert sorted(m.qos for m in got) == [0, 1, 2]
    for m in got:
        assert (m.properties.PayloadFormatIndicator, m.properties.ContentType) == (1, "My name"), m.properties
    a.disconnect()


def test_publication_expiry(broker):
    """Queued messages whose Message Expiry Interval has passed are not delivered [MQTT-3.3.2-5]; the
    others arrive with the interval reduced by their time in the broker [MQTT-3.3.2-6]."""
    b = v5(broker.port, "myclientid2", properties=connect_props(SessionExpiryInterval=99999))
    b.subscribe(TOPICS[0], 2)
    b.disconnect(properties=props(PacketTypes.DISCONNECT, SessionExpiryInterval=999999999))

    a = v5(broker.port, "myclientid")
    a.publish(TOPICS[0], b"qos 1 - expire", 1, properties=publish_props(MessageExpiryInterval=1))
    a.publish(TOPICS[0], b"qos 2 - expire", 2, properties=publish_props(MessageExpiryInterval=1))
    a.publish(TOPICS[0], b"qos 1 - don't expire", 1, properties=publish_props(MessageExpiryInterval=6))
    a.publish(TOPICS[0], b"qos 2 - don't expire", 2, properties=publish_props(MessageExpiryInterval=6))
    time.sleep(2.0)  # the first two expire

    b = v5(broker.port, "myclientid2", clean=False)
    assert b.session_present
    a.publish(TOPICS[0], SENTINEL, 2)
    got = b.until(SENTINEL)
    assert [m.payload for m in got] == [b"qos 1 - don't expire", b"qos 2 - don't expire"]
    for m in got:
        assert 0 < m.properties.MessageExpiryInterval < 6, m.properties
    b.disconnect()
    a.disconnect()


def test_no_local(broker):
    """No Local: the broker does not send a client its own publications [MQTT-3.8.3-3]; others get them."""
    a = v5(broker.port, "myclientid")
    b = v5(broker.port, "myclientid2")
    a.subscribe(TOPICS[0], 2, noLocal=True)
    b.subscribe(TOPICS[0], 2, noLocal=True)
    a.publish(TOPICS[0], b"noLocal test", 1)
    m = b.get()
    assert m.payload == b"noLocal test"
    # a's own copy, had there been one, was delivered while a's publication was handled, before b got it.
    b.publish(TOPICS[0], SENTINEL, 2)
    assert [m.payload for m in a.until(SENTINEL)] == []
    a.disconnect()
    b.disconnect()


def test_retain_as_published(broker):
    """Retain As Published 1 keeps the RETAIN flag of live publications [MQTT-3.3.1-13]; without it the
    flag is cleared [MQTT-3.3.1-12]."""
    a = v5(broker.port, "myclientid")
    a.subscribe(TOPICS[0], 2, retainAsPublished=True)
    b = v5(broker.port, "myclientid2")
    b.subscribe(TOPICS[0], 2)
    a.publish(TOPICS[0], b"retain as published false", 1, retain=False)
    a.publish(TOPICS[0], b"retain as published true", 1, retain=True)
    assert [(m.payload, m.retain) for m in a.get_n(2)] == \
        [(b"retain as published false", False), (b"retain as published true", True)]
    assert [m.retain for m in b.get_n(2)] == [False, False]
    a.disconnect()
    b.disconnect()


def test_retain_handling(broker):
    """Retain Handling 0 sends retained messages on every subscribe [MQTT-3.3.1-9] [MQTT-3.8.4-4], 1 only
    for a new subscription [MQTT-3.3.1-10], 2 never [MQTT-3.3.1-11]."""
    a = v5(broker.port, "myclientid")
    a.publish(TOPICS[1], b"qos 0", 0, retain=True)
    a.publish(TOPICS[2], b"qos 1", 1, retain=True)
    a.publish(TOPICS[3], b"qos 2", 2, retain=True)

    def retained_after_subscribe(client, handling):
        client.subscribe(WILDTOPICS[5], 2, retainHandling=handling)
        client.publish(TOPICS[1], SENTINEL, 2)
        got = client.until(SENTINEL)
        assert all(m.retain for m in got), [(m.topic, m.retain) for m in got]
        return sorted(m.qos for m in got)

    assert retained_after_subscribe(a, 1) == [0, 1, 2]
    assert retained_after_subscribe(a, 1) == [], "Retain Handling 1 sent retained messages for an existing subscription"
    a.disconnect()

    a = v5(broker.port, "myclientid")
    assert retained_after_subscribe(a, 2) == []
    assert retained_after_subscribe(a, 2) == []
    a.disconnect()

    a = v5(broker.port, "myclientid")
    assert retained_after_subscribe(a, 0) == [0, 1, 2]
    assert retained_after_subscribe(a, 0) == [0, 1, 2]
    a.disconnect()


def test_assigned_clientid(broker):
    """An empty client id gets an Assigned Client Identifier in CONNACK [MQTT-3.1.3-7] [MQTT-3.2.2-16],
    unique [MQTT-3.1.3-6]."""
    ids = []
    for _ in range(2):
        c = v5(broker.port, "")
        assert has(c.connack_properties, "AssignedClientIdentifier"), c.connack_properties
        ids.append(c.connack_properties.AssignedClientIdentifier)
        c.disconnect()
    assert all(ids) and ids[0] != ids[1], ids


def test_subscription_identifiers(broker):
    """A PUBLISH carries the Subscription Identifier of the matching subscription [MQTT-3.3.4-3]; one copy
    for overlapping subscriptions carries all of theirs [MQTT-3.3.4-4]."""
    a = v5(broker.port, "myclientid")
    a.subscribe(TOPICS[0], 2, properties=props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=456789))
    b = v5(broker.port, "myclientid2")
    b.subscribe(TOPICS[0], 2, properties=props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=2))
    b.subscribe(TOPICS[0] + "/#", 2, properties=props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=3))

    b.publish(TOPICS[0], b"sub identifier test", 1)
    b.publish(TOPICS[0], SENTINEL, 2)
    got = a.until(SENTINEL)
    assert [m.payload for m in got] == [b"sub identifier test"]
    assert got[0].properties.SubscriptionIdentifier == [456789]
    got = b.until(SENTINEL)
    assert [m.payload for m in got] == [b"sub identifier test"], "one copy for overlapping subscriptions"
    assert sorted(got[0].properties.SubscriptionIdentifier) == [2, 3]
    a.disconnect()
    b.disconnect()


def test_request_response(broker):
    """Response Topic [MQTT-3.3.2-15] and Correlation Data [MQTT-3.3.2-16] are forwarded unchanged, so a
    responder can answer a requester. Without Request Response Information the CONNACK carries no Response
    Information [MQTT-3.1.2-28]."""
    a = v5(broker.port, "myclientid")
    b = v5(broker.port, "myclientid2")
    assert not has(a.connack_properties, "ResponseInformation")
    a.subscribe(TOPICS[0], 2, noLocal=True)
    b.subscribe(TOPICS[0], 2, noLocal=True)

    a.publish(TOPICS[0], b"request", 1, properties=publish_props(ResponseTopic=TOPICS[0], CorrelationData=b"334"))
    req = b.get()
    assert req.payload == b"request"
    assert (req.properties.ResponseTopic, req.properties.CorrelationData) == (TOPICS[0], b"334")

    b.publish(req.properties.ResponseTopic, b"response", 1,
              properties=publish_props(CorrelationData=req.properties.CorrelationData))
    resp = a.get()
    assert (resp.topic, resp.payload, resp.properties.CorrelationData) == (TOPICS[0], b"response", b"334")
    a.disconnect()
    b.disconnect()


def test_client_topic_alias(broker):
    """Topic Alias 0 is invalid: DISCONNECT 0x94 [MQTT-3.3.2-8]; so is one above the broker's Topic Alias
    Maximum [MQTT-3.2.2-17]. Aliases up to that maximum are accepted [MQTT-3.3.2-12] and forgotten with the
    connection [MQTT-3.3.2-7]: using one on a new connection is an error. (paho will not encode alias 0, so
    that PUBLISH goes over a raw socket.)"""
    raw = RawClient(broker.port)
    raw.connect("myclientid", level=5)
    raw.send(publish_v5(TOPICS[0], b"topic alias 0", qos=1, pid=1, properties=prop_u16(TOPIC_ALIAS, 0)))
    first, body = raw.recv_packet()
    assert (first, body[:1]) == (0xE0, b"\x94"), \
        f"expected DISCONNECT 0x94 Topic Alias invalid, got {first:#x} {body!r}"
    assert raw.expect_closed()

    cp = connect_props(TopicAliasMaximum=0, SessionExpiryInterval=99999)
    a = v5(broker.port, "myclientid", properties=cp)
    maximum = getattr(a.connack_properties, "TopicAliasMaximum", 0)
    assert maximum > 0, "the broker accepts no topic aliases (no Topic Alias Maximum in CONNACK)"
    a.subscribe(TOPICS[0], 2)
    a.publish(TOPICS[0], b"topic alias 1", 1, properties=publish_props(TopicAlias=1))
    m = a.get()
    assert (m.topic, m.payload) == (TOPICS[0], b"topic alias 1")
    a.publish("", b"topic alias 2", 1, properties=publish_props(TopicAlias=1))
    m = a.get()
    assert (m.topic, m.payload) == (TOPICS[0], b"topic alias 2")
    a.disconnect()

    a = v5(broker.port, "myclientid", clean=False, properties=cp)
    a.publish(TOPICS[0], b"topic alias 3", 1)
    m = a.get()
    if m.payload == b"topic alias 2":
        # The QoS 2 delivery of the last message was still in flight at the DISCONNECT: resent first (DUP).
        m = a.get()
    assert m.payload == b"topic alias 3"
    a.publish("", b"topic alias 4", 1, properties=publish_props(TopicAlias=1), wait=False)
    rc, _ = a.wait_disconnected()
    assert rc in (0x82, 0x94), f"DISCONNECT reason {rc}, expected Protocol Error or Topic Alias invalid"

    a = v5(broker.port, "myclientid", properties=cp)
    a.publish(TOPICS[0], b"too high", 1, properties=publish_props(TopicAlias=maximum + 1), wait=False)
    rc, _ = a.wait_disconnected()
    assert rc == 0x94, f"DISCONNECT reason {rc}, expected 0x94 Topic Alias invalid"


def test_server_topic_alias(broker):
    """With a client Topic Alias Maximum of 1 the broker sets an alias on the first PUBLISH and sends an
    empty topic with it after [MQTT-3.3.2-11] [MQTT-3.1.2-26]; with none (absent or 0) it sends no
    aliases [MQTT-3.1.2-27]."""
    a = v5(broker.port, "myclientid", properties=connect_props(TopicAliasMaximum=1))
    a.subscribe(TOPICS[0], 2)
    for qos in range(3):
        a.publish(TOPICS[0], b"topic alias 1", qos)
    got = a.get_n(3)
    a.disconnect()
    assert has(got[0].properties, "TopicAlias"), got[0].properties
    alias = got[0].properties.TopicAlias
    assert alias == 1 and got[0].topic == TOPICS[0]
    for m in got[1:]:
        assert (m.topic, getattr(m.properties, "TopicAlias", None)) == ("", alias)

    for cp in (connect_props(), connect_props(TopicAliasMaximum=0)):
        a = v5(broker.port, "myclientid", properties=cp)
        a.subscribe(TOPICS[0], 2)
        for qos in range(3):
            a.publish(TOPICS[0], b"topic alias 1", qos)
        got = a.get_n(3)
        a.disconnect()
        for m in got:
            assert m.topic == TOPICS[0] and not has(m.properties, "TopicAlias"), m.properties


PACKET_TOO_LARGE_BUG = (
    "missing: TcpConnection::processInput (src/net/tcp_connection.cpp) closes the connection as soon as the frame "
    "splitter reports a packet above max_packet_size, without the DISCONNECT with reason 0x95 Packet too large "
    "that MQTT 5.0 section 3.1.2.11.4/4.13 asks for (the broker only logs 'limit exceeded'); paho sees a lost "
    "connection instead of reason 0x95.")


def test_maximum_packet_size_server():
    """The broker's Maximum Packet Size is in CONNACK; a client that sends a bigger packet gets DISCONNECT
    0x95 Packet too large (it broke [MQTT-3.2.2-15]) and the connection closes [MQTT-4.13.1-1]."""
    with Broker("max_packet_size 1000") as broker:
        a = v5(broker.port, "myclientid")
        assert getattr(a.connack_properties, "MaximumPacketSize", None) == 1000, a.connack_properties
        a.publish(TOPICS[0], b"." * 1000, 0, wait=False)
        rc, _ = a.wait_disconnected()
        assert rc == 0x95, f"DISCONNECT reason {rc}, expected 0x95 Packet too large"


def test_maximum_packet_size_client(broker):
    """A message bigger than the client's Maximum Packet Size is not sent to it [MQTT-3.1.2-24] but dropped
    as if sent [MQTT-3.1.2-25], and the connection goes on."""
    a = v5(broker.port, "myclientid", properties=connect_props(MaximumPacketSize=64))
    a.subscribe(TOPICS[0], 2)
    a.publish(TOPICS[0], b"." * 32, 0)
    assert a.get().payload == b"." * 32
    a.publish(TOPICS[0], b"." * 64, 1)
    a.publish(TOPICS[0], SENTINEL, 2)
    assert [len(m.payload) for m in a.until(SENTINEL)] == []
    a.disconnect()


def test_server_keep_alive():
    """A Keep Alive above the broker's max_keepalive is answered with Server Keep Alive in CONNACK
    [MQTT-3.2.2-21], which the broker then applies [MQTT-3.1.2-22]; without it the client's own value is
    used [MQTT-3.2.2-22]."""
    with Broker("max_keepalive 60") as broker:
        a = v5(broker.port, "myclientid", keepalive=120)
        assert getattr(a.connack_properties, "ServerKeepAlive", None) == 60, a.connack_properties
        a.disconnect()
        a = v5(broker.port, "myclientid", keepalive=30)
        assert getattr(a.connack_properties, "ServerKeepAlive", 30) == 30, a.connack_properties
        a.disconnect()
    with Broker("max_keepalive 1") as broker:
        a = v5(broker.port, "myclientid", keepalive=120, loop=False)
        assert a.connack_properties.ServerKeepAlive == 1
        start = time.monotonic()
        rc, _ = a.wait_disconnected(timeout=5)
        elapsed = time.monotonic() - start
        assert rc == 0x8D and 1.3 <= elapsed <= 3.0, (rc, elapsed)


def test_flow_control_client_receive_maximum(broker):
    """With the client's Receive Maximum at 2, the broker has at most 2 unacknowledged QoS 1/2 PUBLISH
    packets out to it [MQTT-3.3.4-9] [MQTT-4.9.0-2], still answers other packets meanwhile [MQTT-3.3.4-10]
    [MQTT-4.9.0-3], and sends the next one when one is acknowledged."""
    sub = RawClient(broker.port)
    sub.connect("myclientid", level=5, props=prop_u16(RECEIVE_MAXIMUM, 2))
    sub.send(subscribe_packet(1, [(TOPICS[0], 2)], level=5))
    assert sub.recv_packet()[0] == 0x90

    pub = v5(broker.port, "myclientid2")
    for i in (1, 2, 3):
        pub.publish(TOPICS[0], f"message {i}".encode(), 1)  # PUBACK: routed to the subscriber's worker
    p1 = publish_fields(*sub.recv_packet())
    p2 = publish_fields(*sub.recv_packet())
    assert [p1[4], p2[4]] == [b"message 1", b"message 2"]
    # The third is held back: a PINGREQ sent now is answered before any further PUBLISH.
    sub.send(b"\xc0\x00")
    assert sub.recv_packet() == (0xD0, b""), "a third PUBLISH went out beyond Receive Maximum 2"
    sub.send(puback(p1[3]))
    p3 = publish_fields(*sub.recv_packet())
    assert p3[4] == b"message 3"
    sub.send(puback(p2[3]))
    sub.send(puback(p3[3]))
    sub.send(b"\xc0\x00")
    assert sub.recv_packet() == (0xD0, b"")
    pub.disconnect()


def test_flow_control_server_receive_maximum():
    """The broker's Receive Maximum (max_inflight_messages) is in CONNACK; a client with more unacknowledged
    QoS 2 PUBLISH packets than that gets DISCONNECT 0x93 Receive Maximum exceeded [MQTT-3.3.4-7]."""
    with Broker("max_inflight_messages 5") as broker:
        c = RawClient(broker.port)
        connack = c.connect("myclientid", level=5)
        assert bytes([RECEIVE_MAXIMUM]) + struct.pack("!H", 5) in connack, connack
        for pid in range(1, 7):  # never PUBREL: all 6 stay unacknowledged
            c.send(publish_packet(TOPICS[0], f"message {pid}", qos=2, pid=pid, level=5))
        packets = []
        while True:
            try:
                packets.append(c.recv_packet())
            except ConnectionError:
                break
        assert [p[0] for p in packets[:5]] == [0x50] * 5, packets
        assert len(packets) == 6 and packets[5][0] == 0xE0 and packets[5][1][:1] == b"\x93", packets


def _will_client(port, delay, expiry):
    wp = props(PacketTypes.WILLMESSAGE, WillDelayInterval=delay)
    return v5(port, "myclientid", loop=False, properties=connect_props(SessionExpiryInterval=expiry),
              will=(TOPICS[0], b"will delay", 0, False, wp))


def test_will_delay(broker):
    """The will is published Will Delay Interval after the connection ends, or when the session ends if
    that is sooner [MQTT-3.1.2-8]; not at all if the session resumes within the delay [MQTT-3.1.3-9]."""
    b = v5(broker.port, "myclientid2")
    b.subscribe(TOPICS[0], 2)
    for delay, expiry, expected in ((2, 4, 2.0), (5, 0, 0.0), (5, 2, 2.0)):
        a = _will_client(broker.port, delay, expiry)
        a.kill()
        start = time.monotonic()
        m = b.get(timeout=expected + 3, what=f"will (delay {delay}, expiry {expiry})")
        elapsed = time.monotonic() - start
        assert m.payload == b"will delay"
        assert expected - 0.3 <= elapsed <= expected + 1.5, \
            f"will delay {delay}, session expiry {expiry}: will after {elapsed:.2f}s, expected {expected}s"

    # Back within the delay: the will is not sent.
    a = _will_client(broker.port, 2, 10)
    a.kill()
    a = v5(broker.port, "myclientid", clean=False, properties=connect_props(SessionExpiryInterval=10))
    assert a.session_present
    time.sleep(3.0)  # past the delay (+ the broker's 0.5 s tick)
    a.publish(TOPICS[0], SENTINEL, 2)  # same client id, same worker as the will would have been published on
    assert [m.payload for m in b.until(SENTINEL)] == [], "will published although the session resumed"
    a.disconnect()
    b.disconnect()


def test_shared_subscriptions(broker):
    """Shared subscriptions: a non-shared filter delivers to every subscriber; $share/<name>/<filter>
    delivers each message to one member of the group only [MQTT-4.8.2-1] [MQTT-4.8.2-2] [MQTT-4.8.2-3]."""
    shared_sub = "$share/sharename/" + TOPICS[0] + "/x"
    shared_pub = TOPICS[0] + "/x"
    a = v5(broker.port, "myclientid")
    b = v5(broker.port, "myclientid2")
    for c in (a, b):
        assert codes(c.subscribe([(shared_sub, SubscribeOptions(2)), (TOPICS[0], SubscribeOptions(2))])) == [2, 2]

    b.publish(TOPICS[0], b"message 0", 0)
    assert a.get().payload == b"message 0"
    assert b.get().payload == b"message 0"

    count = 10
    for i in range(count):
        b.publish(shared_pub, f"shared {i}".encode(), 1)
    b.publish(TOPICS[0], SENTINEL, 2)
    got = [m.payload for m in a.until(SENTINEL)] + [m.payload for m in b.until(SENTINEL)]
    assert sorted(got) == sorted(f"shared {i}".encode() for i in range(count)), "each message once, to one member"
    a.disconnect()
    b.disconnect()
