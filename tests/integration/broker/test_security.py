"""Authentication and authorisation end to end: password files (mosquitto_passwd's and ours), the ACL file,
JWT bearer tokens, SCRAM-SHA-256 enhanced authentication, reload on SIGHUP, slowed-down password guessing,
and `starling --check-config`."""
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import struct
import subprocess
import time

from harness import (STARLING, Broker, RawClient, connect_packet, mqtt_string, packet, publish_packet,
                     subscribe_packet, wait_for)
from test_mqtt5 import V5, connect5, parse_props, prop, publish5, subscribe5

BIN = os.path.dirname(STARLING)


def passwd_file(path, users, tool="mosquitto_passwd", hash_args=()):
    first = True
    for user, pw in users.items():
        args = [tool, *hash_args] + (["-c"] if first else []) + ["-b", path, user, pw]
        subprocess.run(args, check=True, capture_output=True, timeout=30)
        first = False


def connack(port, client_id, level=4, **kw):
    c = RawClient(port)
    c.send(connect_packet(client_id, level=level, **kw))
    first, body = c.recv_packet()
    assert first == 0x20
    return c, body


def test_password_file_from_mosquitto_passwd_and_refusals(tmp_path):
    pw = str(tmp_path / "pw")
    passwd_file(pw, {"alice": "secret", "bob": "hunter2"})
    with Broker(f"password_file {pw}", anonymous=False) as b:
        assert connack(b.port, "a1", username="alice", password="secret")[1] == b"\x00\x00"
        assert connack(b.port, "b1", username="bob", password="hunter2")[1] == b"\x00\x00"
        # 3.1.1: not authorised (5), as Mosquitto answers; v5: bad user name or password (0x86).
        assert connack(b.port, "a2", username="alice", password="wrong")[1] == b"\x00\x05"
        assert connack(b.port, "n1", username="nobody", password="x")[1] == b"\x00\x05"
        assert connack(b.port, "anon")[1] == b"\x00\x05"
        c = V5(b.port)
        c.send(connect_packet("a5", level=5, username="alice", password="nope"))
        first, body = c.recv_packet()
        assert (first, body[1]) == (0x20, 0x86)
        log = b.log()
        assert "Client a2 from 127.0.0.1" in log and "wrong password for user 'alice'" in log
        assert "unknown user 'nobody'" in log


def test_our_password_file_with_every_hash(tmp_path):
    pw = str(tmp_path / "pw")
    subprocess.run([f"{BIN}/starling_passwd", "-c", "-b", pw, "p7", "one"], check=True, timeout=30)
    subprocess.run([f"{BIN}/starling_passwd", "-H", "argon2id", "-b", pw, "argon", "two"], check=True, timeout=30)
    subprocess.run([f"{BIN}/starling_passwd", "-H", "scram-sha-256", "-b", pw, "scram", "three"], check=True,
                   timeout=30)
    with Broker(f"password_file {pw}", anonymous=False) as b:
        for user, secret in [("p7", "one"), ("argon", "two"), ("scram", "three")]:
            assert connack(b.port, f"c-{user}", username=user, password=secret)[1] == b"\x00\x00", user
            assert connack(b.port, f"d-{user}", username=user, password="bad")[1] == b"\x00\x05", user


ACL = """# anonymous clients: read public only
topic read public/#

user alice
topic readwrite alice/#
topic read public/#
topic deny alice/secret

user admin
topic readwrite #

pattern readwrite devices/%c/#
"""


