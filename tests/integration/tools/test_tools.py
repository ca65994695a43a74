"""starling_pub/_sub/_passwd/_bench against Debian's mosquitto broker and mosquitto's own client tools.

Each test class starts its own mosquitto on a free loopback port and stops it by PID. Every subprocess runs
with a timeout, so a hang fails the test instead of blocking the run.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("STARLING_BIN_DIR", os.path.join(os.path.dirname(__file__), "../../../build/client/bin"))
BROKER = os.environ.get("MOSQUITTO_BROKER", "/usr/sbin/mosquitto")
TIMEOUT = 20


def tool(name):
    return os.path.join(BIN, name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def run(args, **kw):
    kw.setdefault("timeout", TIMEOUT)
    return subprocess.run(args, capture_output=True, **kw)


class Broker:
    def __init__(self, extra=""):
        self.dir = tempfile.mkdtemp(prefix="starling-tools-")
        self.port = free_port()
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\n{extra}\n")
            if "allow_anonymous" not in extra:
                f.write("allow_anonymous true\n")
            if os.geteuid() == 0:
                # Run as root, mosquitto drops to user `mosquitto`, which cannot read our private temp dir.
                f.write("user root\n")
        self.log = open(os.path.join(self.dir, "broker.log"), "w")
        self.proc = subprocess.Popen([BROKER, "-c", conf], stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_until(self._accepting):
            self.stop()
            raise RuntimeError("mosquitto did not start")

    def _accepting(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class BrokerTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker()
        self.p = ["-h", "127.0.0.1", "-p", str(self.broker.port)]

    def tearDown(self):
        self.broker.stop()

    def start_sub(self, exe, args):
        """Starts a subscriber and waits until the broker has its subscription (a retained probe arrives)."""
        proc = subprocess.Popen([exe] + self.p + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return proc

    def wait_subscribers(self, n):
        log = os.path.join(self.broker.dir, "broker.log")

        def count():
            with open(log) as f:
                return f.read().count("New client connected")

        self.assertTrue(wait_until(lambda: count() >= n), "subscribers did not connect")
        time.sleep(0.3)  # SUBSCRIBE follows CONNECT; the broker does not log it at the default level


class PubSubInterop(BrokerTest):
    def test_mosquitto_pub_to_starling_sub(self):
        sub = self.start_sub(tool("starling_sub"), ["-t", "t/#", "-v", "-C", "2"])
        self.wait_subscribers(1)
        run(["mosquitto_pub"] + self.p + ["-t", "t/1", "-m", "one", "-q", "1"], check=True)
        run(["mosquitto_pub"] + self.p + ["-t", "t/2", "-m", "two", "-q", "2"], check=True)
        out, err = sub.communicate(timeout=TIMEOUT)
        self.assertEqual(sub.returncode, 0, err)
        self.assertEqual(out, b"t/1 one\nt/2 two\n")

    def test_starling_pub_to_mosquitto_sub(self):
        for version in ["mqttv31", "mqttv311", "mqttv5"]:
            with self.subTest(version=version):
                sub = self.start_sub("mosquitto_sub", ["-t", "t/#", "-v", "-C", "3", "-q", "2"])
                self.wait_subscribers(1 if version == "mqttv31" else 0)
                time.sleep(0.3)
                for qos in ["0", "1", "2"]:
                    r = run([tool("starling_pub")] + self.p + ["-V", version, "-t", "t/" + qos, "-m", "m" + qos, "-q", qos])
                    self.assertEqual(r.returncode, 0, r.stderr)
                out, err = sub.communicate(timeout=TIMEOUT)
                self.assertEqual(out, b"t/0 m0\nt/1 m1\nt/2 m2\n")

    def test_starling_pub_to_starling_sub_stdin_lines_and_file(self):
        sub = self.start_sub(tool("starling_sub"), ["-t", "l", "-C", "3", "-q", "1"])
        self.wait_subscribers(1)
        r = run([tool("starling_pub")] + self.p + ["-t", "l", "-l", "-q", "1"], input=b"a\nbb\nccc\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        out, _ = sub.communicate(timeout=TIMEOUT)
        self.assertEqual(out, b"a\nbb\nccc\n")

    def test_retained_and_remove_retained(self):
        run([tool("starling_pub")] + self.p + ["-t", "r/1", "-m", "keep", "-r", "-q", "1"], check=True)
        r = run([tool("starling_sub")] + self.p + ["-t", "r/#", "-F", "%t %p %r", "-C", "1", "--remove-retained"])
        self.assertEqual(r.stdout, b"r/1 keep 1\n")
        r = run([tool("starling_sub")] + self.p + ["-t", "r/#", "-W", "1"])
        self.assertEqual(r.returncode, 27)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(r.stderr, b"Timed out\n")

    def test_lab_persistent_session(self):
        """LAB 1: -i Sub1 -q 1 -c, disconnect, publish QoS 1, reconnect and receive."""
        args = ["-i", "Sub1", "-t", "test/message", "-q", "1", "-c"]
        first = subprocess.Popen([tool("starling_sub")] + self.p + args, stdout=subprocess.PIPE)
        self.wait_subscribers(1)
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=TIMEOUT)
        r = run([tool("starling_pub")] + self.p + ["-t", "test/message", "-m", "Hello World", "-q", "1"])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run([tool("starling_sub")] + self.p + args + ["-C", "1"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"Hello World\n")
        expected = run(["mosquitto_sub"] + self.p + ["-i", "Sub2", "-t", "x", "-q", "1", "-c", "-W", "1"])
        self.assertEqual(expected.returncode, 27)


class FormatIdentical(BrokerTest):
    FORMATS = [
        "%t|%p|%q|%r|%l|%x|%X",
        "[%10t][%-10t][%.3t][%05l][%-8p][%12x]",
        "%C|%R|%D|%E|%F|%P|%S|%A",
        "\\t%t\\\\@@%%",
    ]

    def publish_all(self):
        pubs = [
            ["-t", "f/a", "-m", "hello", "-q", "1"],
            ["-t", "f/b", "-m", "", "-q", "0"],
            ["-t", "f/c", "-m", "x\ty\"z", "-q", "2", "-r"],
            ["-t", "f/d", "-m", "{\"a\": [1, 2.50, true]}", "-V", "5",
             "-D", "publish", "payload-format-indicator", "1",
             "-D", "publish", "content-type", "application/json",
             "-D", "publish", "response-topic", "reply/here",
             "-D", "publish", "correlation-data", "abc",
             "-D", "publish", "user-property", "k1", "v1",
             "-D", "publish", "user-property", "k2", "v2"],
        ]
        for p in pubs:
            run(["mosquitto_pub"] + self.p + p, check=True)

    @staticmethod
    def lines(out):
        # One line per message. The order across QoS levels is the client library's business, not the
        # format's: libmosquitto hands a QoS 2 message over at PUBREL, ours at PUBLISH. Compare as a set.
        return sorted(out.splitlines(keepends=True))

    def both_print(self, common):
        ours = self.start_sub(tool("starling_sub"), common)
        theirs = self.start_sub("mosquitto_sub", common)
        self.wait_subscribers(2)
        self.publish_all()
        a, _ = ours.communicate(timeout=TIMEOUT)
        b, _ = theirs.communicate(timeout=TIMEOUT)
        return a, b

    def test_same_bytes_as_mosquitto_sub(self):
        for version in ["mqttv311", "mqttv5"]:
            for fmt in self.FORMATS:
                with self.subTest(version=version, fmt=fmt):
                    self.broker.stop()
                    self.setUp()  # a fresh broker: no retained message or session from the last round
                    a, b = self.both_print(["-t", "f/#", "-q", "2", "-C", "4", "-V", version, "-F", fmt])
                    self.assertEqual(len(a.splitlines()), 4)
                    self.assertEqual(self.lines(a), self.lines(b))

    def test_json_same_apart_from_timestamp(self):
        a, b = self.both_print(["-t", "f/#", "-q", "2", "-C", "4", "-V", "mqttv5", "-F", "%j"])
        strip = lambda out: sorted((json.dumps({k: v for k, v in json.loads(l).items() if k != "tst"}, sort_keys=True)
                                    for l in out.splitlines()))
        self.assertEqual(len(a.splitlines()), 4)
        self.assertEqual(strip(a), strip(b))


class ErrorsLikeMosquitto(unittest.TestCase):
    CASES = [
        ("pub", ["-q", "3", "-t", "a", "-m", "x"]),
        ("pub", ["-p"]),
        ("pub", ["--bogus"]),
        ("pub", ["-t", "a/#", "-m", "x"]),
        ("pub", ["-k", "2"]),
        ("pub", ["-D", "publish", "payload-format-indicator", "300"]),
        ("pub", ["-c", "-t", "a", "-m", "x"]),
        ("sub", []),
        ("sub", ["-t", "a/#/b"]),
        ("sub", ["-t", "a", "-F", "%z"]),
        ("sub", ["-t", "a", "-C", "0"]),
        ("sub", ["-m", "x"]),
        ("sub", ["-t", "a", "-V", "4"]),
    ]

    def test_bad_flags(self):
        for kind, args in self.CASES:
            with self.subTest(kind=kind, args=args):
                ours = run([tool("starling_" + kind)] + args)
                theirs = run(["mosquitto_" + kind] + args)
                self.assertEqual(ours.returncode, theirs.returncode)
                self.assertEqual(ours.stderr.replace(b"starling_", b"mosquitto_"), theirs.stderr)

    def test_connection_refused(self):
        port = str(free_port())
        for kind, extra in [("pub", ["-m", "x"]), ("sub", [])]:
            ours = run([tool("starling_" + kind), "-h", "127.0.0.1", "-p", port, "-t", "a"] + extra)
            theirs = run(["mosquitto_" + kind, "-h", "127.0.0.1", "-p", port, "-t", "a"] + extra)
            self.assertEqual((ours.returncode, ours.stderr), (theirs.returncode, theirs.stderr))


class PasswordFiles(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="starling-passwd-")
        self.file = os.path.join(self.dir, "pw")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def broker_accepts(self, user, password):
        broker = Broker(f"allow_anonymous false\npassword_file {self.file}\n")
        try:
            r = run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", user, "-P", password,
                     "-t", "t", "-m", "x"])
            return r.returncode == 0
        finally:
            broker.stop()

    def test_mosquitto_broker_accepts_our_file(self):
        run([tool("starling_passwd"), "-c", "-b", self.file, "alice", "secret"], check=True)
        run([tool("starling_passwd"), "-H", "sha512", "-b", self.file, "bob", "pw2"], check=True)
        run([tool("starling_passwd"), "-I", "1000", "-b", self.file, "carol", "c3"], check=True)
        self.assertTrue(self.broker_accepts("alice", "secret"))
        self.assertTrue(self.broker_accepts("bob", "pw2"))
        self.assertTrue(self.broker_accepts("carol", "c3"))
        self.assertFalse(self.broker_accepts("alice", "wrong"))

    def test_files_move_both_ways(self):
        run(["mosquitto_passwd", "-c", "-b", self.file, "alice", "secret"], check=True)
        run([tool("starling_passwd"), "-b", self.file, "bob", "pw2"], check=True)
        run(["mosquitto_passwd", "-b", self.file, "carol", "c3"], check=True)
        run([tool("starling_passwd"), "-D", self.file, "carol"], check=True)
        with open(self.file) as f:
            users = [l.split(":")[0] for l in f.read().splitlines()]
        self.assertEqual(users, ["alice", "bob"])
        self.assertTrue(self.broker_accepts("alice", "secret"))
        self.assertTrue(self.broker_accepts("bob", "pw2"))

    def test_upgrade_plain_text_file(self):
        with open(self.file, "w") as f:
            f.write("alice:secret\nbob:pw2\n")
        run([tool("starling_passwd"), "-U", self.file], check=True)
        self.assertTrue(self.broker_accepts("bob", "pw2"))

    def test_messages_like_mosquitto_passwd(self):
        cases = [["-c", "-D", "f", "u"], ["-H", "md5", "f", "u"], ["-I", "0", "f", "u"], ["-b", "-D", "f", "u"],
                 ["-U"], ["-D", self.file + ".missing", "u"], ["-b", "f", "u:x", "p"]]
        for args in cases:
            with self.subTest(args=args):
                ours = run([tool("starling_passwd")] + args)
                theirs = run(["mosquitto_passwd"] + args)
                self.assertEqual((ours.returncode, ours.stderr), (theirs.returncode, theirs.stderr))


def bench(port, *args, timeout=60):
    r = run([tool("starling_bench"), *args[:1], "-h", "127.0.0.1", "-p", str(port), *args[1:]], timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(r.stderr.decode())
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


@unittest.skipUnless(os.path.exists(tool("starling_bench")), "starling_bench not built")
class Bench(BrokerTest):
    def test_counts_every_message_once(self):
        for scenario, qos in [("pairs", "1"), ("fanin", "2"), ("fanout", "0")]:
            with self.subTest(scenario=scenario, qos=qos):
                summary = bench(self.broker.port, scenario, "-q", qos, "--rate", "2000", "--duration", "2",
                                "--warmup", "0", "-n", "2")
                self.assertGreater(summary["received"], 0)
                self.assertEqual(summary["lost"], 0)
                self.assertEqual(summary["duplicates"], 0)
                self.assertEqual(summary["out_of_order"], 0)
                if qos == "0":
                    self.assertIsNone(summary["lost_acked"])
                    self.assertIsNone(summary["unacked"])
                else:
                    self.assertEqual(summary["lost_acked"], 0)
                    self.assertEqual(summary["unacked"], 0)
                    self.assertEqual(summary["rejected"], 0)

    def test_fractional_duration_measures_the_publishing_window(self):
        # Publishing stops at 1.5 s (not 2 s); the window is 0.5 s .. 1.5 s and `rate` counts what arrived in it.
        s = bench(self.broker.port, "pairs", "-q", "1", "--rate", "2000", "--duration", "1.5", "--warmup", "0.5",
                  "-n", "2")
        self.assertAlmostEqual(s["window_secs"], 1.0, delta=0.05)
        self.assertLessEqual(s["sent"], 2000 + 10)  # 2000 msg/s from ~0.5 s (after the settle) to 1.5 s
        self.assertGreater(s["sent"], 1500)
        self.assertLessEqual(s["window_received"] + s["drained"], s["received"])
        self.assertAlmostEqual(s["rate"], s["window_received"] / s["window_secs"], delta=2)
        self.assertGreater(s["rate"], 1000)
        self.assertLess(s["rate"], 2200)
        self.assertEqual(s["lost"], 0)

    def test_conn_reports_connect_latency(self):
        s = bench(self.broker.port, "conn", "-n", "20", "--duration", "1")
        self.assertEqual(s["connected"], 20)
        self.assertGreater(s["connect_p50_us"], 0)
        self.assertLessEqual(s["connect_p50_us"], s["connect_p99_us"])
        self.assertLessEqual(s["connect_p99_us"], s["connect_max_us"])
        self.assertGreater(s["connect_secs"], 0)
        self.assertGreater(s["connects_per_sec"], 0)

    def test_persistent_subscribers_keep_their_sessions(self):
        for version in ("mqttv311", "mqttv5"):
            with self.subTest(version=version):
                s = bench(self.broker.port, "pairs", "-q", "1", "--rate", "1000", "--duration", "1.5", "--warmup",
                          "0.5", "-n", "2", "-V", version, "--persistent")
                self.assertTrue(s["persistent"])
                self.assertGreater(s["received"], 0)
                self.assertEqual(s["lost"], 0)
                self.assertEqual(s["duplicates"], 0)
                # The broker kept bench-sub-1's session: a clean session 0 CONNECT (3.1.1) under its id finds it.
                with socket.create_connection(("127.0.0.1", self.broker.port), timeout=5) as c:
                    c.sendall(b"\x10\x17\x00\x04MQTT\x04\x00\x00\x3c\x00\x0bbench-sub-1")
                    connack = b""
                    while len(connack) < 4:
                        chunk = c.recv(4 - len(connack))
                        if not chunk:
                            break
                        connack += chunk
                    self.assertEqual(connack[:2], b"\x20\x02")
                    self.assertEqual(connack[2] & 1, 1, "session present")
                    self.assertEqual(connack[3], 0)
                    c.sendall(b"\xe0\x00")


@unittest.skipUnless(os.path.exists(tool("starling_bench")), "starling_bench not built")
class BenchLoss(unittest.TestCase):
    """A broker that drops acknowledged QoS 1 messages (queue of 1 for a subscriber with 1 in flight): the bench
    must report them as lost_acked, not as backlog."""

    def setUp(self):
        self.broker = Broker("max_queued_messages 1\nmax_inflight_messages 1\n")

    def tearDown(self):
        self.broker.stop()

    def test_lost_acked_counts_broker_drops(self):
        s = bench(self.broker.port, "fanin", "-q", "1", "-n", "4", "--duration", "1.5", "--warmup", "0.5")
        self.assertGreater(s["sent"], 0)
        self.assertGreater(s["lost_acked"], 0)
        self.assertLessEqual(s["lost_acked"], s["lost"])
        # Every lost message was either acknowledged or is among the unacknowledged ones.
        self.assertLessEqual(s["lost"], s["lost_acked"] + s["unacked"] + s["rejected"])
        self.assertEqual(s["duplicates"], 0)


if __name__ == "__main__":
    unittest.main()
