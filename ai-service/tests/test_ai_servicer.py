"""ai-service is wired in its final shape and builds no RPC yet: each answers UNIMPLEMENTED."""

from __future__ import annotations

from typing import Any, cast

from rampart.ai.v1 import ai_pb2, ai_pb2_grpc
from rampart_ai.bootstrap import assemble
from rampart_ai.repository import AiRepository
from tests.unbuilt import assert_only_built


def test_every_ai_rpc_answers_unimplemented_until_the_assistant_is_built() -> None:
    servicer = assemble(AiRepository(cast(Any, None)))
    service = ai_pb2.DESCRIPTOR.services_by_name["AiService"]
    assert_only_built(servicer, ai_pb2_grpc.AiServiceServicer, service, set())
