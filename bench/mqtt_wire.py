"""Raw MQTT 3.1.1 over loopback sockets for the bench helpers (persistence_helper.py, scale_helper.py,
ws_large_helper.py): packet encoders, an incremental packet reader with deadlines, and the broker's CPU time
from /proc. Blocking sockets; every wait is bounded by a deadline."""
import os
import socket
import struct
import time

def enc_len(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def packet(first, body):
    return bytes([first]) + enc_len(len(body)) + body


def connect_pkt(client_id, clean=True, keepalive=0):
    # Keep alive 0: phases can be long (1,000,000 subscriptions) and the helper sends no PINGREQ.
    body = mqtt_str("MQTT") + bytes([4, 0x02 if clean else 0]) + struct.pack("!H", keepalive) + mqtt_str(client_id)
    return packet(0x10, body)


def subscribe_pkt(pid, filters, qos=0):
    body = bytearray(struct.pack("!H", pid))
    for f in filters:
        body += mqtt_str(f)
        body.append(qos)
    return packet(0x82, bytes(body))


def publish_pkt(topic, payload, qos=0, retain=False, pid=0):
    body = mqtt_str(topic) + (struct.pack("!H", pid) if qos else b"") + payload
    return packet(0x30 | (qos << 1) | (1 if retain else 0), body)


def puback_pkt(pid):
    return b"\x40\x02" + struct.pack("!H", pid)


DISCONNECT = b"\xe0\x00"


def parse_header(buf, pos, end):
    """(first byte, body start, body length) of the packet at pos, or None if the header is incomplete."""
    if end - pos < 2:
        return None
    n, mult, i = 0, 1, pos + 1
    while True:
        if i >= end:
            return None
        b = buf[i]
        n += (b & 0x7F) * mult
        mult *= 128
        i += 1
        if not b & 0x80:
            return buf[pos], i, n
        if i - pos > 4:
            raise RuntimeError("malformed remaining length from the broker")


class Conn:
    """A socket with an incremental packet reader (blocking by default)."""

    def __init__(self, port, timeout, rcvbuf=0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.buf = bytearray()
        self.pending = []
        self.out = bytearray()  # nonblocking mode: bytes not yet written

    def send(self, data):
        self.sock.sendall(data)

    def packets(self):
        out = []
        pos = 0
        buf = self.buf
        end = len(buf)
        while True:
            h = parse_header(buf, pos, end)
            if h is None or end - h[1] < h[2]:
                break
            first, start, n = h
            out.append((first, bytes(buf[start:start + n])))
            pos = start + n
        del buf[:pos]
        return out

    def read(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("connection closed by the broker")
        self.buf += data
        return self.packets()

    def next(self, deadline):
        while not self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no packet from the broker in time")
            self.sock.settimeout(left)
            try:
                self.pending = self.read()
            except socket.timeout:
                raise TimeoutError("no packet from the broker in time") from None
        return self.pending.pop(0)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def wait_for(conn, want_type, deadline):
    while True:
        first, body = conn.next(deadline)
        if first & 0xF0 == want_type:
            return first, body


def connected(port, client_id, timeout, rcvbuf=0):
    c = Conn(port, timeout, rcvbuf)
    c.send(connect_pkt(client_id))
    _, body = wait_for(c, 0x20, time.monotonic() + timeout)
    if body[1] != 0:
        raise RuntimeError(f"CONNACK refused {client_id}: return code {body[1]}")
    return c


def cpu_secs(pid):
    """CPU time of the broker (all threads), from /proc: schedstat (ns) where available, else utime + stime
    (clock ticks); None without a pid."""
    if not pid:
        return None
    try:
        total = 0
        tasks = os.listdir(f"/proc/{pid}/task")
        for t in tasks:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None
