"""A development certificate authority: one CA and a short-lived certificate per component.

``make run`` and the integration tests use it to give every process its own identity (the
certificate's common name, also its first DNS name). Production mounts certificates from a
secret instead (cert-manager or the operator's own CA); nothing here runs in a cluster.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rampart.lib.callers import IDENTITIES
from rampart.lib.tls import TlsFiles

CA_DAYS = 30
LEAF_DAYS = 7
RENEW_BEFORE = datetime.timedelta(days=1)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write_private(path: Path, data: bytes) -> None:
    """Write a private key readable by its owner only, never briefly world-readable."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _expires_soon(path: Path) -> bool:
    if not path.exists():
        return True
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.not_valid_after_utc - _now() < RENEW_BEFORE


class DevCA:
    """A CA kept in ``directory`` (mode 0700) that issues per-identity certificates."""

    def __init__(self, directory: Path, name: str = "Rampart development CA") -> None:
        self.directory = directory
        self._name = name
        self.ca_cert_path = directory / "ca.crt"
        self._ca_key_path = directory / "ca.key"

    def ensure(self) -> None:
        """Create the CA, or a new one when the current one expires within a day."""
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        if not _expires_soon(self.ca_cert_path) and self._ca_key_path.exists():
            return
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self._name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(minutes=5))
            .not_valid_after(_now() + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(key, hashes.SHA256())
        )
        _write_private(self._ca_key_path, _key_pem(key))
        self.ca_cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        for stale in self.directory.glob("*/tls.crt"):
            stale.unlink()  # issued by the old CA: reissue

    def issue(self, identity: str, days: int = LEAF_DAYS) -> TlsFiles:
        """The identity's files, (re)issued when missing or expiring within a day."""
        self.ensure()
        folder = self.directory / identity
        folder.mkdir(exist_ok=True)
        files = TlsFiles(self.ca_cert_path, folder / "tls.crt", folder / "tls.key")
        if _expires_soon(files.cert) or not files.key.exists():
            cert_pem, key_pem = self.make_leaf(identity, days)
            _write_private(files.key, key_pem)
            files.cert.write_bytes(cert_pem)
        return files

    def make_leaf(
        self, identity: str, days: int = LEAF_DAYS, dns: tuple[str, ...] = ("localhost",)
    ) -> tuple[bytes, bytes]:
        """A certificate (PEM) and key (PEM) for ``identity``, valid for local addresses."""
        ca_key = serialization.load_pem_private_key(self._ca_key_path.read_bytes(), None)
        ca_cert = x509.load_pem_x509_certificate(self.ca_cert_path.read_bytes())
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(identity), *(x509.DNSName(d) for d in dns)]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "::1")]
        usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(minutes=5))
            .not_valid_after(_now() + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)

    def issue_all(self, identities: tuple[str, ...] = IDENTITIES) -> dict[str, TlsFiles]:
        return {identity: self.issue(identity) for identity in identities}
