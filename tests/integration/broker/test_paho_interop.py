"""The Eclipse Paho MQTT 3.1.1 interoperability suite (paho.mqtt.testing, interoperability/client_test.py),
rewritten as pytest tests against the real starling binary with the paho-mqtt client: the same scenarios
and checks, our own code. Each test gets its own broker (harness.Broker), so no clean-up between tests.

Where the Paho suite sleeps and then counts messages, these tests wait for the expected messages with a
deadline and prove an absence with a sentinel: a message published after the one that must not arrive,
by the same client, so per-publisher ordering [MQTT-4.6.0-6] makes "not before the sentinel" mean "never".
Sentinels go at QoS 2: paho hands a QoS 2 message to the application only at PUBREL, so a QoS 1 sentinel
could overtake an earlier QoS 2 message on its way to on_message.
"""
import struct
import time

import pytest

from harness import Broker, RawClient, connect_packet, subscribe_packet
from paho_client import Client

# The Paho suite's topic names and filters.
TOPICS = ("TopicA", "TopicA/B", "Topic/C", "TopicA/C", "/TopicA")
WILDTOPICS = ("TopicA/+", "+/C", "#", "/#", "/+", "+/+", "TopicA/#")
NOSUBSCRIBE_TOPICS = ("nosubscribe",)

SENTINEL = b"sentinel"


def test_basic(broker):
    """Connect, disconnect and connect again; subscribe at QoS 2 and receive our own publications at QoS 0,
    1 and 2, in order [MQTT-3.1.4-4] [MQTT-3.2.2-1] [MQTT-3.8.4-1] [MQTT-3.8.4-6] [MQTT-4.6.0-6]. A second
    CONNECT on a connection [MQTT-3.1.0-2] and a wrong protocol name [MQTT-3.1.2-1] end the connection."""
    a = Client(broker.port, "myclientid")
    a.disconnect()

    a = Client(broker.port, "myclientid")
    assert a.subscribe(TOPICS[0], 2) == (2,)
    for qos in (0, 1, 2):
        a.publish(TOPICS[0], f"qos {qos}".encode(), qos)
    got = a.get_n(3)
    assert [(m.topic, m.payload, m.qos) for m in got] == [(TOPICS[0], f"qos {q}".encode(), q) for q in (0, 1, 2)]
    a.disconnect()

    # A second CONNECT on the same network connection is a protocol violation.
    raw = RawClient(broker.port)
    assert raw.connect("myclientid") == b"\x00\x00"
    raw.send(connect_packet("myclientid"))
    assert raw.expect_closed(), "a second CONNECT did not close the connection"

    # Protocol name "hj": the broker must not accept the connection as MQTT.
    raw = RawClient(broker.port)
    raw.send(connect_packet("myclientid", name="hj"))
    assert raw.expect_closed(), "a CONNECT with protocol name 'hj' did not close the connection"
    assert not raw.buf.startswith(b"\x20\x02\x00\x00"), "CONNECT with protocol name 'hj' was accepted"


def test_retained_messages(broker):
    """Retained messages at QoS 0, 1 and 2 go to a later subscriber with RETAIN set, each at its own QoS
    [MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] [MQTT-3.8.4-6]; live forwarding clears RETAIN
    [MQTT-3.3.1-9]; empty retained publications delete them [MQTT-3.3.1-10] [MQTT-3.3.1-11]; a
    publication without RETAIN leaves them alone [MQTT-3.3.1-12]."""
    a = Client(broker.port, "myclientid")
    a.publish(TOPICS[1], b"qos 0", 0, retain=True)
    a.publish(TOPICS[2], b"qos 1", 1, retain=True)
    a.publish(TOPICS[3], b"qos 2", 2, retain=True)
    a.publish(TOPICS[3], SENTINEL, 0, retain=False)  # not retained: must not replace the retained message
    a.subscribe(WILDTOPICS[5], 2)
    got = sorted((m.topic, m.payload, m.qos, m.retain) for m in a.get_n(3))
    assert got == sorted([(TOPICS[1], b"qos 0", 0, True), (TOPICS[2], b"qos 1", 1, True),
                          (TOPICS[3], b"qos 2", 2, True)])
    # An established subscription receives a retained publication with RETAIN 0.
    a.publish(TOPICS[1], b"live", 1, retain=True)
    m = a.get()
    assert (m.topic, m.payload, m.retain) == (TOPICS[1], b"live", False)
    a.disconnect()

    # Clear them: a zero-length retained publication deletes the retained message of its topic.
    a = Client(broker.port, "myclientid")
    a.publish(TOPICS[1], b"", 0, retain=True)
    a.publish(TOPICS[2], b"", 1, retain=True)
    a.publish(TOPICS[3], b"", 2, retain=True)
    a.subscribe(WILDTOPICS[5], 2)
    a.publish(TOPICS[1], SENTINEL, 2)
    assert [(m.topic, m.payload) for m in a.until(SENTINEL)] == [], "deleted retained messages were delivered"
    a.disconnect()


