"""Publish/subscribe through the real broker with clients we did not write (paho-mqtt, mosquitto_pub and
mosquitto_sub): wildcards, QoS levels, overlapping subscriptions, `$` rules, several workers. Topic matching
runs with one worker and with two: a lone worker matches only its own trie, several also the route index."""
import queue
import subprocess
import time

import paho.mqtt.client as mqtt
import pytest

from harness import Broker, RawClient, publish_packet, subscribe_packet, wait_for
from test_conformance5 import PUBACK, client, opts
from test_mqtt5 import publish5


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
def broker_n(request):
    b = Broker(workers=request.param)
    yield b
    b.stop()
    assert b.proc.returncode == 0, "broker did not stop cleanly:\n" + b.log()


class Paho:
    def __init__(self, port, client_id="", clean=True, protocol=mqtt.MQTTv311):
        self.messages = queue.Queue()
        self.client = mqtt.Client(client_id=client_id, clean_session=clean, protocol=protocol)
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.connected = queue.Queue()
        self.client.on_connect = lambda c, u, flags, rc: self.connected.put((flags, rc))
        self.subacks = queue.Queue()
        self.client.on_subscribe = lambda c, u, mid, granted: self.subacks.put(granted)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        self.flags, rc = self.connected.get(timeout=5)
        assert rc == 0

    def subscribe(self, topic, qos=0):
        self.client.subscribe(topic, qos)
        return self.subacks.get(timeout=5)

    def get(self, timeout=5):
        return self.messages.get(timeout=timeout)

    def nothing(self, wait=0.5):
        try:
            m = self.messages.get(timeout=wait)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected message on {m.topic}: {m.payload!r}")

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def test_mosquitto_clients_exchange_a_message(broker):
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", "lab/+/temp",
                            "-C", "1", "-v", "-W", "10"], stdout=subprocess.PIPE, text=True)
    # Wait until the subscription exists: publish retained-free probes until one arrives.
    time.sleep(0.3)
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", "lab/1/temp", "-m", "21.5"],
                   check=True, timeout=10)
    out, _ = sub.communicate(timeout=15)
    assert out == "lab/1/temp 21.5\n"


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_qos_round_trip(broker, qos):
    s = Paho(broker.port)
    assert s.subscribe("t/q", qos) == (qos,)
    p = Paho(broker.port)
    info = p.client.publish("t/q", b"payload", qos=qos)
    info.wait_for_publish(timeout=5)
    m = s.get()
    assert (m.topic, m.payload, m.qos, m.retain) == ("t/q", b"payload", qos, False)
    s.close()
    p.close()


def test_delivered_qos_is_minimum_of_published_and_granted(broker):
    s = Paho(broker.port)
    s.subscribe("min/#", 1)
    p = Paho(broker.port)
    p.client.publish("min/a", b"x", qos=2).wait_for_publish(timeout=5)
    assert s.get().qos == 1
    p.client.publish("min/a", b"y", qos=0).wait_for_publish(timeout=5)
    assert s.get().qos == 0


def test_wildcards(broker_n):
    s = Paho(broker_n.port)
    s.subscribe("a/+/c")
    s.subscribe("x/#")
    s.subscribe("d/+/+/+/+/+/+/+/+/+/#")  # deeper than a topic's levels kept inline
    p = Paho(broker_n.port)
    for t in ["a/b/c", "a/b/d", "a/c", "x", "x/y/z", "a//c", "d/1/2/3/4/5/6/7/8/9", "d/1/2/3/4/5/6/7/8/9/10/11"]:
        p.client.publish(t, t.encode())
    got = sorted(s.get().topic for _ in range(6))
    assert got == ["a//c", "a/b/c", "d/1/2/3/4/5/6/7/8/9", "d/1/2/3/4/5/6/7/8/9/10/11", "x", "x/y/z"]
    s.nothing()


def test_overlapping_subscriptions_deliver_once_at_highest_qos(broker_n):
    """[MQTT-3.3.5-1] one message per matching client, at the maximum QoS of its matching subscriptions."""
    s = Paho(broker_n.port)
    s.subscribe("o/#", 0)
    s.subscribe("o/+", 2)
    s.subscribe("o/x", 1)
    p = Paho(broker_n.port)
    p.client.publish("o/x", b"1", qos=2).wait_for_publish(timeout=5)
    m = s.get()
    assert m.qos == 2
    s.nothing()


def test_no_matching_subscribers_is_about_filters(broker_n):
    """v5 PUBACK 0x10 (No matching subscribers) only when no filter matches: a matching No Local
    subscription of the publisher itself [MQTT-3.8.3-3] or a shared subscription counts as a match."""
    c = client(broker_n.port, "nm-self")
    c.sub(1, [("nm/own/#", opts(qos=1, no_local=True))])
    c.send(publish5("nm/own/x", b"x", qos=1, pid=1))
    assert c.ack_of(PUBACK)[2] == 0x00
    c.send(publish5("nm/none", b"x", qos=1, pid=2))
    assert c.ack_of(PUBACK)[2] == 0x10
    m = client(broker_n.port, "nm-member")
    m.sub(1, [("$share/g/nm/shared/+", opts(qos=1))])
    c.send(publish5("nm/shared/x", b"y", qos=1, pid=3))
    assert c.ack_of(PUBACK)[2] == 0x00
    assert m.next_publish()["payload"] == b"y"
    assert c.publishes() == []


def test_dollar_topics_not_matched_by_leading_wildcards(broker_n):
    """[MQTT-4.7.2-1] `#` and `+` at the first level do not match topics starting with `$`."""
    s = Paho(broker_n.port)
    s.subscribe("#")
    s.subscribe("+/broker/#")
    s.subscribe("+/x")
    d = Paho(broker_n.port)
    d.subscribe("$SYS/broker/uptime")
    # $SYS is published every sys_interval (10 s by default); the direct subscriber sees it retained.
    m = d.get(timeout=15)
    assert m.topic == "$SYS/broker/uptime"
    # A client's own `$` topic, matched when published.
    d.subscribe("$app/+")
    p = Paho(broker_n.port)
    p.client.publish("$app/x", b"1", qos=1).wait_for_publish(timeout=5)
    assert d.get().topic == "$app/x"
    s.nothing(1.0)


def test_clients_cannot_publish_into_sys(broker):
    d = Paho(broker.port)
    d.subscribe("$SYS/test/#")
    p = Paho(broker.port)
    p.client.publish("$SYS/test/x", b"forged", qos=1).wait_for_publish(timeout=5)
    d.nothing()


def test_messages_cross_workers(broker2):
    """With two workers, sessions hash to different threads; every subscriber still gets every message."""
    subs = [Paho(broker2.port, client_id=f"sub-{i}") for i in range(8)]
    for s in subs:
        s.subscribe("w/#", 1)
    pubs = [Paho(broker2.port, client_id=f"pub-{i}") for i in range(4)]
    for i, p in enumerate(pubs):
        for n in range(5):
            p.client.publish(f"w/{i}", f"{i}-{n}".encode(), qos=1)
    for s in subs:
        got = sorted(s.get().payload.decode() for _ in range(20))
        assert got == sorted(f"{i}-{n}" for i in range(4) for n in range(5))
        s.nothing(0.2)


def test_order_kept_per_publisher(broker2):
    s = Paho(broker2.port, client_id="order-sub")
    s.subscribe("ord", 1)
    p = Paho(broker2.port, client_id="order-pub")
    for n in range(200):
        p.client.publish("ord", str(n).encode(), qos=1)
    got = [int(s.get().payload) for _ in range(200)]
    assert got == list(range(200))
