"""Real servers configured the safe way and the unsafe way, for the engine's facts and the finding rules.

Each launcher starts the program ``tests.servers`` starts (or vsftpd), on a free loopback port,
with the setting a fact reads turned on or off: a Redis password, memcached's ASCII
authentication, a NATS token or TLS, mosquitto without anonymous access, nginx listing a
directory and sending HSTS, vsftpd offering AUTH TLS and refusing anonymous logins, aiosmtpd
offering STARTTLS, sshd offering legacy algorithms. ``extra`` holds what a test needs to know.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import trustme

from rampart_devtools.ports import free_port, port_open
from tests.servers import Expect, Running, _need, _start, stop


def _pem(workdir: Path) -> Path:
    pem = workdir / "tls.pem"
    trustme.CA().issue_cert("localhost", "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    pem.chmod(0o644)
    return pem


def redis_password(workdir: Path) -> Running:
    """redis-server with ``requirepass``: PING answers NOAUTH."""
    binary, port = _need("redis-server"), free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--requirepass", secrets.token_urlsafe(16)]
    return _start("redis-auth", argv, port, Expect("redis", "", "", ""), workdir)


def memcached_auth(workdir: Path) -> Running:
    """memcached with ASCII authentication (``-Y``): ``stats`` answers CLIENT_ERROR unauthenticated."""
    binary, port = _need("memcached"), free_port()
    users = workdir / "memcached.users"
    users.write_text(f"rampart:{secrets.token_urlsafe(16)}\n")
    users.chmod(0o644)
    argv = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-u", "nobody", "-Y", str(users)]
    return _start("memcached-auth", argv, port, Expect("memcached", "", "", ""), workdir)


def nats_token(workdir: Path) -> Running:
    """nats-server requiring a token: its INFO says ``auth_required: true``."""
    binary, port = _need("nats-server"), free_port()
    argv = [binary, "-a", "127.0.0.1", "-p", str(port), "--auth", secrets.token_urlsafe(16)]
    return _start("nats-token", argv, port, Expect("nats", "NATS Server", "", ""), workdir)


def nats_tls(workdir: Path) -> Running:
    """nats-server with TLS: its INFO (still sent in clear) says ``tls_required: true``."""
    binary, port, pem = _need("nats-server"), free_port(), _pem(workdir)
    argv = [binary, "-a", "127.0.0.1", "-p", str(port), "--tls", "--tlscert", str(pem), "--tlskey", str(pem)]
    return _start("nats-tls", argv, port, Expect("nats", "NATS Server", "", ""), workdir)


def mosquitto_closed(workdir: Path) -> Running:
    """mosquitto with ``allow_anonymous false`` and a password file: CONNACK 5 without credentials."""
    binary, port = _need("mosquitto"), free_port()
    passwords = workdir / "passwords"
    subprocess.run(
        [_need("mosquitto_passwd"), "-b", "-c", str(passwords), "rampart", secrets.token_urlsafe(16)],
        check=True,
        capture_output=True,
    )
    passwords.chmod(0o644)
    conf = f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
    (workdir / "mosquitto.conf").write_text(conf)
    argv = [binary, "-c", str(workdir / "mosquitto.conf")]
    return _start("mosquitto-closed", argv, port, Expect("mqtt", "", "", ""), workdir)


def nginx_listing(workdir: Path) -> Running:
    """nginx listing a directory (``autoindex on``) with X-Powered-By, and over TLS with HSTS."""
    binary, port, tls_port, pem = _need("nginx"), free_port(), free_port(), _pem(workdir)
    site = workdir / "site"
    site.mkdir()
    (site / "backup.tar").write_text("not really\n")
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
  server {{ listen 127.0.0.1:{port}; root {site}; autoindex on; add_header X-Powered-By "PHP/8.2.7"; }}
  server {{ listen 127.0.0.1:{tls_port} ssl; ssl_certificate {pem}; ssl_certificate_key {pem};
    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
    location / {{ default_type text/html; return 200 "<title>Rampart HSTS page</title>"; }} }}
}}""")
    argv = [binary, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-e", "stderr"]
    running = _start("nginx-listing", argv, port, Expect("http", "nginx", "", ""), workdir)
    running.extra["tls_port"] = str(tls_port)
    deadline = time.monotonic() + 10
    while not port_open(tls_port) and time.monotonic() < deadline:
        time.sleep(0.05)
    return running


def vsftpd_tls(workdir: Path) -> Running:
    """vsftpd offering AUTH TLS (``ssl_enable``) and refusing anonymous logins."""
    binary, port, pem = _need("/usr/sbin/vsftpd"), free_port(), _pem(workdir)
    (workdir / "empty").mkdir()
    conf = (
        f"listen=YES\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\n"
        f"secure_chroot_dir={workdir}/empty\nanonymous_enable=NO\nlocal_enable=YES\n"
        f"ssl_enable=YES\nrsa_cert_file={pem}\nrsa_private_key_file={pem}\n"
    )
    (workdir / "vsftpd.conf").write_text(conf)
    return _start(
        "vsftpd-tls", [binary, str(workdir / "vsftpd.conf")], port, Expect("ftp", "vsftpd", "", ""), workdir
    )


def smtp_starttls(workdir: Path) -> Running:
    """aiosmtpd offering STARTTLS (``--tlscert``/``--tlskey``)."""
    port, pem = free_port(), _pem(workdir)
    argv = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
    argv += ["--tlscert", str(pem), "--tlskey", str(pem), "--no-requiretls"]
    return _start("aiosmtpd-starttls", argv, port, Expect("smtp", "aiosmtpd", "", ""), workdir)


WEAK_SUITE = "ECDHE-ECDSA-NULL-SHA"  # no encryption at all; OpenSSL 3 still offers it at SECLEVEL=0


def nginx_weak_tls(workdir: Path) -> Running:
    """nginx over TLS 1.2 accepting a NULL suite (beside a modern one) with its ECDSA trustme key."""
    binary, port, pem = _need("nginx"), free_port(), _pem(workdir)
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
  server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {pem}; ssl_certificate_key {pem};
    ssl_protocols TLSv1.2; ssl_ciphers "ECDHE-ECDSA-AES128-GCM-SHA256:{WEAK_SUITE}:@SECLEVEL=0";
    location / {{ default_type text/html; return 200 "<title>Rampart weak TLS page</title>"; }} }}
}}""")
    argv = [binary, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-e", "stderr"]
    return _start("nginx-weak-tls", argv, port, Expect("https", "nginx", "", ""), workdir)


LEGACY_SSH = {
    "KexAlgorithms": "+diffie-hellman-group1-sha1,diffie-hellman-group14-sha1",
    "Ciphers": "+3des-cbc,aes128-cbc",
    "MACs": "+hmac-md5,hmac-sha1-96",
    "HostKeyAlgorithms": "+ssh-rsa",
}


def sshd_legacy(workdir: Path) -> Running:
    """OpenSSH sshd also offering SHA-1 key exchange, CBC ciphers, MD5 MACs and ssh-rsa signatures."""
    binary, port = _need("/usr/sbin/sshd"), free_port()
    keys = []
    for kind in ("ed25519", "rsa"):
        key = workdir / f"ssh_host_{kind}_key"
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)], check=True)
        keys += ["-h", str(key)]
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    argv = [binary, "-D", "-e", "-f", "/dev/null", *keys, "-o", f"ListenAddress=127.0.0.1:{port}"]
    argv += ["-o", f"PidFile={workdir / 'sshd.pid'}", "-o", "UsePAM=no"]
    for option, value in LEGACY_SSH.items():
        argv += ["-o", f"{option}={value}"]
    return _start("sshd-legacy", argv, port, Expect("ssh", "OpenSSH", "", ""), workdir)


def dovecot(protocol: str, tls: bool) -> Callable[[Path], Running]:
    """Dovecot's POP3 or IMAP login service, offering STLS/STARTTLS only with ``ssl = yes``."""

    def launch(workdir: Path) -> Running:
        binary, port = _need("/usr/sbin/dovecot"), free_port()
        login, other = (f"{protocol}-login", "pop3-login" if protocol == "imap" else "imap-login")
        ssl = (
            f"ssl = yes\nssl_cert = <{_pem(workdir)}\nssl_key = <{workdir / 'tls.pem'}\n"
            if tls
            else "ssl = no\n"
        )
        conf = (
            f"base_dir = {workdir}/run\nstate_dir = {workdir}/state\nlog_path = /dev/stderr\n"
            f"protocols = {protocol}\nlisten = 127.0.0.1\n{ssl}"
            f"service {login} {{\n  inet_listener {protocol} {{\n    port = {port}\n  }}\n"
            f"  inet_listener {protocol}s {{\n    port = 0\n  }}\n}}\n"
            f"service {other} {{\n  inet_listener imap {{\n    port = 0\n  }}\n}}\n"
            f"passdb {{\n  driver = static\n  args = password={secrets.token_urlsafe(16)}\n}}\n"
            f"userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={workdir}\n}}\n"
        )
        (workdir / "dovecot.conf").write_text(conf)
        argv = [binary, "-F", "-c", str(workdir / "dovecot.conf")]
        return _start(f"dovecot-{protocol}", argv, port, Expect(protocol, "Dovecot", "", ""), workdir)

    return launch


# Too heavy for CI's install budget (dovecot-imapd, dovecot-pop3d): their tests skip where missing.
NOT_IN_CI = {
    f"dovecot-{protocol}{'-tls' if tls else ''}": dovecot(protocol, tls)
    for protocol in ("pop3", "imap")
    for tls in (False, True)
}

LAUNCHERS: dict[str, Callable[[Path], Running]] = {
    "redis-auth": redis_password,
    "memcached-auth": memcached_auth,
    "nats-token": nats_token,
    "nats-tls": nats_tls,
    "mosquitto-closed": mosquitto_closed,
    "nginx-listing": nginx_listing,
    "vsftpd-tls": vsftpd_tls,
    "aiosmtpd-starttls": smtp_starttls,
    "sshd-legacy": sshd_legacy,
    "nginx-weak-tls": nginx_weak_tls,
}


@contextlib.contextmanager
def started(name: str) -> Iterator[Running]:
    with tempfile.TemporaryDirectory(prefix=f"rampart-{name}-") as directory:
        workdir = Path(directory)
        os.chmod(workdir, 0o755)  # noqa: S103 - servers running as other users read their config
        server = {**LAUNCHERS, **NOT_IN_CI}[name](workdir)
        try:
            yield server
        finally:
            stop(server)
