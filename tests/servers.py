"""Real servers for engine tests and benchmarks, each started on a free loopback port.

Every server is a real program from Debian or PyPI (never a fake), bound to 127.0.0.1, in a
temporary directory, stopped at the end. ``expect`` says what detection should report.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import trustme

from rampart_devtools.ports import free_port, port_open


@dataclass
class Expect:
    service: str
    product: str
    version: str  # the version the package itself reports, "" when the protocol hides it
    cpe_prefix: str


@dataclass
class Running:
    name: str
    port: int
    expect: Expect
    process: subprocess.Popen[bytes]
    workdir: Path
    extra: dict[str, str] = field(default_factory=dict)
    children: list[Running] = field(default_factory=list)  # servers this one fronts (e.g. behind stunnel)


class ServerMissing(RuntimeError):
    """The program for a test server is not installed on this machine."""


def _need(binary: str) -> str:
    path = shutil.which(binary) or (binary if Path(binary).exists() else None)
    if path is None:
        raise ServerMissing(f"{binary} is not installed (see .ci/run for the Debian packages)")
    return path


def _deb_version(package: str) -> str:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
    )
    return out.stdout.strip()


def _start(
    name: str,
    argv: list[str],
    port: int,
    expect: Expect,
    workdir: Path,
    user: str | None = None,
    wait: float = 20.0,
    **extra: str,
) -> Running:
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    with (workdir / f"{name}.log").open("ab") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            start_new_session=True,
        )
    deadline = time.monotonic() + wait
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{name} did not start: {(workdir / f'{name}.log').read_text()[-800:]}")
        time.sleep(0.05)
    return Running(name, port, expect, process, workdir, dict(extra))


def stop(server: Running) -> None:
    for child in server.children:
        stop(child)
    if server.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


def restart(server: Running) -> Running:
    """Start a stopped server again with the same command line, so on the same port and workdir."""
    argv = [str(arg) for arg in server.process.args]  # type: ignore[union-attr]
    return _start(server.name, argv, server.port, server.expect, server.workdir, **server.extra)


def redis(workdir: Path) -> Running:
    binary, port = _need("redis-server"), free_port()
    version = (
        subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split("v=")[1].split()[0]
    )
    return _start(
        "redis",
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        port,
        Expect("redis", "Redis key-value store", version, "cpe:2.3:a:redis:redis:"),
        workdir,
    )


def memcached(workdir: Path) -> Running:
    binary, port = _need("memcached"), free_port()
    version = subprocess.run([binary, "-V"], capture_output=True, text=True).stdout.split()[1]
    argv = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-u", "nobody"]
    return _start(
        "memcached",
        argv,
        port,
        Expect("memcached", "memcached", version, "cpe:2.3:a:memcached:memcached:"),
        workdir,
    )


def nats(workdir: Path) -> Running:
    binary, port = _need("nats-server"), free_port()
    version = (
        subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split("v")[-1].strip()
    )
    return _start(
        "nats",
        [binary, "-a", "127.0.0.1", "-p", str(port)],
        port,
        Expect("nats", "NATS Server", version, "cpe:2.3:a:linuxfoundation:nats-server:"),
        workdir,
    )


def nats_jetstream(workdir: Path) -> Running:
    """A broker with JetStream (stored under the workdir) for service tests of the event streams; not
    in ``LAUNCHERS``: the engine tests already scan a broker."""
    binary, port = _need("nats-server"), free_port()
    argv = [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(workdir / "js")]
    expect = Expect("nats", "NATS Server", "", "cpe:2.3:a:linuxfoundation:nats-server:")
    return _start("nats-jetstream", argv, port, expect, workdir)


def nx27017(workdir: Path) -> Running:
    binary, port = str(Path(sys.executable).with_name("nx-27017")), free_port()
    argv = [
        binary,
        "--host",
        "127.0.0.1",
        "-p",
        str(port),
        "--db",
        "memory",
        "--log-file",
        str(workdir / "nx.log"),
        "--pid-file",
        str(workdir / "nx.pid"),
    ]
    # nx-27017 reveals itself and the MongoDB version it emulates, not its own version.
    return _start(
        "nx-27017", argv, port, Expect("mongodb", "nx-27017", "", "cpe:2.3:a:neosqlite:nx-27017:"), workdir
    )


def sshd(workdir: Path) -> Running:
    binary, port = _need("/usr/sbin/sshd"), free_port()
    key = workdir / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    version = _deb_version("openssh-server").split(":")[-1].split("-")[0]  # 1:9.2p1-2+deb12u10 -> 9.2p1
    argv = [
        binary,
        "-D",
        "-e",
        "-f",
        "/dev/null",
        "-h",
        str(key),
        "-o",
        f"ListenAddress=127.0.0.1:{port}",
        "-o",
        f"PidFile={workdir / 'sshd.pid'}",
        "-o",
        "UsePAM=no",
    ]
    return _start(
        "sshd", argv, port, Expect("ssh", "OpenSSH", version, "cpe:2.3:a:openbsd:openssh:"), workdir
    )


def nginx(workdir: Path, ca: trustme.CA | None = None) -> Running:
    """nginx on two ports: plain HTTP (``port``) and HTTPS with a trustme certificate (``tls_port``)."""
    binary, port, tls_port = _need("nginx"), free_port(), free_port()
    ca = ca or trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(workdir / "server.pem"))
    version = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.split("/")[1].split()[0]
    for directory in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / directory).mkdir(exist_ok=True)
    temp_paths = " ".join(
        f"{kind}_temp_path {workdir / kind.split('_')[0]};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (workdir / "nginx.conf").write_text(f"""
