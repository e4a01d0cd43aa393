"""API keys, stream tickets and passwords: generation, storage form, and the checks on what users choose."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rampart.lib.errors import InvalidArgument
from rampart_auth.domain import KeyMode, KeySecret
from rampart_auth.hashing import HashingPool

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_BODY_LENGTH = 32  # 32 base62 characters: ~190 bits of randomness
KEY_PATTERN = re.compile(r"^sk_(live|test)_[A-Za-z0-9]{32}$")
PREFIX_LENGTH = 12  # "sk_live_" plus four characters, enough to tell keys apart
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
COMMON_PASSWORDS = frozenset(
    {"password123", "password1234", "1234567890", "qwertyuiop", "letmein123", "iloveyou12"}
)


def new_api_key(mode: str) -> str:
    body = "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_BODY_LENGTH))
    return f"sk_{mode}_{body}"


def key_mode(api_key: str) -> str | None:
    """``live`` or ``test`` for a well-formed key, else None."""
    match = KEY_PATTERN.match(api_key)
    return match.group(1) if match else None


def hash_api_key(api_key: str, pepper: bytes) -> str:
    """The stored form of a key: HMAC-SHA256 under the server's pepper."""
    return hmac.new(pepper, api_key.encode(), hashlib.sha256).hexdigest()


def new_key_secret(mode: KeyMode, pepper: bytes) -> KeySecret:
    """A new random key of ``mode``, with the hash it is stored under and its visible prefix."""
    secret = new_api_key(mode)
    return KeySecret(secret, hash_api_key(secret, pepper), secret[:PREFIX_LENGTH])


def new_stream_ticket() -> str:
    return "st_" + secrets.token_urlsafe(32)


def hash_stream_ticket(ticket: str) -> str:
    """The stored form of a ticket (single use and short-lived: a plain SHA-256 is enough)."""
    return hashlib.sha256(ticket.encode()).hexdigest()


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > 254 or not EMAIL_PATTERN.match(value):
        raise InvalidArgument("email is not a valid address", field="email")
    return value


def check_password(password: str, email: str) -> None:
    """At least 10 characters with letters and digits (or 16+ of anything), not trivial."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidArgument(
            f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password"
        )
    has_letter = any(c.isalpha() for c in password)
    has_other = any(not c.isalpha() for c in password)
    if len(password) < 16 and not (has_letter and has_other):
        raise InvalidArgument(
            "password needs letters and digits or symbols, or at least 16 characters",
            field="password",
        )
    local = email.split("@", 1)[0].lower()
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4 or (len(local) >= 4 and local in lowered):
        raise InvalidArgument("password is too easy to guess", field="password")


class Passwords:
    """Argon2id hashing in a bounded pool, off the event loop (each hash costs 64 MiB and tens of ms)."""

    def __init__(self, pool: HashingPool, hasher: PasswordHasher | None = None) -> None:
        self._pool = pool
        self._hasher = hasher or PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await self._pool.run(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Constant work whether or not the user exists."""
        try:
            return await self._pool.run(self._hasher.verify, stored or self._dummy, password) and (
                stored is not None
            )
        except (VerificationError, InvalidHashError):
            return False
