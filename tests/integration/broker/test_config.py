"""The program: flags, config errors with file:line, signals."""
import os
import signal
import subprocess
import tempfile
import time

from harness import STARLING, Broker, RawClient, free_port, wait_for


def run(args, timeout=10):
    return subprocess.run([STARLING] + args, capture_output=True, text=True, timeout=timeout)


def conf(text):
    d = tempfile.mkdtemp(prefix="starling-conf-")
    p = os.path.join(d, "s.conf")
    with open(p, "w") as f:
        f.write(text)
    return p


def test_version():
    r = run(["--version"])
    assert r.returncode == 0 and r.stdout.startswith("starling version ")


def test_unknown_flag():
    r = run(["--bogus"])
    assert r.returncode == 1 and "Unknown option" in r.stderr


def test_unknown_directive_is_an_error_with_file_and_line():
    p = conf("listener 1883\nallow_anonymous true\nfrobnicate yes\n")
    r = run(["-c", p])
    assert r.returncode == 1
    assert f"{p}:3" in r.stderr and "frobnicate" in r.stderr


def test_later_directive_not_supported_yet():
    p = conf("connection bridge-to-cloud\n")
    r = run(["-c", p])
    assert r.returncode == 1 and "not supported yet" in r.stderr


def test_bad_value():
    p = conf("max_keepalive lots\n")
    r = run(["-c", p])
    assert r.returncode == 1 and f"{p}:1" in r.stderr


def test_missing_config_file():
    r = run(["-c", "/nonexistent/starling.conf"])
    assert r.returncode == 1 and "/nonexistent/starling.conf" in r.stderr


def test_port_in_use_is_a_clear_error():
    """Workers share a port through SO_REUSEPORT, but never with another process."""
    with Broker() as b:
        p = conf(f"listener {b.port} 127.0.0.1\nallow_anonymous true\n")
        r = run(["-c", p])
        assert r.returncode == 1
        assert "in use" in r.stderr + r.stdout
        assert b.alive()


def test_sigterm_clean_exit_and_sighup_reload():
    with Broker() as b:
        c = RawClient(b.port)
        c.connect("sig")
        b.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "Reloaded configuration" in b.log(), what="reload log line")
        assert b.alive()
        b.proc.send_signal(signal.SIGTERM)
        assert b.proc.wait(timeout=10) == 0
        assert c.expect_closed()


def test_include_dir():
    d = tempfile.mkdtemp(prefix="starling-inc-")
    with open(os.path.join(d, "a.conf"), "w") as f:
        f.write("max_queued_messages 5\n")
    with open(os.path.join(d, "b.conf"), "w") as f:
        f.write("nonsense 1\n")
    p = conf(f"include_dir {d}\n")
    r = run(["-c", p])
    assert r.returncode == 1 and "b.conf:1" in r.stderr
