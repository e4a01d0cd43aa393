"""Runs the whole platform as local processes: store, broker, five services, gateway.

``make run`` (``python -m rampart_devtools``) uses it with the documented ports; the
integration tests use it with free ports and temporary data directories. Every child runs in
its own session so Ctrl-C reaches only this supervisor, which stops the children in reverse
order. Development and tests only: no image or service depends on this package.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from rampart.lib import natsconf
from rampart.lib.callers import IDENTITIES
from rampart.lib.grpcclient import open_channel
from rampart.lib.tls import TlsFiles
from rampart_devtools.pki import DevCA
from rampart_devtools.ports import free_port, port_open

SERVICES = ("auth", "scan", "threat", "ai", "report")
WORKERS = ("scan-worker-1", "scan-worker-2")
ORDER = ("store", "nats", *SERVICES, *WORKERS, "gateway")
DEFAULT_PORTS = {
    "store": 27017,
    "nats": 4222,
    "auth": 50051,
    "scan": 50052,
    "threat": 50053,
    "ai": 50054,
    "report": 50055,
    "scan-worker-1": 9111,  # workers serve only their metrics port
    "scan-worker-2": 9112,
    "gateway": 8000,
}
DEFAULT_METRICS_PORTS = {"auth": 9101, "scan": 9102, "threat": 9103, "ai": 9104, "report": 9105}
PR_SET_PDEATHSIG = 1


def worker_names(count: int) -> tuple[str, ...]:
    return tuple(f"scan-worker-{n}" for n in range(1, count + 1))


def _child_setup() -> None:
    """In the child: own session (no Ctrl-C from the terminal) and die with the parent."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class StackError(RuntimeError):
    """The platform could not be started or did not become healthy in time."""


