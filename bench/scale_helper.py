#!/usr/bin/env python3
"""Helper of bench/compare.sh for the scenarios starling_bench has no mode for. Raw MQTT 3.1.1 sockets, loopback
only, every wait bounded by --timeout. One JSON line on stdout per command (an "error" field when it failed).

  large     closed-loop throughput of large payloads: --streams publisher/subscriber pairs on large/<i>; each
            publisher keeps at most --window-bytes (at least one message) published and not yet received by its
            subscriber, so nothing queues up in the broker beyond that. MB/s and msg/s delivered between the end
            of --warmup and --duration, publish-to-receive latency, lost / duplicate / out-of-order per stream.
  conns     --count idle connections (CONNECT, keep alive 0, client ids --prefix-<i>), --parallel connecting at
            once, held until --until (epoch seconds): how many got a CONNACK, how fast, what failed and how
            (a client without descriptors stops opening; a broker out of descriptors leaves them pending).
  subs      --count distinct subscriptions with wildcards on --conns connections (--batch filters per SUBSCRIBE,
            --pipeline SUBSCRIBEs outstanding per connection). Filter n (digits w = n/10000, x = n/100 % 100,
            y = n % 100) is, by n % 3, s/w/x/y, s/w/x/+/y or s/w/x/y/h/#; each probe topic (s/w/x/y,
            s/w/x/p/y, s/w/x/y/h/p) matches exactly one filter. First --baseline random filters are subscribed
            and the publish path is measured (--probes closed-loop publish-to-receive round trips, then --flood
            QoS 0 publishes to random matching topics, time until all are delivered); then the other filters are
            subscribed (time, broker RSS growth via /proc/--pid) and the same publish measurements run again.
  retained  --count retained messages on r/<i/1000>/<i%1000> from one connection (QoS 0 in batches, the last
            one QoS 1: its PUBACK ends the store phase), broker RSS growth, then the time until a new subscriber
            to '#' has received all of them, the time for r/<k>/+ and r/+/<k>, --probes exact-topic SUBSCRIBE to
            retained-PUBLISH round trips, and --probes retained QoS 1 updates (PUBLISH to PUBACK).

Packets are built before a timed phase starts, so the times measure the broker and the socket, not Python's
formatting. The receiving side of "#" (1,000,000 small packets) is Python and can be the bottleneck for a fast
broker: compare with the fill rate and the broker CPU time the script reports.
"""
import argparse
import json
import os
import random
import selectors
import socket
import struct
import sys
import threading
import time

from mqtt_wire import (DISCONNECT, Conn, connect_pkt, connected, cpu_secs, enc_len, parse_header, puback_pkt,
                       publish_pkt, subscribe_pkt, wait_for)


def rss_kb(pid, key="VmRSS"):
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def emit(out):
    print(json.dumps(out, separators=(",", ":")), flush=True)


def pct(sorted_values, p):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def lat_summary(prefix, samples_us, out):
    s = sorted(samples_us)
    out[prefix + "p50_us"] = pct(s, 0.50)
    out[prefix + "p99_us"] = pct(s, 0.99)
    out[prefix + "max_us"] = s[-1] if s else None


def settle_rss(pid, secs=1.0):
    """The broker's RSS after it has had a moment to finish what it was doing."""
    time.sleep(secs)
    return rss_kb(pid)


# ---------------------------------------------------------------------------------------------------------------
# large: closed-loop throughput with big payloads

def recv_exact(sock, view, n):
    got = 0
    while got < n:
        k = sock.recv_into(view[got:n], n - got)
        if k == 0:
            raise EOFError("connection closed by the broker")
        got += k


def read_packet(sock, hdr, body):
    """Blocking: reads one packet into body (a bytearray that grows as needed); returns (first, length)."""
    hv = memoryview(hdr)
    recv_exact(sock, hv, 2)
    first = hdr[0]
    n, mult, b, i = 0, 1, hdr[1], 1
    while True:
        n += (b & 0x7F) * mult
        if not b & 0x80:
            break
        mult *= 128
        i += 1
        if i > 4:
            raise RuntimeError("malformed remaining length from the broker")
        recv_exact(sock, hv[i:], 1)
        b = hdr[i]
    if len(body) < n:
        body.extend(bytes(n - len(body)))
    recv_exact(sock, memoryview(body), n)
    return first, n


