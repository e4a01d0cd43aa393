"""PortResults as the engine reports them, built in tests: safe defaults, one knob per check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from rampart.scan.v1 import scan_pb2

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

# OpenSSH 9.2's default server KEXINIT (client-to-server lists): gives no SSH finding.
SAFE_SSH = {
    "ssh.kex": "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
    "ecdh-sha2-nistp256,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
    "diffie-hellman-group14-sha256,kex-strict-s-v00@openssh.com",
    "ssh.hostkey": "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519",
    "ssh.ciphers": "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com",
    "ssh.macs": "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
    "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,"
    "hmac-sha2-256,hmac-sha2-512,hmac-sha1",
}


def timestamp(when: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(when)
    return ts


def certificate(
    *,
    self_signed: bool = False,
    expired: bool = False,
    not_yet_valid: bool = False,
    hostname_mismatch: bool = False,
    key_type: str = "RSA",
    key_bits: int = 2048,
    signature: str = "sha256WithRSAEncryption",
    not_after: datetime | None = None,
) -> scan_pb2.Certificate:
    return scan_pb2.Certificate(
        subject="CN=app.example.test",
        issuer="CN=Example Test CA",
        subject_alt_names=["app.example.test"],
        not_before=timestamp(NOW - timedelta(days=60)),
        not_after=timestamp(not_after or NOW + timedelta(days=300)),
        key_type=key_type,
        key_bits=key_bits,
        signature_algorithm=signature,
        self_signed=self_signed,
        expired=expired,
        not_yet_valid=not_yet_valid,
        hostname_mismatch=hostname_mismatch,
    )


def tls(
    protocols: tuple[str, ...] = ("TLSv1.2", "TLSv1.3"),
    cipher: str = "TLS_AES_256_GCM_SHA384",
    cert: scan_pb2.Certificate | None = None,
) -> scan_pb2.TlsAudit:
    return scan_pb2.TlsAudit(
        protocols_accepted=list(protocols),
        negotiated_protocol=protocols[-1],
        negotiated_cipher=cipher,
        certificate=cert or certificate(),
    )


def port(
    name: str,
    facts: dict[str, str] | None = None,
    *,
    number: int = 443,
    product: str = "",
    version: str = "",
    cpe: str = "",
    evidence: str = "",
    extra_info: str = "",
    audit: scan_pb2.TlsAudit | None = None,
    state: scan_pb2.PortState = scan_pb2.PORT_STATE_OPEN,
    host: str = "127.0.0.1",
) -> scan_pb2.PortResult:
    service = scan_pb2.ServiceInfo(
        name=name,
        product=product,
        version=version,
        cpe=cpe,
        evidence=evidence,
        extra_info=extra_info,
        facts=facts or {},
    )
    result = scan_pb2.PortResult(host=host, port=number, protocol="tcp", state=state, service=service)
    if audit is not None:
        result.tls.CopyFrom(audit)
    return result


def https(audit: scan_pb2.TlsAudit | None = None, **facts: str) -> scan_pb2.PortResult:
    """nginx over TLS with HSTS and no listing unless told otherwise (keys with "__" for ".")."""
    base = {
        "http.server": "nginx",
        "http.hsts": "max-age=31536000; includeSubDomains",
        "http.directory_listing": "false",
    }
    base.update({k.replace("__", "."): v for k, v in facts.items()})
    return port("https", {k: v for k, v in base.items() if v}, audit=audit or tls())


def ssh(**changes: str) -> scan_pb2.PortResult:
    """An sshd whose KEXINIT lists ``SAFE_SSH`` with items appended (kex=..., ciphers=...)."""
    facts = dict(SAFE_SSH)
    for key, extra in changes.items():
        facts[f"ssh.{key}"] += "," + extra
    return port("ssh", facts, number=22, product="OpenSSH", version="9.2p1")
