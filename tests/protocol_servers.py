"""Real servers for the protocol and TLS-wrapping tests, each on a free loopback port.

``LAUNCHERS`` run in CI (scripts/setup.sh --test installs them). ``RECORD_ONLY`` are real
servers too heavy for CI's install budget: ``scan-service/tests/record_transcripts.py``
starts them here to record the transcripts that their rules are unit-tested against.
"""

from __future__ import annotations

import contextlib
import os
import socket
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
    running = _start("named", [binary, "-g", "-4", "-c", str(workdir / "named.conf")], port, expect, workdir)
    _wait_dns_ready(port)
    return running


def _wait_dns_ready(port: int, wait: float = 15.0) -> None:
    """named listens before it has loaded its built-in zones and answers SERVFAIL until then."""
    query = bytes.fromhex("001e5241010000010000000000000776657273696f6e0462696e640000100003")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(query)
            reply = sock.recv(512)
            if len(reply) > 5 and reply[5] & 0x0F == 0:  # rcode NOERROR
                return
        time.sleep(0.1)
    raise RuntimeError(f"the DNS server on {port} never answered version.bind")


def unbound(workdir: Path) -> Running:
    binary, port = _need("/usr/sbin/unbound"), free_port()
    (workdir / "unbound.conf").write_text(
        f'server:\n  interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  username: ""\n'
        f'  chroot: ""\n  directory: "{workdir}"\n  pidfile: "{workdir}/unbound.pid"\n'
        "  use-syslog: no\n  do-ip6: no\n  hide-version: no\n  access-control: 127.0.0.0/8 allow\n"
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


def xrdp(workdir: Path) -> Running:
    binary, port, pem = _need("/usr/sbin/xrdp"), free_port(), _cert(workdir)
    config = Path("/etc/xrdp/xrdp.ini").read_text()
    config = config.replace("\nport=3389\n", f"\nport=tcp://127.0.0.1:{port}\n", 1)
    config = config.replace("certificate=\n", f"certificate={pem}\n").replace(
        "key_file=\n", f"key_file={pem}\n"
    )
    (workdir / "xrdp.ini").write_text(config)
    Path("/run/xrdp").mkdir(exist_ok=True)
    argv = [binary, "--nodaemon", "--config", str(workdir / "xrdp.ini")]
    expect = Expect("ms-wbt-server", "", "", "")  # RDP's confirm does not tell xrdp from Windows
    return _start("xrdp", argv, port, expect, workdir)


def samba(workdir: Path) -> Running:
    binary, port = _need("/usr/sbin/smbd"), free_port()
    dirs = {key: workdir / key.split()[0] for key in ("private dir", "lock directory", "state directory")}
    dirs |= {"cache directory": workdir / "cache", "pid directory": workdir / "pid"}
    for path in dirs.values():
        path.mkdir(exist_ok=True)
    settings = "".join(f"  {key} = {path}\n" for key, path in dirs.items())
    (workdir / "smb.conf").write_text(
        f"[global]\n  smb ports = {port}\n  interfaces = 127.0.0.1\n  bind interfaces only = yes\n"
        f"  disable netbios = yes\n  server role = standalone server\n{settings}"
    )
    argv = [binary, "--foreground", "--no-process-group", "--debug-stdout", "-s", str(workdir / "smb.conf")]
    return _start("smbd", argv, port, Expect("smb", "", "", ""), workdir)


def rabbitmq(workdir: Path) -> Running:
    binary, port, dist = _need("/usr/lib/rabbitmq/bin/rabbitmq-server"), free_port(), free_port()
    (workdir / "enabled_plugins").write_text("[].\n")
    env = {
        "HOME": str(workdir),
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist),
        "RABBITMQ_NODENAME": f"rampart{port}@localhost",
        "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
        "RABBITMQ_LOG_BASE": str(workdir / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "enabled_plugins"),
    }
    argv = ["env", *(f"{key}={value}" for key, value in env.items()), binary]
    version = _upstream("rabbitmq-server")
    expect = Expect("amqp", "RabbitMQ", version, "cpe:2.3:a:vmware:rabbitmq:")
    return _start("rabbitmq", argv, port, expect, workdir, wait=90)


def cups(workdir: Path) -> Running:
    binary, port = _need("/usr/sbin/cupsd"), free_port()
    for directory in ("spool", "tmp", "cache", "ppd"):
        (workdir / directory).mkdir(exist_ok=True)
    (workdir / "cupsd.conf").write_text(
        f"Listen 127.0.0.1:{port}\nServerName localhost\nLogLevel warn\nBrowsing No\n"
        "<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
    )
    (workdir / "cups-files.conf").write_text(
        f"ServerRoot {workdir}\nStateDir {workdir}\nCacheDir {workdir / 'cache'}\n"
        f"RequestRoot {workdir / 'spool'}\nTempDir {workdir / 'tmp'}\nErrorLog stderr\n"
        "AccessLog stderr\nPageLog stderr\nServerBin /usr/lib/cups\nDataDir /usr/share/cups\n"
    )
    argv = [binary, "-f", "-c", str(workdir / "cupsd.conf"), "-s", str(workdir / "cups-files.conf")]
    version = _upstream("cups-daemon")  # the Server header says 2.4; the home page title 2.4.2
    return _start(
        "cupsd", argv, port, Expect("ipp", "CUPS", version, "cpe:2.3:a:openprinting:cups:"), workdir
    )


