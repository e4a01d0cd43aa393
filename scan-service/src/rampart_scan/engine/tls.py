"""TLS audit with Python ``ssl`` and ``cryptography``: protocols, cipher, certificate, weaknesses."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from rampart_scan.engine.connect import open_stream
from rampart_scan.engine.targets import Host

VERSIONS = (
    ("TLSv1", ssl.TLSVersion.TLSv1),
    ("TLSv1.1", ssl.TLSVersion.TLSv1_1),
    ("TLSv1.2", ssl.TLSVersion.TLSv1_2),
    ("TLSv1.3", ssl.TLSVersion.TLSv1_3),
)
WEAK_PROTOCOLS = {"SSLv3", "TLSv1", "TLSv1.1"}
WEAK_CIPHER_PARTS = ("RC4", "DES", "NULL", "EXPORT", "EXP-", "MD5", "anon", "ADH", "AECDH")
WEAK_SIGNATURES = ("md5", "sha1")
# Weak suites offered one class at a time (TLS 1.2 at most, so no TLS 1.3 suite can be chosen
# instead); a class the local OpenSSL cannot offer is skipped. CBC suites with SHA-1 count only
# over TLS 1.0 (BEAST, Lucky 13); over TLS 1.2 they are legacy, not broken.
WEAK_SUITES = (
    ("3DES", ssl.TLSVersion.TLSv1_2),
    ("RC4", ssl.TLSVersion.TLSv1_2),
    ("DES:!3DES", ssl.TLSVersion.TLSv1_2),
    ("EXPORT", ssl.TLSVersion.TLSv1_2),
    ("eNULL", ssl.TLSVersion.TLSv1_2),
    ("aNULL", ssl.TLSVersion.TLSv1_2),
    ("MD5", ssl.TLSVersion.TLSv1_2),
    ("SHA1:!aNULL:!eNULL:!3DES:!RC4:!DES", ssl.TLSVersion.TLSv1),
)


@dataclass
class Certificate:
    subject: str
    issuer: str
    subject_alt_names: list[str]
    not_before: datetime
    not_after: datetime
    key_type: str
    key_bits: int
    signature_algorithm: str
    self_signed: bool
    expired: bool
    not_yet_valid: bool
    hostname_mismatch: bool


@dataclass
class TlsReport:
    protocols_accepted: list[str] = field(default_factory=list)
    negotiated_protocol: str = ""
    negotiated_cipher: str = ""
    certificate: Certificate | None = None
    weaknesses: list[str] = field(default_factory=list)
    weak_ciphers: list[str] = field(default_factory=list)  # weak suites the server accepted


def client_context(version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """No verification (we audit, not trust); every protocol and cipher OpenSSL still offers."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with contextlib.suppress(ssl.SSLError):
        context.set_ciphers("ALL:@SECLEVEL=0")
    with contextlib.suppress(ValueError, ssl.SSLError), warnings.catch_warnings():
        # Python deprecates TLS 1.0/1.1; an audit must still ask whether a server accepts them.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = version or ssl.TLSVersion.TLSv1
        if version is not None:
            context.maximum_version = version
    return context


def weak_context(suites: str, highest: ssl.TLSVersion) -> ssl.SSLContext | None:
    """A client offering only these suites, or None when the local OpenSSL cannot offer any."""
    context = client_context()
    try:
        context.set_ciphers(f"{suites}:@SECLEVEL=0")
    except ssl.SSLError:
        return None
    with contextlib.suppress(ValueError, ssl.SSLError), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.maximum_version = highest
        if highest == ssl.TLSVersion.TLSv1:
            context.minimum_version = highest
    return context


async def weak_ciphers(host: Host, port: int, wait: float) -> list[str]:
    """The suite the server chose from each weak class offered alone: the weak suites it accepts."""
    contexts = [weak_context(suites, highest) for suites, highest in WEAK_SUITES]
    sessions = await asyncio.gather(*(handshake(host, port, c, wait) for c in contexts if c is not None))
    chosen = [(tls.cipher() or ("",))[0] for tls in sessions if tls is not None]
    return list(dict.fromkeys(name for name in chosen if name))


