"""Mutual TLS between Rampart processes: settings, gRPC credentials, the NATS context.

Every process holds a certificate whose common name is its identity (``gateway``,
``scan-worker``, …, see :mod:`rampart.lib.callers`). ``TLS_DIR`` (a mounted
``kubernetes.io/tls`` secret: ``ca.crt``, ``tls.crt``, ``tls.key``) or the three
``TLS_*_FILE`` variables name the files. Plaintext needs ``TLS_INSECURE=true`` and is
refused in production.
"""

from __future__ import annotations

import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import grpc
from cryptography import x509
from cryptography.x509.oid import NameOID

from rampart.lib.settings import Environment, SettingsError


@dataclass(frozen=True)
class TlsFiles:
    """A process's CA bundle, certificate chain and private key (PEM files)."""

    ca: Path
    cert: Path
    key: Path

    def env(self) -> dict[str, str]:
        """The variables that hand these files to a child process."""
        return {"TLS_CA_FILE": str(self.ca), "TLS_CERT_FILE": str(self.cert), "TLS_KEY_FILE": str(self.key)}

    def nats_options(self) -> dict[str, Any]:
        """Keyword arguments for ``nats.connect``: our certificate and our own reply subjects."""
        return {"tls": self.ssl_context(), "inbox_prefix": f"_INBOX.{self.identity()}"}

    def identity(self) -> str:
        """The common name of this process's own certificate."""
        cert = x509.load_pem_x509_certificate(self.cert.read_bytes())
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""

    def server_credentials(self) -> grpc.ServerCredentials:
        """Serve TLS and require a client certificate signed by our CA."""
        return grpc.ssl_server_credentials(
            [(self.key.read_bytes(), self.cert.read_bytes())],
            root_certificates=self.ca.read_bytes(),
            require_client_auth=True,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes(),
            private_key=self.key.read_bytes(),
            certificate_chain=self.cert.read_bytes(),
        )

    def ssl_context(self) -> ssl.SSLContext:
        """A client context for NATS: verify the broker, present our certificate."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


class TlsConfigured(Protocol):
    """The TLS fields every settings class carries (see ``ServiceSettings``)."""

    rampart_env: Environment
    tls_dir: Path | None
    tls_ca_file: Path | None
    tls_cert_file: Path | None
    tls_key_file: Path | None
    tls_insecure: bool


def tls_files(settings: TlsConfigured) -> TlsFiles | None:
    """The files to use, None when plaintext was asked for; exits naming what is wrong."""
    if settings.tls_insecure:
        if settings.rampart_env == "production":
            raise _refuse("TLS_INSECURE is refused with RAMPART_ENV=production")
        return None
    base = settings.tls_dir
    files = {
        "TLS_CA_FILE": settings.tls_ca_file or (base / "ca.crt" if base else None),
        "TLS_CERT_FILE": settings.tls_cert_file or (base / "tls.crt" if base else None),
        "TLS_KEY_FILE": settings.tls_key_file or (base / "tls.key" if base else None),
    }
    missing = [name for name, path in files.items() if path is None or not path.is_file()]
    if missing:
        raise _refuse(
            "service-to-service TLS needs TLS_DIR or "
            + ", ".join(f"{name} ({files[name] or 'unset'})" for name in missing)
            + "; TLS_INSECURE=true is for local development only"
        )
    ca, cert, key = (path for path in files.values() if path is not None)
    return TlsFiles(ca, cert, key)


def _refuse(message: str) -> SettingsError:
    print(f"TLS settings: {message}", file=sys.stderr)
    return SettingsError(2)