def test_zero_length_clientid(broker):
    """An empty client id with CleanSession 0 is refused with CONNACK 0x02 and the connection closed
    [MQTT-3.1.3-8]; with CleanSession 1 the broker assigns an id and accepts [MQTT-3.1.3-6] [MQTT-3.1.3-7].
    (paho itself refuses to send the first CONNECT, so it goes over a raw socket.)"""
    raw = RawClient(broker.port)
    raw.send(connect_packet("", clean=False))
    assert raw.recv_packet() == (0x20, b"\x00\x02")
    assert raw.expect_closed()

    c = Client(broker.port, "")
    c.subscribe("zero/len", 1)
    c.publish("zero/len", b"works", 1)
    assert c.get().payload == b"works"
    c.disconnect()


WILL_PAYLOAD_BUG = ("broker bug: Shard::publishWill (src/broker/shard.cpp) resets Session::will before "
                    "Message::create(init) copies init.topic/payload/properties, which are string_views into it: "
                    "a use-after-free. Will payloads of 16 bytes or more (heap-allocated std::string) arrive with "
                    "their first 16 bytes replaced by malloc metadata instead of the payload given in CONNECT "
                    "[MQTT-3.1.2-8]. Create the Message before resetting the will.")


def test_will_message():
    """A client that goes away without DISCONNECT has its will published [MQTT-3.1.2-8], at its QoS and
    not retained [MQTT-3.1.2-16], once [MQTT-3.1.2-10]. (Its own broker rather than the fixture, whose
    clean-stop check would turn a crash of a sanitizer build into a teardown error.)"""
    with Broker() as broker:
        b = Client(broker.port, "myclientid2", clean=False)
        b.subscribe(TOPICS[2], 2)
        a = Client(broker.port, "myclientid", keepalive=2, loop=False,
                   will=(TOPICS[2], b"client not disconnected", 1, False))
        a.kill()
        m = b.get()
        assert (m.topic, m.payload, m.qos, m.retain) == (TOPICS[2], b"client not disconnected", 1, False)
        b.nothing(0.3)
        b.disconnect()


@pytest.mark.parametrize("queue_qos0", [False, True], ids=["qos0-not-queued", "queue_qos0_messages"])
def test_offline_message_queueing(queue_qos0):
    """Messages for a disconnected client with a persistent session are kept and delivered when it comes
    back [MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.2.2-2]. QoS 0 ones may be kept (Paho accepts 2 or 3
    messages): Starling keeps them only with `queue_qos0_messages true`, as Mosquitto does."""
    with Broker("queue_qos0_messages true" if queue_qos0 else "") as broker:
        a = Client(broker.port, "myclientid", clean=False)
        a.subscribe(WILDTOPICS[5], 2)
        a.disconnect()

        b = Client(broker.port, "myclientid2")
        b.publish(TOPICS[1], b"qos 0", 0)
        b.publish(TOPICS[2], b"qos 1", 1)
        b.publish(TOPICS[3], b"qos 2", 2)

        a = Client(broker.port, "myclientid", clean=False)
        assert a.session_present
        b.publish(TOPICS[1], SENTINEL, 2)
        got = sorted((m.topic, m.payload, m.qos) for m in a.until(SENTINEL))
        expected = [(TOPICS[2], b"qos 1", 1), (TOPICS[3], b"qos 2", 2)]
        if queue_qos0:
            expected.append((TOPICS[1], b"qos 0", 0))
        assert got == sorted(expected)
        a.disconnect()
        b.disconnect()


def test_overlapping_subscriptions(broker):
    """Two matching subscriptions of one client (QoS 2 and 1): either one message at QoS 2 or one per
    subscription, at 2 and 1 [MQTT-3.3.5-1] [MQTT-3.8.4-4]. Starling sends one."""
    a = Client(broker.port, "myclientid")
    assert a.subscribe([(WILDTOPICS[6], 2), (WILDTOPICS[0], 1)]) == (2, 1)
    a.publish(TOPICS[3], b"overlapping topic filters", 2)
    a.publish(TOPICS[3], SENTINEL, 2)
    got = a.until(SENTINEL)
    assert all(m.payload == b"overlapping topic filters" for m in got)
    assert sorted(m.qos for m in got) in ([2], [1, 2]), [m.qos for m in got]
    assert len(got) == 1, "Starling sends one message for overlapping subscriptions"
    a.disconnect()


def test_keepalive(broker):
    """A client that sends nothing for one and a half keep-alive periods is disconnected by the broker
    [MQTT-3.1.2-24] and its will published [MQTT-3.1.2-8]."""
    b = Client(broker.port, "myclientid2", keepalive=0)
    b.subscribe(TOPICS[4], 2)
    # Paho's will payload is "keepalive expiry"; a shorter one keeps this test about keep-alive and clear of
    # the will payload bug (WILL_PAYLOAD_BUG, covered by test_will_message).
    a = Client(broker.port, "myclientid", keepalive=2, loop=False, will=(TOPICS[4], b"ka expiry", 0, False))
    start = time.monotonic()
    m = b.get(timeout=8, what="the will after keep-alive expiry")
    elapsed = time.monotonic() - start
    assert (m.topic, m.payload) == (TOPICS[4], b"ka expiry")
    assert 2.7 <= elapsed <= 5.0, f"will after {elapsed:.2f}s, expected 1.5 x 2 s (+ the broker's 0.5 s tick)"
    a.wait_disconnected()  # the broker closed the silent client's connection
    b.nothing(0.2)
    b.disconnect()


