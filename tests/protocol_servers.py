"""Real servers for the protocol and TLS-wrapping tests, each on a free loopback port.

``LAUNCHERS`` run in CI (scripts/setup.sh --test installs them). ``RECORD_ONLY`` are real
servers too heavy for CI's install budget: ``scan-service/tests/record_transcripts.py``
starts them here to record the transcripts that their rules are unit-tested against.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import trustme

from rampart_devtools.ports import free_port, port_open
from tests.servers import Expect, Running, _deb_version, _need, _start, ftp, smtp, stop


def _upstream(package: str) -> str:
    """``1:9.18.49-1~deb12u3`` -> ``9.18.49``; ``2.5.13+dfsg-5`` -> ``2.5.13``."""
    return _deb_version(package).split(":")[-1].split("-")[0].split("+")[0]


def _cert(workdir: Path) -> Path:
    pem = workdir / "tls.pem"
    trustme.CA().issue_cert("localhost", "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    pem.chmod(0o644)
    return pem


def _wait_port(port: int, wait: float = 15.0) -> None:
    deadline = time.monotonic() + wait
    while not port_open(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {port}")
        time.sleep(0.05)


def redis_tls(workdir: Path) -> Running:
    """redis-server with its own TLS listener (no plaintext port)."""
    binary, port, pem = _need("redis-server"), free_port(), _cert(workdir)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    version = version.split("v=")[1].split()[0]
    argv = [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--tls-cert-file", str(pem), "--tls-key-file", str(pem), "--tls-auth-clients", "no"]
    expect = Expect("ssl/redis", "Redis key-value store", version, "cpe:2.3:a:redis:redis:")
    return _start("redis-tls", argv, port, expect, workdir)


def _stunnel(name: str, workdir: Path, inner: Running, service: str) -> Running:
    binary, port, pem = _need("stunnel4"), free_port(), _cert(workdir)
    (workdir / "stunnel.conf").write_text(
        f"foreground = yes\npid =\nsyslog = no\ndebug = 3\n[{name}]\n"
        f"accept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{inner.port}\ncert = {pem}\n"
    )
    expect = Expect(service, inner.expect.product, inner.expect.version, inner.expect.cpe_prefix)
    try:
        running = _start(f"stunnel-{name}", [binary, str(workdir / "stunnel.conf")], port, expect, workdir)
    except BaseException:
        stop(inner)
        raise
    running.extra["inner"] = inner.name
    running.children.append(inner)
    return running


def stunnel_smtp(workdir: Path) -> Running:
    """Debian's stunnel4 in front of aiosmtpd: SMTP with implicit TLS (smtps)."""
    return _stunnel("smtps", workdir, smtp(workdir), "smtps")


def stunnel_ftp(workdir: Path) -> Running:
    """stunnel4 in front of pyftpdlib: a protocol with no TLS name of its own (ssl/ftp)."""
    return _stunnel("ftps", workdir, ftp(workdir), "ssl/ftp")


def named(workdir: Path) -> Running:
    """ISC BIND 9 answering version.bind (its default) on a free port."""
    binary, port = _need("/usr/sbin/named"), free_port()
    (workdir / "named.conf").write_text(
        f'options {{ directory "{workdir}"; pid-file "{workdir}/named.pid"; listen-on port {port} '
        f"{{ 127.0.0.1; }}; listen-on-v6 {{ none; }}; recursion no; }};\ncontrols {{ }};\n"
    )
    expect = Expect("domain", "ISC BIND", _upstream("bind9"), "cpe:2.3:a:isc:bind:")
    return _start("named", [binary, "-g", "-4", "-c", str(workdir / "named.conf")], port, expect, workdir)


def unbound(workdir: Path) -> Running:
    binary, port = _need("/usr/sbin/unbound"), free_port()
    (workdir / "unbound.conf").write_text(
        f'server:\n  interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  username: ""\n'
        f'  chroot: ""\n  directory: "{workdir}"\n  pidfile: "{workdir}/unbound.pid"\n'
        '  use-syslog: no\n  do-ip6: no\n  hide-version: no\n  access-control: 127.0.0.0/8 allow\n'
        "remote-control:\n  control-enable: no\n"
    )
    expect = Expect("domain", "Unbound", _upstream("unbound"), "cpe:2.3:a:nlnetlabs:unbound:")
    return _start("unbound", [binary, "-d", "-c", str(workdir / "unbound.conf")], port, expect, workdir)


def dnsmasq(workdir: Path) -> Running:
    binary, port = _need("/usr/sbin/dnsmasq"), free_port()
    argv = [binary, "--keep-in-foreground", "--conf-file=/dev/null", f"--port={port}", "--no-resolv"]
    argv += ["--no-hosts", "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root"]
    argv += [f"--pid-file={workdir / 'dnsmasq.pid'}", "--log-facility=-"]
    expect = Expect("domain", "dnsmasq", _upstream("dnsmasq-base"), "cpe:2.3:a:thekelleys:dnsmasq:")
    return _start("dnsmasq", argv, port, expect, workdir)


def slapd(workdir: Path) -> Running:
    """OpenLDAP slapd with no database (the root DSE is always there) on ldap:// and ldaps://."""
    binary, port, tls_port, pem = _need("/usr/sbin/slapd"), free_port(), free_port(), _cert(workdir)
    (workdir / "slapd.conf").write_text(
        f"include /etc/ldap/schema/core.schema\npidfile {workdir}/slapd.pid\n"
        f"TLSCertificateFile {pem}\nTLSCertificateKeyFile {pem}\n"
    )
    urls = f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"
    argv = [binary, "-d", "0", "-h", urls, "-f", str(workdir / "slapd.conf")]
    expect = Expect("ldap", "OpenLDAP", "", "cpe:2.3:a:openldap:openldap:")
    running = _start("slapd", argv, port, expect, workdir, tls_port=str(tls_port))
    _wait_port(tls_port)
    return running


def dante(workdir: Path) -> Running:
    """Dante SOCKS server that refuses every request: only its method negotiation is seen."""
    binary, port = _need("/usr/sbin/danted"), free_port()
    (workdir / "danted.conf").write_text(
        f"logoutput: stderr\ninternal: 127.0.0.1 port = {port}\nexternal: 127.0.0.1\n"
        "socksmethod: none\nclientmethod: none\nuser.privileged: root\nuser.unprivileged: nobody\n"
        "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n"
        "socks block { from: 0.0.0.0/0 to: 0.0.0.0/0 }\n"
    )
    argv = [binary, "-f", str(workdir / "danted.conf"), "-p", str(workdir / "danted.pid")]
    return _start("danted", argv, port, Expect("socks5", "", "", ""), workdir)


LAUNCHERS: dict[str, Callable[[Path], Running]] = {
    "redis-tls": redis_tls,
    "stunnel-smtps": stunnel_smtp,
    "stunnel-ftps": stunnel_ftp,
    "named": named,
    "unbound": unbound,
    "dnsmasq": dnsmasq,
    "slapd": slapd,
    "danted": dante,
}
RECORD_ONLY: dict[str, Callable[[Path], Running]] = {}


@contextlib.contextmanager
def started(name: str) -> Iterator[Running]:
    with tempfile.TemporaryDirectory(prefix=f"rampart-{name}-") as directory:
        workdir = Path(directory)
        os.chmod(workdir, 0o755)  # noqa: S103 - servers running as other users read their config
        server = {**LAUNCHERS, **RECORD_ONLY}[name](workdir)
        try:
            yield server
        finally:
            stop(server)
