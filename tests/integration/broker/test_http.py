"""The HTTP server of `http_listener` (ours): /metrics in Prometheus' text format, /health, /api/v1/stats,
/api/v1/retained, the bearer token of `http_auth_token`, and the dashboard page loaded in headless Chromium.
The numbers checked are the ones the test itself causes, with real MQTT clients (paho, raw sockets)."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request

import pytest

from harness import STARLING, BIN_DIR, Broker, RawClient, connect_packet, free_port, publish_packet, \
    subscribe_packet, wait_for
from paho_client import Client

TIMEOUT = 5.0


class Http:
    """Requests to the broker's HTTP server; every request has a timeout."""

    def __init__(self, port, token=None):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def request(self, path, method="GET", token=None, auth=None):
        """Returns (status, headers, body bytes). `auth` is the whole Authorization header."""
        req = urllib.request.Request(self.base + path, method=method)
        token = token if token is not None else self.token
        if auth is not None:
            req.add_header("Authorization", auth)
        elif token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.headers, e.read()

    def json(self, path, **kw):
        status, headers, body = self.request(path, **kw)
        assert status == 200, f"GET {path}: {status} {body!r}"
        assert headers["Content-Type"] == "application/json"
        return json.loads(body)

    def metrics(self):
        status, headers, body = self.request("/metrics")
        assert status == 200, body
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse_prometheus(body.decode())

    def up(self):
        try:
            return self.request("/health")[0] == 200
        except OSError:
            return False


SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$')
LABEL = re.compile(r'^(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"$')


def parse_prometheus(text):
    """Parses the text exposition format strictly: every family has HELP then TYPE before its samples, every
    sample line is `name{labels} value`. Returns {(name, frozenset(labels.items())): value} and checks the
    names. Look values up with `metric(m, name, **labels)`."""
    samples = {}
    helped, typed = set(), {}
    assert text.endswith("\n")
    for line in text.splitlines():
        assert line, "blank line in the exposition"
        if line.startswith("# HELP "):
            name, help_text = line[7:].split(" ", 1)
            assert help_text and name not in helped, line
            helped.add(name)
            continue
        if line.startswith("# TYPE "):
            name, kind = line[7:].split(" ")
            assert name in helped and name not in typed, f"TYPE without HELP or twice: {line}"
            assert kind in ("counter", "gauge", "summary"), line
            typed[name] = kind
            continue
        assert not line.startswith("#"), line
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name = m["name"]
        assert name.startswith("starling_"), name
        family = re.sub(r"_(sum|count)$", "", name)
        if typed.get(family) == "summary":  # a summary's samples are FAMILY_sum and FAMILY_count
            assert name != family, f"a summary sample is _sum or _count: {line}"
        else:
            assert name in typed, f"sample before its TYPE: {line}"
            assert (typed[name] == "counter") == name.endswith("_total"), f"counter names end in _total: {line}"
        labels = {}
        if m["labels"]:
            for pair in m["labels"].split(","):
                lm = LABEL.match(pair)
                assert lm, f"bad label in {line!r}"
                labels[lm["key"]] = lm["value"]
        value = float(m["value"])
        key = (name, frozenset(labels.items()))
        assert key not in samples, f"duplicate sample {line}"
        samples[key] = value
    return samples


def metric(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in samples, f"no sample {name}{labels or ''}"
    return samples[key]


def http_broker(extra="", **kw):
    """A broker with `http_listener PORT 127.0.0.1` (no $SYS messages: the retained numbers are ours only). The
    HTTP block comes last: listener options after it would be its own (and refused)."""
    port = free_port()
    b = Broker(extra=f"sys_interval 0\n{extra}\nhttp_listener {port} 127.0.0.1\n", **kw)
    b.http = Http(port)
    try:
        wait_for(b.http.up, timeout=TIMEOUT, what="the HTTP server")
    except AssertionError:
        b.stop()
        raise AssertionError("HTTP server did not start:\n" + b.log())
    return b


@pytest.fixture
def hb():
    b = http_broker(workers=2)
    yield b
    b.stop()
    assert b.proc.returncode == 0, "broker did not stop cleanly:\n" + b.log()


def test_health_answers_ok_for_load_balancers(hb):
    status, headers, body = hb.http.request("/health")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"status": "ok"}
    # HEAD: the same headers, no body.
    status, headers, body = hb.http.request("/health", method="HEAD")
    assert (status, headers["Content-Length"], body) == (200, "15", b"")


