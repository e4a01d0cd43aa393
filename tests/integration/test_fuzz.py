"""Schema-driven fuzzing: every operation of the OpenAPI document, against the running platform.

Each operation gets a bounded number of generated requests (derandomized, so a run is
repeatable), sent with a sandbox (``sk_test_``) key that may do everything; each answer must
be no server error, with a documented status, content type, headers and body schema.
``make fuzz`` runs this file alone with more examples (``FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import os
from typing import Any

import httpx2 as httpx
import hypothesis
import pymongo
import pytest
import schemathesis
from schemathesis import checks

from rampart.lib.ids import new_id
from rampart_devtools.devstack import DevStack
from rampart_gateway.api.system.health import VERSION
from rampart_gateway.app import operations
from rampart_gateway.openapi import build_openapi
from tests.integration.conftest import PASSWORD, bearer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_key(stack: DevStack) -> str:
    """A sandbox key with every scope, on an organisation whose limits do not get in the way."""
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as api:
        email = f"{new_id('fuzz')}@example.com"
        reply = api.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert reply.status_code == 201, reply.text
        account = reply.json()["data"]
        with pymongo.MongoClient(stack.mongodb_url) as store:
            store["rampart_auth"]["organizations"].update_one(
                {"_id": account["org_id"]},
                {
                    "$set": {
                        "limits": {"requests_per_hour": 1_000_000, "scans_per_day": 0, "concurrent_scans": 0}
                    }
                },
            )
        token = api.post(
            "/api/v1/auth/token",
            data={"username": email, "password": PASSWORD},
        ).json()["access_token"]
        created = api.post("/api/v1/api-keys", json={"mode": "test", "name": "fuzz"}, headers=bearer(token))
        assert created.status_code == 201, created.text
        return str(created.json()["data"]["api_key"])


# The document the gateway serves, built the way the gateway builds it (checked equal below).
SPEC = build_openapi(operations(), VERSION)
schema = schemathesis.openapi.from_dict(SPEC)


def test_the_fuzzed_document_is_the_one_the_gateway_serves(stack: DevStack) -> None:
    assert httpx.get(f"{stack.gateway_url}/openapi.json").json() == SPEC


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_operation_answers_as_documented(case: Any, stack: DevStack, fuzz_key: str) -> None:
    if case.path == "/api/v1/threats/scan" and isinstance(case.query, dict):
        case.query["wait"] = 1  # the shape of its answers, not its wait (up to 120 s), is fuzzed here
    case.call_and_validate(base_url=stack.gateway_url, headers=bearer(fuzz_key), checks=CHECKS, timeout=15)