class Stream:
    def __init__(self, i, window_msgs):
        self.i = i
        self.topic = f"large/{i}".encode()
        self.sem = threading.Semaphore(window_msgs)
        self.sent = 0
        self.acked = 0
        self.received = 0
        self.next_expected = 0
        self.lost = 0
        self.dups = 0
        self.ooo = 0
        self.latency_us = []
        self.error = None


def cmd_large(a):
    size = a.size
    if size < 16:
        raise RuntimeError("--size must be at least 16 (sequence number and timestamp)")
    window_msgs = max(1, a.window_bytes // size)
    streams = [Stream(i, window_msgs) for i in range(a.streams)]
    pad = b"x" * (size - 16)
    subs, pubs = [], []
    for st in streams:
        s = connected(a.port, f"large-sub-{st.i}", a.timeout, rcvbuf=4 << 20)
        s.send(subscribe_pkt(1, [st.topic.decode()], a.qos))
        _, body = wait_for(s, 0x90, time.monotonic() + a.timeout)
        if body[2] & 0x80:
            raise RuntimeError("SUBSCRIBE refused")
        s.sock.settimeout(None)
        subs.append(s)
        p = connected(a.port, f"large-pub-{st.i}", a.timeout)
        p.sock.settimeout(None)
        pubs.append(p)

    stop = threading.Event()
    t0 = time.monotonic_ns()
    measure_from = t0 + int(a.warmup * 1e9)
    stop_at = t0 + int(a.duration * 1e9)
    counters = {}

    def publisher(st, conn):
        sock = conn.sock
        pid = 0
        try:
            while True:
                while not st.sem.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                now = time.monotonic_ns()
                if stop.is_set() or now >= stop_at:
                    return
                body_len = 2 + len(st.topic) + (2 if a.qos else 0) + size
                head = bytes([0x30 | (a.qos << 1)]) + enc_len(body_len) + struct.pack("!H", len(st.topic)) + st.topic
                if a.qos:
                    pid = pid % 65535 + 1
                    head += struct.pack("!H", pid)
                head += struct.pack("!QQ", st.sent, now)
                st.sent += 1
                sock.sendmsg([head, pad])
        except OSError as e:
            if not stop.is_set():
                st.error = f"publisher: {e}"

    def ack_reader(st, conn):
        hdr, body = bytearray(5), bytearray(16)
        try:
            while not stop.is_set() or st.acked < st.sent:
                first, _ = read_packet(conn.sock, hdr, body)
                if first & 0xF0 == 0x40:
                    st.acked += 1
        except (OSError, EOFError, RuntimeError):
            pass

    def subscriber(st, conn):
        sock = conn.sock
        hdr, body = bytearray(5), bytearray(size + 64)
        try:
            while True:
                first, n = read_packet(sock, hdr, body)
                if first & 0xF0 != 0x30:
                    continue
                now = time.monotonic_ns()
                tlen = struct.unpack_from("!H", body, 0)[0]
                off = 2 + tlen
                qos = (first >> 1) & 3
                if qos:
                    sock.sendall(puback_pkt(struct.unpack_from("!H", body, off)[0]))
                    off += 2
                seq, sent_ns = struct.unpack_from("!QQ", body, off)
                st.received += 1
                st.sem.release()
                if seq == st.next_expected:
                    st.next_expected += 1
                elif seq > st.next_expected:
                    st.lost += seq - st.next_expected  # a gap; a later arrival of it counts as out of order
                    st.next_expected = seq + 1
                elif seq < st.next_expected:
                    st.ooo += 1
                if measure_from <= now < stop_at:  # received in the measured window
                    counters[st.i] = counters.get(st.i, 0) + 1
                    if sent_ns >= measure_from:
                        st.latency_us.append((now - sent_ns) // 1000)
        except (OSError, EOFError, RuntimeError) as e:
            if not stop.is_set():
                st.error = f"subscriber: {e}"

    threads = []
    for st, s, p in zip(streams, subs, pubs):
        threads.append(threading.Thread(target=subscriber, args=(st, s), daemon=True))
        threads.append(threading.Thread(target=publisher, args=(st, p), daemon=True))
        if a.qos:
            threads.append(threading.Thread(target=ack_reader, args=(st, p), daemon=True))
    for t in threads:
        t.start()
    cpu0 = cpu_secs(a.pid)
    time.sleep(max(0.0, (stop_at - time.monotonic_ns()) / 1e9))
    stop.set()
    cpu1 = cpu_secs(a.pid)
    bytes_at_stop = sum(st.received for st in streams) * size
    # Drain: what was sent arrives (the window bounds it), up to 3 s.
    drain_end = time.monotonic() + 3
    while time.monotonic() < drain_end and any(st.received < st.sent for st in streams):
        time.sleep(0.02)
    hwm = rss_kb(a.pid, "VmHWM")
    for c in subs + pubs:
        try:
            c.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        c.close()
    for t in threads:
        t.join(timeout=2)
    window = (stop_at - max(measure_from, t0)) / 1e9
    msgs = sum(counters.values())
    payload_bytes = msgs * size
    lat = [x for st in streams for x in st.latency_us]
    out = {
        "size": size, "streams": a.streams, "qos": a.qos, "window_msgs": window_msgs, "window_secs": round(window, 3),
        "sent": sum(st.sent for st in streams), "received": sum(st.received for st in streams),
        "window_received": msgs, "msg_per_sec": round(msgs / window, 1) if window > 0 else None,
        "mb_per_sec": round(payload_bytes / window / 1e6, 1) if window > 0 else None,
        "lost": sum(st.sent - st.received for st in streams), "gaps": sum(st.lost for st in streams),
        "out_of_order": sum(st.ooo for st in streams),
        "broker_cpu_secs": round(cpu1 - cpu0, 2) if cpu0 is not None and cpu1 is not None else None,
        "broker_cpu_ms_per_mb": round((cpu1 - cpu0) * 1000 / (bytes_at_stop / 1e6), 3)
        if cpu0 is not None and cpu1 is not None and bytes_at_stop else None,
        "broker_hwm_kb": hwm,
    }
    lat_summary("", lat, out)
    errors = [st.error for st in streams if st.error]
    if errors:
        out["error"] = "; ".join(errors[:3])
    emit(out)


# ---------------------------------------------------------------------------------------------------------------
# conns: many idle connections

def cmd_conns(a):
    """Opens --count connections (at most --parallel connecting at once), CONNECT with keep alive 0 under client ids
    <prefix>-<i>, holds every one that got a CONNACK until --until (epoch seconds), then closes them."""
    import errno
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    deadline = t0 + a.connect_timeout
    opened = connected_n = 0
    inflight = 0
    failed = {}
    last_connack = None
    held = []
    stop_opening = False
    connect_payload = {}

    def fail(why):
        failed[why] = failed.get(why, 0) + 1

    while (opened < a.count and not stop_opening) or inflight:
        while not stop_opening and opened < a.count and inflight < a.parallel:
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except OSError as e:
                fail("client socket(): " + (errno.errorcode.get(e.errno, str(e.errno))))
                stop_opening = True  # this process is out of descriptors
                break
            s.setblocking(False)
            rc = s.connect_ex(("127.0.0.1", a.port))
            if rc not in (0, errno.EINPROGRESS):
                fail("connect: " + errno.errorcode.get(rc, str(rc)))
                s.close()
                opened += 1
                continue
            connect_payload[s] = connect_pkt(f"{a.prefix}-{opened}")
            sel.register(s, selectors.EVENT_WRITE, "connecting")
            opened += 1
            inflight += 1
        now = time.monotonic()
        if now > deadline:
            break
        for key, _ in sel.select(min(0.5, deadline - now)):
            s = key.fileobj
            if key.data == "connecting":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail("connect: " + errno.errorcode.get(err, str(err)))
                    sel.unregister(s)
                    s.close()
                    inflight -= 1
                    continue
                try:
                    s.send(connect_payload.pop(s))
                except OSError as e:
                    fail("send CONNECT: " + errno.errorcode.get(e.errno, str(e.errno)))
                    sel.unregister(s)
                    s.close()
                    inflight -= 1
                    continue
                sel.modify(s, selectors.EVENT_READ, "connack")
            else:
                try:
                    data = s.recv(64)
                except BlockingIOError:
                    continue
                except OSError as e:
                    data = None
                    fail("recv: " + errno.errorcode.get(e.errno, str(e.errno)))
                if data and len(data) >= 4 and data[0] == 0x20 and data[3] == 0:
                    connected_n += 1
                    last_connack = time.monotonic()
                    held.append(s)
                    sel.unregister(s)
                    inflight -= 1
                    continue
                if data is not None:
                    fail("closed by the broker" if not data else f"CONNACK refused ({data[:4].hex()})")
                sel.unregister(s)
                s.close()
                inflight -= 1
    pending = inflight
    sel.close()
    connect_secs = (last_connack - t0) if last_connack else None
    out = {"prefix": a.prefix, "count": a.count, "opened": opened, "connected": connected_n,
           "pending_at_deadline": pending, "failed": failed,
           "connect_secs": round(connect_secs, 3) if connect_secs else None,
           "connects_per_sec": round(connected_n / connect_secs) if connect_secs else None}
    # Hold: idle, keep alive 0, nothing to read. A connection the broker closes is counted.
    while time.time() < a.until:
        time.sleep(min(0.5, max(0.0, a.until - time.time())))
    closed = 0
    for s in held:
        try:
            s.setblocking(False)
            if s.recv(64) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    out["closed_while_held"] = closed
    for s in held:
        s.close()
    emit(out)


# ---------------------------------------------------------------------------------------------------------------
# subs: many distinct subscriptions with wildcards

def sub_filter(n):
    w, x, y = n // 10000, n // 100 % 100, n % 100
    k = n % 3
    if k == 0:
        return f"s/{w}/{x}/{y}"
    if k == 1:
        return f"s/{w}/{x}/+/{y}"
    return f"s/{w}/{x}/{y}/h/#"


def probe_topic(n):
    w, x, y = n // 10000, n // 100 % 100, n % 100
    k = n % 3
    if k == 0:
        return f"s/{w}/{x}/{y}"
    if k == 1:
        return f"s/{w}/{x}/p/{y}"
    return f"s/{w}/{x}/{y}/h/p"


def pipelined_subscribe(conns, per_conn_packets, pipeline, timeout):
    """Sends each connection's SUBSCRIBE packets with at most `pipeline` unacknowledged; returns (secs, refused)."""
    sel = selectors.DefaultSelector()
    state = []
    for c, pkts in zip(conns, per_conn_packets):
        c.sock.setblocking(False)
        st = {"conn": c, "pkts": pkts, "next": 0, "acked": 0, "out": bytearray(), "buf": bytearray()}
        state.append(st)
        sel.register(c.sock, selectors.EVENT_READ, st)
    refused = 0
    remaining = sum(len(p) for p in per_conn_packets)
    t = time.monotonic()
    deadline = t + timeout

    def refill(st):
        while st["next"] < len(st["pkts"]) and st["next"] - st["acked"] < pipeline:
            st["out"] += st["pkts"][st["next"]]
            st["next"] += 1

    def flush(st):
        if st["out"]:
            try:
                k = st["conn"].sock.send(st["out"])
                del st["out"][:k]
            except BlockingIOError:
                pass
        sel.modify(st["conn"].sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if st["out"] else 0), st)

    for st in state:
        refill(st)
        flush(st)
    while remaining > 0:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{remaining} SUBSCRIBE packets not acknowledged within {timeout}s")
        for key, ev in sel.select(min(left, 1.0)):
            st = key.data
            if ev & selectors.EVENT_READ:
                try:
                    data = st["conn"].sock.recv(1 << 20)
                except BlockingIOError:
                    data = None
                if data == b"":
                    raise EOFError("connection closed by the broker during SUBSCRIBE")
                if data:
                    buf = st["buf"]
                    buf += data
                    pos, end = 0, len(buf)
                    while True:
                        h = parse_header(buf, pos, end)
                        if h is None or end - h[1] < h[2]:
                            break
                        first, start, n = h
                        if first & 0xF0 == 0x90:
                            refused += sum(1 for b in buf[start + 2:start + n] if b & 0x80)
                            st["acked"] += 1
                            remaining -= 1
                        pos = start + n
                    del buf[:pos]
                    refill(st)
            flush(st)
    secs = time.monotonic() - t
    sel.close()
    for c in conns:
        c.sock.setblocking(True)
    return secs, refused


def build_sub_packets(indices, conns_n, batch):
    """Filter n goes to connection n % conns_n; SUBSCRIBE packets of `batch` filters per connection."""
    mine = [[] for _ in range(conns_n)]
    for n in indices:
        mine[n % conns_n].append(n)
    per = [[] for _ in range(conns_n)]
    for c in range(conns_n):
        pid = 0
        for s in range(0, len(mine[c]), batch):
            pid = pid % 65535 + 1
            per[c].append(subscribe_pkt(pid, [sub_filter(n) for n in mine[c][s:s + batch]]))
    return per


def probe_round_trips(pub, subs, indices, probes, timeout, rng):
    """Closed loop: publish to a topic matching one filter, wait for it at the connection holding the filter."""
    lat = []
    payload = b"p" * 16
    for _ in range(probes):
        n = rng.choice(indices)
        target = subs[n % len(subs)]
        t = time.monotonic_ns()
        pub.send(publish_pkt(probe_topic(n), payload))
        wait_for(target, 0x30, time.monotonic() + timeout)
        lat.append((time.monotonic_ns() - t) // 1000)
    return lat


def flood_match(pub, subs, indices, count, timeout, rng):
    """count QoS 0 publishes to random matching topics, as fast as the socket takes them; seconds until all arrived."""
    payload = b"f" * 16
    pkts = [publish_pkt(probe_topic(rng.choice(indices)), payload) for _ in range(count)]
    batches = [b"".join(pkts[i:i + 1024]) for i in range(0, count, 1024)]
    sel = selectors.DefaultSelector()
    bufs = {}
    for s in subs:
        s.sock.setblocking(False)
        bufs[s.sock] = bytearray()
        sel.register(s.sock, selectors.EVENT_READ)
    got = 0
    t = time.monotonic()
    deadline = t + timeout

    def drain(wait):
        nonlocal got
        for key, _ in sel.select(wait):
            try:
                data = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                raise EOFError("subscriber connection closed by the broker")
            buf = bufs[key.fileobj]
            buf += data
            pos, end = 0, len(buf)
            while True:
                h = parse_header(buf, pos, end)
                if h is None or end - h[1] < h[2]:
                    break
                if h[0] & 0xF0 == 0x30:
                    got += 1
                pos = h[1] + h[2]
            del buf[:pos]

    pub.sock.setblocking(False)
    pending = memoryview(b"")
    bi = 0
    while bi < len(batches) or pending:
        if not pending:
            pending = memoryview(batches[bi])
            bi += 1
        try:
            k = pub.sock.send(pending)
            pending = pending[k:]
        except BlockingIOError:
            drain(0.001)
        drain(0)
        if time.monotonic() > deadline:
            break
    pub.sock.setblocking(True)
    sent_secs = time.monotonic() - t
    last = time.monotonic()
    while got < count and time.monotonic() < deadline:
        before = got
        drain(0.2)
        if got > before:
            last = time.monotonic()
        elif time.monotonic() - last > 3:
            break  # 3 s of silence: nothing more is coming
    secs = (last if got < count else time.monotonic()) - t
    sel.close()
    for s in subs:
        s.sock.setblocking(True)
    return {"sent_secs": round(sent_secs, 3), "secs": round(secs, 3), "delivered": got,
            "per_sec": round(got / secs) if secs > 0 else None}


def flat(out, prefix, d):
    for k, v in d.items():
        out[prefix + k] = v


def cmd_subs(a):
    rng = random.Random(a.seed)
    out = {"count": a.count, "conns": a.conns, "batch": a.batch}
    subs = [connected(a.port, f"subs-{c}", a.timeout, rcvbuf=4 << 20) for c in range(a.conns)]
    pub = connected(a.port, "subs-pub", a.timeout)
    base_n = min(a.baseline, a.count)
    base = sorted(rng.sample(range(a.count), base_n))
    base_set = set(base)
    rest = [n for n in range(a.count) if n not in base_set]

    secs, refused = pipelined_subscribe(subs, build_sub_packets(base, a.conns, a.batch), a.pipeline, a.timeout)
    out["baseline_subs"] = base_n
    out["baseline_subscribe_secs"] = round(secs, 3)
    lat = probe_round_trips(pub, subs, base, a.probes, a.timeout, rng)
    lat_summary("probe_small_", lat, out)
    flat(out, "flood_small_", flood_match(pub, subs, base, a.flood, a.timeout, rng))

    pkts = build_sub_packets(rest, a.conns, a.batch)  # built before the clock starts
    rss0 = settle_rss(a.pid, 0.5)
    cpu0 = cpu_secs(a.pid)
    secs, refused2 = pipelined_subscribe(subs, pkts, a.pipeline, a.timeout)
    cpu1 = cpu_secs(a.pid)
    out["subscribe_secs"] = round(secs, 3)
    out["subscribed"] = len(rest)
    out["subscribe_per_sec"] = round(len(rest) / secs) if secs > 0 else None
    out["refused"] = refused + refused2
    out["subscribe_cpu_secs"] = round(cpu1 - cpu0, 2) if cpu0 is not None and cpu1 is not None else None
    rss1 = settle_rss(a.pid, 1.0)
    out["rss_before_kb"], out["rss_after_kb"] = rss0, rss1
    if rss0 is not None and rss1 is not None and rest:
        out["bytes_per_sub"] = round((rss1 - rss0) * 1024 / len(rest), 1)

    all_n = list(range(a.count))
    lat = probe_round_trips(pub, subs, all_n, a.probes, a.timeout, rng)
    lat_summary("probe_full_", lat, out)
    flat(out, "flood_full_", flood_match(pub, subs, all_n, a.flood, a.timeout, rng))
    out["hwm_kb"] = rss_kb(a.pid, "VmHWM")
    for c in subs + [pub]:
        try:
            c.send(DISCONNECT)
        except OSError:
            pass
        c.close()
    emit(out)


# ---------------------------------------------------------------------------------------------------------------
# retained: many retained messages

def ret_topic(i):
    return f"r/{i // 1000}/{i % 1000}"


def count_retained(conn, want, timeout, quiet=3.0):
    """Reads PUBLISH packets until `want` arrived or `quiet` seconds pass without one; (count, secs from now)."""
    got = 0
    t = time.monotonic()
    deadline = t + timeout
    sock = conn.sock
    buf = conn.buf
    last = t
    while got < want:
        now = time.monotonic()
        if now > deadline or now - last > quiet:
            break
        sock.settimeout(min(quiet, max(0.01, deadline - now)))
        try:
            data = sock.recv(4 << 20)
        except socket.timeout:
            continue
        if not data:
            raise EOFError("connection closed by the broker")
        last = time.monotonic()
        buf += data
        pos, end = 0, len(buf)
        while True:
            h = parse_header(buf, pos, end)
            if h is None or end - h[1] < h[2]:
                break
            if h[0] & 0xF0 == 0x30:
                got += 1
            pos = h[1] + h[2]
        del buf[:pos]
    return got, (time.monotonic() if got >= want else last) - t


def cmd_retained(a):
    rng = random.Random(a.seed)
    out = {"count": a.count, "payload": a.payload}
    body = b"v" * a.payload
    batches = []
    for start in range(0, a.count, 4096):
        batches.append(b"".join(
            publish_pkt(ret_topic(i), body, qos=1 if i == a.count - 1 else 0, retain=True,
                        pid=1 if i == a.count - 1 else 0) for i in range(start, min(a.count, start + 4096))))

    filler = connected(a.port, "ret-filler", a.timeout)
    rss0 = settle_rss(a.pid, 0.5)
    cpu0 = cpu_secs(a.pid)
    t = time.monotonic()
    for b in batches:
        filler.send(b)
    wait_for(filler, 0x40, time.monotonic() + a.timeout)
    secs = time.monotonic() - t
    cpu1 = cpu_secs(a.pid)
    del batches
    out["store_secs"] = round(secs, 3)
    out["store_per_sec"] = round(a.count / secs) if secs > 0 else None
    out["store_cpu_secs"] = round(cpu1 - cpu0, 2) if cpu0 is not None and cpu1 is not None else None
    rss1 = settle_rss(a.pid, 1.0)
    out["rss_before_kb"], out["rss_after_kb"] = rss0, rss1
    if rss0 is not None and rss1 is not None and a.count:
        out["bytes_per_retained"] = round((rss1 - rss0) * 1024 / a.count, 1)

    # '#': every retained message
    c = Conn(a.port, a.timeout, rcvbuf=8 << 20)
    c.send(connect_pkt("ret-all"))
    wait_for(c, 0x20, time.monotonic() + a.timeout)
    cpu0 = cpu_secs(a.pid)
    c.send(subscribe_pkt(1, ["#"]))
    got, secs = count_retained(c, a.count, a.timeout)
    cpu1 = cpu_secs(a.pid)
    out["all_received"] = got
    out["all_secs"] = round(secs, 3)
    out["all_per_sec"] = round(got / secs) if secs > 0 else None
    out["all_cpu_secs"] = round(cpu1 - cpu0, 2) if cpu0 is not None and cpu1 is not None else None
    c.close()
    out["hwm_after_all_kb"] = rss_kb(a.pid, "VmHWM")

    # Wildcards over part of the tree
    groups = (a.count + 999) // 1000
    k = rng.randrange(groups)
    want = min(1000, a.count - k * 1000)
    j = rng.randrange(min(1000, a.count))
    want_j = sum(1 for g in range(groups) if g * 1000 + j < a.count)
    for name, filt, n in (("plus_last", f"r/{k}/+", want), ("plus_mid", f"r/+/{j}", want_j)):
        c = connected(a.port, f"ret-{name}", a.timeout)
        t = time.monotonic()
        c.send(subscribe_pkt(1, [filt]))
        got, secs = count_retained(c, n, a.timeout, quiet=2.0)
        out[name + "_filter"] = filt
        out[name + "_expected"] = n
        out[name + "_received"] = got
        out[name + "_ms"] = round(secs * 1000, 2)
        c.close()

    # Exact topics: SUBSCRIBE -> retained PUBLISH round trip
    c = connected(a.port, "ret-probe", a.timeout)
    lat = []
    for p in range(a.probes):
        i = rng.randrange(a.count)
        t = time.monotonic_ns()
        c.send(subscribe_pkt(p % 65535 + 1, [ret_topic(i)]))
        wait_for(c, 0x30, time.monotonic() + a.timeout)
        lat.append((time.monotonic_ns() - t) // 1000)
    lat_summary("sub_exact_", lat, out)
    c.send(DISCONNECT)
    c.close()

    # Retained updates: QoS 1 PUBLISH -> PUBACK round trip
    lat = []
    for p in range(a.probes):
        i = rng.randrange(a.count)
        t = time.monotonic_ns()
        filler.send(publish_pkt(ret_topic(i), body, qos=1, retain=True, pid=p % 65535 + 1))
        wait_for(filler, 0x40, time.monotonic() + a.timeout)
        lat.append((time.monotonic_ns() - t) // 1000)
    lat_summary("update_", lat, out)
    filler.send(DISCONNECT)
    filler.close()
    out["hwm_kb"] = rss_kb(a.pid, "VmHWM")
    emit(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("large", "conns", "subs", "retained"):
        s = sub.add_parser(name)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--pid", type=int, default=0, help="broker PID, for RSS and CPU readings from /proc")
        s.add_argument("--timeout", type=float, default=300)
        s.add_argument("--seed", type=int, default=1)
        if name == "large":
            s.add_argument("--size", type=int, default=1 << 20)
            s.add_argument("--streams", type=int, default=2)
            s.add_argument("--window-bytes", type=int, default=4 << 20)
            s.add_argument("--qos", type=int, choices=(0, 1), default=0)
            s.add_argument("--duration", type=float, default=6)
            s.add_argument("--warmup", type=float, default=1)
        if name == "conns":
            s.add_argument("--count", type=int, required=True)
            s.add_argument("--prefix", default=f"idle{os.getpid()}")
            s.add_argument("--parallel", type=int, default=500, help="connections connecting at once")
            s.add_argument("--connect-timeout", type=float, default=60)
            s.add_argument("--until", type=float, required=True, help="epoch seconds: hold until then")
        if name == "subs":
            s.add_argument("--count", type=int, default=1_000_000)
            s.add_argument("--conns", type=int, default=100)
            s.add_argument("--batch", type=int, default=500)
            s.add_argument("--pipeline", type=int, default=4)
            s.add_argument("--baseline", type=int, default=1000)
            s.add_argument("--probes", type=int, default=500)
            s.add_argument("--flood", type=int, default=100_000)
        if name == "retained":
            s.add_argument("--count", type=int, default=1_000_000)
            s.add_argument("--payload", type=int, default=64)
            s.add_argument("--probes", type=int, default=500)
    a = p.parse_args()
    {"large": cmd_large, "conns": cmd_conns, "subs": cmd_subs, "retained": cmd_retained}[a.cmd](a)


if __name__ == "__main__":
    try:
        main()
    except (OSError, EOFError, TimeoutError, RuntimeError) as e:
        emit({"error": f"{type(e).__name__}: {e}"})
        sys.exit(1)
