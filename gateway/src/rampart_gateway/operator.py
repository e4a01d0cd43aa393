"""Operator-only routes: a Bearer token from the gateway's settings, not a tenant credential."""

from __future__ import annotations

import hmac

from pydantic import SecretStr
from starlette.requests import Request

from rampart_gateway.errors import ApiError


def operator_authorised(request: Request, secret: SecretStr) -> bool:
    """The request carries ``Authorization: Bearer <secret>``; an empty secret opens nothing."""
    token = secret.get_secret_value()
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def require_operator(request: Request, secret: SecretStr, what: str, realm: str) -> None:
    """401 INVALID_API_KEY unless the operator's token for ``what`` is presented."""
    if not operator_authorised(request, secret):
        raise ApiError(
            "INVALID_API_KEY",
            f"{what} need the operator's token",
            headers={"www-authenticate": f'Bearer realm="{realm}"'},
        )
