"""gRPC entry point for auth-service: decode, call the service layer, encode."""

from __future__ import annotations

from rampart.auth.v1 import auth_pb2, auth_pb2_grpc
from rampart.lib.errors import InvalidArgument
from rampart.lib.grpcserver import Context
from rampart_auth.service import AuthCommands


def _owner(request: object) -> None:
    owner = getattr(request, "owner")  # noqa: B009 - every owner-scoped request has one
    if not owner.user_id or not owner.org_id:
        raise InvalidArgument("owner is required", field="owner")


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    """Accounts, keys, tokens, plans and stream tickets."""

    def __init__(self, commands: AuthCommands) -> None:
        self._commands = commands

    async def Register(
        self, request: auth_pb2.RegisterRequest, context: Context
    ) -> auth_pb2.RegisterResponse:
        return await self._commands.register(request.email, request.password, request.organization_name)

    async def IssueToken(
        self, request: auth_pb2.IssueTokenRequest, context: Context
    ) -> auth_pb2.TokenResponse:
        return await self._commands.issue_token(request.username, request.password, list(request.scopes))

    async def GetJwks(self, request: auth_pb2.GetJwksRequest, context: Context) -> auth_pb2.GetJwksResponse:
        return self._commands.jwks()

    async def VerifyApiKey(
        self, request: auth_pb2.VerifyApiKeyRequest, context: Context
    ) -> auth_pb2.VerifyApiKeyResponse:
        return await self._commands.verify_key(request.api_key)

    async def CreateApiKey(
        self, request: auth_pb2.CreateApiKeyRequest, context: Context
    ) -> auth_pb2.CreatedApiKey:
        _owner(request)
        return await self._commands.create_key(request)

    async def ListApiKeys(
        self, request: auth_pb2.ListApiKeysRequest, context: Context
    ) -> auth_pb2.ListApiKeysResponse:
        _owner(request)
        keys = await self._commands.list_keys(request.owner, request.include_revoked)
        return auth_pb2.ListApiKeysResponse(keys=keys)

    async def RevokeApiKey(self, request: auth_pb2.RevokeApiKeyRequest, context: Context) -> auth_pb2.ApiKey:
        _owner(request)
        return await self._commands.revoke_key(request.owner, request.key_id)

    async def RotateApiKey(
        self, request: auth_pb2.RotateApiKeyRequest, context: Context
    ) -> auth_pb2.CreatedApiKey:
        _owner(request)
        return await self._commands.rotate_key(request.owner, request.key_id)

    async def GetProfile(self, request: auth_pb2.GetProfileRequest, context: Context) -> auth_pb2.Profile:
        _owner(request)
        return await self._commands.profile(request.owner)

    async def GetOrgPlan(self, request: auth_pb2.GetOrgPlanRequest, context: Context) -> auth_pb2.Plan:
        return await self._commands.org_plan(request.org_id)

    async def IssueStreamTicket(
        self, request: auth_pb2.IssueStreamTicketRequest, context: Context
    ) -> auth_pb2.StreamTicket:
        _owner(request)
        return await self._commands.issue_ticket(request.owner, request.scope)

    async def RedeemStreamTicket(
        self, request: auth_pb2.RedeemStreamTicketRequest, context: Context
    ) -> auth_pb2.VerifyApiKeyResponse:
        return await self._commands.redeem_ticket(request.ticket)
