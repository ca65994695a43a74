"""Bad input never crashes the broker or disturbs other clients: garbage, truncated and oversized packets,
half-open sockets, connection storms, slow consumers."""
import os
import socket
import struct
import time

from harness import Broker, RawClient, connect_packet, packet, publish_packet, subscribe_packet, wait_for


def healthy(port):
    c = RawClient(port)
    ok = c.connect("health-check") == b"\x00\x00"
    c.close()
    return ok


def test_garbage_bytes(broker):
    rnd = __import__("random").Random(1234)
    for i in range(200):
        s = socket.create_connection(("127.0.0.1", broker.port))
        s.sendall(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300))))
        s.close()
    # Garbage after a valid CONNECT as well.
    for i in range(100):
        c = RawClient(broker.port)
        c.connect(f"g{i}")
        c.send(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300))))
        c.close()
    assert broker.alive()
    assert healthy(broker.port)


def test_remaining_length_over_four_bytes_closes(broker):
    """[MQTT-1.5.5-1] / 2.2.3: a remaining length of more than four bytes is malformed."""
    c = RawClient(broker.port)
    c.connect("rl")
    c.send(b"\x30\xff\xff\xff\xff\x01")
    assert c.expect_closed()
    assert healthy(broker.port)


def test_truncated_packets_then_close(broker):
    full = connect_packet("trunc")
    for cut in range(1, len(full)):
        s = socket.create_connection(("127.0.0.1", broker.port))
        s.sendall(full[:cut])
        s.close()
    assert healthy(broker.port)


def test_packet_split_byte_by_byte_is_accepted(broker):
    c = RawClient(broker.port)
    for b in connect_packet("slow-writer"):
        c.send(bytes([b]))
        time.sleep(0.001)
    assert c.recv_packet() == (0x20, b"\x00\x00")


def test_packets_cut_anywhere_and_larger_than_a_read_arrive_intact(broker2):
    """Input is read into a buffer shared by a worker's connections, and only an incomplete packet stays with
    its connection: packets cut at any byte, one larger than the shared buffer (64 KiB), and the input that
    follows a CONNECT on a connection handed to another worker all arrive intact and in order."""
    sub = RawClient(broker2.port)
    sub.connect("cut-sub")
    sub.send(subscribe_packet(1, [("cut/#", 0)]))
    assert sub.recv_packet()[0] == 0x90
    big = os.urandom(300_000)
    for n in range(4):  # client ids owned by either worker, so some connections move
        topic = f"cut/{n}"
        payloads = [f"{n}-{i:04d}".encode() * 15 for i in range(1500)] + [big]
        payloads += [f"{n}-{i:04d}".encode() * 15 for i in range(1500, 3000)]
        stream = connect_packet(f"cut-pub-{n}") + b"".join(publish_packet(topic, p) for p in payloads)
        pub = socket.create_connection(("127.0.0.1", broker2.port))
        for i in range(0, len(stream), 7919):  # a prime: the cuts fall everywhere, headers included
            pub.sendall(stream[i:i + 7919])
            time.sleep(0.001)
        got = []
        while len(got) < len(payloads):
            first, body = sub.recv_packet()
            assert first == 0x30
            assert body[2:2 + len(topic)] == topic.encode()
            got.append(body[2 + len(topic):])
        assert got == payloads
        pub.close()
    assert broker2.alive()


def test_oversize_packet_closes_connection():
    with Broker("max_packet_size 1000") as b:
        sub = RawClient(b.port)
        sub.connect("big-sub")
        sub.send(subscribe_packet(1, [("big", 0)]))
        sub.recv_packet()
        c = RawClient(b.port)
        c.connect("big")
        c.send(publish_packet("big", b"x" * 2000))
        assert c.expect_closed()
        try:
            sub.recv_packet(timeout=0.5)
            raise AssertionError("oversize message delivered")
        except TimeoutError:
            pass
        assert healthy(b.port)