def test_metrics_reflect_the_clients_and_messages_of_the_test(hb):
    m = hb.http.metrics()
    assert metric(m, "starling_build_info", version=metric_version(m)) == 1
    assert metric(m, "starling_workers") == 2
    assert metric(m, "starling_publish_received_total") == 0
    assert metric(m, "starling_retained_messages") == 0
    assert ("starling_store_bytes", frozenset()) not in m  # persistence is off

    sub = Client(hb.port, "http-sub")
    sub.subscribe("m/#", qos=0)
    pub = Client(hb.port, "http-pub")
    # A persistent session that goes offline: its QoS 1 messages are queued.
    offline = Client(hb.port, "http-offline", clean=False)
    offline.subscribe("q/#", qos=1)
    offline.disconnect()
    # A subscriber that never acknowledges: its QoS 1 message stays in flight.
    silent = RawClient(hb.port)
    silent.connect("http-silent")
    silent.send(subscribe_packet(1, [("i/#", 1)]))
    assert silent.recv_packet()[0] == 0x90

    payloads = [b"x" * n for n in (1, 10, 100, 1000, 10000)]
    for i, p in enumerate(payloads):
        pub.publish(f"m/{i}", p, qos=1, retain=True)
    for _ in payloads:
        sub.get()
    pub.publish("q/a", b"queued-1", qos=1)
    pub.publish("q/b", b"queued-2", qos=1)
    pub.publish("i/a", b"in-flight", qos=1)
    assert silent.recv_packet()[0] & 0xF0 == 0x30
    # A refused CONNECT: 3.1.1 forbids an empty client id with a persistent session [MQTT-3.1.3-8].
    refused = RawClient(hb.port)
    refused.send(connect_packet("", clean=False))
    assert refused.recv_packet() == (0x20, b"\x00\x02")

    def settled():
        m = hb.http.metrics()
        return m if metric(m, "starling_inflight_messages") == 1 and metric(m, "starling_queued_messages") == 2 \
            and metric(m, "starling_connections_open") == 3 else None
    m = wait_for(settled, timeout=TIMEOUT, what="queued and in-flight gauges")

    assert metric(m, "starling_clients_connected") == 3  # sub, pub, silent
    assert metric(m, "starling_sessions") == 4           # and the offline one
    assert metric(m, "starling_connections_accepted_total") == 4  # the refused one is not counted
    assert metric(m, "starling_connections_refused_total", reason="invalid") == 1
    assert metric(m, "starling_connections_refused_total", reason="server_busy") == 0
    assert metric(m, "starling_connections_refused_total", reason="not_authorized") == 0
    assert metric(m, "starling_publish_received_total") == len(payloads) + 3
    assert metric(m, "starling_publish_sent_total") == len(payloads) + 1  # to sub, and to silent
    assert metric(m, "starling_bytes_received_total") > sum(map(len, payloads))
    assert metric(m, "starling_bytes_sent_total") > sum(map(len, payloads))
    assert metric(m, "starling_messages_received_total") > metric(m, "starling_publish_received_total")
    assert metric(m, "starling_messages_sent_total") > metric(m, "starling_publish_sent_total")
    assert metric(m, "starling_retained_messages") == len(payloads)
    retained_bytes = metric(m, "starling_retained_bytes")
    assert sum(map(len, payloads)) + 3 * len(payloads) <= retained_bytes < sum(map(len, payloads)) + 100
    assert metric(m, "starling_subscriptions") == 3
    for reason in ("queue_full", "output_limit", "expired", "too_large", "acl"):
        assert metric(m, "starling_messages_dropped_total", reason=reason) == 0
    assert metric(m, "starling_auth_failures_total") == 0
    assert metric(m, "starling_output_queued_bytes") >= 0
    assert metric(m, "starling_uptime_seconds") > 0

    # /api/v1/stats says the same.
    s = hb.http.json("/api/v1/stats")
    assert s["connections"] == {"open": 3, "accepted": 4, "refused": {"server_busy": 0, "not_authorized": 0,
                                                                       "invalid": 1}}
    assert s["clients"] == {"connected": 3, "sessions": 4}
    assert s["messages"]["publish_received"] == len(payloads) + 3
    assert s["messages"]["publish_sent"] == len(payloads) + 1
    assert s["messages"]["bytes_received"] == metric(m, "starling_bytes_received_total")
    assert s["retained"] == {"messages": len(payloads), "bytes": retained_bytes, "on_disk": 0}
    assert (s["subscriptions"], s["queued_messages"], s["inflight_messages"]) == (3, 2, 1)
    assert s["dropped"] == {"queue_full": 0, "output_limit": 0, "expired": 0, "too_large": 0, "acl": 0}
    assert s["store"] is None
    assert s["workers"] == 2 and s["version"] == metric_version(m)
    assert s["time_ms"] > 0 and s["uptime_seconds"] >= 0

    for c in (sub, pub):
        c.disconnect()
    for r in (silent, refused):
        r.close()
    wait_for(lambda: metric(hb.http.metrics(), "starling_connections_open") == 0, timeout=TIMEOUT,
             what="connections to close")


