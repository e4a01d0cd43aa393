"""The TLS audit against real TLS servers with trustme and self-made certificates."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from rampart_scan.engine.targets import Host
from rampart_scan.engine.tls import audit, describe, hostname_matches
from tests.tls_handshake import serve_handshake

pytestmark = pytest.mark.service  # real servers or a real store: the middle tier

LOCALHOST = Host(ipaddress.ip_address("127.0.0.1"), "localhost")


class TlsServer:
    """Accepts connections, completes (or fails) the handshake, closes. Runs in a thread."""

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
            serve_handshake(self.context, conn)

    def close(self) -> None:
        self.sock.close()
        self.thread.join(2)


def server_context(cert_pem: Path, maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_pem)
    if maximum is not None:
        context.maximum_version = maximum
    return context


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def serve(context: ssl.SSLContext) -> Iterator[TlsServer]:
    server = TlsServer(context)
    yield server
    server.close()


@pytest.fixture
def valid(ca: trustme.CA, tmp_path: Path) -> Iterator[TlsServer]:
    ca.issue_cert("localhost", "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        str(tmp_path / "c.pem")
    )
    yield from serve(server_context(tmp_path / "c.pem"))


@pytest.fixture
def expired(ca: trustme.CA, tmp_path: Path) -> Iterator[TlsServer]:
    now = datetime.now(UTC)
    leaf = ca.issue_cert("localhost", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    leaf.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "c.pem"))
    yield from serve(server_context(tmp_path / "c.pem"))


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[TlsServer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self.example.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("self.example.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "c.pem").write_bytes(pem)
    yield from serve(server_context(tmp_path / "c.pem"))


@pytest.fixture
def tls12_only(ca: trustme.CA, tmp_path: Path) -> Iterator[TlsServer]:
    ca.issue_cert("localhost").private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "c.pem"))
    yield from serve(server_context(tmp_path / "c.pem", ssl.TLSVersion.TLSv1_2))


async def test_a_valid_trustme_certificate_has_no_weaknesses(valid: TlsServer, ca: trustme.CA) -> None:
    report = await audit(LOCALHOST, valid.port)
    assert report is not None
    cert = report.certificate
    assert cert is not None
    assert (cert.self_signed, cert.expired, cert.not_yet_valid, cert.hostname_mismatch) == (False,) * 4
    assert "localhost" in cert.subject_alt_names
    assert "127.0.0.1" in cert.subject_alt_names
    assert cert.issuer != cert.subject
    assert cert.key_type.startswith("EC")
    assert cert.signature_algorithm.startswith("ecdsa-with-SHA")
    assert report.negotiated_protocol == "TLSv1.3"
    assert report.protocols_accepted == ["TLSv1.2", "TLSv1.3"]
    assert report.weaknesses == []


async def test_a_self_signed_certificate_is_flagged(self_signed: TlsServer) -> None:
    report = await audit(LOCALHOST, self_signed.port)
    assert report is not None
    assert report.certificate is not None
    assert report.certificate.self_signed
    assert (report.certificate.key_type, report.certificate.key_bits) == ("RSA", 2048)
    assert report.certificate.hostname_mismatch  # issued for self.example.test, reached as localhost
    assert {"certificate:self-signed", "certificate:hostname-mismatch"} <= set(report.weaknesses)


async def test_an_expired_certificate_is_flagged(expired: TlsServer) -> None:
    report = await audit(LOCALHOST, expired.port)
    assert report is not None
    assert report.certificate is not None
    assert report.certificate.expired
    assert not report.certificate.self_signed
    assert report.certificate.not_after < datetime.now(UTC)
    assert "certificate:expired" in report.weaknesses


async def test_a_server_limited_to_tls12_is_reported_as_such(tls12_only: TlsServer) -> None:
    report = await audit(LOCALHOST, tls12_only.port)
    assert report is not None
    assert report.negotiated_protocol == "TLSv1.2"
    assert report.protocols_accepted == ["TLSv1.2"]
    assert "TLS_AES" not in report.negotiated_cipher  # a TLS 1.2 suite, not a 1.3 one


async def test_a_plain_tcp_port_is_not_tls() -> None:
    with socket.create_server(("127.0.0.1", 0)) as plain:
        assert await audit(LOCALHOST, plain.getsockname()[1], wait=0.5) is None


def test_hostname_matching() -> None:
    assert hostname_matches("www.example.com", ["*.example.com"], [])
    assert not hostname_matches("a.b.example.com", ["*.example.com"], [])
    assert not hostname_matches("example.com", ["*.example.com"], [])
    assert hostname_matches("127.0.0.1", [], ["127.0.0.1"])
    assert not hostname_matches("127.0.0.2", ["127.0.0.2"], [])  # an IP must be an IP SAN


def openssl_self_signed(folder: Path, name: str, digest: str) -> bytes:
    """A self-signed certificate made by the openssl command (cryptography refuses to sign with SHA-1)."""
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", f"-{digest}", "-nodes", "-days", "2"]
    command += ["-subj", "/CN=legacy.example.test", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    return x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(serialization.Encoding.DER)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")
@pytest.mark.parametrize("digest", ["sha1", "sha256"])
def test_self_signed_is_recognised_whatever_the_signature_hash(tmp_path: Path, digest: str) -> None:
    own = openssl_self_signed(tmp_path, "own", digest)
    donor = x509.load_der_x509_certificate(openssl_self_signed(tmp_path, "donor", digest))
    assert describe(own, "legacy.example.test").self_signed
    # the same names, but the signature is another key's: not self-signed
    forged = own.replace(x509.load_der_x509_certificate(own).signature, donor.signature)
    assert not describe(forged, "legacy.example.test").self_signed
