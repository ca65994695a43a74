"""A paho-mqtt 1.6 client for the interoperability tests (test_paho_interop*.py): every callback feeds a
queue, every wait has a deadline, and a client can be "killed" (its socket closed without DISCONNECT) to
make the broker see an abnormal end of the connection.

Two modes:
- loop=True: paho's network thread runs (loop_start); the client answers PINGREQ/acks on its own.
- loop=False: nothing runs in the background. The CONNACK is pumped in by hand, then the client stays
  silent (no PINGREQ, no acknowledgement) until `pump()` is called: the "paused" client of the Paho suite.
"""
import queue
import socket
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCodes
from paho.mqtt.subscribeoptions import SubscribeOptions

TIMEOUT = 5.0
HOST = "127.0.0.1"

__all__ = ["Client", "Properties", "PacketTypes", "SubscribeOptions", "props", "TIMEOUT"]


def props(packet_type, **values):
    """Properties(packet_type) with attributes set: props(PacketTypes.PUBLISH, MessageExpiryInterval=5).
    `UserProperty` takes a list of (name, value) pairs, kept in order."""
    p = Properties(packet_type)
    for name, value in values.items():
        if name == "UserProperty":
            for pair in value:
                p.UserProperty = pair  # paho appends each assignment to the list
        else:
            setattr(p, name, value)
    return p


class _Paho(mqtt.Client):
    def _handle_disconnect(self):
        # paho 1.6 reads a server DISCONNECT's reason code only when properties follow (remaining length
        # above 2), so a DISCONNECT of a reason code alone (remaining length 1, MQTT 5.0 section 3.14.2.1) or
        # with an empty property length (2) is reported as a lost connection, without its reason code.
        if self._protocol == mqtt.MQTTv5 and self._in_packet["remaining_length"] in (1, 2):
            rc = ReasonCodes(PacketTypes.DISCONNECT)
            rc.unpack(self._in_packet["packet"])
            self._loop_rc_handle(rc, None)
            return mqtt.MQTT_ERR_SUCCESS
        return super()._handle_disconnect()


def _get(q, timeout, what):
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


