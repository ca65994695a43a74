"""TLS listeners (OpenSSL): server certificates, client certificates (required, as the username), TLS
versions, with Mosquitto's clients and paho over TLS, and connections moving between workers with their TLS
state."""
import os
import socket
import ssl
import subprocess
import tempfile

import paho.mqtt.client as mqtt
import pytest

from certs import make_certs
from harness import Broker, free_port, wait_for

TIMEOUT = 15


@pytest.fixture(scope="module")
def certs():
    d = tempfile.mkdtemp(prefix="starling-certs-")
    return make_certs(d)


@pytest.fixture
def tls_broker(certs):
    """Listener 1 (the harness's port): TLS. Listener 2: TLS with a client certificate required and its CN as
    the username."""
    mtls = free_port()
    ca, (scrt, skey) = certs["ca"][0], certs["server"]
    extra = (f"certfile {scrt}\nkeyfile {skey}\n"
             f"listener {mtls} 127.0.0.1\ncertfile {scrt}\nkeyfile {skey}\ncafile {ca}\n"
             f"require_certificate true\nuse_identity_as_username true\n")
    b = Broker(extra, workers=2)
    b.mtls_port = mtls
    yield b
    b.stop()


def sub_pub(port, tls_args, topic="tls/t", message="over tls"):
    """mosquitto_sub waits for one message that mosquitto_pub sends; returns (sub result, pub result)."""
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-C", "1", "-W", "10",
                            "-i", f"sub-{port}-{topic}"] + tls_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pub = None
    for _ in range(50):
        pub = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-m", message]
                             + tls_args, capture_output=True, timeout=TIMEOUT)
        try:
            out, err = sub.communicate(timeout=0.2)
            return subprocess.CompletedProcess(sub.args, sub.returncode, out, err), pub
        except subprocess.TimeoutExpired:
            continue
    sub.kill()
    out, err = sub.communicate()
    return subprocess.CompletedProcess(sub.args, sub.returncode, out, err), pub


def test_mosquitto_clients_over_tls(tls_broker, certs):
    sub, pub = sub_pub(tls_broker.port, ["--cafile", certs["ca"][0]])
    assert pub.returncode == 0, pub.stderr
    assert sub.stdout == b"over tls\n"
    assert "(TLS)" in tls_broker.log()


def test_paho_over_tls_with_hostname_check(tls_broker, certs):
    got = []
    c = mqtt.Client("paho-tls")
    c.tls_set(ca_certs=certs["ca"][0])
    c.on_message = lambda cl, ud, m: got.append(m.payload)
    c.connect("localhost", tls_broker.port)
    c.loop_start()
    try:
        c.subscribe("paho/tls", 1)
        time_ok = wait_for(lambda: "paho-tls" in tls_broker.log(), what="connect")
        assert time_ok
        import time
        time.sleep(0.3)
        c.publish("paho/tls", b"x" * 100000, qos=1)
        wait_for(lambda: got, what="message over TLS")
        assert got == [b"x" * 100000]
    finally:
        c.loop_stop()
        c.disconnect()


def test_many_and_large_messages_over_tls(tls_broker, certs):
    """TLS records are decrypted into a buffer shared by the worker's connections: a burst of small messages
    and one larger than that buffer (64 KiB) arrive intact and in order."""
    got, subscribed = [], []
    ctx = ssl.create_default_context(cafile=certs["ca"][0])
    sub = mqtt.Client("tls-burst-sub")
    sub.tls_set_context(ctx)
    sub.on_message = lambda cl, ud, m: got.append(m.payload)
    sub.on_subscribe = lambda *args: subscribed.append(True)
    sub.connect("localhost", tls_broker.port)
    sub.loop_start()
    pub = mqtt.Client("tls-burst-pub")
    pub.tls_set_context(ctx)
    pub.connect("localhost", tls_broker.port)
    pub.loop_start()
    try:
        sub.subscribe("tls/burst", 1)
        wait_for(lambda: subscribed, what="SUBACK")
        payloads = [f"{i:05d}".encode() * 20 for i in range(1000)]
        payloads.insert(500, os.urandom(200_000))
        for p in payloads:
            pub.publish("tls/burst", p, qos=1)
        wait_for(lambda: len(got) >= len(payloads), timeout=TIMEOUT, what="every message over TLS")
        assert got == payloads
    finally:
        for c in (pub, sub):
            c.loop_stop()
            c.disconnect()


