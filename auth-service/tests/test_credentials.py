"""Keys, passwords, tokens and secrets: the rules auth-service enforces."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from jwt import PyJWK
from pydantic import ValidationError

from rampart.lib.errors import InvalidArgument
from rampart_auth import credentials
from rampart_auth.hashing import HashingPool
from rampart_auth.settings import AuthSettings
from rampart_auth.tokens import TokenIssuer, load_signing_keys


def test_api_keys_are_random_well_formed_and_stored_only_as_a_keyed_hash() -> None:
    keys = {credentials.new_api_key("live") for _ in range(500)}
    assert len(keys) == 500
    for key in keys:
        assert credentials.key_mode(key) == "live"
    test_key = credentials.new_api_key("test")
    assert credentials.key_mode(test_key) == "test"
    assert credentials.key_mode("sk_live_" + "a" * 31) is None
    assert credentials.key_mode("sk_prod_" + "a" * 32) is None
    stored = credentials.hash_api_key(test_key, b"pepper-one")
    assert test_key not in stored
    assert stored != credentials.hash_api_key(test_key, b"pepper-two")


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("correct-horse-9-battery", True),
        ("averylongpassphrasewithoutdigits", True),
        ("short1", False),
        ("onlyletters", False),
        ("aaaaaaaaaaaaaaaaaaaaaa", False),
        ("password123", False),
        ("alice-2024-secure", False),  # contains the email's local part
    ],
)
def test_password_policy(password: str, accepted: bool) -> None:
    if accepted:
        credentials.check_password(password, "alice@example.com")
    else:
        with pytest.raises(InvalidArgument):
            credentials.check_password(password, "alice@example.com")


def test_emails_are_normalised_or_refused() -> None:
    assert credentials.normalise_email("  Alice@Example.COM ") == "alice@example.com"
    for bad in ("alice", "alice@", "@example.com", "a b@example.com", "a@" + "x" * 260 + ".com"):
        with pytest.raises(InvalidArgument):
            credentials.normalise_email(bad)


async def test_password_hashes_verify_only_the_right_password() -> None:
    passwords = credentials.Passwords(HashingPool(concurrency=2, queue=2))
    stored = await passwords.hash("correct-horse-9-battery")
    assert stored.startswith("$argon2id$")
    assert await passwords.verify(stored, "correct-horse-9-battery")
    assert not await passwords.verify(stored, "correct-horse-9-batterY")
    assert not await passwords.verify(None, "anything-at-all-1")


def write_key(directory: Path, kid: str) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    (directory / f"{kid}.pem").write_bytes(pem)


def test_tokens_verify_against_the_published_jwks_and_rotation_keeps_old_keys(tmp_path: Path) -> None:
    write_key(tmp_path, "2026-01")
    old = TokenIssuer(load_signing_keys(tmp_path), "rampart", "rampart-api", 600)
    old_token = old.issue("usr_1", "org_1", ["*"])
    write_key(tmp_path, "2026-02")
    rotated = TokenIssuer(load_signing_keys(tmp_path), "rampart", "rampart-api", 600)
    new_token = rotated.issue("usr_1", "org_1", ["*"])
    jwks = {jwk["kid"]: PyJWK(jwk).key for jwk in rotated.jwks()}
    assert set(jwks) == {"2026-01", "2026-02"}
    for token, kid in ((old_token, "2026-01"), (new_token, "2026-02")):
        assert jwt.get_unverified_header(token)["kid"] == kid
        claims = jwt.decode(token, jwks[kid], algorithms=["EdDSA"], audience="rampart-api", issuer="rampart")
        assert (claims["sub"], claims["org"], claims["exp"] - claims["iat"]) == ("usr_1", "org_1", 600)


def test_placeholder_secrets_are_refused_outside_development(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONGODB_URL", "mongodb://127.0.0.1:1")
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:2")
    monkeypatch.setenv("JWT_KEYS_DIR", str(tmp_path))
    monkeypatch.setenv("API_KEY_PEPPER", "changeme")
    monkeypatch.setenv("RAMPART_ENV", "production")
    with pytest.raises(ValidationError, match="API_KEY_PEPPER"):
        AuthSettings()  # type: ignore[call-arg]
    monkeypatch.setenv("RAMPART_ENV", "development")
    assert AuthSettings().api_key_pepper.get_secret_value() == "changeme"  # type: ignore[call-arg]
    monkeypatch.setenv("RAMPART_ENV", "production")
    monkeypatch.setenv("API_KEY_PEPPER", "x" * 40)
    assert "x" * 40 not in repr(AuthSettings())  # type: ignore[call-arg]
