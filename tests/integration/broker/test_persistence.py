"""Durability on the embedded store: persistent sessions, their subscriptions, queued and in-flight QoS 1/2
messages and retained messages survive a restart and a `kill -9`; what was acknowledged is never lost and QoS 2
is never delivered twice; expired messages are not delivered after a restart; a damaged store still lets the
broker start."""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.request

import pytest

from harness import Broker, RawClient, connect_packet, free_port, publish_packet, subscribe_packet, wait_for


def start(tmp_path, port=None, extra="", workers=2):
    store = tmp_path / "store"
    conf_extra = f"persistence true\npersistence_location {store}\n{extra}"
    return Broker(conf_extra, workers=workers, port=port)


def kill9(b):
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(timeout=10)
    b._log.close()


def read_publish(c, timeout=5.0):
    first, body = c.recv_packet(timeout)
    assert first >> 4 == 3, hex(first)
    qos = (first >> 1) & 3
    n = struct.unpack_from("!H", body)[0]
    topic = body[2:2 + n].decode()
    i = 2 + n
    pid = None
    if qos:
        pid = struct.unpack_from("!H", body, i)[0]
        i += 2
    return topic, qos, pid, body[i:], bool(first & 8)


def ack(c, qos, pid):
    if qos == 1:
        c.send(b"\x40\x02" + struct.pack("!H", pid))
    elif qos == 2:
        c.send(b"\x50\x02" + struct.pack("!H", pid))
        first, body = c.recv_packet()
        assert first == 0x62
        c.send(b"\x70\x02" + struct.pack("!H", pid))


def got_qos2(got, granted):
    return sum(1 for _, q in got if q == 2)


def test_sessions_queues_and_retained_survive_kill_9(tmp_path):
    port = free_port()
    b = start(tmp_path, port)
    try:
        for cid, qos in [("p1", 1), ("p2", 2)]:
            s = RawClient(port)
            assert s.connect(cid, clean=False) == b"\x00\x00"
            s.send(subscribe_packet(1, [("dur/#", qos)]))
            assert s.recv_packet()[0] == 0x90
            s.close()
        pub = RawClient(port)
        pub.connect("pub")
        for i in range(20):
            q = 1 + i % 2
            pub.send(publish_packet("dur/t", f"m{i}", qos=q, pid=i + 1))
            first, _ = pub.recv_packet()
            assert first == (0x40 if q == 1 else 0x50)  # acknowledged: from now on it must survive
        pub.send(publish_packet("dur/retained", "kept", qos=1, pid=100, retain=True))
        assert pub.recv_packet()[0] == 0x40
        time.sleep(0.2)  # the interval sync (100 ms) covers an OS crash; kill -9 needs nothing
        kill9(b)
        b = start(tmp_path, port)
        assert "Restored 2 persistent session(s)" in b.log(), b.log()
        for cid, qos in [("p1", 1), ("p2", 2)]:
            s = RawClient(port)
            assert s.connect(cid, clean=False) == b"\x01\x00"  # session present
            got, releases = [], 0
            while len(got) < 21 or releases < got_qos2(got, qos):
                first, body = s.recv_packet()
                if first >> 4 == 3:
                    q = (first >> 1) & 3
                    n = struct.unpack_from("!H", body)[0]
                    pid = struct.unpack_from("!H", body, 2 + n)[0]
                    got.append((body[4 + n:].decode(), q))
                    s.send((b"\x40\x02" if q == 1 else b"\x50\x02") + struct.pack("!H", pid))
                else:
                    assert first == 0x62  # PUBREL
                    s.send(b"\x70\x02" + body)
                    releases += 1
            # Delivered QoS = min(published, granted): all, in order, once.
            assert [p for p, q in got] == [f"m{i}" for i in range(20)] + ["kept"], got
            s.close()
        r = RawClient(port)
        r.connect("reader")
        r.send(subscribe_packet(1, [("dur/retained", 1)]))
        assert r.recv_packet()[0] == 0x90
        topic, q, pid, payload, dup = read_publish(r)
        assert (topic, payload) == ("dur/retained", b"kept")
    finally:
        b.stop()