def test_acl_publish_subscribe_and_delivery(tmp_path):
    pw, acl = str(tmp_path / "pw"), tmp_path / "acl"
    passwd_file(pw, {"alice": "a", "admin": "b"})
    acl.write_text(ACL)
    with Broker(f"password_file {pw}\nacl_file {acl}\nallow_anonymous true", anonymous=False) as b:
        admin, _ = connack(b.port, "admin-1", username="admin", password="b")
        alice, _ = connack(b.port, "dev7", username="alice", password="a")
        # [MQTT-3.9.3-1] one code per filter: refused 0x80 (3.1.1), granted otherwise.
        alice.send(subscribe_packet(1, [("#", 0), ("public/#", 1), ("alice/+", 1), ("devices/dev7/#", 0),
                                        ("devices/other/#", 0)]))
        assert alice.recv_packet() == (0x90, b"\x00\x01\x80\x01\x01\x00\x80")
        admin.send(publish_packet("public/news", "hi", qos=1, pid=1))
        assert admin.recv_packet()[0] == 0x40
        assert alice.recv_packet()[1].endswith(b"hi")
        # A deny rule narrower than the subscription keeps those messages from her.
        admin.send(publish_packet("alice/secret", "s", qos=1, pid=2))
        admin.send(publish_packet("alice/ok", "o", qos=1, pid=3))
        assert admin.recv_packet()[0] == 0x40 and admin.recv_packet()[0] == 0x40
        first, body = alice.recv_packet()
        assert body[2:2 + len("alice/ok")] == b"alice/ok"
        # 3.1.1 publish without permission: acknowledged, not forwarded.
        watcher, _ = connack(b.port, "admin-2", username="admin", password="b")
        watcher.send(subscribe_packet(1, [("public/#", 0)]))
        watcher.recv_packet()
        alice.send(publish_packet("public/x", "nope", qos=1, pid=9))
        assert alice.recv_packet() == (0x40, b"\x00\x09")
        alice.send(publish_packet("devices/dev7/t", "mine", qos=0))
        assert not watcher.expect_closed(timeout=0.5)  # still open...
        assert watcher.buf == b""  # ...and the refused message never arrived
        # v5: 0x87 on PUBACK and SUBACK.
        v5 = V5(b.port)
        v5.send(connect_packet("dev8", level=5, username="alice", password="a"))
        assert v5.recv_packet()[1][1] == 0
        v5.send(publish5("public/x", b"no", qos=1, pid=4))
        assert v5.recv_packet() == (0x40, b"\x00\x04\x87")
        assert v5.subscribe(5, "admin/#") == b"\x87"
        # Anonymous: read public only.
        anon, body = connack(b.port, "anon-1")
        assert body == b"\x00\x00"
        anon.send(subscribe_packet(1, [("public/#", 0), ("alice/#", 0)]))
        assert anon.recv_packet() == (0x90, b"\x00\x01\x00\x80")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(secret, claims, alg="HS256"):
    head = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def test_jwt_tokens(tmp_path):
    secret = b"0123456789abcdef0123456789abcdef-test"
    (tmp_path / "secret").write_bytes(secret)
    os.chmod(tmp_path / "secret", 0o600)
    with Broker(f"jwt_secret_file {tmp_path / 'secret'}\njwt_issuer starling-tests", anonymous=False) as b:
        now = int(time.time())
        good = hs256(secret, {"sub": "sensor-1", "iss": "starling-tests", "exp": now + 300,
                              "pub": ["sensors/sensor-1/#"], "subs": ["cmd/sensor-1"]})
        c, body = connack(b.port, "s1", username="ignored", password=good)
        assert body == b"\x00\x00"
        assert "u'sensor-1'" in b.log()
        c.send(subscribe_packet(1, [("cmd/sensor-1", 0), ("cmd/#", 0)]))
        assert c.recv_packet() == (0x90, b"\x00\x01\x00\x80")
        expired = hs256(secret, {"sub": "s", "iss": "starling-tests", "exp": now - 10})
        assert connack(b.port, "s2", username="x", password=expired)[1] == b"\x00\x05"
        forged = hs256(b"another secret of at least 32 bytes!!", {"sub": "s", "iss": "starling-tests", "exp": now + 60})
        assert connack(b.port, "s3", username="x", password=forged)[1] == b"\x00\x05"
        wrong_iss = hs256(secret, {"sub": "s", "iss": "elsewhere", "exp": now + 60})
        assert connack(b.port, "s4", username="x", password=wrong_iss)[1] == b"\x00\x05"
        none_alg = hs256(secret, {"sub": "s", "iss": "starling-tests", "exp": now + 60}, alg="none")
        assert connack(b.port, "s5", username="x", password=none_alg)[1] == b"\x00\x05"


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True, timeout=60).stdout


