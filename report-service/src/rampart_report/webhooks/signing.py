"""Signing a delivery: the headers a receiver checks, and the check itself.

``X-Rampart-Signature`` is the hex HMAC-SHA256 of the raw body with the endpoint's secret, so
the documented ``verify(payload, signature, secret)`` works unchanged.
``X-Rampart-Signature-Timestamped`` is ``t=<unix seconds>,v1=<hex HMAC of "<t>." + body>`` (Stripe's
shape): a receiver that checks it and the age of ``t`` refuses replays. During a secret
rotation's grace period the previous secret signs too: ``X-Rampart-Signature-Previous`` and a
second ``v1=`` in the timestamped header.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE = "X-Rampart-Signature"
SIGNATURE_PREVIOUS = "X-Rampart-Signature-Previous"
SIGNATURE_TIMESTAMPED = "X-Rampart-Signature-Timestamped"
TIMESTAMP = "X-Rampart-Timestamp"
DELIVERY = "X-Rampart-Delivery"
EVENT = "X-Rampart-Event"
REPLAY_TOLERANCE_SECONDS = 300


def body_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def timestamped_signature(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_headers(
    body: bytes, secret: str, timestamp: int, previous: str | None = None
) -> dict[str, str]:
    """The signature headers of one attempt (the secrets themselves never leave this function)."""
    headers = {
        TIMESTAMP: str(timestamp),
        SIGNATURE: body_signature(body, secret),
    }
    stamped = [f"t={timestamp}", f"v1={timestamped_signature(body, secret, timestamp)}"]
    if previous is not None:
        headers[SIGNATURE_PREVIOUS] = body_signature(body, previous)
        stamped.append(f"v1={timestamped_signature(body, previous, timestamp)}")
    headers[SIGNATURE_TIMESTAMPED] = ",".join(stamped)
    return headers


def verify_timestamped(
    body: bytes, header: str, secret: str, now: float, tolerance: float = REPLAY_TOLERANCE_SECONDS
) -> bool:
    """What a receiver does with the timestamped header (docs/webhooks.md has the same in Node)."""
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for key, value in parts if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = timestamped_signature(body, secret, timestamp)
    return any(hmac.compare_digest(expected, value) for key, value in parts if key == "v1")