def test_client_certificate_required_and_used_as_username(tls_broker, certs):
    ca = certs["ca"][0]
    crt, key = certs["client"]
    sub, pub = sub_pub(tls_broker.mtls_port, ["--cafile", ca, "--cert", crt, "--key", key], topic="mtls/t")
    assert pub.returncode == 0 and sub.stdout == b"over tls\n", (pub.stderr, sub.stderr)
    assert "u'device-1', TLS" in tls_broker.log()
    # Without a certificate the handshake fails, and the log says why.
    r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(tls_broker.mtls_port), "--cafile", ca,
                        "-t", "x", "-m", "y"], capture_output=True, timeout=TIMEOUT)
    assert r.returncode != 0
    wait_for(lambda: "TLS error from 127.0.0.1" in tls_broker.log() and "certificate" in tls_broker.log(),
             what="TLS failure logged")


@pytest.mark.parametrize("which,reason", [("expired", "certificate has expired"), ("rogue", "unable to get")])
def test_bad_client_certificates_are_refused(tls_broker, certs, which, reason):
    crt, key = certs[which]
    r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(tls_broker.mtls_port), "--cafile",
                        certs["ca"][0], "--cert", crt, "--key", key, "-t", "x", "-m", "y"],
                       capture_output=True, timeout=TIMEOUT)
    assert r.returncode != 0
    wait_for(lambda: reason in tls_broker.log(), what=f"'{reason}' in the log")