def test_inflight_qos2_and_incoming_qos2_survive_restart(tmp_path):
    port = free_port()
    b = start(tmp_path, port)
    try:
        s = RawClient(port)
        s.connect("q2sub", clean=False)
        s.send(subscribe_packet(1, [("x", 2)]))
        s.recv_packet()
        p = RawClient(port)
        p.connect("q2pub", clean=False)
        # Incoming QoS 2: PUBREC received by the publisher, PUBREL not sent yet.
        p.send(publish_packet("x", "once", qos=2, pid=7))
        assert p.recv_packet() == (0x50, b"\x00\x07")
        topic, q, pid, payload, dup = read_publish(s)
        assert payload == b"once"  # in flight to the subscriber, not acknowledged
        kill9(b)
        b = start(tmp_path, port)
        # The publisher, unsure, sends the PUBLISH again with DUP: it must not be forwarded twice.
        p = RawClient(port)
        assert p.connect("q2pub", clean=False) == b"\x01\x00"
        p.send(publish_packet("x", "once", qos=2, pid=7, dup=True))
        assert p.recv_packet() == (0x50, b"\x00\x07")
        p.send(b"\x62\x02\x00\x07")
        assert p.recv_packet() == (0x70, b"\x00\x07")
        s = RawClient(port)
        assert s.connect("q2sub", clean=False) == b"\x01\x00"
        topic, q, pid2, payload, dup = read_publish(s)
        assert (payload, dup, pid2) == (b"once", True, pid)  # the same delivery, resent with DUP
        ack(s, 2, pid2)
        assert s.expect_closed(timeout=0.5) is False and s.buf == b""  # nothing more: exactly once
    finally:
        b.stop()


def test_expired_messages_are_not_delivered_after_restart(tmp_path):
    from test_mqtt5 import EXPIRY, V5, prop, publish5
    port = free_port()
    b = start(tmp_path, port)
    try:
        s = V5(port)
        s.connect5("exp-sub", clean=False, props=prop(0x11, 3600))
        s.subscribe(1, "e/#", qos=1)
        s.close()
        p = V5(port)
        p.connect5("exp-pub")
        p.send(publish5("e/short", b"short", qos=1, pid=1, props=prop(EXPIRY, 1)))
        p.send(publish5("e/long", b"long", qos=1, pid=2, props=prop(EXPIRY, 3600)))
        assert p.recv_packet()[0] == 0x40 and p.recv_packet()[0] == 0x40
        kill9(b)
        time.sleep(1.2)
        b = start(tmp_path, port)
        s = V5(port)
        assert s.connect5("exp-sub", clean=False, props=prop(0x11, 3600))[0] == 1
        m = s.next_publish()
        assert m["payload"] == b"long"
        assert s.nothing_for(0.5)
    finally:
        b.stop()


def test_damaged_store_still_starts(tmp_path):
    """A damaged store is repaired or moved aside; the broker starts and says so in the log, the stats and a
    metric."""
    port, http_port = free_port(), free_port()
    extra = f"http_listener {http_port} 127.0.0.1\n"
    b = start(tmp_path, port, extra=extra)
    c = RawClient(port)
    c.connect("d", clean=False)
    assert stats(http_port)["store"]["damaged"] is None
    assert 'starling_store_damaged{action="repaired"} 0' in metrics_text(http_port)
    b.stop()
    store = tmp_path / "store"
    for name in os.listdir(store):
        if name.startswith("CURRENT") or name.startswith("MANIFEST"):
            with open(store / name, "wb") as f:
                f.write(b"\x00garbage\x00" * 10)
    b = start(tmp_path, port, extra=extra)
    try:
        assert re.search(r"Persistence: store in .* cannot be opened .*(repaired it|moved it aside)", b.log()), b.log()
        c = RawClient(port)
        assert c.connect("after", clean=True) == b"\x00\x00"
        action = stats(http_port)["store"]["damaged"]
        assert action in ("repaired", "moved_aside")
        assert f'starling_store_damaged{{action="{action}"}} 1' in metrics_text(http_port)
    finally:
        b.stop()