def metric_version(samples):
    versions = [dict(labels)["version"] for name, labels in samples if name == "starling_build_info"]
    assert len(versions) == 1
    return versions[0]


def test_refusals_by_reason():
    # max_connections 1 before any listener is the broker's: a second CONNECT finds it busy.
    b = http_broker(head="max_connections 1")
    try:
        first = RawClient(b.port)
        first.connect("only-one")
        second = RawClient(b.port)
        second.send(connect_packet("one-too-many"))
        assert second.recv_packet() == (0x20, b"\x00\x03")  # server unavailable
        m = b.http.metrics()
        assert metric(m, "starling_connections_refused_total", reason="server_busy") == 1
        first.close()
        second.close()
    finally:
        b.stop()
    # In a listener block it is the listener's: the socket is closed as it is accepted. Counted the same.
    b = http_broker("max_connections 1\n")
    try:
        first = RawClient(b.port)
        first.connect("only-one")
        second = RawClient(b.port)
        assert second.expect_closed()
        wait_for(lambda: metric(b.http.metrics(), "starling_connections_refused_total", reason="server_busy") == 1,
                 timeout=TIMEOUT, what="the refusal to be counted")
        first.close()
        second.close()
    finally:
        b.stop()
    # No anonymous access and no password file: every login fails.
    b = http_broker("allow_anonymous false\n", anonymous=False)
    try:
        c = RawClient(b.port)
        c.send(connect_packet("anonymous"))
        assert c.recv_packet() == (0x20, b"\x00\x05")  # not authorised
        m = b.http.metrics()
        assert metric(m, "starling_connections_refused_total", reason="not_authorized") == 1
        assert metric(m, "starling_auth_failures_total") == 1
        c.close()
    finally:
        b.stop()


def test_store_metrics_with_persistence():
    data = tempfile.mkdtemp(prefix="starling-http-store-")
    b = http_broker(f"persistence true\npersistence_location {data}\n")
    try:
        c = Client(b.port, "durable")
        c.publish("kept/1", b"on disk", qos=1, retain=True)
        c.disconnect()
        m = b.http.metrics()
        assert metric(m, "starling_store_bytes") >= 0
        assert metric(m, "starling_store_write_errors_total") == 0
        # The retained QoS 1 publish was committed before its PUBACK: at least one batch, timed.
        assert metric(m, "starling_store_write_seconds_count") >= 1
        assert metric(m, "starling_store_write_seconds_sum") > 0
        s = b.http.json("/api/v1/stats")
        assert s["store"]["write_errors"] == 0 and s["store"]["bytes"] >= 0
    finally:
        b.stop()
        shutil.rmtree(data, ignore_errors=True)


