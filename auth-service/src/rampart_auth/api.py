"""gRPC entry point for auth-service: decode, call the use case, encode (see ``mappers.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from rampart.auth.v1 import auth_pb2, auth_pb2_grpc
from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.lib.grpcserver import Context
from rampart_auth import mappers
from rampart_auth.accounts import AccountService
from rampart_auth.domain import Owner
from rampart_auth.keys import KeyService
from rampart_auth.tickets import TicketService


@dataclass(frozen=True)
class AuthServices:
    """The use cases one servicer calls."""

    accounts: AccountService
    keys: KeyService
    tickets: TicketService


def _owner(owner: common_pb2.Owner) -> Owner:
    """Every owner-scoped request must name its user and organisation."""
    if not owner.user_id or not owner.org_id:
        raise InvalidArgument("owner is required", field="owner")
    return mappers.owner_of(owner)


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    """Accounts, keys, tokens, plans and stream tickets."""

    def __init__(self, services: AuthServices) -> None:
        self._accounts = services.accounts
        self._keys = services.keys
        self._tickets = services.tickets

    async def Register(
        self, request: auth_pb2.RegisterRequest, context: Context
    ) -> auth_pb2.RegisterResponse:
        registration = await self._accounts.register(
            request.email, request.password, request.organization_name
        )
        return mappers.registration_message(registration)

    async def IssueToken(
        self, request: auth_pb2.IssueTokenRequest, context: Context
    ) -> auth_pb2.TokenResponse:
        token = await self._accounts.issue_token(request.username, request.password, list(request.scopes))
        return mappers.token_message(token)

    async def GetJwks(self, request: auth_pb2.GetJwksRequest, context: Context) -> auth_pb2.GetJwksResponse:
        return mappers.jwks_message(self._accounts.jwks())

    async def VerifyApiKey(
        self, request: auth_pb2.VerifyApiKeyRequest, context: Context
    ) -> auth_pb2.VerifyApiKeyResponse:
        return mappers.principal_message(await self._keys.verify(request.api_key))

    async def CreateApiKey(
        self, request: auth_pb2.CreateApiKeyRequest, context: Context
    ) -> auth_pb2.CreatedApiKey:
        owner = _owner(request.owner)
        expires_at = request.expires_at.ToDatetime(tzinfo=UTC) if request.HasField("expires_at") else None
        created = await self._keys.create(
            owner, request.name, mappers.mode_of(request.mode), list(request.scopes), expires_at
        )
        return mappers.issued_key_message(created)

    async def ListApiKeys(
        self, request: auth_pb2.ListApiKeysRequest, context: Context
    ) -> auth_pb2.ListApiKeysResponse:
        keys = await self._keys.list_keys(_owner(request.owner), request.include_revoked)
        return auth_pb2.ListApiKeysResponse(keys=[mappers.key_message(key) for key in keys])

    async def RevokeApiKey(self, request: auth_pb2.RevokeApiKeyRequest, context: Context) -> auth_pb2.ApiKey:
        return mappers.key_message(await self._keys.revoke(_owner(request.owner), request.key_id))

    async def RotateApiKey(
        self, request: auth_pb2.RotateApiKeyRequest, context: Context
    ) -> auth_pb2.CreatedApiKey:
        return mappers.issued_key_message(await self._keys.rotate(_owner(request.owner), request.key_id))

    async def GetProfile(self, request: auth_pb2.GetProfileRequest, context: Context) -> auth_pb2.Profile:
        return mappers.profile_message(await self._accounts.profile(_owner(request.owner)))

    async def GetOrgPlan(self, request: auth_pb2.GetOrgPlanRequest, context: Context) -> auth_pb2.Plan:
        return mappers.plan_message(await self._accounts.org_plan(request.org_id))

    async def IssueStreamTicket(
        self, request: auth_pb2.IssueStreamTicketRequest, context: Context
    ) -> auth_pb2.StreamTicket:
        ticket = await self._tickets.issue(_owner(request.owner), request.scope)
        return mappers.ticket_message(ticket)

    async def RedeemStreamTicket(
        self, request: auth_pb2.RedeemStreamTicketRequest, context: Context
    ) -> auth_pb2.VerifyApiKeyResponse:
        return mappers.principal_message(await self._tickets.redeem(request.ticket))
