"""Signing secrets encrypted at rest (AES-256-GCM, the webhook id as associated data).

The key is 32 bytes, base64 or hex, from WEBHOOK_SECRET_KEY or the file WEBHOOK_SECRET_KEY_FILE
(a mounted secret). A sealed value names its key id, so a new key can be added and the old one
kept for reading: ``<kid>:<base64(nonce + ciphertext)>``.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rampart_report.webhooks.domain import SealedSecret

NONCE_BYTES = 12
SECRET_BYTES = 32


class SecretKeyError(ValueError):
    """The key is missing, malformed or cannot open a sealed secret."""


def parse_key(text: str) -> bytes:
    """32 bytes written as 64 hex digits or as base64."""
    text = text.strip()
    try:
        key = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as error:
        raise SecretKeyError("the webhook secret key is neither hex nor base64") from error
    if len(key) != SECRET_BYTES:
        raise SecretKeyError(f"the webhook secret key must be {SECRET_BYTES} bytes, not {len(key)}")
    return key


def new_secret() -> str:
    """A signing secret for an endpoint that did not bring one: ``whsec_`` and 43 characters."""
    return "whsec_" + secrets.token_urlsafe(SECRET_BYTES)


class SecretBox:
    """Seals with the current key; opens with any key it holds."""

    def __init__(self, key: bytes, kid: str = "k1", older: dict[str, bytes] | None = None) -> None:
        self._kid = kid
        self._keys = {**(older or {}), kid: key}

    def seal(self, secret: str, webhook_id: str) -> SealedSecret:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._keys[self._kid]).encrypt(nonce, secret.encode(), webhook_id.encode())
        return SealedSecret(f"{self._kid}:{base64.b64encode(nonce + sealed).decode()}")

    def open(self, secret: SealedSecret, webhook_id: str) -> str:
        kid, _, packed = secret.sealed.partition(":")
        key = self._keys.get(kid)
        if key is None:
            raise SecretKeyError(f"no webhook secret key {kid!r} to open a stored secret")
        raw = base64.b64decode(packed)
        try:
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], webhook_id.encode())
        except InvalidTag as error:
            raise SecretKeyError("a stored webhook secret does not open with its key") from error
        return plain.decode()
