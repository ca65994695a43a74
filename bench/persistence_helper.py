#!/usr/bin/env python3
"""Helper of bench/persistence.sh: fills a broker with retained messages and persistent sessions over raw MQTT
3.1.1 sockets, measures a restart, checks what came back. One JSON line on stdout per command.

  fill     M persistent sessions (clean session 0, client id persist-sess-i, subscription persist/sess/i QoS 1),
           K QoS 1 messages queued for each while it is offline, then N retained messages on distinct topics
           (persist/retained/<i/1000>/<i%1000>) from one connection: QoS 0 written in large batches, the last
           one QoS 1, so its PUBACK means the broker has taken (and, with persistence, stored) all of them.
  measure  after a restart: polls the log for "Restored" and the port for a CONNECT -> CONNACK, every 2 ms;
           seconds since --t0 (the broker's exec time, epoch seconds).
  verify   reconnects every session (clean session 0) and counts its queued messages and the session-present
           flag, then counts the retained messages a new subscriber to persist/retained/# gets.
  syscount value of a retained $SYS topic (e.g. "$SYS/broker/retained messages/count"), waiting for it.
"""
import argparse
import json
import os
import socket
import struct
import sys
import time

from mqtt_wire import DISCONNECT, Conn, connect_pkt, puback_pkt, publish_pkt, subscribe_pkt, wait_for

CHUNK = 200  # sessions connected at once


def padded(prefix, size):
    p = prefix.encode()
    return p + b"x" * max(0, size - len(p))


def fill_sessions(port, sessions, timeout):
    for start in range(0, sessions, CHUNK):
        conns = []
        for i in range(start, min(sessions, start + CHUNK)):
            c = Conn(port, timeout)
            c.send(connect_pkt(f"persist-sess-{i}", clean=False) + subscribe_pkt(1, [f"persist/sess/{i}"], 1))
            conns.append(c)
        deadline = time.monotonic() + timeout
        for c in conns:
            _, body = wait_for(c, 0x20, deadline)
            if body[1] != 0:
                raise RuntimeError(f"CONNACK refused: {body[1]}")
            _, body = wait_for(c, 0x90, deadline)
            if body[2] & 0x80:
                raise RuntimeError("SUBSCRIBE refused")
        for c in conns:
            c.send(DISCONNECT)
            c.close()


def publish_qos1(conn, pkts_fn, count, window, timeout):
    """Sends count QoS 1 publishes (pkts_fn(i, pid) -> bytes) with at most `window` unacknowledged."""
    sent = acked = 0
    pid = 0
    deadline = time.monotonic() + timeout
    while acked < count:
        batch = []
        while sent < count and sent - acked < window:
            pid = pid % 65535 + 1
            batch.append(pkts_fn(sent, pid))
            sent += 1
        if batch:
            conn.send(b"".join(batch))
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {acked} of {count} QoS 1 publishes acknowledged")
        first, _ = conn.next(deadline)
        if first & 0xF0 == 0x40:
            acked += 1


def cmd_fill(a):
    out = {}
    t = time.monotonic()
    fill_sessions(a.port, a.sessions, a.timeout)
    out["sessions_secs"] = round(time.monotonic() - t, 3)

    t = time.monotonic()
    total = a.sessions * a.queued
    if total:
        c = Conn(a.port, a.timeout)
        c.send(connect_pkt("persist-filler-q", clean=True))
        wait_for(c, 0x20, time.monotonic() + a.timeout)
        publish_qos1(c, lambda n, pid: publish_pkt(f"persist/sess/{n % a.sessions}",
                                                   padded(f"q{n // a.sessions}-{n % a.sessions}-", a.payload),
                                                   qos=1, pid=pid), total, 2000, a.timeout)
        c.send(DISCONNECT)
        c.close()
    out["queued_secs"] = round(time.monotonic() - t, 3)

    t = time.monotonic()
    if a.retained:
        c = Conn(a.port, a.timeout)
        c.send(connect_pkt("persist-filler-r", clean=True))
        wait_for(c, 0x20, time.monotonic() + a.timeout)
        batch = []
        for i in range(a.retained):
            topic = f"persist/retained/{i // 1000}/{i % 1000}"
            last = i == a.retained - 1
            batch.append(publish_pkt(topic, padded(f"r{i}-", a.payload), qos=1 if last else 0, retain=True,
                                     pid=1 if last else 0))
            if len(batch) >= 4096 or last:
                c.send(b"".join(batch))
                batch = []
        wait_for(c, 0x40, time.monotonic() + a.timeout)
        c.send(DISCONNECT)
        c.close()
    secs = time.monotonic() - t
    out["retained_secs"] = round(secs, 3)
    out["retained_per_sec"] = round(a.retained / secs) if secs > 0 else 0
    print(json.dumps(out))