def dovecot(workdir: Path) -> Running:
    """Dovecot IMAP and POP3, each plain and with implicit TLS (imaps, pop3s)."""
    binary, pem = _need("/usr/sbin/dovecot"), _cert(workdir)
    ports = {name: free_port() for name in ("imap", "imaps", "pop3", "pop3s")}
    (workdir / "run").mkdir()
    listeners = {
        "imap-login": ("imap", "imaps"),
        "pop3-login": ("pop3", "pop3s"),
    }
    services = "".join(
        f"service {login} {{\n  inet_listener {plain} {{\n    port = {ports[plain]}\n  }}\n"
        f"  inet_listener {tls} {{\n    port = {ports[tls]}\n    ssl = yes\n  }}\n}}\n"
        for login, (plain, tls) in listeners.items()
    )
    (workdir / "dovecot.conf").write_text(
        f"base_dir = {workdir / 'run'}\nstate_dir = {workdir}\nprotocols = imap pop3\n"
        f"listen = 127.0.0.1\nssl = yes\nssl_cert = <{pem}\nssl_key = <{pem}\nlog_path = /dev/stderr\n"
        "passdb {\n  driver = static\n  args = nopassword\n}\n"
        f"userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={workdir}/home\n}}\n{services}"
    )
    argv = [binary, "-F", "-c", str(workdir / "dovecot.conf")]
    expect = Expect("imaps", "Dovecot imapd", "", "cpe:2.3:a:dovecot:dovecot:")
    running = _start("dovecot", argv, ports["imaps"], expect, workdir)
    running.extra.update({name: str(port) for name, port in ports.items()})
    for port in ports.values():
        _wait_port(port)
    return running


def caddy(workdir: Path) -> Running:
    binary, port = _need("caddy"), free_port()
    (workdir / "Caddyfile").write_text(
        f"{{\n  admin off\n  auto_https off\n  storage file_system {workdir}\n}}\n"
        f'http://127.0.0.1:{port} {{\n  respond "ok"\n}}\n'
    )
    argv = [binary, "run", "--adapter", "caddyfile", "--config", str(workdir / "Caddyfile")]
    expect = Expect("http", "Caddy httpd", "", "cpe:2.3:a:caddyserver:caddy:")
    return _start("caddy", [*argv], port, expect, workdir)


def varnish(workdir: Path) -> Running:
    """varnishd in front of a closed port: its 503 still carries Via and X-Varnish."""
    binary, port = _need("/usr/sbin/varnishd"), free_port()
    argv = [binary, "-F", "-a", f"127.0.0.1:{port}", "-b", f"127.0.0.1:{free_port()}"]
    argv += ["-n", str(workdir / "varnish"), "-T", "none", "-s", "malloc,16m", "-j", "none"]
    version = ".".join(_upstream("varnish").split(".")[:2])  # Via names major.minor
    expect = Expect(
        "http", "Varnish http accelerator", version, "cpe:2.3:a:varnish_cache_project:varnish_cache:"
    )
    return _start("varnishd", argv, port, expect, workdir)


def pdns_recursor(workdir: Path) -> Running:
    binary, port = _need("/usr/sbin/pdns_recursor"), free_port()
    argv = [binary, "--daemon=no", "--local-address=127.0.0.1", f"--local-port={port}"]
    argv += [f"--socket-dir={workdir}", f"--config-dir={workdir}", "--setuid=root", "--setgid=root"]
    expect = Expect("domain", "PowerDNS Recursor", _upstream("pdns-recursor"), "cpe:2.3:a:powerdns:recursor:")
    return _start("pdns-recursor", argv, port, expect, workdir)


def knot(workdir: Path) -> Running:
    binary, port = _need("/usr/sbin/knotd"), free_port()
    (workdir / "knot.conf").write_text(
        f"server:\n  listen: 127.0.0.1@{port}\n  rundir: {workdir}\n  user: root\n"
        f"database:\n  storage: {workdir}\nlog:\n  - target: stderr\n    any: warning\n"
    )
    argv = [binary, "-c", str(workdir / "knot.conf")]
    return _start(
        "knotd",
        argv,
        port,
        Expect("domain", "Knot DNS", _upstream("knot"), "cpe:2.3:a:nic:knot_dns:"),
        workdir,
    )


RECORD_ONLY: dict[str, Callable[[Path], Running]] = {
    "caddy": caddy,
    "varnishd": varnish,
    "pdns-recursor": pdns_recursor,
    "knotd": knot,
    "xrdp": xrdp,
    "smbd": samba,
    "rabbitmq": rabbitmq,
    "cupsd": cups,
    "dovecot": dovecot,
}


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
