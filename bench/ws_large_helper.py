#!/usr/bin/env python3
"""Helper of bench/ws_large.sh: times round trips of a large payload over MQTT/TCP and MQTT/WebSocket with the
same client, paho-mqtt (Debian's python3-paho-mqtt, 1.6). One JSON line on stdout.

A round trip: the publisher publishes --size bytes to a topic, the subscriber (another paho client over the same
transport) receives it; the next publish starts when the previous message has arrived. --rounds alternate the
transports (tcp, ws, tcp, ws, ...; each round connects fresh clients, sends --warmup unmeasured messages, then
--count measured ones) so a change in the machine's load hits both alike. A round stops early once its measured
round trips took --budget seconds, warmup included, after at least one measured round trip (a broker that needs
seconds per message stays bounded; "n" says how many were measured).
--modes can add wspub (publisher over ws, subscriber over tcp) and wssub (the reverse) to tell the two directions
apart.

paho 1.6 masks every byte a WebSocket client sends in a Python loop (WebsocketWrapper._create_frame: about
0.1 s per MiB on this kind of machine), which would make the ws/tcp ratio a measure of paho. The helper
replaces that one function (same framing): --masking zero (default) sends the all-zero masking key, a value
RFC 6455 allows the client to pick (the broker still unmasks every byte, the client only copies), so the ratio
shows the broker's share as a client with native masking would see it; --masking fast masks with a random key
by an XOR on whole integers (about 4 ms per MiB in Python); --masking stock keeps paho's loop. The broker's CPU
time per measured message (--pid) is reported per mode as well. The time the client's masking takes per message is measured and
reported (mask_ms): it is part of the ws round trips.
"""
import argparse
import json
import os
import statistics
import struct
import sys
import threading
import time

from mqtt_wire import cpu_secs

try:
    import paho.mqtt.client as mqtt
except ImportError:
    print(json.dumps({"error": "paho-mqtt is not importable by " + sys.executable +
                      " (Debian: apt-get install python3-paho-mqtt; then PYTHON=/usr/bin/python3)"}))
    sys.exit(1)