def test_plain_mqtt_on_a_tls_port_is_dropped_and_the_broker_lives_on(tls_broker, certs):
    s = socket.create_connection(("127.0.0.1", tls_broker.port), timeout=5)
    s.sendall(b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00")
    s.settimeout(5)
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    assert not data.startswith(b"\x20")  # no CONNACK in clear text
    sub, pub = sub_pub(tls_broker.port, ["--cafile", certs["ca"][0]], topic="after/garbage")
    assert sub.stdout == b"over tls\n"


def test_many_tls_clients_across_workers(tls_broker, certs):
    """Connections move to the worker that owns their client id, TLS state included."""
    ctx = ssl.create_default_context(cafile=certs["ca"][0])
    clients = []
    got = {}
    for i in range(12):
        c = mqtt.Client(f"tls-many-{i}")
        c.tls_set_context(ctx)
        c.on_message = lambda cl, ud, m, i=i: got.setdefault(i, []).append(m.payload)
        c.connect("localhost", tls_broker.port)
        c.loop_start()
        c.subscribe("many/all", 1)
        clients.append(c)
    try:
        import time
        time.sleep(0.5)
        clients[0].publish("many/all", b"hello", qos=1)
        wait_for(lambda: len(got) == 12, what="every TLS client got the message")
        assert all(v == [b"hello"] for v in got.values())
    finally:
        for c in clients:
            c.loop_stop()
            c.disconnect()


def test_tls_version_minimum(certs):
    scrt, skey = certs["server"]
    with Broker(f"certfile {scrt}\nkeyfile {skey}\ntls_version tlsv1.3\n") as b:
        ca = certs["ca"][0]
        # (mosquitto_pub --tls-version only sets a minimum; Python can cap the version.)
        ctx = ssl.create_default_context(cafile=ca)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", b.port), timeout=5) as raw:
            with pytest.raises(ssl.SSLError):
                ctx.wrap_socket(raw, server_hostname="localhost")
        wait_for(lambda: "TLS error" in b.log(), what="version refusal logged")
        sub, pub = sub_pub(b.port, ["--cafile", ca, "--tls-version", "tlsv1.3"], topic="v13")
        assert sub.stdout == b"over tls\n"


def test_unreadable_certificate_stops_start_up_with_a_clear_error(tmp_path):
    conf = tmp_path / "bad.conf"
    port = free_port()
    conf.write_text(f"listener {port} 127.0.0.1\ncertfile /nonexistent.crt\nkeyfile /nonexistent.key\n")
    from harness import STARLING
    r = subprocess.run([STARLING, "-c", str(conf)], capture_output=True, timeout=TIMEOUT)
    assert r.returncode != 0
    assert b"certfile /nonexistent.crt" in r.stderr + r.stdout


def test_check_config_reports_expired_certificates(certs, tmp_path):
    crt, key = certs["expired"]
    os.chmod(key, 0o600)
    conf = tmp_path / "expired.conf"
    conf.write_text(f"listener 8883 127.0.0.1\ncertfile {crt}\nkeyfile {key}\n")
    from harness import STARLING
    r = subprocess.run([STARLING, "--check-config", "-c", str(conf)], capture_output=True, timeout=TIMEOUT)
    assert r.returncode == 1
    assert f"TLS certificate {crt} has expired" in r.stdout.decode()


def test_renewed_certificate_files_are_loaded_without_restart(certs, tmp_path):
    """Let's Encrypt style renewal: the files change on disk, new handshakes use the new certificate."""
    import shutil
    from certs import _signed
    d = os.path.dirname(certs["ca"][0])
    live_crt, live_key = tmp_path / "live.crt", tmp_path / "live.key"
    shutil.copy(certs["server"][0], live_crt)
    shutil.copy(certs["server"][1], live_key)
    _signed(d, "otherca", "renewed", "/CN=localhost", ext="subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    other_ca = os.path.join(d, "otherca.crt")
    with Broker(f"certfile {live_crt}\nkeyfile {live_key}\n") as b:
        ok, _ = sub_pub(b.port, ["--cafile", certs["ca"][0]], topic="before")
        assert ok.stdout == b"over tls\n"
        # Key first, then certificate (a renewal tool's order); a half-done pair is not loaded.
        shutil.copy(os.path.join(d, "renewed.key"), live_key)
        shutil.copy(os.path.join(d, "renewed.crt"), live_crt)
        wait_for(lambda: "Reloaded TLS certificate" in b.log(), timeout=10, what="certificate reload")
        ok, _ = sub_pub(b.port, ["--cafile", other_ca], topic="after")
        assert ok.stdout == b"over tls\n"
        r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(b.port), "--cafile", certs["ca"][0], "-t",
                            "x", "-m", "y"], capture_output=True, timeout=TIMEOUT)
        assert r.returncode != 0


def test_tls_psk_listener(tmp_path):
    """TLS-PSK (psk_hint on the listener, Mosquitto's psk_file), with the identity as the username."""
    psk = tmp_path / "psk"
    psk.write_text("sensor-7:00112233445566778899aabbccddeeff\n# comment\nother:deadbeef\n")
    with Broker(f"psk_hint starling\nuse_identity_as_username true\npsk_file {psk}\n") as b:
        args = ["--psk", "00112233445566778899aabbccddeeff", "--psk-identity", "sensor-7"]
        sub, pub = sub_pub(b.port, args, topic="psk/t")
        assert pub.returncode == 0 and sub.stdout == b"over tls\n", (pub.stderr, sub.stderr)
        assert "u'sensor-7', TLS" in b.log()
        r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(b.port), "--psk", "0011", "--psk-identity",
                            "sensor-7", "-t", "x", "-m", "y"], capture_output=True, timeout=TIMEOUT)
        assert r.returncode != 0
