"""MQTT 5 server behaviour, byte by byte over a raw socket: properties the broker sends and honours,
reason codes, topic aliases, flow control, session expiry and will delay. Each test names the statement
of the specification it checks."""
import struct
import time

from harness import Broker, RawClient, mqtt_string, packet, varint, wait_for

# Property identifiers (MQTT 5.0 section 2.2.2.2).
PFI, EXPIRY, RESPONSE_INFO, SUB_ID, SESSION_EXPIRY, WILL_DELAY = 0x01, 0x02, 0x1A, 0x0B, 0x11, 0x18
REQUEST_RESPONSE, RECEIVE_MAX, ALIAS_MAX, ALIAS, MAX_PACKET = 0x19, 0x21, 0x22, 0x23, 0x27

_BYTE = {PFI, REQUEST_RESPONSE, 0x24, 0x25, 0x28, 0x29, 0x2A, 0x17}
_TWO = {RECEIVE_MAX, ALIAS_MAX, ALIAS, 0x13}
_FOUR = {EXPIRY, SESSION_EXPIRY, WILL_DELAY, MAX_PACKET}
_STRING = {0x03, 0x08, 0x09, 0x12, 0x15, 0x16, RESPONSE_INFO, 0x1C, 0x1F}


def prop(pid, value):
    if pid in _BYTE:
        return bytes([pid, value])
    if pid in _TWO:
        return bytes([pid]) + struct.pack("!H", value)
    if pid in _FOUR:
        return bytes([pid]) + struct.pack("!I", value)
    if pid == SUB_ID:
        return bytes([pid]) + varint(value)
    return bytes([pid]) + mqtt_string(value)


def read_varint(b, i):
    mult, value = 1, 0
    while True:
        value += (b[i] & 0x7F) * mult
        mult *= 128
        i += 1
        if not b[i - 1] & 0x80:
            return value, i


def parse_props(b, i):
    """Returns ({id: [values]}, index after the property block)."""
    length, i = read_varint(b, i)
    end, props = i + length, {}
    while i < end:
        pid = b[i]
        i += 1
        if pid in _BYTE:
            v, i = b[i], i + 1
        elif pid in _TWO:
            v, i = struct.unpack_from("!H", b, i)[0], i + 2
        elif pid in _FOUR:
            v, i = struct.unpack_from("!I", b, i)[0], i + 4
        elif pid == SUB_ID:
            v, i = read_varint(b, i)
        elif pid == 0x26:  # user property
            n = struct.unpack_from("!H", b, i)[0]
            k = b[i + 2:i + 2 + n].decode()
            i += 2 + n
            n = struct.unpack_from("!H", b, i)[0]
            v = (k, b[i + 2:i + 2 + n].decode())
            i += 2 + n
        else:
            n = struct.unpack_from("!H", b, i)[0]
            v, i = b[i + 2:i + 2 + n], i + 2 + n
        props.setdefault(pid, []).append(v)
    return props, end


