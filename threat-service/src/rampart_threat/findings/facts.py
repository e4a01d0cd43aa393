"""One observed port as the flat fact map the rules read (keys "<family>.<fact>", values strings).

The engine records protocol facts in ``ServiceInfo.facts``; the typed parts of the ``PortResult``
(service, TLS audit, certificate) are flattened here under the keys of docs/findings.md. Lists are
comma-separated, booleans "true" / "false", and ``tls.cert.days_left`` is whole days from the injected
clock's now to the certificate's notAfter (negative once expired).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from rampart.scan.v1 import scan_pb2

# Every key a rule may name: the engine's (scan-service records them) and the flattened typed fields.
ENGINE_FACTS = frozenset(
    {
        "ssh.kex",
        "ssh.hostkey",
        "ssh.ciphers",
        "ssh.macs",
        "redis.auth",
        "redis.version",
        "memcached.auth",
        "mongodb.auth",
        "nats.auth_required",
        "nats.tls_required",
        "mqtt.anonymous",
        "http.server",
        "http.powered_by",
        "http.hsts",
        "http.directory_listing",
        "http.api",
        "ftp.auth_tls",
        "ftp.anonymous",
        "pop3.starttls",
        "imap.starttls",
        "smtp.starttls",
        "tls.weak_ciphers",
    }
)
TYPED_FACTS = frozenset(
    {
        "service.name",
        "service.product",
        "service.version",
        "port",
        "protocol",
        "tls.protocols",
        "tls.negotiated_protocol",
        "tls.cipher",
        "tls.cert.self_signed",
        "tls.cert.expired",
        "tls.cert.not_yet_valid",
        "tls.cert.hostname_mismatch",
        "tls.cert.key_type",
        "tls.cert.key_bits",
        "tls.cert.signature_algorithm",
        "tls.cert.days_left",
        "tls.cert.subject",
        "tls.cert.issuer",
        "tls.cert.not_after",
    }
)
KNOWN_FACTS = ENGINE_FACTS | TYPED_FACTS

Facts = dict[str, str]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def days_left(not_after: datetime, now: datetime) -> int:
    """Whole days until ``not_after`` (rounded down: 29.9 days left is 29; an hour past it is -1)."""
    return math.floor((not_after - now).total_seconds() / 86400)


def _certificate(cert: scan_pb2.Certificate, now: datetime) -> Facts:
    out = {
        "tls.cert.self_signed": _flag(cert.self_signed),
        "tls.cert.expired": _flag(cert.expired),
        "tls.cert.not_yet_valid": _flag(cert.not_yet_valid),
        "tls.cert.hostname_mismatch": _flag(cert.hostname_mismatch),
        "tls.cert.subject": cert.subject,
        "tls.cert.issuer": cert.issuer,
    }
    if cert.key_type:
        out["tls.cert.key_type"] = cert.key_type
    if cert.key_bits:
        out["tls.cert.key_bits"] = str(cert.key_bits)
    if cert.signature_algorithm:
        out["tls.cert.signature_algorithm"] = cert.signature_algorithm
    if cert.HasField("not_after"):
        not_after = cert.not_after.ToDatetime(tzinfo=UTC)
        out["tls.cert.not_after"] = not_after.isoformat().replace("+00:00", "Z")
        out["tls.cert.days_left"] = str(days_left(not_after, now))
    return out


def flatten(port: scan_pb2.PortResult, now: datetime) -> Facts:
    """The fact map of one port: the engine's facts, then the typed fields (which win on a clash)."""
    facts: Facts = {}
    service = port.service if port.HasField("service") else None
    if service is not None:
        facts.update({k: v for k, v in service.facts.items() if k and v is not None})
        for key, value in (
            ("service.name", service.name),
            ("service.product", service.product),
            ("service.version", service.version),
        ):
            if value:
                facts[key] = value
    facts["port"] = str(port.port)
    facts["protocol"] = port.protocol or "tcp"
    if port.HasField("tls"):
        tls = port.tls
        facts["tls.protocols"] = ",".join(tls.protocols_accepted)
        if tls.negotiated_protocol:
            facts["tls.negotiated_protocol"] = tls.negotiated_protocol
        if tls.negotiated_cipher:
            facts["tls.cipher"] = tls.negotiated_cipher
        if tls.HasField("certificate"):
            facts.update(_certificate(tls.certificate, now))
    return facts


def items(value: str) -> list[str]:
    """A comma-separated fact as its items (SSH name-lists, accepted protocols, cipher lists)."""
    return [part.strip() for part in value.split(",") if part.strip()]