def fast_mask(data, key):
    n = len(data)
    if n == 0:
        return bytearray()
    k = (bytes(key) * (n // 4 + 1))[:n]
    return bytearray((int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little"))


ZERO_KEY = False


def fast_create_frame(self, opcode, data, do_masking=1):
    """paho 1.6's WebsocketWrapper._create_frame with the masking loop replaced; same bytes on the wire."""
    header = bytearray()
    length = len(data)
    mask_key = bytearray(4) if ZERO_KEY else bytearray(os.urandom(4))
    header.append(1 << 7 | opcode)
    if length < 126:
        header.append(do_masking << 7 | length)
    elif length < 65536:
        header.append(do_masking << 7 | 126)
        header += struct.pack("!H", length)
    else:
        header.append(do_masking << 7 | 127)
        header += struct.pack("!Q", length)
    if do_masking == 1:
        return header + mask_key + (bytearray(data) if ZERO_KEY else fast_mask(data, mask_key))
    return header + data


def stock_mask(data, key):
    data = bytearray(data)
    for index in range(len(data)):
        data[index] ^= key[index % 4]
    return data


class Receiver:
    def __init__(self):
        self.cond = threading.Condition()
        self.got = 0
        self.size = None


def make_client(cid, transport, path):
    kw = {"client_id": cid, "clean_session": True, "protocol": mqtt.MQTTv311}
    if transport == "ws":
        kw["transport"] = "websockets"
    c = mqtt.Client(**kw)
    if transport == "ws":
        c.ws_set_options(path=path)
    c.max_inflight_messages_set(0)
    c.max_queued_messages_set(0)
    return c


def connect(c, port, timeout):
    ev = threading.Event()
    rc_box = []

    def on_connect(client, userdata, flags, rc):
        rc_box.append(rc)
        ev.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port, keepalive=60)
    c.loop_start()
    if not ev.wait(timeout):
        raise TimeoutError("no CONNACK")
    if rc_box[0] != 0:
        raise RuntimeError(f"CONNACK refused: {rc_box[0]}")


MODES = {"tcp": ("tcp", "tcp"), "ws": ("ws", "ws"), "wspub": ("ws", "tcp"), "wssub": ("tcp", "ws")}


def one_round(mode, a, payload, round_no, cpu):
    pub_t, sub_t = MODES[mode]
    port = {"tcp": a.tcp_port, "ws": a.ws_port}
    topic = f"wslarge/{mode}/{round_no}"
    rx = Receiver()
    sub = make_client(f"wslarge-sub-{mode}-{round_no}-{os.getpid()}", sub_t, a.path)
    pub = make_client(f"wslarge-pub-{mode}-{round_no}-{os.getpid()}", pub_t, a.path)

    def on_message(client, userdata, msg):
        with rx.cond:
            rx.got += 1
            rx.size = len(msg.payload)
            rx.cond.notify()

    sub.on_message = on_message
    subscribed = threading.Event()
    sub.on_subscribe = lambda *args: subscribed.set()
    try:
        connect(sub, port[sub_t], a.timeout)
        sub.subscribe(topic, a.qos)
        if not subscribed.wait(a.timeout):
            raise TimeoutError("no SUBACK")
        connect(pub, port[pub_t], a.timeout)
        times = []
        start = time.perf_counter()
        for i in range(a.warmup + a.count):
            if times and time.perf_counter() - start > a.budget:
                break
            t = time.perf_counter()
            with rx.cond:
                want = rx.got + 1
                pub.publish(topic, payload, qos=a.qos)
                if not rx.cond.wait_for(lambda: rx.got >= want, a.timeout):
                    raise TimeoutError(f"{mode}: message {i} not received within {a.timeout}s")
            if rx.size != len(payload):
                raise RuntimeError(f"{mode}: received {rx.size} bytes, sent {len(payload)}")
            if i >= a.warmup:
                times.append(time.perf_counter() - t)
            if i + 1 == a.warmup:
                c0 = cpu_secs(a.pid)
        c1 = cpu_secs(a.pid)
        if a.warmup == 0:
            c0 = c1 = None  # no clean start point: not measured
        if c0 is not None and c1 is not None:
            cpu.append(c1 - c0)
        return times
    finally:
        for c in (pub, sub):
            try:
                c.disconnect()
                c.loop_stop()
            except Exception:  # noqa: BLE001 - best effort teardown
                pass


def summary(times, cpu):
    s = sorted(times)
    return {
        "broker_cpu_ms_per_msg": round(sum(cpu) / len(s) * 1000, 3) if cpu and s else None,
        "n": len(s),
        "total_s": round(sum(s), 4),
        "median_ms": round(statistics.median(s) * 1000, 3) if s else None,
        "mean_ms": round(statistics.fmean(s) * 1000, 3) if s else None,
        "p90_ms": round(s[min(len(s) - 1, int(0.9 * len(s)))] * 1000, 3) if s else None,
        "min_ms": round(s[0] * 1000, 3) if s else None,
        "max_ms": round(s[-1] * 1000, 3) if s else None,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pid", type=int, default=0, help="broker PID: its CPU time per measured message")
    p.add_argument("--tcp-port", type=int, required=True)
    p.add_argument("--ws-port", type=int, required=True)
    p.add_argument("--path", default="/mqtt", help="WebSocket request path")
    p.add_argument("--size", type=int, default=1 << 20)
    p.add_argument("--count", type=int, default=20, help="measured round trips per round and transport")
    p.add_argument("--warmup", type=int, default=2, help="unmeasured round trips at the start of each round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--qos", type=int, choices=(0, 1), default=0)
    p.add_argument("--masking", choices=("zero", "fast", "stock"), default="zero")
    p.add_argument("--modes", default="tcp,ws", help="comma-separated: tcp, ws, wspub, wssub")
    p.add_argument("--budget", type=float, default=30,
                   help="seconds per round and mode (warmup included); at least one measured round trip")
    p.add_argument("--timeout", type=float, default=60, help="seconds one message may take")
    a = p.parse_args()
    modes = [m for m in a.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            p.error(f"unknown mode {m}")

    global ZERO_KEY
    ZERO_KEY = a.masking == "zero"
    if a.masking != "stock":
        mqtt.WebsocketWrapper._create_frame = fast_create_frame
    payload = bytes((i * 7 + 3) & 0xFF for i in range(a.size))
    key = os.urandom(4)
    mask_fn = {"fast": fast_mask, "stock": stock_mask, "zero": lambda d, k: bytearray(d)}[a.masking]
    t = time.perf_counter()
    for _ in range(3):
        mask_fn(payload, key)
    mask_ms = (time.perf_counter() - t) / 3 * 1000

    times = {m: [] for m in modes}
    cpu = {m: [] for m in modes}
    for r in range(a.rounds):
        for m in modes:
            times[m] += one_round(m, a, payload, r, cpu[m])
    out = {"size": a.size, "qos": a.qos, "masking": a.masking, "paho": getattr(sys.modules.get("paho.mqtt"), "__version__", "?"),
           "mask_ms": round(mask_ms, 3)}
    for m in modes:
        out[m] = summary(times[m], cpu[m])
    if "tcp" in modes and times["tcp"]:
        for m in modes:
            if m != "tcp" and times[m]:
                # Medians of per-message times; the budget can cut a slow mode short, so no ratio of totals.
                out[f"ratio_{m}"] = round(out[m]["median_ms"] / out["tcp"]["median_ms"], 3)
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        main()
    except (OSError, TimeoutError, RuntimeError, ValueError) as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.exit(1)