def connect5(client_id, props=b"", clean=True, keepalive=60, will=None, will_props=b""):
    flags = 0x02 if clean else 0
    payload = mqtt_string(client_id)
    if will:
        topic, msg, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += varint(len(will_props)) + will_props + mqtt_string(topic) + mqtt_string(msg)
    body = mqtt_string("MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive) + varint(len(props)) + props
    return packet(0x10, body + payload)


def publish5(topic, payload, qos=0, pid=1, retain=False, props=b""):
    body = mqtt_string(topic) + (struct.pack("!H", pid) if qos else b"") + varint(len(props)) + props
    return packet(0x30 | (qos << 1) | (1 if retain else 0), body + payload)


def subscribe5(pid, filt, qos=0, sub_id=None, rh=0, no_local=False):
    props = prop(SUB_ID, sub_id) if sub_id else b""
    opts = qos | (0x04 if no_local else 0) | (rh << 4)
    body = struct.pack("!H", pid) + varint(len(props)) + props + mqtt_string(filt) + bytes([opts])
    return packet(0x82, body)


def puback5(pid):
    return packet(0x40, struct.pack("!H", pid))


def parse_publish(first, body):
    qos = (first >> 1) & 3
    n = struct.unpack_from("!H", body, 0)[0]
    topic = body[2:2 + n].decode()
    i = 2 + n
    pid = None
    if qos:
        pid = struct.unpack_from("!H", body, i)[0]
        i += 2
    props, i = parse_props(body, i)
    return {"topic": topic, "qos": qos, "pid": pid, "props": props, "payload": body[i:], "dup": bool(first & 8),
            "retain": bool(first & 1)}


class V5(RawClient):
    def connect5(self, client_id, **kw):
        self.send(connect5(client_id, **kw))
        first, body = self.recv_packet()
        assert first == 0x20
        props, _ = parse_props(body, 2)
        return body[0], body[1], props  # session present, reason, properties

    def subscribe(self, pid, filt, **kw):
        self.send(subscribe5(pid, filt, **kw))
        first, body = self.recv_packet()
        assert first == 0x90, hex(first)
        _, i = parse_props(body, 2)
        return body[i:]

    def next_publish(self, timeout=5.0):
        first, body = self.recv_packet(timeout)
        assert first >> 4 == 3, f"expected PUBLISH, got {first:#x}"
        return parse_publish(first, body)

    def expect_disconnect(self, reason):
        first, body = self.recv_packet()
        assert first == 0xE0, f"expected DISCONNECT, got {first:#x}"
        assert body[0] == reason, f"reason {body[0]:#x}, expected {reason:#x}"
        assert self.expect_closed()

    def nothing_for(self, seconds):
        try:
            first, _ = self.recv_packet(seconds)
        except TimeoutError:
            return True
        except OSError as e:  # socket.timeout
            return "timed out" in str(e)
        raise AssertionError(f"unexpected packet {first:#x}")


def test_connack_advertises_limits_and_response_information(broker):
    """CONNACK says what the broker does: Receive Maximum, Topic Alias Maximum, Response Information
    [MQTT-3.1.2-28] (only when asked)."""
    c = V5(broker.port)
    present, rc, props = c.connect5("adv", props=prop(REQUEST_RESPONSE, 1))
    assert (present, rc) == (0, 0)
    assert props[RECEIVE_MAX] == [20] and props[ALIAS_MAX] == [10]
    assert props[RESPONSE_INFO] == [b"response/adv"]
    d = V5(broker.port)
    _, _, props = d.connect5("adv2")
    assert RESPONSE_INFO not in props


def test_overlapping_subscriptions_carry_every_identifier(broker):
    """[MQTT-3.3.4-3] [MQTT-3.3.4-4] one copy, with the identifiers of both matching subscriptions."""
    s = V5(broker.port)
    s.connect5("ids")
    assert s.subscribe(1, "a/+", qos=1, sub_id=7) == b"\x01"
    assert s.subscribe(2, "a/#", qos=0, sub_id=300) == b"\x00"
    p = V5(broker.port)
    p.connect5("idp")
    p.send(publish5("a/b", b"x", qos=1))
    m = s.next_publish()
    assert sorted(m["props"][SUB_ID]) == [7, 300] and m["qos"] == 1
    assert s.nothing_for(0.3)


def test_client_topic_aliases(broker):
    """[MQTT-3.3.2-12] an alias set with a topic stands for it afterwards; [MQTT-3.2.2-17] one above our
    Topic Alias Maximum ends the connection with 0x94."""
    s = V5(broker.port)
    s.connect5("alias-sub")
    s.subscribe(1, "long/topic/name")
    p = V5(broker.port)
    p.connect5("alias-pub")
    p.send(publish5("long/topic/name", b"one", props=prop(ALIAS, 3)))
    p.send(publish5("", b"two", props=prop(ALIAS, 3)))
    assert [(m["topic"], m["payload"]) for m in (s.next_publish(), s.next_publish())] == [
        ("long/topic/name", b"one"), ("long/topic/name", b"two")]
    p.send(publish5("x", b"bad", props=prop(ALIAS, 11)))
    p.expect_disconnect(0x94)


def test_alias_never_set_is_a_protocol_error(broker):
    p = V5(broker.port)
    p.connect5("alias-unset")
    p.send(publish5("", b"x", props=prop(ALIAS, 1)))
    p.expect_disconnect(0x82)


def test_broker_sends_topic_aliases_within_client_maximum(broker):
    """[MQTT-3.1.2-26] our aliases stay within the client's maximum; [MQTT-3.1.2-27] none when it allows
    none."""
    s = V5(broker.port)
    s.connect5("alias-out", props=prop(ALIAS_MAX, 1))
    s.subscribe(1, "t/#")
    plain = V5(broker.port)
    plain.connect5("alias-none")
    plain.subscribe(1, "t/#")
    p = V5(broker.port)
    p.connect5("alias-src")
    for topic in ["t/first", "t/first", "t/second", "t/first"]:
        p.send(publish5(topic, b"x"))
    got = [s.next_publish() for _ in range(4)]
    assert [(m["topic"], m["props"].get(ALIAS)) for m in got] == [
        ("t/first", [1]), ("", [1]), ("t/second", None), ("", [1])]
    for _ in range(4):
        assert ALIAS not in plain.next_publish()["props"]


def test_client_receive_maximum_caps_unacknowledged_messages(broker):
    """[MQTT-3.3.4-9] never more unacknowledged QoS 1 PUBLISH than the client's Receive Maximum."""
    s = V5(broker.port)
    s.connect5("rm-sub", props=prop(RECEIVE_MAX, 2))
    s.subscribe(1, "rm", qos=1)
    p = V5(broker.port)
    p.connect5("rm-pub")
    for i in range(5):
        p.send(publish5("rm", str(i).encode(), qos=1, pid=i + 1))
    first, second = s.next_publish(), s.next_publish()
    assert s.nothing_for(0.5)
    s.send(puback5(first["pid"]))
    third = s.next_publish()
    assert [m["payload"] for m in (first, second, third)] == [b"0", b"1", b"2"]


def test_exceeding_our_receive_maximum_disconnects_0x93():
    """[MQTT-3.3.4-7] a client sending more unacknowledged QoS 2 than our Receive Maximum gets 0x93."""
    with Broker("max_inflight_messages 2") as b:
        c = V5(b.port)
        assert c.connect5("rm-over")[2][RECEIVE_MAX] == [2]
        for pid in (1, 2):
            c.send(publish5("q2", b"x", qos=2, pid=pid))
            assert c.recv_packet()[0] == 0x50
        c.send(publish5("q2", b"x", qos=2, pid=3))
        c.expect_disconnect(0x93)


def test_message_above_client_maximum_packet_size_is_dropped_for_it_alone(broker):
    """[MQTT-3.1.2-24] [MQTT-3.1.2-25] a PUBLISH too large for a subscriber is not sent to it; others get it."""
    small = V5(broker.port)
    small.connect5("mps-small", props=prop(MAX_PACKET, 64))
    small.subscribe(1, "mps")
    big = V5(broker.port)
    big.connect5("mps-big")
    big.subscribe(1, "mps")
    p = V5(broker.port)
    p.connect5("mps-pub")
    p.send(publish5("mps", b"x" * 200))
    p.send(publish5("mps", b"small"))
    assert small.next_publish()["payload"] == b"small"
    assert big.next_publish()["payload"] == b"x" * 200


def test_puback_reason_codes(broker):
    """v5 PUBACK says 0x10 when nobody subscribes and 0x99 when a payload marked UTF-8 is not."""
    c = V5(broker.port)
    c.connect5("rc")
    c.send(publish5("nobody/here", b"x", qos=1, pid=1))
    assert c.recv_packet() == (0x40, b"\x00\x01\x10")
    c.subscribe(2, "utf")
    c.send(publish5("utf", b"\xff\xfe", qos=1, pid=3, props=prop(PFI, 1)))
    assert c.recv_packet() == (0x40, b"\x00\x03\x99")
    c.send(publish5("utf", "é".encode(), qos=1, pid=4, props=prop(PFI, 1)))
    assert c.recv_packet()[0] >> 4 in (3, 4)


def test_subscription_identifier_from_client_is_a_protocol_error(broker):
    """[MQTT-3.3.4-6] a client PUBLISH never carries a Subscription Identifier."""
    c = V5(broker.port)
    c.connect5("subid-pub")
    c.send(publish5("t", b"x", props=prop(SUB_ID, 4)))
    c.expect_disconnect(0x82)


def test_takeover_sends_disconnect_0x8e(broker):
    """[MQTT-3.1.4-3] the existing connection gets DISCONNECT 0x8E (session taken over)."""
    old = V5(broker.port)
    old.connect5("dup5")
    new = V5(broker.port)
    assert new.connect5("dup5")[1] == 0
    old.expect_disconnect(0x8E)


def test_keepalive_timeout_sends_disconnect_0x8d(broker):
    c = V5(broker.port)
    c.connect5("ka5", keepalive=1)
    first, body = c.recv_packet(timeout=4)
    assert (first, body[0]) == (0xE0, 0x8D)


def test_session_expiry_interval():
    """A session lives for its Session Expiry Interval after the connection ends, then it is gone."""
    with Broker() as b:
        c = V5(b.port)
        c.connect5("exp-short", props=prop(SESSION_EXPIRY, 1))
        c.subscribe(1, "exp", qos=1)
        c.close()
        d = V5(b.port)
        d.connect5("exp-long", props=prop(SESSION_EXPIRY, 60))
        d.subscribe(1, "exp", qos=1)
        d.close()
        time.sleep(2.2)  # the broker checks expiries twice a second
        p = V5(b.port)
        p.connect5("exp-pub")
        p.send(publish5("exp", b"queued", qos=1))
        assert p.recv_packet()[0] == 0x40
        short = V5(b.port)
        assert short.connect5("exp-short", clean=False)[0] == 0  # session present 0: expired
        long = V5(b.port)
        assert long.connect5("exp-long", clean=False)[0] == 1
        assert long.next_publish()["payload"] == b"queued"
        wait_for(lambda: "Session of client exp-short expired" in b.log(), what="expiry log line")


def test_session_expiry_zero_cannot_be_raised_on_disconnect(broker):
    """MQTT 5.0 3.14.2.2.2: Session Expiry 0 on CONNECT and non-zero on DISCONNECT is a protocol error."""
    c = V5(broker.port)
    c.connect5("exp-raise")
    props = prop(SESSION_EXPIRY, 30)
    c.send(packet(0xE0, b"\x00" + varint(len(props)) + props))
    c.expect_disconnect(0x82)


def test_will_delay_interval():
    """[MQTT-3.1.3-9] the will waits for its delay, and is not sent when the client is back in time."""
    with Broker() as b:
        w = V5(b.port)
        w.connect5("watcher")
        w.subscribe(1, "will/#")
        back = V5(b.port)
        back.connect5("comes-back", props=prop(SESSION_EXPIRY, 60), will=("will/back", b"gone", 0, False),
                      will_props=prop(WILL_DELAY, 2))
        gone = V5(b.port)
        gone.connect5("stays-away", props=prop(SESSION_EXPIRY, 60), will=("will/away", b"gone", 0, False),
                      will_props=prop(WILL_DELAY, 1))
        back.sock.close()
        gone.sock.close()
        assert w.nothing_for(0.6)
        again = V5(b.port)
        assert again.connect5("comes-back", clean=False)[0] == 1
        m = w.next_publish(timeout=3)
        assert m["topic"] == "will/away"
        assert w.nothing_for(2.0)


def test_retain_handling_one_sends_retained_only_for_new_subscription(broker):
    p = V5(broker.port)
    p.connect5("rh-pub")
    p.send(publish5("rh", b"kept", retain=True, qos=1))
    assert p.recv_packet()[0] == 0x40
    s = V5(broker.port)
    s.connect5("rh-sub")
    s.subscribe(1, "rh", rh=1)
    assert s.next_publish()["retain"]
    s.subscribe(2, "rh", rh=1)
    assert s.nothing_for(0.3)
    s.subscribe(3, "rh", rh=0)
    assert s.next_publish()["payload"] == b"kept"
    s.subscribe(4, "rh/#", rh=2)
    assert s.nothing_for(0.3)


def shared_members(port, n, group="g", filt="sh/#", qos=1, prefix="m"):
    members = []
    for i in range(n):
        c = V5(port)
        c.connect5(f"{prefix}{i}")
        assert c.subscribe(1, f"$share/{group}/{filt}", qos=qos) == bytes([qos])
        members.append(c)
    return members


def drain(client, limit=0.4):
    got = []
    while True:
        try:
            got.append(client.next_publish(timeout=limit))
        except (TimeoutError, OSError):
            return got


def test_shared_subscription_delivers_each_message_to_one_member():
    """[MQTT-4.8.2-3] each message of a shared group goes to one member, at that member's QoS; a normal
    subscriber still gets every message."""
    with Broker(workers=2) as b:
        members = shared_members(b.port, 3)
        normal = V5(b.port)
        normal.connect5("normal")
        normal.subscribe(1, "sh/#")
        p = V5(b.port)
        p.connect5("sh-pub")
        for i in range(30):
            p.send(publish5("sh/x", str(i).encode()))
        got = [drain(m) for m in members]
        payloads = sorted(int(m["payload"]) for g in got for m in g)
        assert payloads == list(range(30))
        assert all(len(g) == 10 for g in got), [len(g) for g in got]  # round robin
        assert len(drain(normal)) == 30


def test_two_groups_each_get_every_message(broker):
    a = shared_members(broker.port, 2, group="a", prefix="ga")
    z = shared_members(broker.port, 2, group="z", prefix="gz")
    p = V5(broker.port)
    p.connect5("two-groups")
    for i in range(4):
        p.send(publish5("sh/t", str(i).encode()))
    assert sum(len(drain(m)) for m in a) == 4
    assert sum(len(drain(m)) for m in z) == 4


def test_unacknowledged_messages_of_a_leaving_member_go_to_another(broker):
    """A member whose session ends with QoS 1 messages unacknowledged: they go to another member."""
    quiet, other = shared_members(broker.port, 2, prefix="leave")
    p = V5(broker.port)
    p.connect5("leave-pub")
    for i in range(4):
        p.send(publish5("sh/t", str(i).encode(), qos=1, pid=i + 1))
    first = drain(quiet)
    second = drain(other)
    for m in second:
        other.send(puback5(m["pid"]))
    assert len(first) == 2 and len(second) == 2
    quiet.sock.close()  # clean start, session expiry 0: its session ends now
    again = drain(other, limit=1.0)
    assert sorted(m["payload"] for m in again) == sorted(m["payload"] for m in first)


def test_shared_subscription_gets_no_retained_messages_and_no_local_is_refused(broker):
    p = V5(broker.port)
    p.connect5("sh-ret")
    p.send(publish5("sh/r", b"kept", retain=True, qos=1))
    assert p.recv_packet()[0] == 0x40
    (m,) = shared_members(broker.port, 1, prefix="ret")
    assert m.nothing_for(0.3)
    c = V5(broker.port)
    c.connect5("sh-nolocal")
    c.send(subscribe5(1, "$share/g/x", no_local=True))
    c.expect_disconnect(0x82)  # [MQTT-3.8.3-4]


def test_hash_topic_strategy_keeps_a_topic_on_one_member():
    with Broker("shared_subscription_strategy hash_topic") as b:
        members = shared_members(b.port, 3, prefix="ht")
        p = V5(b.port)
        p.connect5("ht-pub")
        for i in range(12):
            p.send(publish5(f"sh/{i % 3}", str(i).encode()))
        got = [drain(m) for m in members]
        assert sum(len(g) for g in got) == 12
        for g in got:
            for m in g:
                owners = [k for k, h in enumerate(got) if any(x["topic"] == m["topic"] for x in h)]
                assert len(owners) == 1
