"""Real Debian servers for the detection benchmark, each started unprivileged-where-possible on loopback.

Each entry knows the Debian package it comes from (the truth is ``dpkg-query``'s version), how to
write a throw-away config in a temporary directory, the argv that runs it in the foreground, and
what a right answer looks like (service names and a product pattern). A server prefers its usual
port when that port is free (probes are ordered by port, for nmap as for Rampart), else any free port.
Whatever cannot start here is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rampart_devtools.ports import free_port, port_open

APT_PACKAGES = [
    "vsftpd",
    "exim4-daemon-light",
    "dovecot-imapd",
    "dovecot-pop3d",
    "dropbear-bin",
    "inetutils-telnetd",
    "openbsd-inetd",
    "ngircd",
    "inspircd",
    "prosody",
    "rsync",
    "cups-daemon",
    "tigervnc-standalone-server",
    "mariadb-server",
    "redis-server",
    "memcached",
    "influxdb",
    "etcd-server",
    "prometheus-node-exporter",
    "zabbix-agent",
    "nagios-nrpe-server",
    "rabbitmq-server",
    "git",
    "distcc",
    "squid",
    "tinyproxy",
    "privoxy",
    "varnish",
    "apache2",
    "lighttpd",
    "caddy",
    "gunicorn",
    "python3-werkzeug",
    "bind9",
    "unbound",
    "dnsmasq-base",
    "nsd",
    "knot",
    "pdns-recursor",
    "slapd",
    "samba",
    "xrdp",
    "dante-server",
    "haproxy",
    "beanstalkd",
    "pgbouncer",
    "uhub",
    "znc",
    "bitlbee",
    "icecast2",
    "mpd",
    "tor",
    "subversion",
    "mini-httpd",
    "webfs",
    "openssh-server",
    "mosquitto",
    "nats-server",
    "postgresql",
    "nginx",
    "nmap",
]


@dataclass
class Spec:
    """One kind of server: its package, what detection should say, and how to run it."""

    name: str
    package: str
    services: tuple[str, ...]  # names accepted as right (Rampart's and nmap's spellings)
    product: str  # regex a right product name matches (case-insensitive)
    port: int  # the usual port, used when free
    setup: Callable[[Path, int], list[str]]  # writes config, returns argv
    user: str | None = None
    versioned: bool = True  # False: the protocol never tells the version, so none is expected
    note: str = ""  # e.g. which half of issue 17 a miss belongs to
    env: dict[str, str] = field(default_factory=dict)
    wait: float = 30.0


@dataclass
class Running:
    spec: Spec
    port: int
    truth: str  # package version, upstream part
    process: subprocess.Popen[bytes]
    workdir: Path


def deb_version(package: str) -> str:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return out.stdout.strip()


def upstream(version: str) -> str:
    """1:9.2p1-2+deb12u10 -> 9.2p1; 1.6.7~rc0-1+b13 -> 1.6.7; 3.15.0-1 -> 3.15.0."""
    version = version.split(":", 1)[-1]
    version = version.rsplit("-", 1)[0] if "-" in version else version
    return re.split(r"[~+]", version)[0]


def pick_port(usual: int) -> int:
    if usual and not port_open(usual):
        with contextlib.suppress(OSError), socket.create_server(("127.0.0.1", usual)):
            return usual
    return free_port()


def write(path: Path, text: str, owner: str | None = None) -> Path:
    path.write_text(text)
    if owner:
        shutil.chown(path, owner)
    return path


@contextlib.contextmanager
def started(spec: Spec) -> Iterator[Running]:
    with tempfile.TemporaryDirectory(prefix=f"detect-{spec.name}-") as directory:
        workdir = Path(directory)
        os.chmod(workdir, 0o755)  # noqa: S103 - daemons dropping to their own user read their config
        port = pick_port(spec.port)
        argv = spec.setup(workdir, port)
        if spec.user:
            shutil.chown(workdir, spec.user)
            argv = ["runuser", "-u", spec.user, "--", *argv]
        log = (workdir / "server.log").open("ab")
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env={**os.environ, **spec.env},
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + spec.wait
            while not port_open(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = (workdir / "server.log").read_text(errors="replace")[-300:]
                    raise RuntimeError(f"did not start: {' '.join(tail.split())}")
                time.sleep(0.1)
            time.sleep(0.3)  # some daemons bind before they answer
            yield Running(spec, port, upstream(deb_version(spec.package)), process, workdir)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.close()