daemon off; pid {workdir / "nginx.pid"}; error_log stderr; worker_processes 1;
events {{ worker_connections 64; }}
http {{ access_log off; {temp_paths}
  server {{ listen 127.0.0.1:{port}; location / {{ default_type text/html;
    return 200 "<html><head><title>Rampart test page</title></head><body>ok</body></html>"; }} }}
  server {{ listen 127.0.0.1:{tls_port} ssl; ssl_certificate {workdir / "server.pem"};
    ssl_certificate_key {workdir / "server.pem"}; ssl_protocols TLSv1.2 TLSv1.3;
    location / {{ default_type text/html; return 200 "<title>Rampart TLS page</title>"; }} }}
}}""")
    argv = [binary, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-e", "stderr"]
    running = _start(
        "nginx",
        argv,
        port,
        Expect("http", "nginx", version, "cpe:2.3:a:f5:nginx:"),
        workdir,
        tls_port=str(tls_port),
    )
    deadline = time.monotonic() + 10
    while not port_open(tls_port) and time.monotonic() < deadline:
        time.sleep(0.05)
    return running


def mosquitto(workdir: Path) -> Running:
    binary, port = _need("mosquitto"), free_port()
    (workdir / "mosquitto.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    version = (
        subprocess.run([binary, "-h"], capture_output=True, text=True).stdout.split("version ")[1].split()[0]
    )
    return _start(
        "mosquitto",
        [binary, "-c", str(workdir / "mosquitto.conf")],
        port,
        Expect("mqtt", "Eclipse Mosquitto", version, "cpe:2.3:a:eclipse:mosquitto:"),
        workdir,
    )


def postgresql(workdir: Path) -> Running:
    bindir = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
    if bindir is None:
        raise ServerMissing("PostgreSQL is not installed (Debian package postgresql)")
    port, data = free_port(), workdir / "pgdata"
    data.mkdir()
    shutil.chown(workdir, "postgres")
    shutil.chown(data, "postgres")
    password = workdir / "pgpass"
    password.write_text(secrets.token_urlsafe(16) + "\n")
    shutil.chown(password, "postgres")
    initdb = [
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-A",
        "scram-sha-256",
        "-U",
        "postgres",
        f"--pwfile={password}",
    ]
    subprocess.run(["runuser", "-u", "postgres", "--", *initdb], check=True, capture_output=True, cwd=workdir)
    argv = [str(bindir / "postgres"), "-D", str(data), "-k", str(workdir), "-h", "127.0.0.1", "-p", str(port)]
    return _start(
        "postgresql",
        argv,
        port,
        Expect("postgresql", "PostgreSQL", "", "cpe:2.3:a:postgresql:postgresql:"),
        workdir,
        user="postgres",
    )


def smtp(workdir: Path) -> Running:
    import aiosmtpd

    port = free_port()
    argv = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
    return _start(
        "aiosmtpd",
        argv,
        port,
        Expect("smtp", "aiosmtpd", aiosmtpd.__version__, "cpe:2.3:a:aio-libs:aiosmtpd:"),
        workdir,
    )


def ftp(workdir: Path) -> Running:
    import pyftpdlib

    port = free_port()
    argv = [sys.executable, "-m", "pyftpdlib", "-i", "127.0.0.1", "-p", str(port), "-d", str(workdir)]
    return _start(
        "pyftpdlib",
        argv,
        port,
        Expect("ftp", "pyftpdlib", pyftpdlib.__ver__, "cpe:2.3:a:giampaolo_rodola:pyftpdlib:"),
        workdir,
    )


def python_http(workdir: Path) -> Running:
    port = free_port()
    version = ".".join(str(part) for part in sys.version_info[:3])
    argv = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(workdir),
    ]
    return _start(
        "http.server",
        argv,
        port,
        Expect("http", "Python http.server", version, "cpe:2.3:a:python:python:"),
        workdir,
    )


LAUNCHERS = {
    "redis": redis,
    "memcached": memcached,
    "nats": nats,
    "nx-27017": nx27017,
    "sshd": sshd,
    "nginx": nginx,
    "mosquitto": mosquitto,
    "postgresql": postgresql,
    "aiosmtpd": smtp,
    "pyftpdlib": ftp,
    "http.server": python_http,
}


@contextlib.contextmanager
def started(name: str) -> Iterator[Running]:
    with tempfile.TemporaryDirectory(prefix=f"rampart-{name}-") as directory:
        workdir = Path(directory)
        os.chmod(workdir, 0o755)  # noqa: S103 - servers running as other users read their config
        server = {**LAUNCHERS, "nats-jetstream": nats_jetstream}[name](workdir)
        try:
            yield server
        finally:
            stop(server)