def retained_topics(page):
    return [m["topic"] for m in page["messages"]]


def test_retained_messages_by_prefix_with_pages(hb):
    c = Client(hb.port, "retainer")
    for topic in ("a/b", "a/b/c", "a/bc", "a/x", "b/1"):
        c.publish(topic, topic.encode(), qos=1, retain=True)
    c.publish("a/bin", b"\x00\xff\xfe", qos=1, retain=True)
    c.publish("a/q2", b"exactly once", qos=2, retain=True)

    page = hb.http.json("/api/v1/retained?prefix=a/b")
    assert retained_topics(page) == ["a/b", "a/b/c", "a/bc", "a/bin"]  # text prefix, byte order
    assert page["total"] == 4 and page["next"] is None and page["prefix"] == "a/b"
    first = page["messages"][0]
    assert first == {"topic": "a/b", "qos": 1, "size": 3, "encoding": "utf8", "payload": "a/b", "truncated": False}
    binary = page["messages"][3]
    assert (binary["encoding"], binary["payload"], binary["size"]) == ("base64", "AP/+", 3)
    assert hb.http.json("/api/v1/retained?prefix=a%2Fq")["messages"][0]["qos"] == 2

    # Pages: `next` is the cursor for `after`.
    p1 = hb.http.json("/api/v1/retained?prefix=a/&limit=2")
    assert retained_topics(p1) == ["a/b", "a/b/c"] and p1["next"] == "a/b/c" and p1["total"] == 6
    p2 = hb.http.json("/api/v1/retained?prefix=a/&limit=2&after=" + urllib.parse.quote(p1["next"], safe=""))
    assert retained_topics(p2) == ["a/bc", "a/bin"] and p2["next"] == "a/bin"
    p3 = hb.http.json("/api/v1/retained?prefix=a/&limit=2&after=a/bin")
    assert retained_topics(p3) == ["a/q2", "a/x"] and p3["next"] is None

    everything = hb.http.json("/api/v1/retained")
    assert everything["total"] == 7 and len(everything["messages"]) == 7
    assert hb.http.json("/api/v1/retained?prefix=nothing/here") == {"prefix": "nothing/here", "total": 0,
                                                                     "messages": [], "next": None}

    # An empty retained message deletes [MQTT-3.3.1-10]; the API follows.
    c.publish("a/b", b"", qos=1, retain=True)
    assert retained_topics(hb.http.json("/api/v1/retained?prefix=a/b")) == ["a/b/c", "a/bc", "a/bin"]
    c.disconnect()

    for bad in ("limit=0", "limit=-1", "limit=ten", "prefix=%zz"):
        status, _, body = hb.http.request("/api/v1/retained?" + bad)
        assert status == 400, bad
        assert "error" in json.loads(body)
    assert len(hb.http.json("/api/v1/retained?limit=100000")["messages"]) == 6  # clamped to 1000, not refused


def test_large_payloads_are_truncated_in_the_listing(hb):
    c = Client(hb.port, "big")
    c.publish("big/text", "é".encode() * 40000, qos=1, retain=True)  # 80,000 bytes
    c.disconnect()
    m = hb.http.json("/api/v1/retained?prefix=big/")["messages"][0]
    assert m["size"] == 80000 and m["truncated"] is True and m["encoding"] == "utf8"
    assert len(m["payload"].encode()) <= 65536 and set(m["payload"]) == {"é"}