async def handshake(host: Host, port: int, context: ssl.SSLContext, wait: float) -> ssl.SSLObject | None:
    try:
        _reader, writer = await asyncio.wait_for(
            open_stream(host, port, ssl=context, server_hostname=host.name or None),
            timeout=wait,
        )
    except (OSError, TimeoutError, ssl.SSLError, ValueError):
        return None
    tls: ssl.SSLObject | None = writer.get_extra_info("ssl_object")
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), timeout=0.5)
    return tls


def _name(name: x509.Name) -> str:
    return name.rfc4514_string()


def _key(cert: x509.Certificate) -> tuple[str, int]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC ({key.curve.name})", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(key).__name__, 0


def _names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """DNS names and IP addresses the certificate is for (SANs, else the subject CN)."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = sans.get_values_for_type(x509.DNSName)
        ips = [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        dns = [str(attr.value) for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        ips = []
    return dns, ips


def hostname_matches(name: str, dns: list[str], ips: list[str]) -> bool:
    try:
        return str(ipaddress.ip_address(name)) in ips
    except ValueError:
        pass
    name = name.lower().rstrip(".")
    for pattern in (p.lower().rstrip(".") for p in dns):
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (UnsupportedAlgorithm, ValueError):
        # cryptography refuses legacy signature hashes (SHA-1, MD5) here; the signature itself
        # can still be checked with the certificate's own key, which is what self-signed means.
        return _signed_by_own_key(cert)
    except Exception:  # any other failure (bad signature, unsupported key) means "not self-signed"
        return False
    return True


def _signed_by_own_key(cert: x509.Certificate) -> bool:
    key, digest = cert.public_key(), cert.signature_hash_algorithm
    if digest is None:
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(digest))
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, digest)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return True


def describe(der: bytes, expected_name: str, now: datetime | None = None) -> Certificate:
    cert = x509.load_der_x509_certificate(der)
    now = now or datetime.now(UTC)
    dns, ips = _names(cert)
    key_type, key_bits = _key(cert)
    algorithm = cert.signature_algorithm_oid._name  # the readable OID name, e.g. sha256WithRSAEncryption
    return Certificate(
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        subject_alt_names=[*dns, *ips],
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type=key_type,
        key_bits=key_bits,
        signature_algorithm=algorithm,
        self_signed=_self_signed(cert),
        expired=cert.not_valid_after_utc < now,
        not_yet_valid=cert.not_valid_before_utc > now,
        hostname_mismatch=not hostname_matches(expected_name, dns, ips),
    )


def weaknesses(report: TlsReport) -> list[str]:
    found = [f"protocol:{name}" for name in report.protocols_accepted if name in WEAK_PROTOCOLS]
    if any(part in report.negotiated_cipher for part in WEAK_CIPHER_PARTS):
        found.append(f"cipher:{report.negotiated_cipher}")
    found += [f"cipher:{name}" for name in report.weak_ciphers if f"cipher:{name}" not in found]
    cert = report.certificate
    if cert is not None:
        small_rsa = cert.key_type == "RSA" and cert.key_bits < 2048
        if small_rsa or (cert.key_type.startswith("EC") and cert.key_bits < 256):
            found.append(f"key:{cert.key_type}-{cert.key_bits}")
        if any(weak in cert.signature_algorithm.lower() for weak in WEAK_SIGNATURES):
            found.append(f"signature:{cert.signature_algorithm}")
        flags = {
            "self-signed": cert.self_signed,
            "expired": cert.expired,
            "not-yet-valid": cert.not_yet_valid,
            "hostname-mismatch": cert.hostname_mismatch,
        }
        for name, flag in flags.items():
            if flag:
                found.append(f"certificate:{name}")
    return found


async def audit(host: Host, port: int, wait: float = 3.0) -> TlsReport | None:
    """None when the port does not complete a TLS handshake."""
    first = await handshake(host, port, client_context(), wait)
    if first is None:
        return None
    report = TlsReport(
        negotiated_protocol=first.version() or "", negotiated_cipher=(first.cipher() or ("",))[0]
    )
    der = first.getpeercert(binary_form=True)
    if der:
        report.certificate = describe(der, host.label)
    accepted, report.weak_ciphers = await asyncio.gather(
        asyncio.gather(*(handshake(host, port, client_context(version), wait) for _, version in VERSIONS)),
        weak_ciphers(host, port, wait),
    )
    report.protocols_accepted = [
        name for (name, _), tls in zip(VERSIONS, accepted, strict=True) if tls is not None
    ]
    report.weaknesses = weaknesses(report)
    return report