@dataclass
class DevStack:
    """The eight processes of a local platform and their ports, logs and data."""

    data_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    metrics_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_METRICS_PORTS))
    log_level: str = "info"
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    workers: int = len(WORKERS)  # scan worker processes (benchmarks start 1, 2 or 4)

    @classmethod
    def on_free_ports(cls, data_dir: Path, workers: int = len(WORKERS), **kwargs: Any) -> DevStack:
        names = ("store", "nats", *SERVICES, *worker_names(workers), "gateway")
        ports = {name: free_port() for name in names}
        metrics = {name: free_port() for name in SERVICES}
        return cls(data_dir, ports, metrics, workers=workers, **kwargs)

    @property
    def worker_names(self) -> tuple[str, ...]:
        return worker_names(self.workers)

    @property
    def order(self) -> tuple[str, ...]:
        """Every process of this stack, in start order."""
        return ("store", "nats", *SERVICES, *self.worker_names, "gateway")

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def mongodb_url(self) -> str:
        return f"mongodb://127.0.0.1:{self.ports['store']}/?directConnection=true"

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.ports['nats']}"

    def platform_endpoints(self) -> str:
        """Every port this stack listens on: scans skip them (the platform never scans itself)."""
        ports = [*self.ports.values(), *self.metrics_ports.values()]
        return ",".join(f"127.0.0.1:{port}" for port in sorted(set(ports)))

    def address(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def log_path(self, name: str) -> Path:
        return self.data_dir / "log" / f"{name}.log"

    @property
    def pki(self) -> DevCA:
        """The development CA under ``<data_dir>/pki`` (mode 0700; keys 0600)."""
        return DevCA(self.data_dir / "pki")

    def certs(self, identity: str) -> TlsFiles:
        """The identity's certificate files, issued (or renewed) on first use."""
        return self.pki.issue(identity)

    def channel(self, service: str, identity: str = "gateway") -> grpc.aio.Channel:
        """A mutual-TLS channel to one service, presenting ``identity``'s certificate."""
        return open_channel(self.address(service), self.certs(identity))

    def identity(self, name: str) -> str:
        return "scan-worker" if name in self.worker_names else name

    def nats_config(self) -> Path:
        """Write nats-server's config: TLS required, client certificates mapped to users."""
        files = self.certs("nats")
        path = self.data_dir / "nats.conf"
        path.write_text(
            natsconf.render(
                host="127.0.0.1",
                port=self.ports["nats"],
                store_dir=str(self.data_dir / "nats"),
                ca_file=str(files.ca),
                cert_file=str(files.cert),
                key_file=str(files.key),
                server_name="rampart-dev",
                identities=IDENTITIES,
            )
        )
        return path

    def _base_env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.endswith(("_ADDR", "_URL")) and not k.startswith("TLS_")
        }
        env.update(
            RAMPART_ENV="development",
            LOG_LEVEL=self.log_level,
            MONGODB_URL=self.mongodb_url,
            NATS_URL=self.nats_url,
            PYTHONUNBUFFERED="1",
        )
        env.setdefault("SCAN_DEFAULT_SCOPE", "loopback")  # no scope file locally: loopback only
        env.update(self.extra_env)
        return env

    def dev_secrets(self) -> dict[str, str]:
        """Development-only secrets, made once per data directory and kept there (mode 0600)."""
        secrets_dir = self.data_dir / "secrets"
        jwt_dir = secrets_dir / "jwt"
        jwt_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(secrets_dir, 0o700)
        if not any(jwt_dir.glob("*.pem")):
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
            path = jwt_dir / f"dev-{time.strftime('%Y%m%d%H%M%S')}.pem"
            path.write_bytes(pem)
            path.chmod(0o600)
        pepper = secrets_dir / "api_key_pepper"
        if not pepper.exists():
            pepper.write_text(token_urlsafe(48))
            pepper.chmod(0o600)
        return {"JWT_KEYS_DIR": str(jwt_dir), "API_KEY_PEPPER": pepper.read_text().strip()}

    def health_token(self) -> str:
        """The operator's token for the gateway's health details (var/secrets/health_token)."""
        return self._operator_secret("health_token")

    def admin_token(self) -> str:
        """The operator's token for the gateway's admin routes (var/secrets/admin_token)."""
        return self._operator_secret("admin_token")

    def _operator_secret(self, name: str) -> str:
        path = self.data_dir / "secrets" / name
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.write_text(token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def command(self, name: str) -> tuple[list[str], dict[str, str]]:
        env = self._base_env()
        port = str(self.ports[name])
        if name == "store":
            store = self.data_dir / "store"
            store.mkdir(parents=True, exist_ok=True)
            binary = Path(sys.executable).with_name("nx-27017")
            argv = [str(binary), "--data-dir", str(store), "--host", "127.0.0.1", "-p", port]
            argv += ["--log-file", str(self.data_dir / "log" / "nx-27017.internal.log")]
            argv += ["--pid-file", str(self.data_dir / "store.pid")]
            return argv, env
        if name == "nats":
            binary_path = shutil.which("nats-server")
            if binary_path is None:
                raise StackError("nats-server is missing: run 'make setup' (apt-get install nats-server)")
            return [binary_path, "-c", str(self.nats_config())], env
        env.update(self.certs(self.identity(name)).env())
        if name in self.worker_names:
            env["METRICS_PORT"] = port
            env["PLATFORM_ENDPOINTS"] = self.platform_endpoints()
            return [sys.executable, "-m", "rampart_scan.worker"], env
        env["PORT"] = port
        if name == "gateway":
            for service in SERVICES:
                env[f"{service.upper()}_ADDR"] = self.address(service)
            env["HEALTH_TOKEN"] = self.health_token()
            env["ADMIN_TOKEN"] = self.admin_token()
            return [sys.executable, "-m", "rampart_gateway"], env
        env["METRICS_PORT"] = str(self.metrics_ports[name])
        if name == "report":  # exports and reports read scans and findings; narratives from ai
            env["SCAN_ADDR"], env["THREAT_ADDR"] = self.address("scan"), self.address("threat")
            env["AI_ADDR"] = self.address("ai")
        if name == "auth":
            env.update(self.dev_secrets())
        if name == "scan":
            env["PLATFORM_ENDPOINTS"] = self.platform_endpoints()
        if name in ("ai", "report"):  # the assistant and compliance posture read scans and findings
            env["SCAN_ADDR"], env["THREAT_ADDR"] = self.address("scan"), self.address("threat")
        return [sys.executable, "-m", f"rampart_{name}"], env

    def start(self, name: str, wait: float = 30.0) -> None:
        """Start one process and wait until its port accepts connections."""
        if name in self.processes and self.processes[name].poll() is None:
            return
        argv, env = self.command(name)
        log = self.log_path(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.processes[name] = subprocess.Popen(
                argv,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_child_setup,
            )
        deadline = time.monotonic() + wait
        while not port_open(self.ports[name]):
            if self.processes[name].poll() is not None:
                raise StackError(f"{name} exited with {self.processes[name].returncode}; see {log}")
            if time.monotonic() > deadline:
                raise StackError(f"{name} did not open port {self.ports[name]} in {wait}s; see {log}")
            time.sleep(0.05)

    def stop(self, name: str, sig: int = signal.SIGTERM, wait: float = 15.0) -> int | None:
        """Signal one process (SIGTERM drains; SIGKILL does not) and reap it."""
        process = self.processes.pop(name, None)
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(wait)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def start_all(self) -> None:
        for name in self.order:
            self.start(name)

    def stop_all(self) -> None:
        for name in reversed(self.order):
            self.stop(name)

    def health(self) -> tuple[int, dict[str, Any]]:
        """GET the gateway's health details; (status, body) or (0, {}) when it does not answer."""
        url = f"{self.gateway_url}/api/v1/health/details"
        token = {"Authorization": f"Bearer {self.health_token()}"}
        request = urllib.request.Request(url, headers=token)  # noqa: S310 - loopback
        try:
            with urllib.request.urlopen(request, timeout=3) as reply:  # noqa: S310 - loopback
                return int(reply.status), json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return int(error.code), json.loads(error.read() or b"{}")
        except (OSError, ValueError):
            return 0, {}

    def _workers_heard(self, body: dict[str, Any]) -> bool:
        """Every scan worker this stack runs has announced itself to the gateway."""
        running = sum(1 for name in self.worker_names if name in self.processes)
        heard = body.get("data", {}).get("dependencies", {}).get("scan_workers", {}).get("workers", 0)
        return bool(heard >= running)

    def wait_health(self, expect: int = 200, deadline: float = 60.0) -> dict[str, Any]:
        """Poll health until it answers ``expect``; raise with the last answer if it never does."""
        give_up = time.monotonic() + deadline
        status, body = 0, dict[str, Any]()
        while time.monotonic() < give_up:
            status, body = self.health()
            if status == expect and (expect != 200 or self._workers_heard(body)):
                return body
            time.sleep(0.1)
        raise StackError(f"health did not answer {expect} in {deadline}s: {status} {body}")
