"""The TLS rules on what the engine's TLS audit reports about real TLS servers (Python ``ssl`` on loopback,
certificates from trustme or made here): each unsafe server gives its finding, a sound one gives none.

The audit result goes through scan-service's own mappers to the ``PortResult`` threat-service receives."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from rampart.scan.v1 import scan_pb2
from rampart_scan.engine.targets import Host
from rampart_scan.engine.tls import audit
from rampart_scan.findings import tls_audit
from rampart_scan.mappers import tls_to_proto
from rampart_threat.findings.ports import ScanContext
from rampart_threat.findings.source import make_finding_source
from tests.tls_handshake import serve_handshake

pytestmark = pytest.mark.service  # real servers: the middle tier

LOCALHOST = Host(ipaddress.ip_address("127.0.0.1"), "localhost")
CONTEXT = ScanContext(scan_id="scn_tls", org_id="org_tls", live=True, profile="standard")


class TlsServer:
    """Completes (or fails) handshakes on a loopback port in a thread, then closes each connection."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            # One thread per connection: the audit's handshakes (one per protocol version) arrive together.
            threading.Thread(target=self._handshake, args=(conn,), daemon=True).start()

    def _handshake(self, conn: socket.socket) -> None:
        serve_handshake(self.context, conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() so the thread ends now
        self.sock.close()
        self.thread.join(2)


def _context(pem: Path, legacy: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if legacy:  # let this OpenSSL serve small keys, SHA-1 and TLS 1.0 at all
        context.set_ciphers("ALL:@SECLEVEL=0")
    context.load_cert_chain(pem)
    return context


def _made(
    path: Path,
    *,
    bits: int = 2048,
    digest: hashes.HashAlgorithm | None = None,
    days: int = 200,
    name: str = "localhost",
) -> Path:
    """A certificate made here: issued by a throwaway CA key (not self-signed) unless told otherwise."""
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Rampart Test CA")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, digest or hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)
    path.write_bytes(pem)
    return path


def _self_signed(path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=200))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)
    path.write_bytes(pem)
    return path


@contextlib.contextmanager
def serving(context: ssl.SSLContext) -> Iterator[TlsServer]:
    server = TlsServer(context)
    try:
        yield server
    finally:
        server.close()


async def tls_rules_fired(context: ssl.SSLContext) -> set[str]:
    """Audit the server as the engine does, and the TLS rule ids the finding source gives for it."""
    with serving(context) as server:
        report = await audit(LOCALHOST, server.port)
    assert report is not None
    audited = tls_to_proto(tls_audit(report))
    assert audited is not None
    port = scan_pb2.PortResult(
        host="127.0.0.1",
        port=server.port,
        protocol="tcp",
        state=scan_pb2.PORT_STATE_OPEN,
        service=scan_pb2.ServiceInfo(name="https"),
        tls=audited,
    )
    found = await make_finding_source(None).findings_for(CONTEXT, port)
    return {f.subject for f in found if f.subject.startswith("RMP-TLS-")}


async def test_a_trustme_certificate_on_a_modern_server_gives_no_tls_finding(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca.issue_cert("localhost", "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        str(tmp_path / "c.pem")
    )
    assert await tls_rules_fired(_context(tmp_path / "c.pem")) == set()


async def test_an_expired_trustme_certificate(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    leaf = trustme.CA().issue_cert(
        "localhost", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
    )
    leaf.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "c.pem"))
    assert await tls_rules_fired(_context(tmp_path / "c.pem")) == {"RMP-TLS-001"}


async def test_a_self_signed_certificate(tmp_path: Path) -> None:
    assert await tls_rules_fired(_context(_self_signed(tmp_path / "c.pem"))) == {"RMP-TLS-003"}


async def test_a_certificate_for_another_name(tmp_path: Path) -> None:
    pem = _made(tmp_path / "c.pem", name="www.example.test")
    assert await tls_rules_fired(_context(pem)) == {"RMP-TLS-004"}


async def test_a_certificate_expiring_in_ten_days(tmp_path: Path) -> None:
    assert await tls_rules_fired(_context(_made(tmp_path / "c.pem", days=10))) == {"RMP-TLS-009"}


async def test_a_1024_bit_rsa_key(tmp_path: Path) -> None:
    context = _context(_made(tmp_path / "c.pem", bits=1024), legacy=True)
    assert await tls_rules_fired(context) == {"RMP-TLS-007"}


def _sha1_self_signed(tmp_path: Path) -> Path:
    """``cryptography`` no longer signs with SHA-1; the openssl command line still does."""
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI"):
            raise RuntimeError("CI needs the openssl command (Debian package openssl)")
        pytest.skip("the openssl command is not installed")
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-sha1", "-nodes", "-days", "200"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    both = tmp_path / "both.pem"
    both.write_bytes(key.read_bytes() + cert.read_bytes())
    return both


async def test_a_certificate_signed_with_sha1(tmp_path: Path) -> None:
    context = _context(_sha1_self_signed(tmp_path), legacy=True)
    # Self-signed too, but the engine's self-signed check verifies the signature with ``cryptography``,
    # which refuses SHA-1: it reports such a certificate as not self-signed (reported to scan-service).
    assert "RMP-TLS-008" in await tls_rules_fired(context)


def _tls10_handshake(port: int) -> bool:
    """Whether this machine's OpenSSL completes a TLS 1.0 handshake with the server at all."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    client.set_ciphers("ALL:@SECLEVEL=0")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client.minimum_version = client.maximum_version = ssl.TLSVersion.TLSv1
        with (
            socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
            client.wrap_socket(raw) as tls,
        ):
            return tls.version() == "TLSv1"
    except (ssl.SSLError, ValueError, OSError):
        return False


async def test_a_server_that_still_accepts_tls_1_0(tmp_path: Path) -> None:
    context = _context(_made(tmp_path / "c.pem"), legacy=True)
    with warnings.catch_warnings():  # Python deprecates TLS 1.0; this server offers it on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    with serving(context) as probe:
        if not _tls10_handshake(probe.port):
            pytest.skip(
                "this machine's OpenSSL does not complete TLS 1.0 handshakes, even at security level 0"
            )
    assert "RMP-TLS-005" in await tls_rules_fired(context)