def _publish_fields(first, body):
    """(topic, qos, dup, packet id, payload) of a 3.1.1 PUBLISH."""
    tlen = struct.unpack("!H", body[:2])[0]
    topic = body[2:2 + tlen].decode()
    qos = (first >> 1) & 3
    pid = struct.unpack("!H", body[2 + tlen:4 + tlen])[0] if qos else 0
    return topic, qos, bool(first & 0x08), pid, body[2 + tlen + (2 if qos else 0):]


def test_redelivery_on_reconnect(broker):
    """QoS 1 and 2 messages sent to a client that did not acknowledge them before its connection dropped
    are sent again when it reconnects, with DUP set and the same packet ids [MQTT-4.4.0-1]
    [MQTT-3.3.1-1], and then complete. The paused subscriber of the Paho suite is a raw socket here:
    it receives both PUBLISH packets and never acknowledges them."""
    paused = RawClient(broker.port)
    paused.connect("myclientid2", clean=False)
    paused.send(subscribe_packet(1, [(WILDTOPICS[6], 2)]))
    assert paused.recv_packet() == (0x90, b"\x00\x01\x02")

    a = Client(broker.port, "myclientid")
    a.publish(TOPICS[1], b"", 1)
    a.publish(TOPICS[3], b"", 2)
    first = [_publish_fields(*paused.recv_packet()) for _ in range(2)]
    assert [(t, q, dup) for t, q, dup, _, _ in first] == [(TOPICS[1], 1, False), (TOPICS[3], 2, False)]
    paused.close()

    b = Client(broker.port, "myclientid2", clean=False)
    assert b.session_present
    got = b.get_n(2)
    assert [(m.topic, m.qos, bool(m.dup), m.mid, m.payload) for m in got] == \
        [(t, q, True, pid, b"") for t, q, _, pid, _ in first]
    b.disconnect()

    # Acknowledged now: nothing more is redelivered.
    b = Client(broker.port, "myclientid2", clean=False)
    a.publish(TOPICS[1], SENTINEL, 2)
    assert [(m.topic, m.payload) for m in b.until(SENTINEL)] == []
    b.disconnect()
    a.disconnect()


def test_subscribe_failure(tmp_path):
    """A subscription the server does not allow gets SUBACK return code 0x80 [MQTT-3.8.4-5]
    [MQTT-3.9.3-2]. The ACL (anonymous rules) allows everything but NOSUBSCRIBE_TOPICS[0]."""
    acl = tmp_path / "acl"
    acl.write_text(f"topic deny {NOSUBSCRIBE_TOPICS[0]}\ntopic readwrite #\n")
    with Broker(f"acl_file {acl}") as b:
        a = Client(b.port, "myclientid")
        assert a.subscribe(NOSUBSCRIBE_TOPICS[0], 2) == (0x80,)
        assert a.subscribe(TOPICS[0], 2) == (2,)
        a.disconnect()


def test_dollar_topics(broker):
    """Filters starting with a wildcard do not match topic names starting with '$' [MQTT-4.7.2-1]; a filter
    naming the '$' level does."""
    watcher = Client(broker.port, "watcher")
    watcher.subscribe("$" + TOPICS[1], 1)
    b = Client(broker.port, "myclientid2", keepalive=0)
    b.subscribe([(WILDTOPICS[5], 2), (WILDTOPICS[2], 2), ("+/B", 2)])
    b.publish("$" + TOPICS[1], b"", 1)
    b.publish(TOPICS[1], SENTINEL, 2)
    assert [(m.topic, m.payload) for m in b.until(SENTINEL)] == []
    m = watcher.get()
    assert m.topic == "$" + TOPICS[1]
    b.disconnect()
    watcher.disconnect()


def test_unsubscribe(broker):
    """After UNSUBSCRIBE of one of three filters (exact match [MQTT-3.10.4-1]), its messages stop
    [MQTT-3.10.4-2]; the other subscriptions stay; UNSUBACK is sent [MQTT-3.10.4-4]."""
    b = Client(broker.port, "myclientid2")
    for t in TOPICS[:3]:
        b.subscribe(t, 2)
    b.unsubscribe(TOPICS[0])

    a = Client(broker.port, "myclientid")
    a.publish(TOPICS[0], b"topic 0 - unsubscribed", 1)
    a.publish(TOPICS[1], b"topic 1", 1)
    a.publish(TOPICS[2], b"topic 2", 1)
    a.publish(TOPICS[2], SENTINEL, 2)
    got = [(m.topic, m.payload) for m in b.until(SENTINEL)]
    assert got == [(TOPICS[1], b"topic 1"), (TOPICS[2], b"topic 2")]
    b.disconnect()
    a.disconnect()
