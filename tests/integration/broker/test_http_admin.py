"""The admin side of the HTTP server (ours): clients, sessions and subscriptions listed in pages across workers,
the latest disconnects with their reasons, listeners and the running configuration, and the admin actions
(kick a client, end a session, delete a retained message) checked with MQTT clients; the read and admin roles
of bearer tokens and of password-file users (HTTP Basic); event-loop lag and per-QoS counters in /metrics."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse

import pytest

from harness import BIN_DIR, Broker, wait_for
from paho_client import Client
from test_http import Http, http_broker, metric

TIMEOUT = 5.0
ADMIN, READER = "adm1n-token", "read-0nly-token"


def quote(s):
    return urllib.parse.quote(s, safe="")


@pytest.fixture
def secured():
    """Two workers, an admin token and a read-only one."""
    tmp = tempfile.mkdtemp(prefix="starling-http-admin-")
    tokens = os.path.join(tmp, "tokens")
    with open(tokens, "w") as f:
        f.write(f"# who may do what\n{ADMIN} admin\n{READER} read\n")
    os.chmod(tokens, 0o600)
    b = http_broker(f"http_auth_token {tokens}\n", workers=2)
    b.http.token = ADMIN
    yield b
    b.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    assert b.proc.returncode == 0, b.log()


def all_pages(http, path, key, **params):
    """Follows `next` from page to page; returns the items in order."""
    items, after = [], None
    for _ in range(100):
        q = dict(params)
        if after is not None:
            q.update(after if isinstance(after, dict) else {"after": after})
        page = http.json(path + "?" + urllib.parse.urlencode(q))
        items += page[key]
        after = page["next"]
        if after is None:
            return items, page["total"]
        if isinstance(after, dict):
            after = {"after_client": after["client_id"], "after_filter": after["filter"]}
    raise AssertionError("more than 100 pages")


def test_clients_are_listed_in_pages_across_workers(secured):
    http = secured.http
    clients = [Client(secured.port, f"lister-{i:02d}") for i in range(7)]
    try:
        items, total = all_pages(http, "/api/v1/clients", "clients", limit=3)
        ids = [c["client_id"] for c in items]
        assert ids == sorted(ids) == [f"lister-{i:02d}" for i in range(7)]
        assert total == 7
        assert {c["worker"] for c in items} == {0, 1}, "the sessions of both workers are listed"
        first = items[0]
        assert first["connected"] and first["protocol"] == "3.1.1" and first["listener_port"] == secured.port
        assert first["address"].startswith("127.0.0.1:") and first["keep_alive"] == 30
        assert first["connected_at_ms"] > 0 and first["last_disconnect"] is None
        page = http.json("/api/v1/clients?prefix=lister-0&limit=100")
        assert page["total"] == 7 and len(page["clients"]) == 7 and page["next"] is None
        assert http.json("/api/v1/clients?prefix=nobody")["total"] == 0
        for bad in ("limit=0", "limit=x", "order=size", "after=%zz"):
            status, _, body = http.request("/api/v1/clients?" + bad)
            assert status == 400, bad
            assert "error" in json.loads(body)
    finally:
        for c in clients:
            c.disconnect()


def test_sessions_show_offline_ones_with_queue_depth_and_why_they_left(secured):
    http = secured.http
    sub = Client(secured.port, "offline-sub", clean=False)
    sub.subscribe("queue/#", qos=1)
    sub.kill()  # no DISCONNECT: "connection closed by peer"
    wait_for(lambda: http.json("/api/v1/sessions?state=offline")["total"] == 1, timeout=TIMEOUT,
             what="the session to go offline")
    pub = Client(secured.port, "queue-pub")
    for i in range(5):
        pub.publish("queue/x", f"m{i}".encode(), qos=1)
    online = Client(secured.port, "online-one")
    try:
        wait_for(lambda: http.json("/api/v1/sessions?state=offline")["clients"][0]["queued"] == 5,
                 timeout=TIMEOUT, what="five queued messages")
        s = http.json("/api/v1/sessions?state=offline")["clients"][0]
        assert s["client_id"] == "offline-sub" and not s["connected"] and s["persistent"]
        assert s["last_disconnect"] == "connection closed by peer" and s["disconnected_at_ms"] > 0
        assert s["subscriptions"] == 1 and s["queued_bytes"] > 0
        # /clients lists connected clients only; /sessions all of them.
        assert "offline-sub" not in [c["client_id"] for c in http.json("/api/v1/clients")["clients"]]
        assert http.json("/api/v1/sessions")["total"] == 3
        top = http.json("/api/v1/sessions?order=queue&limit=1")
        assert top["clients"][0]["client_id"] == "offline-sub" and top["next"] is None
        recent = http.json("/api/v1/disconnects")["disconnects"]
        assert recent[0]["client_id"] == "offline-sub"
        assert recent[0]["reason"] == "connection closed by peer"
    finally:
        pub.disconnect()
        online.disconnect()


def test_subscriptions_are_listed_in_pages_and_by_client(secured):
    http = secured.http
    a = Client(secured.port, "subs-a", v5=True)
    b = Client(secured.port, "subs-b")
    try:
        from paho.mqtt.properties import Properties
        from paho.mqtt.packettypes import PacketTypes
        props = Properties(PacketTypes.SUBSCRIBE)
        props.SubscriptionIdentifier = 42
        a.subscribe("s/one", qos=1, properties=props)
        a.subscribe("s/+/two", qos=2)
        a.subscribe("$share/g/s/three", qos=0)
        b.subscribe("s/#", qos=1)
        items, total = all_pages(http, "/api/v1/subscriptions", "subscriptions", limit=2)
        pairs = [(s["client_id"], s["filter"]) for s in items]
        assert pairs == [("subs-a", "$share/g/s/three"), ("subs-a", "s/+/two"), ("subs-a", "s/one"),
                         ("subs-b", "s/#")]
        assert total == 4
        one = next(s for s in items if s["filter"] == "s/one")
        assert one["qos"] == 1 and one["identifier"] == 42 and one["connected"]
        only_b = http.json("/api/v1/subscriptions?client_id=subs-b")
        assert [s["filter"] for s in only_b["subscriptions"]] == ["s/#"] and only_b["total"] == 1
        assert http.json("/api/v1/subscriptions?prefix=s/%2B")["total"] == 1
    finally:
        a.disconnect()
        b.disconnect()


def test_kick_disconnects_with_administrative_action_and_publishes_the_will(secured):
    http = secured.http
    watcher = Client(secured.port, "will-watcher")
    watcher.subscribe("wills/#", qos=1)
    victim = Client(secured.port, "victim/1", v5=True, will=("wills/victim", b"gone", 1, False))
    try:
        path = "/api/v1/clients/" + quote("victim/1") + "/kick"
        status, _, _ = http.request(path, method="POST", token=READER)
        assert status == 403, "the read role cannot act"
        assert http.request(path, method="POST", token="nope")[0] == 401
        assert http.request(path, method="GET")[0] == 405
        status, _, body = http.request(path, method="POST")
        assert status == 200, body
        assert json.loads(body) == {"client_id": "victim/1", "result": "disconnected"}
        rc, _ = victim.wait_disconnected()
        assert rc == 0x98  # Administrative action
        assert watcher.get().payload == b"gone"
        assert http.request("/api/v1/clients/nobody/kick", method="POST")[0] == 404
        recent = http.json("/api/v1/disconnects?limit=5")["disconnects"]
        assert recent[0]["client_id"] == "victim/1" and recent[0]["reason"] == "disconnected by an administrator"
    finally:
        watcher.disconnect()


def test_ending_a_session_discards_its_queue(secured):
    http = secured.http
    c = Client(secured.port, "ending", clean=False)
    c.subscribe("end/#", qos=1)
    c.disconnect()
    assert http.json("/api/v1/sessions?prefix=ending")["total"] == 1
    status, _, body = http.request("/api/v1/sessions/ending", method="DELETE")
    assert status == 200 and json.loads(body)["result"] == "session ended"
    assert http.json("/api/v1/sessions?prefix=ending")["total"] == 0
    again = Client(secured.port, "ending", clean=False)
    try:
        assert not again.session_present
    finally:
        again.disconnect()
    # An online client's session ends with its connection.
    online = Client(secured.port, "ending-online", clean=False)
    assert http.request("/api/v1/sessions/ending-online", method="DELETE")[0] == 200
    online.wait_disconnected()
    wait_for(lambda: http.json("/api/v1/sessions?prefix=ending-online")["total"] == 0, timeout=TIMEOUT,
             what="the session to end")


def test_deleting_a_retained_message(secured):
    http = secured.http
    pub = Client(secured.port, "retainer")
    pub.publish("keep/a", b"A", qos=1, retain=True)
    pub.publish("keep/b", b"B", qos=1, retain=True)
    pub.disconnect()
    assert http.json("/api/v1/retained?prefix=keep/")["total"] == 2
    live = Client(secured.port, "live-sub")
    live.subscribe("keep/#")
    live.get_n(2)
    assert http.request("/api/v1/retained?topic=keep%2F%2B", method="DELETE")[0] == 400
    assert http.request("/api/v1/retained?topic=keep/a", method="DELETE", token=READER)[0] == 403
    status, _, body = http.request("/api/v1/retained?topic=keep/a", method="DELETE")
    assert status == 200, body
    assert http.request("/api/v1/retained?topic=keep/a", method="DELETE")[0] == 404
    live.nothing()  # deleting publishes nothing
    live.disconnect()
    sub = Client(secured.port, "late-sub")
    try:
        sub.subscribe("keep/#")
        assert sub.get().payload == b"B"
        sub.nothing()
    finally:
        sub.disconnect()
    assert [m["topic"] for m in http.json("/api/v1/retained?prefix=keep/")["messages"]] == ["keep/b"]


def test_deleted_retained_message_stays_deleted_after_a_restart():
    d = tempfile.mkdtemp(prefix="starling-http-retained-")
    tokens = os.path.join(d, "tokens")
    with open(tokens, "w") as f:
        f.write(ADMIN + "\n")
    extra = f"http_auth_token {tokens}\npersistence true\npersistence_location {d}/data\n"
    try:
        b = http_broker(extra)
        b.http.token = ADMIN
        pub = Client(b.port, "p")
        pub.publish("persist/gone", b"x", qos=1, retain=True)
        pub.publish("persist/kept", b"y", qos=1, retain=True)
        pub.disconnect()
        assert b.http.request("/api/v1/retained?topic=persist/gone", method="DELETE")[0] == 200
        b.stop()
        b = http_broker(extra)
        b.http.token = ADMIN
        assert [m["topic"] for m in b.http.json("/api/v1/retained?prefix=persist/")["messages"]] == ["persist/kept"]
        b.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_without_credentials_reading_is_open_and_acting_refused():
    b = http_broker()
    try:
        assert b.http.request("/api/v1/clients")[0] == 200
        c = Client(b.port, "safe")
        status, _, body = b.http.request("/api/v1/clients/safe/kick", method="POST")
        assert status == 403 and "http_auth_token" in json.loads(body)["error"]
        c.nothing()
        c.disconnect()
    finally:
        b.stop()


def test_cross_origin_actions_are_refused(secured):
    http = secured.http
    c = Client(secured.port, "csrf-target")
    try:
        import urllib.request
        req = urllib.request.Request(http.base + "/api/v1/clients/csrf-target/kick", method="POST",
                                     headers={"Authorization": "Bearer " + ADMIN,
                                              "Origin": "http://evil.example"})
        try:
            urllib.request.urlopen(req, timeout=TIMEOUT)
            raise AssertionError("a cross-origin kick was accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 403
        c.nothing()
        # The dashboard's own origin is fine.
        host = http.base.split("://")[1]
        req = urllib.request.Request(http.base + "/api/v1/clients/csrf-target/kick", method="POST",
                                     headers={"Authorization": "Bearer " + ADMIN, "Origin": "http://" + host})
        assert urllib.request.urlopen(req, timeout=TIMEOUT).status == 200
    finally:
        c.kill()


def test_password_file_users_with_basic_auth_and_roles():
    d = tempfile.mkdtemp(prefix="starling-http-users-")
    pw = os.path.join(d, "passwd")
    passwd = os.path.join(BIN_DIR, "starling_passwd")
    subprocess.run([passwd, "-c", "-b", pw, "ops", "ops-pass"], check=True, capture_output=True, timeout=30)
    subprocess.run([passwd, "-b", pw, "viewer", "viewer-pass"], check=True, capture_output=True, timeout=30)
    os.chmod(pw, 0o600)
    b = http_broker(f"password_file {pw}\nhttp_user ops admin\nhttp_user viewer read\n", anonymous=False)
    try:
        def basic(user, password):
            return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        http = b.http
        assert http.request("/api/v1/stats")[0] == 401
        assert http.request("/api/v1/stats", auth=basic("viewer", "viewer-pass"))[0] == 200
        assert http.request("/api/v1/stats", auth=basic("viewer", "wrong"))[0] == 401
        assert http.request("/api/v1/stats", auth=basic("nobody", "viewer-pass"))[0] == 401
        assert http.request("/api/v1/clients/x/kick", method="POST", auth=basic("viewer", "viewer-pass"))[0] == 403
        assert http.request("/api/v1/clients/x/kick", method="POST", auth=basic("ops", "ops-pass"))[0] == 404
        for _ in range(20):  # verified credentials are remembered: repeated requests stay fast
            assert http.request("/api/v1/stats", auth=basic("ops", "ops-pass"))[0] == 200
    finally:
        b.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_http_user_needs_a_password_file():
    d = tempfile.mkdtemp(prefix="starling-http-users-")
    try:
        conf = os.path.join(d, "c.conf")
        with open(conf, "w") as f:
            f.write("listener 1883 127.0.0.1\nhttp_listener 8089 127.0.0.1\nhttp_user ops admin\n")
        r = subprocess.run([os.path.join(BIN_DIR, "starling"), "-c", conf, "--check-config"], capture_output=True,
                           text=True, timeout=20)
        assert r.returncode != 0 and "'http_user' needs a 'password_file'" in r.stdout + r.stderr
        with open(conf, "w") as f:
            f.write("listener 1883 127.0.0.1\nhttp_listener 8089 127.0.0.1\nhttp_user ops boss\n")
        r = subprocess.run([os.path.join(BIN_DIR, "starling"), "-c", conf, "--check-config"], capture_output=True,
                           text=True, timeout=20)
        assert r.returncode != 0 and "role must be admin or read" in r.stdout + r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_listeners_and_config_show_no_secrets(secured):
    http = secured.http
    listeners = http.json("/api/v1/listeners")
    assert [l["port"] for l in listeners["listeners"]] == [secured.port]
    assert listeners["listeners"][0]["protocol"] == "mqtt" and listeners["listeners"][0]["tls"] is None
    assert listeners["http"]["port"] == int(http.base.rsplit(":", 1)[1])
    status, _, body = http.request("/api/v1/config")
    assert status == 200
    cfg = json.loads(body)
    assert cfg["max_inflight_messages"] == 20 and cfg["worker_threads"] == 2
    assert cfg["http_auth_token"].endswith("tokens")  # the path, never the tokens
    assert ADMIN.encode() not in body and READER.encode() not in body
    assert http.request("/api/v1/config", token=READER)[0] == 200


def test_metrics_by_qos_and_event_loop_lag(secured):
    http = secured.http
    sub = Client(secured.port, "qos-sub")
    sub.subscribe("q/#", qos=2)
    pub = Client(secured.port, "qos-pub")
    try:
        before = http.metrics()
        for qos, n in ((0, 3), (1, 2), (2, 1)):
            for _ in range(n):
                pub.publish(f"q/{qos}", b"12345", qos=qos)
        sub.get_n(6)

        def delta(m, name, qos):
            return metric(m, name, qos=str(qos)) - metric(before, name, qos=str(qos))
        wait_for(lambda: delta(http.metrics(), "starling_publish_out_by_qos_total", 2) == 1, timeout=TIMEOUT,
                 what="the QoS 2 delivery to be counted")
        m = http.metrics()
        assert [delta(m, "starling_publish_in_by_qos_total", q) for q in (0, 1, 2)] == [3, 2, 1]
        assert [delta(m, "starling_publish_out_by_qos_total", q) for q in (0, 1, 2)] == [3, 2, 1]
        assert [delta(m, "starling_payload_bytes_in_by_qos_total", q) for q in (0, 1, 2)] == [15, 10, 5]
        for w in ("0", "1"):
            lag = metric(m, "starling_event_loop_lag_seconds", worker=w)
            assert 0 <= lag < 5
        stats = http.json("/api/v1/stats")
        assert len(stats["event_loop_lag_ms"]) == 2
        assert stats["publish_by_qos"]["in"][1] >= 2
    finally:
        pub.disconnect()
        sub.disconnect()


def test_https_with_the_listener_tls_options_and_client_certificates():
    """TLS options after `http_listener` make it HTTPS; with require_certificate a client without a certificate
    of the CA gets no answer at all."""
    import ssl
    import urllib.request
    from certs import make_certs
    d = tempfile.mkdtemp(prefix="starling-https-")
    try:
        certs = make_certs(d)
        ca, (crt, key) = certs["ca"][0], certs["server"]
        port = http_port = None
        from harness import free_port
        http_port = free_port()
        b = Broker(f"http_listener {http_port} 127.0.0.1\ncertfile {crt}\nkeyfile {key}\ncafile {ca}\n"
                   f"require_certificate true\ntls_version tlsv1.2\n")
        try:
            base = f"https://localhost:{http_port}"
            ctx = ssl.create_default_context(cafile=ca)
            ctx.load_cert_chain(*certs["client"])

            def get(path, context):
                with urllib.request.urlopen(base + path, timeout=TIMEOUT, context=context) as r:
                    return r.status, r.headers, r.read()
            wait_for(lambda: _answers(lambda: get("/health", ctx)), timeout=TIMEOUT, what="the HTTPS server")
            status, headers, body = get("/api/v1/stats", ctx)
            assert status == 200 and json.loads(body)["workers"] >= 1
            assert headers["Strict-Transport-Security"].startswith("max-age=")
            no_cert = ssl.create_default_context(cafile=ca)
            with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
                get("/health", no_cert)
            # Plain HTTP on the HTTPS port gets nothing useful, and the server lives on.
            with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
                urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=TIMEOUT).read()
            assert get("/health", ctx)[0] == 200
            assert "HTTPS handshake" in b.log()
        finally:
            log = b.log()
            b.stop()
        assert b.proc.returncode == 0, log
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_a_renewed_https_certificate_is_loaded_without_restart():
    """As for MQTT listeners: the certificate files change on disk (key first, then certificate), new HTTPS
    connections get the new certificate; the old CA no longer verifies it."""
    import ssl
    import urllib.request
    from certs import _signed, make_certs
    from harness import free_port
    d = tempfile.mkdtemp(prefix="starling-https-renew-")
    try:
        certs = make_certs(d)
        live_crt, live_key = os.path.join(d, "live.crt"), os.path.join(d, "live.key")
        shutil.copy(certs["server"][0], live_crt)
        shutil.copy(certs["server"][1], live_key)
        _signed(d, "otherca", "renewed", "/CN=localhost", ext="subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        old_ca, new_ca = ssl.create_default_context(cafile=certs["ca"][0]), ssl.create_default_context(
            cafile=os.path.join(d, "otherca.crt"))
        http_port = free_port()
        with Broker(f"http_listener {http_port} 127.0.0.1\ncertfile {live_crt}\nkeyfile {live_key}\n") as b:
            def health(ctx):
                with urllib.request.urlopen(f"https://localhost:{http_port}/health", timeout=TIMEOUT,
                                            context=ctx) as r:
                    return r.status
            wait_for(lambda: _answers(lambda: health(old_ca)), timeout=TIMEOUT, what="the HTTPS server")
            shutil.copy(os.path.join(d, "renewed.key"), live_key)
            shutil.copy(os.path.join(d, "renewed.crt"), live_crt)
            wait_for(lambda: "Reloaded the HTTPS certificate" in b.log(), timeout=10, what="certificate reload")
            assert health(new_ca) == 200
            with pytest.raises((ssl.SSLError, urllib.error.URLError)):
                health(old_ca)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _answers(fn):
    try:
        fn()
        return True
    except OSError:
        return False


def test_listener_options_inside_the_http_block_are_refused():
    d = tempfile.mkdtemp(prefix="starling-http-block-")
    try:
        conf = os.path.join(d, "c.conf")
        with open(conf, "w") as f:
            f.write("listener 1883 127.0.0.1\nhttp_listener 8089 127.0.0.1\nprotocol websockets\n")
        r = subprocess.run([os.path.join(BIN_DIR, "starling"), "-c", conf, "--check-config"], capture_output=True,
                           text=True, timeout=20)
        assert r.returncode != 0
        assert "'protocol' is not an option of http_listener" in r.stdout + r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)
