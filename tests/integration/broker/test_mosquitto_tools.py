"""Mosquitto's own command-line clients (mosquitto_sub and mosquitto_pub 2.0) against starling: the
persistent-session lab every MQTT course starts with, retained messages set and removed with -r/-n, and
mosquitto_sub's -F output format.

A long-running mosquitto_sub runs line-buffered (stdbuf -oL) with -d, so its debug lines ("Client Sub1
received SUBACK") tell when it is subscribed: no sleeps. Absences are proven with a sentinel message
published after what must not arrive. mosquitto_sub is never stopped with a signal: its SIGINT handler
calls mosquitto_disconnect() from signal context and now and then hangs (a race in mosquitto_sub 2.0.11);
-E (exit once subscribed) and -C (exit after N messages) make it disconnect cleanly by itself.
"""
import queue
import subprocess
import threading

import pytest

HOST = "127.0.0.1"
TIMEOUT = 10


def pub(port, *args):
    r = subprocess.run(["mosquitto_pub", "-h", HOST, "-p", str(port), *args], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 0, f"mosquitto_pub {' '.join(args)}: exit {r.returncode}: {r.stderr}"
    return r


def sub_once(port, *args):
    """A mosquitto_sub that ends by itself (-C/-W); returns its CompletedProcess."""
    return subprocess.run(["mosquitto_sub", "-h", HOST, "-p", str(port), *args], capture_output=True, text=True,
                          timeout=TIMEOUT + 5)


def is_debug(line):
    """-d output: "Client Sub1 received SUBACK", "Subscribed (mid: 1): 1"."""
    return line.startswith("Client ") or line.startswith("Subscribed (mid: ")


class Sub:
    """A running mosquitto_sub -d; output lines are split into debug lines and message lines."""

    def __init__(self, port, *args):
        self.proc = subprocess.Popen(["stdbuf", "-oL", "mosquitto_sub", "-h", HOST, "-p", str(port), "-d", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.debug = []
        self.lines = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _next(self, timeout, what):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"mosquitto_sub: timed out after {timeout}s waiting for {what}; "
                                 f"debug so far: {self.debug}") from None
        if line is None:
            raise AssertionError(f"mosquitto_sub exited ({self.proc.wait()}) before {what}: "
                                 f"{self.proc.stderr.read()}; debug: {self.debug}")
        return line

    def wait_debug(self, text, timeout=TIMEOUT):
        while True:
            line = self._next(timeout, repr(text))
            if is_debug(line):
                self.debug.append(line)
                if text in line:
                    return line
            else:
                raise AssertionError(f"message {line!r} before debug line {text!r}")

    def message(self, timeout=TIMEOUT):
        """The next message line (debug lines are kept aside)."""
        while True:
            line = self._next(timeout, "a message")
            if is_debug(line):
                self.debug.append(line)
            else:
                return line

    def finish(self, timeout=TIMEOUT):
        """Waits for mosquitto_sub to exit; returns its exit status and the message lines not yet read."""
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        rest = []
        while not self.lines.empty():
            line = self.lines.get_nowait()
            if line is None:
                continue
            (self.debug if is_debug(line) else rest).append(line)
        return rc, rest

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)


@pytest.fixture
def subs():
    started = []
    yield lambda *a: started.append(Sub(*a)) or started[-1]
    for s in started:
        s.kill()


@pytest.mark.parametrize("version", ["mqttv31", "mqttv311", "mqttv5"])
def test_lab1_persistent_session(broker, subs, version):
    """LAB 1: `mosquitto_sub -i Sub1 -t test/message -q 1 -c`, disconnect (-E: once subscribed, where the
    lab has Ctrl-C), `mosquitto_pub -t test/message -q 1 -m 'Hello World'`, the same mosquitto_sub again: it
    receives exactly 'Hello World', queued for its persistent session [MQTT-3.1.2-4] [MQTT-3.1.2-5]
    (v5: -c means a session that never expires [MQTT-3.1.2-23])."""
    args = ["-V", version, "-i", "Sub1", "-t", "test/message", "-q", "1", "-c"]
    first = subs(broker.port, *args, "-E")
    assert first.finish() == (0, [])
    assert any("received SUBACK" in d for d in first.debug), first.debug
    assert any("sending DISCONNECT" in d for d in first.debug), first.debug

    pub(broker.port, "-V", version, "-t", "test/message", "-q", "1", "-m", "Hello World")

    second = subs(broker.port, *args, "-C", "2")
    assert second.message() == "Hello World"
    assert any("received CONNACK (0)" in d for d in second.debug), second.debug
    pub(broker.port, "-V", version, "-t", "test/message", "-q", "1", "-m", "sentinel")
    assert second.message() == "sentinel", "more than 'Hello World' was queued"
    assert second.finish() == (0, [])


def test_retained_set_and_removed_with_r_and_n(broker, subs):
    """`mosquitto_pub -r` sets a retained message, delivered with the retain flag to later subscribers
    [MQTT-3.3.1-5] [MQTT-3.3.1-8]; `mosquitto_pub -r -n` (zero-length retained) removes it [MQTT-3.3.1-10]."""
    pub(broker.port, "-t", "lab/retained", "-m", "retained msg", "-r", "-q", "1")
    r = sub_once(broker.port, "-t", "lab/retained", "-q", "1", "-C", "1", "-W", str(TIMEOUT), "-F", "%t %p %q %r")
    assert (r.returncode, r.stdout) == (0, "lab/retained retained msg 1 1\n"), r.stderr

    pub(broker.port, "-t", "lab/retained", "-r", "-n")
    # --retained-only: prints retained messages, exits at the first one that is not retained (our sentinel).
    s = subs(broker.port, "-t", "lab/retained", "-q", "1", "--retained-only", "-W", str(TIMEOUT), "-F", "%t %p %r")
    s.wait_debug("received SUBACK")
    pub(broker.port, "-t", "lab/retained", "-m", "not retained", "-q", "1")
    rc, printed = s.finish()
    assert rc == 0 and any("received PUBLISH" in d for d in s.debug), (rc, s.debug)
    assert printed == [], f"a removed retained message was delivered: {printed}"


def test_remove_retained_option(broker, subs):
    """`mosquitto_sub --remove-retained` clears the retained messages it receives (by publishing zero-length
    retained messages [MQTT-3.3.1-10]); a later subscriber gets none."""
    for t in ("lab/a", "lab/b"):
        pub(broker.port, "-t", t, "-m", f"{t} value", "-r")
    # mosquitto_sub 2.0.11 with --remove-retained does not exit after its DISCONNECT but at the -W timeout
    # (exit 27, "Timed out"), against Mosquitto too; its removals are acknowledged before that DISCONNECT.
    r = sub_once(broker.port, "-t", "lab/#", "--remove-retained", "-C", "2", "-W", "3", "-v")
    assert r.returncode in (0, 27), r.stderr
    assert sorted(r.stdout.splitlines()) == ["lab/a lab/a value", "lab/b lab/b value"]

    s = subs(broker.port, "-t", "lab/#", "-v", "-C", "1")
    s.wait_debug("received SUBACK")
    pub(broker.port, "-t", "lab/a", "-m", "sentinel")
    assert s.message() == "lab/a sentinel", "a removed retained message was delivered"
    assert s.finish() == (0, [])


def test_output_format(broker, subs):
    """mosquitto_sub -F '%t %p %q %r': topic, payload, QoS (the minimum of published and granted
    [MQTT-3.8.4-6]) and retain flag (1 for a stored message sent on subscribe [MQTT-3.3.1-8], 0 for live
    forwarding [MQTT-3.3.1-9])."""
    pub(broker.port, "-t", "fmt/a", "-m", "hello", "-q", "2", "-r")
    s = subs(broker.port, "-t", "fmt/#", "-q", "2", "-F", "%t %p %q %r", "-C", "4")
    assert s.message() == "fmt/a hello 2 1"
    pub(broker.port, "-t", "fmt/b", "-m", "world", "-q", "1")
    assert s.message() == "fmt/b world 1 0"
    pub(broker.port, "-t", "fmt/c", "-m", "retained live", "-q", "2", "-r")
    assert s.message() == "fmt/c retained live 2 0"
    pub(broker.port, "-t", "fmt/d", "-m", "zero", "-q", "0")
    assert s.message() == "fmt/d zero 0 0"
    assert s.finish() == (0, [])

    # Granted QoS 0: a QoS 2 retained message comes at QoS 0; -N leaves out the newline; %l is the length.
    r = sub_once(broker.port, "-t", "fmt/a", "-q", "0", "-C", "1", "-W", str(TIMEOUT), "-F", "%t|%p|%q|%r|%l", "-N")
    assert (r.returncode, r.stdout) == (0, "fmt/a|hello|0|1|5"), r.stderr