class Client:
    def __init__(self, port, client_id="", v5=False, clean=True, keepalive=30, will=None, properties=None,
                 loop=True, expect_rc=0):
        """will: (topic, payload, qos, retain[, Properties]). properties: CONNECT properties (v5).
        expect_rc: the CONNACK return/reason code expected (None: do not wait for a CONNACK)."""
        self.v5 = v5
        self.port = port
        self.client_id = client_id
        self.loop = loop
        self.messages = queue.Queue()
        self.connacks = queue.Queue()
        self.subacks = queue.Queue()
        self.unsubacks = queue.Queue()
        self.disconnects = queue.Queue()
        if v5:
            self.client = _Paho(client_id=client_id, protocol=mqtt.MQTTv5, reconnect_on_failure=False)
            self.client.on_connect = lambda c, u, flags, rc, p: self.connacks.put((flags, rc, p))
            self.client.on_subscribe = lambda c, u, mid, codes, p: self.subacks.put((mid, codes, p))
            self.client.on_unsubscribe = lambda c, u, mid, p, codes: self.unsubacks.put((mid, codes, p))
            self.client.on_disconnect = lambda c, u, rc, p=None: self.disconnects.put((rc, p))
        else:
            self.client = _Paho(client_id=client_id, clean_session=clean, protocol=mqtt.MQTTv311,
                                      reconnect_on_failure=False)
            self.client.on_connect = lambda c, u, flags, rc: self.connacks.put((flags, rc, None))
            self.client.on_subscribe = lambda c, u, mid, granted: self.subacks.put((mid, granted, None))
            self.client.on_unsubscribe = lambda c, u, mid: self.unsubacks.put((mid, None, None))
            self.client.on_disconnect = lambda c, u, rc: self.disconnects.put((rc, None))
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        if will:
            topic, payload, qos, retain = will[:4]
            self.client.will_set(topic, payload, qos, retain, properties=will[4] if len(will) > 4 else None)
        if v5:
            self.client.connect(HOST, port, keepalive, clean_start=clean, properties=properties)
        else:
            self.client.connect(HOST, port, keepalive)
        if loop:
            self.client.loop_start()
        self.flags = self.rc = self.connack_properties = None
        if expect_rc is not None:
            self.flags, self.rc, self.connack_properties = self.wait_connack()
            assert self.rc == expect_rc, f"CONNACK {self.rc}, expected {expect_rc}"

    # -- connection ---------------------------------------------------------------------------------
    def wait_connack(self, timeout=TIMEOUT):
        if self.loop:
            return _get(self.connacks, timeout, "CONNACK")
        deadline = time.monotonic() + timeout
        while self.connacks.empty():
            assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for CONNACK"
            self.client.loop(timeout=0.05)
        return self.connacks.get_nowait()

    @property
    def session_present(self):
        return bool(self.flags["session present"])

    def pump(self, seconds):
        """loop=False: process network traffic for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.client.loop(timeout=0.05)

    def disconnect(self, properties=None, reasoncode=None):
        """A normal DISCONNECT (the will is discarded), then the network thread is stopped."""
        if self.v5:
            self.client.disconnect(reasoncode=reasoncode, properties=properties)
        else:
            self.client.disconnect()
        if self.loop:
            self.client.loop_stop()
        else:
            self.pump(0.1)

    def kill(self):
        """Ends the connection without DISCONNECT, as a crashed client would: the broker publishes the will."""
        sock = self.client.socket()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.loop:
            self.client.loop_stop()  # the network thread sees the close and ends (reconnect_on_failure=False)
        try:
            sock.close()
        except (OSError, AttributeError):
            pass

    def wait_disconnected(self, timeout=TIMEOUT):
        """The broker ended the connection: returns (reason code, properties) of on_disconnect."""
        if self.loop:
            return _get(self.disconnects, timeout, "the broker to close the connection")
        deadline = time.monotonic() + timeout
        while self.disconnects.empty():
            assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for the broker to disconnect"
            self.client.loop(timeout=0.05)
        return self.disconnects.get_nowait()

    # -- requests -----------------------------------------------------------------------------------
    def _wait_ack(self, q, mid, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"timed out after {timeout}s waiting for {what}"
            if not self.loop:
                self.client.loop(timeout=0.05)
                try:
                    got = q.get_nowait()
                except queue.Empty:
                    continue
            else:
                got = _get(q, left, what)
            if got[0] == mid:
                return got

    def subscribe(self, topic, qos=0, properties=None, **options):
        """Subscribes and waits for the SUBACK; returns its codes (3.1.1: granted QoS list; v5: ReasonCodes).
        topic may be a list of (filter, qos or SubscribeOptions) pairs. v5 keyword options: noLocal,
        retainAsPublished, retainHandling."""
        if isinstance(topic, list):
            rc, mid = self.client.subscribe(topic, properties=properties)
        elif self.v5:
            rc, mid = self.client.subscribe(topic, options=SubscribeOptions(qos=qos, **options), properties=properties)
        else:
            rc, mid = self.client.subscribe(topic, qos)
        assert rc == mqtt.MQTT_ERR_SUCCESS, rc
        return self._wait_ack(self.subacks, mid, f"SUBACK to {topic}")[1]

    def unsubscribe(self, topic):
        rc, mid = self.client.unsubscribe(topic)
        assert rc == mqtt.MQTT_ERR_SUCCESS, rc
        return self._wait_ack(self.unsubacks, mid, f"UNSUBACK to {topic}")[1]

    def publish(self, topic, payload=b"", qos=0, retain=False, properties=None, wait=True):
        """Publishes; with wait, until the exchange is complete (QoS 0: written; 1: PUBACK; 2: PUBCOMP)."""
        info = self.client.publish(topic, payload, qos, retain, properties=properties)
        if wait:
            if self.loop:
                info.wait_for_publish(timeout=TIMEOUT)
            else:
                deadline = time.monotonic() + TIMEOUT
                while not info.is_published() and time.monotonic() < deadline:
                    self.client.loop(timeout=0.05)
            assert info.is_published(), f"publish to {topic!r} (QoS {qos}) not completed within {TIMEOUT}s"
        return info

    # -- receiving ----------------------------------------------------------------------------------
    def get(self, timeout=TIMEOUT, what="a message"):
        if self.loop:
            return _get(self.messages, timeout, what)
        deadline = time.monotonic() + timeout
        while self.messages.empty():
            assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
            self.client.loop(timeout=0.05)
        return self.messages.get_nowait()

    def get_n(self, n, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        return [self.get(max(0.01, deadline - time.monotonic()), what=f"message {i + 1} of {n}") for i in range(n)]

    def until(self, payload, timeout=TIMEOUT):
        """Collects messages up to the one with `payload` (a sentinel published after what must not arrive);
        returns those before it. Messages of one publisher arrive in order [MQTT-4.6.0-6], so whatever was
        not delivered before the sentinel will not be delivered at all."""
        before = []
        deadline = time.monotonic() + timeout
        while True:
            m = self.get(max(0.01, deadline - time.monotonic()), what=f"sentinel {payload!r}")
            if m.payload == payload:
                return before
            before.append(m)

    def nothing(self, wait=0.3):
        """No message within `wait` seconds (only where no sentinel can be used)."""
        try:
            m = self.get(wait)
        except AssertionError:
            return
        raise AssertionError(f"unexpected message on {m.topic!r}: {m.payload!r}")