def cmd_measure(a):
    """Seconds from --t0 to the "Restored" log line and to the first CONNACK."""
    out = {"restored_secs": None, "listen_secs": None, "connack_secs": None, "restored_line": None}
    pos = 0
    deadline = time.monotonic() + a.timeout
    connected_at = None
    while time.monotonic() < deadline:
        if out["restored_secs"] is None and a.log:
            try:
                with open(a.log, "rb") as f:
                    f.seek(pos)
                    data = f.read()
                i = data.find(b"Restored ")
                if i >= 0:
                    out["restored_secs"] = round(time.time() - a.t0, 4)
                    end = data.find(b"\n", i)
                    out["restored_line"] = data[i:end if end >= 0 else len(data)].decode(errors="replace")
                else:
                    pos += max(0, data.rfind(b"\n") + 1)
            except FileNotFoundError:
                pass
        if out["listen_secs"] is None:
            try:
                c = Conn(a.port, a.timeout)
                out["listen_secs"] = round(time.time() - a.t0, 4)
                c.send(connect_pkt("persist-probe", clean=True))
                wait_for(c, 0x20, time.monotonic() + a.timeout)
                out["connack_secs"] = round(time.time() - a.t0, 4)
                c.send(DISCONNECT)
                c.close()
                connected_at = time.monotonic()
            except (ConnectionRefusedError, socket.timeout, OSError):
                pass
        if out["connack_secs"] is not None:
            # Done once the log line is there too; a broker that logs none (Mosquitto) gets half a second.
            if out["restored_secs"] is not None or not a.log or time.monotonic() - connected_at > 0.5:
                break
        if a.pid:
            try:
                os.kill(a.pid, 0)
            except ProcessLookupError:
                out["error"] = "broker exited"
                break
        time.sleep(0.002)
    print(json.dumps(out))


def cmd_verify(a):
    out = {"sessions_present": 0, "queued_received": 0, "retained_received": 0}
    t = time.monotonic()
    for start in range(0, a.sessions, CHUNK):
        conns = []
        for i in range(start, min(a.sessions, start + CHUNK)):
            c = Conn(a.port, a.timeout)
            c.send(connect_pkt(f"persist-sess-{i}", clean=False))
            conns.append(c)
        deadline = time.monotonic() + a.timeout
        for c in conns:
            got = 0
            present = None
            while present is None or got < a.queued:
                try:  # 2 s of silence: nothing more is coming
                    first, body = c.next(min(deadline, time.monotonic() + 2))
                except (TimeoutError, EOFError):
                    break
                if first & 0xF0 == 0x20:
                    present = body[0] & 1
                elif first & 0xF0 == 0x30:
                    got += 1
                    if (first >> 1) & 3:
                        tlen = struct.unpack("!H", body[:2])[0]
                        c.send(puback_pkt(struct.unpack("!H", body[2 + tlen:4 + tlen])[0]))
            out["sessions_present"] += present or 0
            out["queued_received"] += got
        for c in conns:
            try:
                c.send(DISCONNECT)
            except OSError:
                pass
            c.close()
    out["sessions_secs"] = round(time.monotonic() - t, 3)

    t = time.monotonic()
    if a.retained:
        c = Conn(a.port, a.timeout)
        c.send(connect_pkt("persist-verify-r", clean=True) + subscribe_pkt(1, ["persist/retained/#"], 0))
        got = 0
        c.sock.settimeout(3.0)  # silence for 3 s ends the count
        deadline = time.monotonic() + a.timeout
        while got < a.retained and time.monotonic() < deadline:
            try:
                for first, _ in c.read():
                    if first & 0xF0 == 0x30 and first & 1:
                        got += 1
            except (socket.timeout, EOFError):
                break
        c.close()
        out["retained_received"] = got
    out["retained_secs"] = round(time.monotonic() - t, 3)
    print(json.dumps(out))


def cmd_syscount(a):
    """Waits up to --timeout for the retained $SYS topic to reach --at-least; prints the last value seen."""
    value = None
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        try:
            c = Conn(a.port, 5)
            c.send(connect_pkt(f"persist-sys-{os.getpid()}", clean=True) + subscribe_pkt(1, [a.topic], 0))
            c.sock.settimeout(max(0.1, min(3.0, deadline - time.monotonic())))
            try:
                while True:
                    for first, body in c.read():
                        if first & 0xF0 == 0x30:
                            tlen = struct.unpack("!H", body[:2])[0]
                            value = int(body[2 + tlen:].decode().split()[0])
                    if value is not None and value >= a.at_least:
                        break
            except (socket.timeout, EOFError, ValueError):
                pass
            c.close()
        except OSError:
            pass
        if value is not None and value >= a.at_least:
            break
        time.sleep(0.2)
    print(json.dumps({"topic": a.topic, "value": value}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("fill", "measure", "verify", "syscount"):
        s = sub.add_parser(name)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--timeout", type=float, default=120)
        if name in ("fill", "verify"):
            s.add_argument("--retained", type=int, default=0)
            s.add_argument("--sessions", type=int, default=0)
            s.add_argument("--queued", type=int, default=0)
            s.add_argument("--payload", type=int, default=64)
        if name == "measure":
            s.add_argument("--t0", type=float, required=True)
            s.add_argument("--log", default="")
            s.add_argument("--pid", type=int, default=0)
        if name == "syscount":
            s.add_argument("--topic", required=True)
            s.add_argument("--at-least", type=int, default=0)
    a = p.parse_args()
    {"fill": cmd_fill, "measure": cmd_measure, "verify": cmd_verify, "syscount": cmd_syscount}[a.cmd](a)


if __name__ == "__main__":
    try:
        main()
    except (OSError, EOFError, TimeoutError, RuntimeError) as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.exit(1)