def test_message_size_limit_drops_message():
    with Broker("message_size_limit 10") as b:
        sub = RawClient(b.port)
        sub.connect("msl-sub")
        sub.send(subscribe_packet(1, [("msl", 0)]))
        sub.recv_packet()
        c = RawClient(b.port)
        c.connect("msl")
        c.send(publish_packet("msl", b"x" * 11, qos=1, pid=1))
        assert c.recv_packet() == (0x40, b"\x00\x01")
        c.send(publish_packet("msl", b"small"))
        assert sub.recv_packet()[1].endswith(b"small")


def test_half_open_sockets_are_dropped_without_connect():
    with Broker() as b:
        idle = [socket.create_connection(("127.0.0.1", b.port)) for _ in range(20)]
        # Never sends CONNECT: closed by the broker after its connect timeout (10 s).
        idle[0].settimeout(15)
        assert idle[0].recv(10) == b""
        for s in idle:
            s.close()
        assert healthy(b.port)


def test_connection_storm_opened_and_dropped(broker2):
    """Thousands of connections opened and dropped (half with CONNECT, half without) leave the broker serving."""
    n = int(os.environ.get("STARLING_STORM", "3000"))
    conn = connect_packet("storm")
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", broker2.port))
        if i % 2:
            s.sendall(connect_packet(f"storm-{i}"))
        s.close()
    assert broker2.alive()
    assert healthy(broker2.port)


def test_slow_consumer_loses_qos0_not_memory():
    """A subscriber that does not read: QoS 0 beyond the output hard limit is dropped and counted."""
    with Broker("output_limit 64kb 256kb 1\nsys_interval 1") as b:
        slow = socket.create_connection(("127.0.0.1", b.port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(connect_packet("slow"))
        slow.sendall(subscribe_packet(1, [("flood", 0)]))
        time.sleep(0.2)
        pub = RawClient(b.port)
        pub.connect("flooder")
        payload = b"x" * 1024
        for i in range(8000):
            pub.send(publish_packet("flood", payload))
        # Other clients are still served promptly.
        assert healthy(b.port)
        watcher = RawClient(b.port)
        watcher.connect("watch")
        watcher.send(subscribe_packet(1, [("$SYS/broker/publish/messages/dropped", 0)]))
        watcher.recv_packet()
        def dropped():
            first, body = watcher.recv_packet()
            return int(body[2 + int.from_bytes(body[:2], "big"):]) > 0
        wait_for(dropped, timeout=5, what="dropped counter > 0")
        slow.close()


def test_open_file_limit_reached_logs_once_and_recovers():
    """At the process's open-file limit accept() fails with EMFILE: the broker retries without spinning, says so
    once rather than ten times a second, and accepts again as soon as descriptors are free."""
    import resource
    import subprocess
    import tempfile
    from harness import STARLING, free_port
    port = free_port()
    d = tempfile.mkdtemp(prefix="starling-emfile-")
    conf = os.path.join(d, "c.conf")
    with open(conf, "w") as f:
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\nworker_threads 1\n")
    log = open(os.path.join(d, "log"), "wb")

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    proc = subprocess.Popen([STARLING, "-c", conf], stdout=log, stderr=subprocess.STDOUT, preexec_fn=low_limit)
    socks = []

    def answers():
        try:
            return healthy(port)
        except OSError:
            return False
    try:
        wait_for(answers, timeout=10, what="the broker")
        for _ in range(80):  # more than the broker can hold; the kernel queues the rest in the backlog
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(1.5)
        assert proc.poll() is None
        text = open(os.path.join(d, "log"), "rb").read().decode(errors="replace")
        assert 1 <= text.count("accept failed") <= 2, text[-2000:]
        assert "Too many open files" in text
        for s in socks:
            s.close()
        socks.clear()
        wait_for(answers, timeout=10, what="accepting again after descriptors were freed")
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