def test_a_damaged_block_inside_a_table_file_is_found_at_start_and_repaired(tmp_path):
    """A corrupted block in the middle of a table file (not just a broken MANIFEST) is found when the store is
    opened, not by a recovery that silently stops early: the broker repairs the store, starts, and says so in
    the log and the metric."""
    port, http_port = free_port(), free_port()
    extra = f"http_listener {http_port} 127.0.0.1\n"
    b = start(tmp_path, port, extra=extra)
    p = RawClient(port)
    p.connect("block-pub")
    for i in range(300):
        p.send(publish_packet(f"block/{i}", "x" * 200, qos=1, retain=True, pid=i + 1))
    for _ in range(300):
        assert p.recv_packet(timeout=10)[0] == 0x40
    p.close()
    b.stop()  # a clean stop writes the records into a table file
    store = tmp_path / "store"
    tables = [store / n for n in os.listdir(store) if n.endswith(".sst")]
    assert tables, os.listdir(store)
    table = max(tables, key=lambda t: t.stat().st_size)
    with open(table, "r+b") as f:
        f.seek(table.stat().st_size // 3)
        f.write(b"\xff" * 512)
    b = start(tmp_path, port, extra=extra)
    try:
        assert re.search(r"Persistence: store in .* cannot be opened or read \(Corruption.*repaired it", b.log()), \
            b.log()
        assert stats(http_port)["store"]["damaged"] == "repaired"
        assert 'starling_store_damaged{action="repaired"} 1' in metrics_text(http_port)
        c = RawClient(port)
        assert c.connect("after-repair", clean=True) == b"\x00\x00"
        # The broker works on: a new retained message is stored and read back.
        c.send(publish_packet("block/new", "fresh", qos=1, retain=True, pid=1))
        assert c.recv_packet()[0] == 0x40
        c.close()
        retained_nothing_more(port, "block/new", {"block/new": "fresh"})
    finally:
        b.stop()


def test_damage_in_the_middle_of_the_log_is_repaired_not_silently_cut(tmp_path):
    """After kill -9 the records are in the write-ahead log. Damage in its middle (not a torn last record) fails
    the open and the store is repaired, so the records after the damage are kept and the log says so; a
    point-in-time replay would have stopped at the damage without a word."""
    port, http_port = free_port(), free_port()
    extra = f"http_listener {http_port} 127.0.0.1\n"
    b = start(tmp_path, port, extra=extra)
    p = RawClient(port)
    p.connect("wal-pub")
    for i in range(600):
        p.send(publish_packet(f"wal/{i:03}", "y" * 500, qos=1, retain=True, pid=i + 1))
    for _ in range(600):
        assert p.recv_packet(timeout=10)[0] == 0x40
    p.close()
    kill9(b)
    store = tmp_path / "store"
    logs = [store / n for n in os.listdir(store) if n.endswith(".log")]
    wal = max(logs, key=lambda f: f.stat().st_size)
    with open(wal, "r+b") as f:
        f.seek(wal.stat().st_size // 3)
        f.write(b"\x00" * 64)
    b = start(tmp_path, port, extra=extra)
    try:
        assert re.search(r"Persistence: store in .* cannot be opened or read \(Corruption.*repaired it", b.log()), \
            b.log()
        assert stats(http_port)["store"]["damaged"] == "repaired"
        # What came after the damage is there (the last ones published), what was in the damaged block is not.
        kept = browse(http_port, "wal/", 1)["total"]
        assert 300 < kept < 600, kept
        retained_nothing_more(port, "wal/599", {"wal/599": "y" * 500})
    finally:
        b.stop()


def metrics_text(http_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5) as r:
        return r.read().decode()


def test_acknowledged_messages_survive_repeated_kill_9_mid_stream(tmp_path):
    """A publisher streams QoS 1 and QoS 2 messages; the broker is killed with SIGKILL mid-stream, three
    times. Every message it acknowledged (PUBACK, PUBREC) reaches both persistent subscribers, and the QoS 2
    subscriber gets none twice."""
    port = free_port()
    b = start(tmp_path, port, extra="max_queued_messages 100000")
    for cid, qos in [("crash-q1", 1), ("crash-q2", 2)]:
        s = RawClient(port)
        s.connect(cid, clean=False)
        s.send(subscribe_packet(1, [("crash/#", qos)]))
        assert s.recv_packet()[0] == 0x90
        s.close()
    acked, released, sent = set(), set(), {}  # seq -> qos for what was sent and not finished

    def pid_of(seq):
        return seq % 60000 + 1

    def handle(c, deadline):
        """Reads acknowledgements until the deadline (or the broker dies)."""
        try:
            while time.monotonic() < deadline:
                first, body = c.recv_packet(timeout=max(0.01, deadline - time.monotonic()))
                pid = struct.unpack("!H", body[:2])[0]
                seq = by_pid.get(pid)
                if seq is None:
                    continue
                if first == 0x40:
                    acked.add(seq)
                    sent.pop(seq, None)
                elif first == 0x50:
                    acked.add(seq)  # PUBREC: the broker owns it now
                    released.add(seq)
                    c.send(b"\x62\x02" + body[:2])
                elif first == 0x70:
                    sent.pop(seq, None)
                    released.discard(seq)
        except (OSError, ConnectionError):
            pass

    by_pid = {}
    next_seq = 0
    try:
        for round_ in range(4):
            p = RawClient(port)
            p.connect("crash-pub", clean=False)
            # Finish what the last round left open: PUBREL for PUBREC'd QoS 2, the PUBLISH again otherwise.
            out = b""
            for seq, qos in list(sent.items()):
                if seq in released:
                    out += b"\x62\x02" + struct.pack("!H", pid_of(seq))
                else:
                    out += publish_packet("crash/t", f"m{seq}", qos=qos, pid=pid_of(seq), dup=True)
            if round_ < 3:
                for _ in range(1500):
                    seq, next_seq = next_seq, next_seq + 1
                    qos = 1 + seq % 2
                    sent[seq] = qos
                    by_pid[pid_of(seq)] = seq
                    out += publish_packet("crash/t", f"m{seq}", qos=qos, pid=pid_of(seq))
            p.send(out)
            if round_ < 3:
                handle(p, time.monotonic() + 0.05)  # some acknowledgements, then the crash, mid-stream
                kill9(b)
                handle(p, time.monotonic() + 0.05)  # anything already in the socket buffer
                b = start(tmp_path, port, extra="max_queued_messages 100000")
            else:
                handle(p, time.monotonic() + 5)
                assert not sent, f"{len(sent)} messages never finished"
        assert len(acked) == next_seq == 4500
        for cid, qos in [("crash-q1", 1), ("crash-q2", 2)]:
            s = RawClient(port)
            assert s.connect(cid, clean=False) == b"\x01\x00"
            got = []
            deadline = time.monotonic() + 20
            while len(set(got)) < len(acked) and time.monotonic() < deadline:
                try:
                    first, body = s.recv_packet(timeout=3)
                except (OSError, ConnectionError):
                    break
                if first >> 4 == 3:
                    q = (first >> 1) & 3
                    n = struct.unpack_from("!H", body)[0]
                    pid = struct.unpack_from("!H", body, 2 + n)[0]
                    got.append(int(body[4 + n:].decode()[1:]))
                    s.send((b"\x40\x02" if q == 1 else b"\x50\x02") + struct.pack("!H", pid))
                elif first == 0x62:
                    s.send(b"\x70\x02" + body)
            assert set(got) >= acked, f"{cid}: {len(acked - set(got))} acknowledged messages lost\n" + b.log()[-3000:]
            if qos == 2:
                dups = [x for x in set(got) if got.count(x) > 1 and x % 2 == 1]
                assert not dups, f"QoS 2 delivered twice: {dups[:10]}"
    finally:
        b.stop()


# ---- persistence_queue_memory: long offline queues on disk only

def stats(http_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/v1/stats", timeout=5) as r:
        return json.loads(r.read())


def publish_acked(port, client_id, topic, payloads):
    """Publishes QoS 1 messages pipelined and waits for every PUBACK: all are stored after that."""
    p = RawClient(port)
    p.connect(client_id)
    for i, payload in enumerate(payloads):
        p.send(publish_packet(topic, payload, qos=1, pid=i % 65000 + 1))
    for _ in payloads:
        assert p.recv_packet(timeout=20)[0] == 0x40
    p.close()


def drain_in_order(port, client_id, expected):
    """Reconnects a persistent QoS 1 subscriber, acknowledges everything and checks that it got `expected`,
    each once and in the order published [MQTT-4.6.0-6]."""
    s = RawClient(port)
    assert s.connect(client_id, clean=False) == b"\x01\x00"  # session present
    got = []
    while len(got) < len(expected):
        topic, qos, pid, payload, dup = read_publish(s, timeout=20)
        assert qos == 1 and not dup
        got.append(payload)
        ack(s, qos, pid)
    with pytest.raises(socket.timeout):
        s.recv_packet(timeout=0.3)  # nothing more: none twice
    s.close()
    assert len(got) == len(expected)
    first_wrong = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), None)
    assert first_wrong is None, f"message {first_wrong}: {got[first_wrong][:20]!r}"


def subscribe_offline(port, client_id, topic):
    s = RawClient(port)
    assert s.connect(client_id, clean=False) == b"\x00\x00"
    s.send(subscribe_packet(1, [(topic, 1)]))
    assert s.recv_packet()[0] == 0x90
    s.close()


def test_offline_queue_beyond_the_memory_budget_is_read_back_from_the_store(tmp_path):
    """2,000 QoS 1 messages of 1 KiB queued for an offline session with a 64 KiB budget: all but a share's worth
    are evicted to disk; on reconnect every one arrives once and in order, and after a kill -9 too. Two
    sessions share the bodies: the first one draining must not delete what the second still needs."""
    port, http_port = free_port(), free_port()
    extra = f"persistence_queue_memory 64kb\nmax_queued_messages 100000\nhttp_listener {http_port} 127.0.0.1\n"
    b = start(tmp_path, port, extra=extra)
    try:
        for cid in ("budget-a", "budget-b"):
            subscribe_offline(port, cid, "budget/#")
        first = [f"m{i:05}".encode().ljust(1024, b".") for i in range(2000)]
        publish_acked(port, "budget-pub", "budget/t", first)
        st = wait_for(lambda: (lambda s: s if s["queued_messages"] == 4000 else None)(stats(http_port)),
                      what="4000 queued")
        # 64 KiB over 2 workers: at most 32 KiB of 1 KiB messages resident per worker.
        assert st["queued_messages_evicted"] >= 4000 - 2 * 32, st
        drain_in_order(port, "budget-a", first)
        st = stats(http_port)
        assert st["queued_messages_lost"] == 0, st

        # budget-b still offline with its 2,000 (mostly evicted), and 2,000 more for both; then kill -9.
        second = [f"n{i:05}".encode().ljust(1024, b".") for i in range(2000)]
        publish_acked(port, "budget-pub", "budget/t", second)
        kill9(b)
        b = start(tmp_path, port, extra=extra)
        # Restored queued records stay on disk beyond the budget. (Messages acknowledged whose records the
        # target worker had not written yet at the kill are routed again at start-up and queued then.)
        m = re.search(r"Restored 2 persistent session\(s\), (\d+) queued \((\d+) of them on disk only\)", b.log())
        assert m and int(m.group(2)) >= int(m.group(1)) - 2 * 32, b.log()
        st = stats(http_port)
        assert st["queued_messages"] == 6000 and st["queued_messages_evicted"] >= 6000 - 2 * 32, st
        drain_in_order(port, "budget-a", second)
        drain_in_order(port, "budget-b", first + second)
        st = stats(http_port)
        assert (st["queued_messages"], st["queued_messages_evicted"], st["queued_messages_lost"]) == (0, 0, 0), st
    finally:
        b.stop()


def test_without_a_budget_offline_queues_stay_in_memory(tmp_path):
    port, http_port = free_port(), free_port()
    b = start(tmp_path, port, extra=f"persistence_queue_memory 0\nhttp_listener {http_port} 127.0.0.1\n")
    try:
        subscribe_offline(port, "nobudget", "nobudget/#")
        msgs = [f"m{i:04}".encode().ljust(1024, b".") for i in range(300)]
        publish_acked(port, "nobudget-pub", "nobudget/t", msgs)
        wait_for(lambda: stats(http_port)["queued_messages"] == 300, what="300 queued")
        assert stats(http_port)["queued_messages_evicted"] == 0
        drain_in_order(port, "nobudget", msgs)
    finally:
        b.stop()


def owner(client_id, workers=2):
    """The worker that owns a session: FNV-1a of the client id, as Broker::ownerOf."""
    h = 1469598103934665603
    for c in client_id.encode():
        h = ((h ^ c) * 1099511628211) % (1 << 64)
    return h % workers


def test_acknowledged_messages_to_a_shared_group_on_another_worker_survive_kill_9(tmp_path):
    """[MQTT-4.8.2-2] each message of a shared subscription goes to one member. The members' sessions live on
    the worker the publisher's is not on, so every message crosses workers after its PUBACK: a crash in between
    must not lose it (a pending-route marker names the group). Three kill -9 rounds mid-stream; every
    acknowledged message reaches one of the two members. (The window between the publisher's commit and the
    member worker's is microseconds, so random kills rarely hit it: the failpoint test below hits it every
    time.)"""
    port = free_port()
    pub_id = "share-pub"
    members = [c for c in (f"share-m{i}" for i in range(40)) if owner(c) != owner(pub_id)][:2]
    assert len(members) == 2
    b = start(tmp_path, port, extra="max_queued_messages 100000")
    for cid in members:
        s = RawClient(port)
        s.connect(cid, clean=False)
        s.send(subscribe_packet(1, [("$share/g/share/#", 1)]))
        assert s.recv_packet()[0] == 0x90
        s.close()
    acked, sent, by_pid = set(), {}, {}

    def handle(c, deadline):
        try:
            while time.monotonic() < deadline:
                first, body = c.recv_packet(timeout=max(0.01, deadline - time.monotonic()))
                seq = by_pid.get(struct.unpack("!H", body[:2])[0])
                if first == 0x40 and seq is not None:
                    acked.add(seq)
                    sent.pop(seq, None)
        except (OSError, ConnectionError):
            pass

    next_seq = 0
    try:
        for round_ in range(4):
            p = RawClient(port)
            p.connect(pub_id, clean=False)
            out = b"".join(publish_packet("share/t", f"m{seq}", qos=1, pid=seq % 60000 + 1, dup=True)
                           for seq in sent)
            if round_ < 3:
                for _ in range(2000):
                    seq, next_seq = next_seq, next_seq + 1
                    sent[seq] = 1
                    by_pid[seq % 60000 + 1] = seq
                    out += publish_packet("share/t", f"m{seq}", qos=1, pid=seq % 60000 + 1)
            p.send(out)
            if round_ < 3:
                handle(p, time.monotonic() + 0.05)
                kill9(b)
                handle(p, time.monotonic() + 0.05)
                b = start(tmp_path, port, extra="max_queued_messages 100000")
            else:
                handle(p, time.monotonic() + 5)
                assert not sent, f"{len(sent)} messages never acknowledged"
        got = []
        for cid in members:
            s = RawClient(port)
            assert s.connect(cid, clean=False) == b"\x01\x00"
            while True:
                try:
                    topic, qos, pid, payload, dup = read_publish(s, timeout=2)
                except (OSError, ConnectionError, AssertionError):
                    break
                got.append(int(payload.decode()[1:]))
                ack(s, qos, pid)
            s.close()
        lost = acked - set(got)
        assert not lost, f"{len(lost)} acknowledged messages lost, e.g. {sorted(lost)[:10]}\n" + b.log()[-3000:]
    finally:
        b.stop()


def retained_by_mosquitto_sub(port, topic_filter, count):
    """What Debian's mosquitto_sub receives on subscribing: `count` messages as {topic: payload}."""
    out = subprocess.run(["mosquitto_sub", "-p", str(port), "-t", topic_filter, "-v", "-C", str(count), "-W", "30"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    got = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert len(got) == count, "a topic arrived twice"
    return got


def retained_nothing_more(port, topic_filter, expected):
    """A raw subscriber gets exactly `expected` retained messages for `topic_filter`, and nothing after."""
    c = RawClient(port)
    c.connect("retained-check")
    c.send(subscribe_packet(1, [(topic_filter, 0)]))
    assert c.recv_packet()[0] == 0x90
    got = {}
    for _ in range(len(expected)):
        topic, _, _, payload, _ = read_publish(c, timeout=10)
        got[topic] = payload.decode()
    with pytest.raises(socket.timeout):
        c.recv_packet(timeout=0.5)
    c.close()
    assert got == expected


def browse(http_port, prefix, limit):
    url = f"http://127.0.0.1:{http_port}/api/v1/retained?prefix={prefix}&limit={limit}"
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def test_retained_messages_beyond_the_memory_budget_are_read_from_the_store(tmp_path):
    """2,000 retained messages with a 64 KiB budget: most live on disk only, yet every subscription gets all its
    matching messages (mosquitto_sub, wildcards and exact topics), replacing and deleting one that is on disk
    only works [MQTT-3.3.1-5] [MQTT-3.3.1-10], and all of it survives kill -9 [MQTT-3.3.1-6]."""
    port, http_port = free_port(), free_port()
    extra = f"persistence_retained_memory 64kb\nhttp_listener {http_port} 127.0.0.1\n"
    b = start(tmp_path, port, extra=extra)
    try:
        expected = {f"ret/{i % 20}/{i}": f"v{i}".ljust(200, ".") for i in range(2000)}
        p = RawClient(port)
        p.connect("ret-pub")
        for n, (topic, payload) in enumerate(expected.items()):
            p.send(publish_packet(topic, payload, qos=1, retain=True, pid=n + 1))
        for _ in expected:
            assert p.recv_packet(timeout=20)[0] == 0x40
        # Each takes ~200 B + 320 B of bookkeeping: about 120 fit in 64 KiB.
        st = wait_for(lambda: (lambda s: s if s["retained"]["on_disk"] > 1800 else None)(stats(http_port)),
                      what="retained messages leaving memory")
        assert st["retained"]["messages"] == 2000, st
        assert st["retained"]["bytes"] <= 64 * 1024, st
        assert retained_by_mosquitto_sub(port, "ret/#", 2000) == expected
        assert retained_by_mosquitto_sub(port, "+/7/+", 100) == {t: v for t, v in expected.items()
                                                                   if t.startswith("ret/7/")}
        retained_nothing_more(port, "ret/3/23", {"ret/3/23": expected["ret/3/23"]})
        retained_nothing_more(port, "ret/3/24", {})  # no such topic (24 % 20 is 4)

        # Replace one and delete one of those on disk only (the first published are least recently used).
        p.send(publish_packet("ret/0/0", "replaced", qos=1, retain=True, pid=1))
        p.send(publish_packet("ret/1/1", "", qos=1, retain=True, pid=2))
        for _ in range(2):
            assert p.recv_packet(timeout=10)[0] == 0x40
        p.close()
        expected["ret/0/0"] = "replaced"
        del expected["ret/1/1"]
        retained_nothing_more(port, "ret/1/+", {t: v for t, v in expected.items() if t.startswith("ret/1/")})
        assert browse(http_port, "ret/", 1)["total"] == 1999  # ($SYS messages count in the stats)

        kill9(b)
        b = start(tmp_path, port, extra=extra)
        m = re.search(r"(\d+) retained message\(s\) \((\d+) on disk only\)", b.log())
        assert m and int(m.group(1)) == 1999 and int(m.group(2)) > 1800, b.log()
        assert retained_by_mosquitto_sub(port, "ret/#", 1999) == expected
        retained_nothing_more(port, "ret/0/+", {t: v for t, v in expected.items() if t.startswith("ret/0/")})
        page = browse(http_port, "ret/1/", 5)
        assert page["total"] == 99 and [x["topic"] for x in page["messages"]] == sorted(
            t for t in expected if t.startswith("ret/1/"))[:5], page
    finally:
        b.stop()


@pytest.mark.parametrize("qos", [1, 2])
def test_a_message_acknowledged_but_not_yet_handed_to_the_subscribers_worker_survives_kill_9(tmp_path, qos):
    """The window the pending-route markers cover, hit every time: the publisher's worker commits its batch
    and acknowledges (PUBACK / PUBREC), then dies before the subscribers' worker got the message
    (STARLING_FAILPOINT=kill-before-handoff). After the restart the persistent subscriber and the shared
    group's member, both on the other worker, get it, QoS 2 exactly once [MQTT-4.3.3-2]."""
    port = free_port()
    pub_id = "fp-pub"
    others = [c for c in (f"fp-{i}" for i in range(40)) if owner(c) != owner(pub_id)]
    sub_id, member_id = others[:2]
    b = start(tmp_path, port)
    for cid, topic_filter in ((sub_id, "fp/#"), (member_id, "$share/g/fp/#")):
        s = RawClient(port)
        s.connect(cid, clean=False)
        s.send(subscribe_packet(1, [(topic_filter, 2)]))
        assert s.recv_packet()[0] == 0x90
        s.close()
    b.stop()

    os.environ["STARLING_FAILPOINT"] = "kill-before-handoff"
    try:
        b = start(tmp_path, port)
    finally:
        del os.environ["STARLING_FAILPOINT"]
    try:
        p = RawClient(port)
        p.connect(pub_id)
        p.send(publish_packet("fp/t", "acked", qos=qos, pid=7))
        assert p.recv_packet(timeout=5) == ((0x40 if qos == 1 else 0x50), b"\x00\x07")
        assert b.proc.wait(timeout=10) == -signal.SIGKILL
        assert "Failpoint kill-before-handoff" in b.log()
        b._log.close()
        b = start(tmp_path, port)
        assert "1 message(s) routed again" in b.log(), b.log()
        for cid in (sub_id, member_id):
            s = RawClient(port)
            assert s.connect(cid, clean=False) == b"\x01\x00"
            topic, got_qos, pid, payload, dup = read_publish(s)
            assert (topic, got_qos, payload) == ("fp/t", qos, b"acked")
            ack(s, got_qos, pid)
            with pytest.raises(socket.timeout):
                s.recv_packet(timeout=0.5)  # once
            s.close()
    finally:
        b.stop()


def test_retained_updates_acknowledged_before_kill_9_are_there_after_restart(tmp_path):
    """Three publishers (on both workers) stream retained QoS 1 updates and deletions to 60 topics each, with a
    16 KiB retained budget so most topics live on disk only; kill -9 mid-stream twice, then once after every
    update was acknowledged. After each restart every topic holds its last acknowledged state or a later one
    that was sent [MQTT-3.3.1-5] [MQTT-3.3.1-10], read by a new subscriber to '#' and by exact-topic
    subscriptions."""
    port = free_port()
    extra = "persistence_retained_memory 16kb"
    b = start(tmp_path, port, extra=extra)
    pubs = ["ret-crash-a", "ret-crash-b", "ret-crash-c"]
    topics = {p: [f"rc/{p[-1]}/{i}" for i in range(60)] for p in pubs}
    history = {t: [] for ts in topics.values() for t in ts}  # topic -> [payload, ...] as sent ("" deletes)
    acked = {}  # topic -> index in history of the last acknowledged update
    by_pid = {}

    def handle(c, deadline, until=None):
        """Reads PUBACKs until the deadline, the broker's end, or the one of packet id `until`."""
        try:
            while time.monotonic() < deadline:
                first, body = c.recv_packet(timeout=max(0.01, deadline - time.monotonic()))
                if first == 0x40:
                    pid = struct.unpack("!H", body[:2])[0]
                    topic, index = by_pid[(c, pid)]
                    acked[topic] = max(acked.get(topic, -1), index)
                    if pid == until:
                        return
        except (OSError, ConnectionError):
            pass

    try:
        for round_ in range(3):
            clients = {}
            for p in pubs:
                clients[p] = RawClient(port)
                clients[p].connect(p)
            # Ten passes over the topics, each acknowledged before the next (so that the broker's batches, and
            # evictions, come between an update and the next one of its topic); rounds 0 and 1 are killed in
            # the middle of the seventh, round 2 after the last was acknowledged.
            for k in range(10):
                for p, c in clients.items():
                    out = b""
                    for i in range(60):
                        n = k * 60 + i
                        topic = topics[p][i]
                        index = len(history[topic])
                        payload = "" if (n + round_) % 7 == 0 else f"{p}-{round_}-{n}".ljust(100, ".")
                        history[topic].append(payload)
                        by_pid[(c, n + 1)] = (topic, index)
                        out += publish_packet(topic, payload, qos=1, retain=True, pid=n + 1)
                    c.send(out)
                if round_ < 2 and k == 6:
                    for c in clients.values():
                        handle(c, time.monotonic() + 0.002)
                    break
                for c in clients.values():
                    handle(c, time.monotonic() + 20, until=k * 60 + 60)
            kill9(b)
            for c in clients.values():
                handle(c, time.monotonic() + 0.02)
                c.close()
            b = start(tmp_path, port, extra=extra)

            # What a new '#' subscriber gets, then each topic on its own.
            s = RawClient(port)
            s.connect("ret-crash-check")
            s.send(subscribe_packet(1, [("rc/#", 0)]))
            assert s.recv_packet()[0] == 0x90
            got = {}
            while True:
                try:
                    topic, _, _, payload, _ = read_publish(s, timeout=1)
                except socket.timeout:
                    break
                assert topic not in got, f"{topic} twice"
                got[topic] = payload.decode()
            s.close()
            for topic, sent in history.items():
                last = acked.get(topic, -1)
                allowed = set(sent[last:]) if last >= 0 else set(sent) | {""}
                state = got.get(topic, "")
                assert state in allowed, (f"round {round_}: {topic} holds {state[:20]!r}, acknowledged "
                                          f"{sent[last][:20] if last >= 0 else None!r}\n" + b.log()[-2000:])
                # The next round continues from what is there: nothing before it may come back.
                history[topic] = [state]
                acked[topic] = 0
            for topic in ("rc/a/7", "rc/b/59", "rc/c/0"):
                retained_nothing_more(port, topic, {topic: got[topic]} if got.get(topic) else {})
    finally:
        b.stop()


def test_when_the_store_fails_nothing_unstored_is_acknowledged(tmp_path):
    """Disk full, I/O error: commits fail (STARLING_FAILPOINT=fail-commits-while:FILE). A failure that passes is
    retried and the PUBACK comes late; one that lasts stops the broker (exit status 3) without acknowledging, and
    everything acknowledged before is there after the restart [MQTT-4.3.2-2]."""
    port, http_port = free_port(), free_port()
    flag = tmp_path / "store-fails"
    extra = f"http_listener {http_port} 127.0.0.1\n"
    b = start(tmp_path, port, extra=extra)
    s = RawClient(port)
    s.connect("sf-sub", clean=False)
    s.send(subscribe_packet(1, [("sf/#", 1)]))
    assert s.recv_packet()[0] == 0x90
    s.close()
    b.stop()

    os.environ["STARLING_FAILPOINT"] = f"fail-commits-while:{flag}"
    try:
        b = start(tmp_path, port, extra=extra)
    finally:
        del os.environ["STARLING_FAILPOINT"]
    try:
        p = RawClient(port)
        p.connect("sf-pub")
        p.send(publish_packet("sf/a", "before", qos=1, pid=1))
        assert p.recv_packet(timeout=5) == (0x40, b"\x00\x01")

        # A failure that passes: the commit is tried again, then acknowledged.
        flag.touch()
        p.send(publish_packet("sf/b", "retried", qos=1, pid=2))
        wait_for(lambda: "Store write failed (attempt 2 of 6)" in b.log(), timeout=5, what="a retry")
        with pytest.raises(socket.timeout):
            p.recv_packet(timeout=0.05)  # not acknowledged while the store fails
        flag.unlink()
        assert p.recv_packet(timeout=5) == (0x40, b"\x00\x02")
        assert stats(http_port)["store"]["write_errors"] >= 2

        # A failure that lasts: no acknowledgement, the broker stops.
        flag.touch()
        p.send(publish_packet("sf/c", "refused", qos=1, pid=3))
        assert b.proc.wait(timeout=10) == 3
        with pytest.raises((ConnectionError, OSError, AssertionError, socket.timeout)):
            assert p.recv_packet(timeout=2)[0] != 0x40
        assert "stopping the broker now so that nothing unstored is acknowledged" in b.log()
        b._log.close()
        flag.unlink()

        b = start(tmp_path, port, extra=extra)
        s = RawClient(port)
        assert s.connect("sf-sub", clean=False) == b"\x01\x00"
        got = []
        while True:
            try:
                topic, qos, pid, payload, dup = read_publish(s, timeout=2)
            except (socket.timeout, OSError, AssertionError):
                break
            got.append(payload)
            ack(s, qos, pid)
        assert b"before" in got and b"retried" in got, got
        assert b"refused" not in got, got  # never acknowledged, never stored
    finally:
        b.stop()