def test_unknown_paths_and_methods(hb):
    status, _, body = hb.http.request("/api/v1/nope")
    assert status == 404 and "error" in json.loads(body)
    status, headers, _ = hb.http.request("/metrics", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    status, headers, body = hb.http.request("/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'id="connections"' in body and b"<script" in body
    assert b"http://" not in body and b"https://" not in body  # nothing from elsewhere
    assert "default-src 'none'" in headers["Content-Security-Policy"]


def test_bearer_token_guards_everything_but_health_and_the_page():
    tmp = tempfile.mkdtemp(prefix="starling-http-token-")
    token_file = os.path.join(tmp, "token")
    with open(token_file, "w") as f:
        f.write("s3cret-token\n")  # the trailing newline is not part of it
    os.chmod(token_file, 0o600)
    b = http_broker(f"http_auth_token {token_file}\n")
    try:
        http = b.http
        assert http.request("/health")[0] == 200
        assert http.request("/")[0] == 200  # the page holds no data; it asks for the token
        for path in ("/metrics", "/api/v1/stats", "/api/v1/retained"):
            status, headers, body = http.request(path)
            assert status == 401, path
            assert headers["WWW-Authenticate"] == 'Bearer realm="starling"'
            assert http.request(path, token="wrong")[0] == 401
            assert http.request(path, token="s3cret-toke")[0] == 401
            assert http.request(path, auth="Basic czNjcmV0LXRva2Vu")[0] == 401
            assert http.request(path, token="s3cret-token")[0] == 200
            assert http.request(path, auth="bearer s3cret-token")[0] == 200  # the scheme is case-insensitive
        assert "starling_uptime_seconds" in http.request("/metrics", token="s3cret-token")[2].decode()

        # SIGHUP re-reads the token file.
        with open(token_file, "w") as f:
            f.write("n3w-token")
        b.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: http.request("/metrics", token="n3w-token")[0] == 200, timeout=TIMEOUT,
                 what="the new token")
        assert http.request("/metrics", token="s3cret-token")[0] == 401
    finally:
        b.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    assert b.proc.returncode == 0, b.log()


def test_an_unreadable_token_file_stops_the_start():
    port = free_port()
    b_dir = tempfile.mkdtemp(prefix="starling-http-bad-")
    conf = os.path.join(b_dir, "starling.conf")
    with open(conf, "w") as f:
        f.write(f"listener {free_port()} 127.0.0.1\nallow_anonymous true\nhttp_listener {port} 127.0.0.1\n"
                f"http_auth_token {b_dir}/missing\n")
    r = subprocess.run([STARLING, "-c", conf], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert "cannot read http_auth_token file" in r.stdout + r.stderr
    shutil.rmtree(b_dir, ignore_errors=True)


def check_config(text):
    d = tempfile.mkdtemp(prefix="starling-http-check-")
    conf = os.path.join(d, "starling.conf")
    with open(conf, "w") as f:
        f.write(text)
    try:
        r = subprocess.run([STARLING, "-c", conf, "--check-config"], capture_output=True, text=True, timeout=20)
        return r.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_config_check_warns_about_an_open_http_listener():
    base = "listener 1883 127.0.0.1\nallow_anonymous true\n"
    out = check_config(base + "http_listener 8080 0.0.0.0\n")
    assert re.search(r"warning: .*starling.conf:3: http_listener on port 8080 on 0.0.0.0 is reachable from the "
                     r"network without http_auth_token", out), out
    out = check_config(base + "http_listener 8080\n")
    assert "http_listener on port 8080 (all addresses) is reachable from the network without http_auth_token" in out
    for loopback in ("127.0.0.1", "::1", "localhost"):
        assert "http_listener" not in check_config(base + f"http_listener 8080 {loopback}\n")


# ---- The dashboard in a real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTEFACTS = os.path.normpath(os.path.join(BIN_DIR, "..", "test-artifacts"))


def chromium(url, *args, timeout=90):
    """Runs headless Chromium on `url` with `args` (its own profile, its own process group, killed by PID on
    timeout); returns (stdout, stderr)."""
    profile = tempfile.mkdtemp(prefix="starling-chromium-")
    cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           "--disable-background-networking", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
           "--enable-logging=stderr", "--v=0", "--window-size=1280,1100", "--virtual-time-budget=5000", *args, url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        raise AssertionError(f"chromium did not finish within {timeout}s")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    return out.decode(errors="replace"), err.decode(errors="replace")


def element_text(dom, element_id):
    m = re.search(r'id="%s"[^>]*>([^<]*)<' % re.escape(element_id), dom)
    assert m, f"no element #{element_id} in the page"
    return m.group(1)


def console_messages(stderr):
    """What the page wrote to its console (errors, CSP violations, uncaught exceptions): Chromium logs each
    as `INFO:CONSOLE(line)] "message", source: ...`."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup installs it)")
def test_dashboard_in_headless_chromium_shows_live_connections_and_retained_topics(hb):
    url = hb.http.base + "/"
    # An offline persistent session with three messages waiting: top of the queue table, and the reason its
    # connection ended in the last disconnects.
    queued = Client(hb.port, "dash-queue", clean=False)
    queued.subscribe("dash/q", qos=1)
    queued.kill()
    wait_for(lambda: hb.http.json("/api/v1/clients")["total"] == 0, timeout=TIMEOUT, what="dash-queue to go offline")
    first = Client(hb.port, "dash-1")
    first.publish("dash/room/temperature", b"21.5", qos=1, retain=True)
    first.publish("dash/blob", b"\x00\x01\x02", qos=1, retain=True)
    for i in range(3):
        first.publish("dash/q", b"waiting", qos=1)

    dom, err = chromium(url, "--dump-dom")
    assert console_messages(err) == [], "\n".join(console_messages(err))
    assert element_text(dom, "status") == "live"
    assert element_text(dom, "connections") == "1"
    assert element_text(dom, "clients-connected") == "1"
    assert element_text(dom, "retained-count") == "2"
    assert element_text(dom, "retained-bytes").endswith(" in memory")  # none on disk only: no persistence
    assert 'data-topic="dash/room/temperature"' in dom and ">21.5<" in dom
    assert 'data-topic="dash/blob"' in dom and "base64: AAEC" in dom
    assert element_text(dom, "retained-summary").startswith("2 retained messages")
    assert 'data-prefix="dash/room/"' in dom, "topic levels open their subtree"
    assert re.fullmatch(r"[0-9.]+ ms", element_text(dom, "loop-lag"))
    # The client list (both sessions, with the offline one's last disconnect), top queues, last disconnects.
    assert 'data-client="dash-1"' in dom and 'data-client="dash-queue"' in dom
    assert element_text(dom, "clients-summary").startswith("2 sessions")
    top = re.search(r'id="top-rows">(.*?)</tbody>', dom, re.S).group(1)
    assert "dash-queue" in top and ">3<" in top
    recent = re.search(r'id="disconnect-rows">(.*?)</tbody>', dom, re.S).group(1)
    assert "dash-queue" in recent and "connection closed by peer" in recent

    # More clients: the count the page shows goes up.
    more = [Client(hb.port, f"dash-{i}") for i in (2, 3, 4)]
    dom, err = chromium(url, "--dump-dom")
    assert console_messages(err) == [], "\n".join(console_messages(err))
    assert element_text(dom, "connections") == "4"
    assert element_text(dom, "clients-connected") == "4"
    # Rates come from counter deltas between polls: a number once two polls are in.
    assert re.fullmatch(r"[0-9.,]+", element_text(dom, "rate-in"))

    os.makedirs(ARTEFACTS, exist_ok=True)
    shot = os.path.join(ARTEFACTS, "dashboard.png")
    if os.path.exists(shot):
        os.remove(shot)
    chromium(url, f"--screenshot={shot}")
    with open(shot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"

    for c in [first, *more]:
        c.disconnect()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup installs it)")
def test_dashboard_asks_for_the_token_when_one_is_needed():
    tmp = tempfile.mkdtemp(prefix="starling-http-token-")
    token_file = os.path.join(tmp, "token")
    with open(token_file, "w") as f:
        f.write("dash-token")
    b = http_broker(f"http_auth_token {token_file}\n")
    try:
        dom, err = chromium(b.http.base + "/", "--dump-dom")
        # The 401 of the API is expected; Chromium reports failed loads on the console, nothing else may appear.
        unexpected = [line for line in console_messages(err) if "401" not in line]
        assert unexpected == [], "\n".join(unexpected)
        assert re.search(r'<div id="token-box"(?![^>]*hidden)', dom), "the token box is not shown"
        assert element_text(dom, "status") == "token needed"
    finally:
        b.stop()
        shutil.rmtree(tmp, ignore_errors=True)
