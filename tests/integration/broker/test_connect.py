"""CONNECT handling of MQTT 3.1 and 3.1.1 on the server side [MQTT 3.1.1 section 3.1]."""
import socket
import struct

from harness import Broker, RawClient, connect_packet, mqtt_string, packet, publish_packet, subscribe_packet, wait_for


def test_v311_connack(broker):
    c = RawClient(broker.port)
    assert c.connect("c1") == b"\x00\x00"


def test_v31_mqisdp_accepted(broker):
    c = RawClient(broker.port)
    assert c.connect("c31", level=3) == b"\x00\x00"


def test_unsupported_level_gets_connack_1_and_close(broker):
    """[MQTT-3.1.2-2] unsupported protocol level: CONNACK 0x01, then the connection is closed."""
    c = RawClient(broker.port)
    c.send(connect_packet("bad", level=7))
    first, body = c.recv_packet()
    assert (first, body) == (0x20, b"\x00\x01")
    assert c.expect_closed()


def test_wrong_protocol_name_closes(broker):
    """[MQTT-3.1.2-1] a protocol name other than MQTT is a protocol violation."""
    c = RawClient(broker.port)
    c.send(connect_packet("bad", name="MQTX"))
    assert c.expect_closed()


def test_reserved_connect_flag_closes(broker):
    """[MQTT-3.1.2-3] the reserved flag must be 0."""
    body = mqtt_string("MQTT") + bytes([4, 0x03]) + struct.pack("!H", 60) + mqtt_string("r")
    c = RawClient(broker.port)
    c.send(packet(0x10, body))
    assert c.expect_closed()


def test_will_qos_without_will_flag_closes(broker):
    """[MQTT-3.1.2-13] will QoS must be 0 when the will flag is 0."""
    body = mqtt_string("MQTT") + bytes([4, 0x02 | 0x08]) + struct.pack("!H", 60) + mqtt_string("w")
    c = RawClient(broker.port)
    c.send(packet(0x10, body))
    assert c.expect_closed()


def test_password_without_username_closes_v311(broker):
    """[MQTT-3.1.2-22] 3.1.1: the password flag needs the user name flag."""
    c = RawClient(broker.port)
    c.send(connect_packet("p", password="secret"))
    assert c.expect_closed()


def test_first_packet_not_connect_closes(broker):
    """[MQTT-3.1.0-1] the first packet from the client must be CONNECT."""
    c = RawClient(broker.port)
    c.send(publish_packet("t", "x"))
    assert c.expect_closed()


def test_second_connect_closes(broker):
    """[MQTT-3.1.0-2] a second CONNECT is a protocol violation."""
    c = RawClient(broker.port)
    c.connect("twice")
    c.send(connect_packet("twice"))
    assert c.expect_closed()


def test_empty_client_id_with_clean_session_is_assigned(broker):
    """[MQTT-3.1.3-6] the server assigns an identifier to an empty one with clean session."""
    c = RawClient(broker.port)
    assert c.connect("", clean=True) == b"\x00\x00"
    c.send(subscribe_packet(1, [("e/#", 1)]))
    first, body = c.recv_packet()
    assert first == 0x90 and body == b"\x00\x01\x01"


def test_empty_client_id_with_persistent_session_is_rejected(broker):
    """[MQTT-3.1.3-8] empty client id and clean session 0: CONNACK 0x02, then close."""
    c = RawClient(broker.port)
    c.send(connect_packet("", clean=False))
    assert c.recv_packet() == (0x20, b"\x00\x02")
    assert c.expect_closed()


def test_zero_length_id_refused_when_disallowed():
    with Broker("allow_zero_length_clientid false") as b:
        c = RawClient(b.port)
        c.send(connect_packet("", clean=True))
        assert c.recv_packet() == (0x20, b"\x00\x02")


