"""Test certificates made with the openssl CLI at test time: a CA, a server certificate for 127.0.0.1 and
localhost, client certificates (valid, expired, and one from another CA)."""
import os
import subprocess


def _run(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(d, name):
    _run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
         "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=d)


def _signed(d, ca, name, subject, ext=None, start=None, end=None):
    _run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", subject,
         "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    if start:
        # `openssl ca` is the CLI's way to choose the validity dates (an expired certificate).
        cadir = os.path.join(d, f"ca-{name}")
        os.makedirs(cadir, exist_ok=True)
        open(os.path.join(cadir, "index.txt"), "w").close()
        with open(os.path.join(cadir, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(cadir, "ca.cnf"), "w") as f:
            f.write(f"""[ca]
default_ca = dflt
[dflt]
dir = {cadir}
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir
default_md = sha256
policy = any
[any]
commonName = supplied
""")
        _run("ca", "-batch", "-config", os.path.join(cadir, "ca.cnf"), "-cert", f"{ca}.crt", "-keyfile",
             f"{ca}.key", "-in", f"{name}.csr", "-out", f"{name}.crt", "-startdate", start, "-enddate", end, cwd=d)
        return
    args = ["x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-days", "30", "-out", f"{name}.crt"]
    if ext:
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext)
        args += ["-extfile", f"{name}.ext"]
    _run(*args, cwd=d)


def make_certs(d):
    """Writes ca, server, client, expired and rogue (another CA's client) .crt/.key files into `d`."""
    _ca(d, "ca")
    _ca(d, "otherca")
    _signed(d, "ca", "server", "/CN=localhost", ext="subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _signed(d, "ca", "client", "/CN=device-1/O=Starling Tests")
    _signed(d, "ca", "expired", "/CN=old-device", start="20200101000000Z", end="20200201000000Z")
    _signed(d, "otherca", "rogue", "/CN=rogue")
    return {n: (os.path.join(d, f"{n}.crt"), os.path.join(d, f"{n}.key"))
            for n in ["ca", "server", "client", "expired", "rogue"]}