def rs256_key_and_jwk(tmp_path, kid):
    """An RSA-2048 private key made with the openssl CLI, and its public half as a JWK (RFC 7518 6.3)."""
    key, pub = tmp_path / f"{kid}.pem", tmp_path / f"{kid}.pub.pem"
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key))
    openssl("pkey", "-in", str(key), "-pubout", "-out", str(pub))
    modulus = openssl("rsa", "-pubin", "-in", str(pub), "-noout", "-modulus").decode().strip()
    assert modulus.startswith("Modulus=")
    n = bytes.fromhex(modulus[len("Modulus="):])
    text = openssl("rsa", "-pubin", "-in", str(pub), "-noout", "-text").decode()
    e = int(re.search(r"Exponent: (\d+)", text).group(1))
    jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64url(n),
           "e": b64url(e.to_bytes((e.bit_length() + 7) // 8, "big"))}
    return key, jwk


def rs256(key, claims, kid):
    head = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = openssl("dgst", "-sha256", "-sign", str(key), data=f"{head}.{body}".encode())
    return f"{head}.{body}.{b64url(sig)}"


def test_jwt_jwks_file(tmp_path):
    """jwt_jwks_file: an RS256 token is checked against the key its `kid` names; SIGHUP re-reads the set."""
    key, jwk = rs256_key_and_jwk(tmp_path, "idp-key-1")
    encryption = dict(jwk, kid="idp-enc-1", use="enc")  # left out, with a note in the log
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [encryption, jwk]}))
    os.chmod(jwks, 0o644)  # public keys: no need to hide them
    with Broker(f"jwt_jwks_file {jwks}\njwt_issuer https://idp.example", anonymous=False) as b:
        assert "idp-enc-1' ignored: 'use' is \"enc\"" in b.log()
        now = int(time.time())
        claims = {"sub": "device-7", "iss": "https://idp.example", "exp": now + 300, "subs": ["cmd/device-7"]}
        c, body = connack(b.port, "d7", username="ignored", password=rs256(key, claims, "idp-key-1"))
        assert body == b"\x00\x00"
        assert "u'device-7'" in b.log()
        c.send(subscribe_packet(1, [("cmd/device-7", 0), ("cmd/#", 0)]))
        assert c.recv_packet() == (0x90, b"\x00\x01\x00\x80")
        assert connack(b.port, "d7-wrong-kid", username="x", password=rs256(key, claims, "idp-key-2"))[1] == b"\x00\x05"
        assert connack(b.port, "d7-enc-kid", username="x", password=rs256(key, claims, "idp-enc-1"))[1] == b"\x00\x05"
        # Key rotation: the provider's new set names the key idp-key-2; SIGHUP re-reads it.
        jwks.write_text(json.dumps({"keys": [dict(jwk, kid="idp-key-2")]}))
        b.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "Reloaded configuration" in b.log(), what="reload")
        assert connack(b.port, "d7-rotated", username="x", password=rs256(key, claims, "idp-key-2"))[1] == b"\x00\x00"
        assert connack(b.port, "d7-old-kid", username="x", password=rs256(key, claims, "idp-key-1"))[1] == b"\x00\x05"


def scram_client(port, client_id, user, password, tamper=False):
    """SCRAM-SHA-256 over MQTT 5 AUTH (RFC 7677), the client side written here from the RFC."""
    c = V5(port)
    cnonce = b64url(os.urandom(18))
    first_bare = f"n={user},r={cnonce}"
    props = prop(0x15, "SCRAM-SHA-256") + bytes([0x16]) + mqtt_string(("n,," + first_bare).encode())
    c.send(connect5(client_id, props=props))
    first, body = c.recv_packet()
    if first == 0x20:
        return c, body[1], None
    assert first == 0xF0 and body[0] == 0x18, (hex(first), body)
    p, _ = parse_props(body, 1)
    server_first = p[0x16][0].decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    final_wo_proof = f"c=biws,r={attrs['r']}"
    auth_message = f"{first_bare},{server_first},{final_wo_proof}".encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    if tamper:
        proof = bytes([proof[0] ^ 1]) + proof[1:]
    final = f"{final_wo_proof},p={base64.b64encode(proof).decode()}"
    auth_props = prop(0x15, "SCRAM-SHA-256") + bytes([0x16]) + mqtt_string(final.encode())
    c.send(packet(0xF0, bytes([0x18]) + bytes([len(auth_props)]) + auth_props))
    first, body = c.recv_packet()
    assert first == 0x20
    p, _ = parse_props(body, 2)
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    expected = "v=" + base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha256).digest()).decode()
    return c, body[1], (p.get(0x16, [b""])[0].decode() == expected)


