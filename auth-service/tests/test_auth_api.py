"""The gRPC servicer from ``bootstrap`` with fake adapters: protobuf in, protobuf out."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from auth_fakes import START, World
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import SecretStr

from rampart.auth.v1 import auth_pb2
from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.lib.ids import to_timestamp
from rampart_auth.api import AuthServicer
from rampart_auth.bootstrap import bootstrap
from rampart_auth.settings import AuthSettings

PASSWORD = "correct-horse-9-battery"


@pytest.fixture
async def servicer(world: World, tmp_path: Path) -> AuthServicer:
    pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    (tmp_path / "k1.pem").write_bytes(pem)
    settings = AuthSettings(
        mongodb_url="mongodb://127.0.0.1:1",
        nats_url="nats://127.0.0.1:2",
        jwt_keys_dir=tmp_path,
        api_key_pepper=SecretStr("p" * 40),
        stream_ticket_ttl_seconds=30,
    )
    runtime = await bootstrap(settings, world.adapters())
    assert (runtime.infra, list(runtime.tasks)) == (None, [])  # nothing was connected
    [binding] = runtime.bindings
    assert isinstance(binding.servicer, AuthServicer)
    return binding.servicer


async def test_bootstrap_with_fakes_serves_register_then_verify(servicer: AuthServicer, world: World) -> None:
    request = auth_pb2.RegisterRequest(email="alice@example.com", password=PASSWORD, organization_name="Acme")
    registered = await servicer.Register(request, None)  # type: ignore[arg-type]
    assert registered.api_key.key.mode == common_pb2.KEY_MODE_LIVE
    assert registered.api_key.key.scopes == ["*"]
    verified = await servicer.VerifyApiKey(
        auth_pb2.VerifyApiKeyRequest(api_key=registered.api_key.secret),
        None,  # type: ignore[arg-type]
    )
    assert (verified.owner.user_id, verified.owner.org_id) == (registered.user_id, registered.org_id)
    assert verified.owner.key_id == registered.api_key.key.key_id
    assert (verified.plan.name, verified.plan.requests_per_hour, verified.plan.scans_per_day) == (
        "free",
        100,
        10,
    )
    assert verified.expires_at.ToDatetime().year == START.year + 1


async def test_create_maps_mode_scopes_and_expiry_and_tickets_use_the_settings_ttl(
    servicer: AuthServicer, world: World
) -> None:
    request = auth_pb2.RegisterRequest(email="alice@example.com", password=PASSWORD)
    registered = await servicer.Register(request, None)  # type: ignore[arg-type]
    owner = common_pb2.Owner(
        user_id=registered.user_id, org_id=registered.org_id, mode=common_pb2.KEY_MODE_LIVE
    )
    created = await servicer.CreateApiKey(
        auth_pb2.CreateApiKeyRequest(
            owner=owner,
            name="ci",
            mode=common_pb2.KEY_MODE_TEST,
            scopes=["scans:read"],
            expires_at=to_timestamp(START + timedelta(days=1)),
        ),
        None,  # type: ignore[arg-type]
    )
    assert created.secret.startswith("sk_test_")
    assert (created.key.mode, list(created.key.scopes)) == (common_pb2.KEY_MODE_TEST, ["scans:read"])
    assert world.keys.keys[created.key.key_id].expires_at == START + timedelta(days=1)
    ticket = await servicer.IssueStreamTicket(
        auth_pb2.IssueStreamTicketRequest(owner=owner, scope="scan_1"),
        None,  # type: ignore[arg-type]
    )
    assert ticket.expires_in == 30


async def test_an_owner_scoped_call_without_an_owner_is_refused(servicer: AuthServicer) -> None:
    with pytest.raises(InvalidArgument, match="owner is required"):
        await servicer.ListApiKeys(auth_pb2.ListApiKeysRequest(), None)  # type: ignore[arg-type]
