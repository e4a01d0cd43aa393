"""JWT issuing with Ed25519 (EdDSA) keys named by key id, and the JWKS that verifies them."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)

from rampart.lib.ids import new_id, utcnow


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    def jwk(self) -> dict[str, str]:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {
            "kid": self.kid,
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(raw),
            "alg": "EdDSA",
            "use": "sig",
        }


@dataclass(frozen=True)
class JwkSet:
    """The public keys that verify access tokens, and the issuer and audience tokens carry."""

    keys: tuple[dict[str, str], ...]
    issuer: str
    audience: str


def load_signing_keys(directory: Path) -> list[SigningKey]:
    """Every ``<kid>.pem`` Ed25519 private key in the directory, sorted by key id."""
    keys = []
    for path in sorted(directory.glob("*.pem")):
        private = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{path.name} is not an Ed25519 private key")
        keys.append(SigningKey(path.stem, private))
    if not keys:
        raise ValueError(f"no <kid>.pem Ed25519 keys in {directory}")
    return keys


class TokenIssuer:
    """Signs access tokens with the active key; publishes all keys for verification."""

    def __init__(
        self,
        keys: list[SigningKey],
        issuer: str,
        audience: str,
        ttl_seconds: int,
        active_kid: str = "",
    ) -> None:
        self._keys = keys
        by_kid = {key.kid: key for key in keys}
        if active_kid and active_kid not in by_kid:
            raise ValueError(f"JWT_ACTIVE_KID {active_kid} has no key file")
        self._active = by_kid[active_kid] if active_kid else keys[-1]
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str, org_id: str, scopes: Sequence[str]) -> str:
        now = int(utcnow().timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "org": org_id,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": new_id("jti", 16),
            "scope": " ".join(scopes),
            "mode": "live",
        }
        return jwt.encode(claims, self._active.private, algorithm="EdDSA", headers={"kid": self._active.kid})

    def jwks(self) -> list[dict[str, str]]:
        return [key.jwk() for key in self._keys]

    def key_set(self) -> JwkSet:
        return JwkSet(tuple(self.jwks()), self.issuer, self.audience)