def test_scram_sha_256_enhanced_authentication(tmp_path):
    pw = str(tmp_path / "pw")
    subprocess.run([f"{BIN}/starling_passwd", "-H", "scram-sha-256", "-c", "-b", pw, "carol", "pencil"], check=True,
                   timeout=30)
    with Broker(f"password_file {pw}", anonymous=False) as b:
        c, rc, server_proved = scram_client(b.port, "scram-ok", "carol", "pencil")
        assert rc == 0 and server_proved  # the broker proved it knows the verifier too
        c.send(publish5("t", b"x", qos=1))
        assert c.recv_packet()[0] == 0x40
        _, rc, _ = scram_client(b.port, "scram-bad", "carol", "pencil", tamper=True)
        assert rc == 0x87
        _, rc, _ = scram_client(b.port, "scram-nobody", "nobody", "pencil")
        assert rc == 0x87
        # An unknown method: 0x8C.
        v = V5(b.port)
        v.send(connect5("m", props=prop(0x15, "KERBEROS")))
        first, body = v.recv_packet()
        assert (first, body[1]) == (0x20, 0x8C)


def test_sighup_reloads_password_file_and_connections_stay(tmp_path):
    pw = str(tmp_path / "pw")
    passwd_file(pw, {"alice": "a"})
    with Broker(f"password_file {pw}", anonymous=False) as b:
        stay, body = connack(b.port, "stay", username="alice", password="a")
        assert body == b"\x00\x00"
        assert connack(b.port, "new", username="dave", password="d")[1] == b"\x00\x05"
        subprocess.run(["mosquitto_passwd", "-b", pw, "dave", "d"], check=True, capture_output=True, timeout=30)
        b.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "Reloaded configuration" in b.log(), what="reload")
        assert connack(b.port, "new2", username="dave", password="d")[1] == b"\x00\x00"
        stay.send(b"\xc0\x00")
        assert stay.recv_packet() == (0xD0, b"")


def test_password_guessing_is_slowed_down(tmp_path):
    pw = str(tmp_path / "pw")
    passwd_file(pw, {"alice": "a"})
    with Broker(f"password_file {pw}", anonymous=False) as b:
        for i in range(4):
            assert connack(b.port, "guess", username="alice", password=f"g{i}")[1] == b"\x00\x05"
        start = time.monotonic()
        c = RawClient(b.port, timeout=10)
        c.send(connect_packet("guess", username="alice", password="g5"))
        assert c.recv_packet(timeout=10) == (0x20, b"\x00\x05")
        assert time.monotonic() - start >= 0.5  # the 5th failure waits a second (ticked twice a second)
        assert b.alive()


def test_check_config(tmp_path):
    pw = tmp_path / "pw"
    passwd_file(str(pw), {"admin": "admin"})
    conf = tmp_path / "unsafe.conf"
    conf.write_text(f"listener 1883\nallow_anonymous true\npassword_file {pw}\n")
    r = subprocess.run([STARLING, "--check-config", "-c", str(conf)], capture_output=True, timeout=30)
    out = r.stdout.decode()
    assert r.returncode == 1, out
    assert "anonymous" in out and "without TLS" in out and "admin" in out
    safe = tmp_path / "safe.conf"
    safe.write_text("listener 1883 127.0.0.1\n")
    r = subprocess.run([STARLING, "--check-config", "-c", str(safe)], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stdout


def test_per_listener_settings(tmp_path):
    """per_listener_settings true: each listener has its own password file, ACL and anonymous rule."""
    from harness import free_port
    pw, acl = str(tmp_path / "pw"), tmp_path / "acl"
    passwd_file(pw, {"alice": "a"})
    acl.write_text("user alice\ntopic readwrite alice/#\n")
    second = free_port()
    # The harness's listener (open, anonymous) and a second one with its own password file and ACL.
    with Broker(head="per_listener_settings true",
                extra=(f"listener {second} 127.0.0.1\npassword_file {pw}\nacl_file {acl}\n"
                       f"allow_anonymous false\n")) as b:
        anon, body = connack(b.port, "anon-open")
        assert body == b"\x00\x00"
        anon.send(subscribe_packet(1, [("bob/x", 0)]))
        assert anon.recv_packet() == (0x90, b"\x00\x01\x00")
        assert connack(second, "anon")[1] == b"\x00\x05"
        alice, body = connack(second, "al", username="alice", password="a")
        assert body == b"\x00\x00"
        alice.send(subscribe_packet(1, [("alice/x", 0), ("bob/x", 0)]))
        assert alice.recv_packet() == (0x90, b"\x00\x01\x00\x80")
