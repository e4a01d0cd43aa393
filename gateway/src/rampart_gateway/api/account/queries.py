"""Query parameters of the account operations: they parse requests and document them."""

from __future__ import annotations

from pydantic import Field

from rampart_gateway.inputs import Params


class ListKeysQuery(Params):
    include_revoked: bool = Field(default=False, description="include revoked keys")