def test_anonymous_refused_when_not_allowed():
    with Broker(anonymous=False) as b:
        c = RawClient(b.port)
        c.send(connect_packet("anon"))
        assert c.recv_packet() == (0x20, b"\x00\x05")
        assert c.expect_closed()
        wait_for(lambda: "Client anon from 127.0.0.1" in b.log() and "anonymous access is not allowed" in b.log(),
                 what="the refusal in the log")


def test_max_keepalive_rejects_larger_keepalive_v311():
    with Broker("max_keepalive 30") as b:
        c = RawClient(b.port)
        c.send(connect_packet("k", keepalive=60))
        assert c.recv_packet() == (0x20, b"\x00\x02")
        ok = RawClient(b.port)
        assert ok.connect("k2", keepalive=20) == b"\x00\x00"


def test_max_connections_refuses_cleanly():
    with Broker("max_connections 2") as b:
        # The harness's readiness probe may still hold a slot for a moment: retry until both are in.
        def connected(cid):
            try:
                c = RawClient(b.port)
                return c if c.connect(cid) == b"\x00\x00" else None
            except (ConnectionError, OSError):
                return None
        a1 = wait_for(lambda: connected("m1"), what="first client")
        a2 = wait_for(lambda: connected("m2"), what="second client")
        # As Mosquitto does, a connection over the listener's limit is closed at accept, before CONNECT.
        a3 = RawClient(b.port)
        assert a3.expect_closed()
        assert "max_connections" in b.log()
        a1.close()
        # The freed slot is usable again.
        import time
        deadline = time.monotonic() + 5
        while True:
            a4 = RawClient(b.port)
            try:
                a4.send(connect_packet("m4"))
                if a4.recv_packet() == (0x20, b"\x00\x00"):
                    break
            except (ConnectionError, OSError):
                pass
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_connect_and_disconnect_are_logged(broker):
    c = RawClient(broker.port)
    c.connect("logme", keepalive=42)
    c.send(b"\xe0\x00")
    assert c.expect_closed()
    from harness import wait_for
    wait_for(lambda: "Client logme disconnected." in broker.log(), what="disconnect log line")
    assert "New client connected from 127.0.0.1" in broker.log()
    assert "as logme (p4, c1, k42)" in broker.log()


def test_takeover_closes_old_connection(broker):
    """[MQTT-3.1.4-2] a second connection with the same client id closes the first."""
    old = RawClient(broker.port)
    old.connect("same")
    new = RawClient(broker.port)
    assert new.connect("same") == b"\x00\x00"
    assert old.expect_closed()
    from harness import wait_for
    wait_for(lambda: "Client same already connected, closing old connection" in broker.log(), what="takeover log line")


def test_takeover_across_workers(broker2):
    """Connections land on any worker; the session's owner closes the old one whichever it is."""
    olds = []
    for i in range(6):
        c = RawClient(broker2.port)
        c.connect(f"dup-{i}")
        olds.append(c)
    for i in range(6):
        n = RawClient(broker2.port)
        assert n.connect(f"dup-{i}") == b"\x00\x00"
        assert olds[i].expect_closed()


def test_ipv6_loopback_default_listener():
    """With only -p and no config, the broker listens on 127.0.0.1 and ::1."""
    import subprocess
    from harness import STARLING, free_port, wait_for
    port = free_port()
    proc = subprocess.Popen([STARLING, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def ok(family, addr):
            try:
                with socket.socket(family, socket.SOCK_STREAM) as s:
                    s.settimeout(0.5)
                    s.connect((addr, port))
                    s.sendall(connect_packet("v6"))
                    return s.recv(4) == b"\x20\x02\x00\x00"
            except OSError:
                return False
        wait_for(lambda: ok(socket.AF_INET, "127.0.0.1"), what="IPv4 listener")
        if socket.has_ipv6:
            try:
                socket.socket(socket.AF_INET6).bind(("::1", 0))
                wait_for(lambda: ok(socket.AF_INET6, "::1"), what="IPv6 listener")
            except OSError:
                pass
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
