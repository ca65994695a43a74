"""Test harness: starts the real `starling` binary on a free loopback port and talks to it with real
clients (paho-mqtt, mosquitto_pub/sub) and a raw socket client for byte-level checks. Every wait has a
deadline; every process started here is ended here, by PID."""
import os
import socket
import struct
import subprocess
import tempfile
import time

BIN_DIR = os.environ.get("STARLING_BIN_DIR", os.path.join(os.path.dirname(__file__), "../../../build/release/bin"))
STARLING = os.path.join(BIN_DIR, "starling")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout=5.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Broker:
    """A starling process with a generated config: `listener PORT 127.0.0.1`, `allow_anonymous true`
    and `extra` lines."""

    def __init__(self, extra="", workers=None, listener=True, anonymous=True, head="", port=None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="starling-test-")
        self.conf = os.path.join(self.dir, "starling.conf")
        lines = [head] if head else []
        if listener:
            lines.append(f"listener {self.port} 127.0.0.1")
        if anonymous:
            lines.append("allow_anonymous true")
        if workers:
            lines.append(f"worker_threads {workers}")
        lines.append(extra)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log_path = os.path.join(self.dir, "broker.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([STARLING, "-c", self.conf, "-v"], stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_for(self._accepting, timeout=10, what="broker to accept connections")
        except AssertionError:
            self.stop()
            raise AssertionError("broker did not start:\n" + self.log())

    def _accepting(self):
        if self.proc.poll() is not None:
            raise AssertionError("broker exited with %s:\n%s" % (self.proc.returncode, self.log()))
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def log(self):
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------------------------------
# Raw MQTT over a socket, for checks the real clients will not do (bad bytes, DUP, packet ids).

def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def mqtt_string(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def packet(first_byte, body):
    return bytes([first_byte]) + varint(len(body)) + body


def connect_packet(client_id, clean=True, keepalive=60, level=4, will=None, username=None, password=None,
                   name=None, props=b""):
    name = name or ("MQIsdp" if level == 3 else "MQTT")
    flags = 0x02 if clean else 0
    payload = mqtt_string(client_id)
    if level == 5:
        props_block = varint(len(props)) + props
    else:
        props_block = b""
    if will:
        topic, msg, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        if level == 5:
            payload += varint(0)
        payload += mqtt_string(topic) + mqtt_string(msg)
    if username is not None:
        flags |= 0x80
        payload += mqtt_string(username)
    if password is not None:
        flags |= 0x40
        payload += mqtt_string(password)
    body = mqtt_string(name) + bytes([level, flags]) + struct.pack("!H", keepalive) + props_block + payload
    return packet(0x10, body)


def publish_packet(topic, payload, qos=0, retain=False, dup=False, pid=1, level=4):
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (0x08 if dup else 0)
    body = mqtt_string(topic)
    if qos:
        body += struct.pack("!H", pid)
    if level == 5:
        body += varint(0)
    return packet(first, body + (payload.encode() if isinstance(payload, str) else payload))


def subscribe_packet(pid, filters, level=4):
    body = struct.pack("!H", pid)
    if level == 5:
        body += varint(0)
    for f, q in filters:
        body += mqtt_string(f) + bytes([q])
    return packet(0x82, body)


class RawClient:
    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by broker")
        self.buf += chunk

    def recv_packet(self, timeout=5.0):
        """Returns (first_byte, body); raises ConnectionError when the broker closed, socket.timeout on
        timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 2:
                mult, length, i = 1, 0, 1
                complete = False
                while i < len(self.buf) and i <= 4:
                    b = self.buf[i]
                    length += (b & 0x7F) * mult
                    mult *= 128
                    i += 1
                    if not b & 0x80:
                        complete = True
                        break
                if complete and len(self.buf) >= i + length:
                    first, body = self.buf[0], self.buf[i:i + length]
                    self.buf = self.buf[i + length:]
                    return first, body
            self._fill(deadline)

    def expect_closed(self, timeout=5.0):
        """True when the broker closes the connection (after any packets it still sends) within timeout."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False

    def connect(self, client_id, **kw):
        self.send(connect_packet(client_id, **kw))
        first, body = self.recv_packet()
        assert first == 0x20, f"expected CONNACK, got {first:#x}"
        return body

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
