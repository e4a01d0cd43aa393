"""Threat intel in the whole platform: feeds and each organisation's allow/deny lists reach the
analysis, and a malicious analysis reaches the incident rules of an organisation that enabled them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import httpx2 as httpx
import pytest

from rampart.common.v1 import common_pb2
from rampart.lib.ids import new_id
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_devtools.devstack import DevStack
from tests.integration.conftest import assert_refused, bearer, register

Channels = Callable[[str], grpc.aio.Channel]
MALICIOUS_URL = "hxxp://paypa1-secure-login[.]xyz/webscr/verify.php"  # brand look-alike, credential path


def analyse(api: httpx.Client, headers: dict[str, str], target: str) -> dict[str, Any]:
    reply = api.post("/api/v1/threats/analyze", json={"target": target}, headers=headers)
    assert reply.status_code == 201, reply.text
    return dict(reply.json()["data"])


def listed(api: httpx.Client, headers: dict[str, str], entry: dict[str, str]) -> dict[str, Any]:
    reply = api.post("/api/v1/threats/lists", json=entry, headers=headers)
    assert reply.status_code == 201, reply.text
    return dict(reply.json()["data"])


async def test_a_malicious_analysis_opens_an_incident_for_an_organisation_whose_rule_is_on(
    api: httpx.Client, healthy: DevStack
) -> None:
    watched, other = register(api), register(api)
    rules = healthy.data_dir / "incident_rules.toml"
    rules.write_text(
        rules.read_text()
        + f'\n[[rule]]\nrule_id = "malicious-{watched["org_id"]}"\norg_id = "{watched["org_id"]}"\n'
        'trigger = "analysis.malicious"\nenabled = true\nseverity = "high"\nmin_risk_score = 70\n'
    )
    healthy.stop("threat")  # rules are read at start
    healthy.start("threat")
    healthy.wait_health(200, deadline=60)
    unwatched = analyse(api, bearer(other["api_key"]), MALICIOUS_URL)
    found = analyse(api, bearer(watched["api_key"]), MALICIOUS_URL)
    assert (found["classification"], unwatched["classification"]) == ("malicious", "malicious")

    def incidents(account: dict[str, str]) -> list[dict[str, Any]]:
        reply = api.get("/api/v1/incidents", headers=bearer(account["api_key"]))
        assert reply.status_code == 200, reply.text
        return list(reply.json()["data"]["items"])

    loop = asyncio.get_running_loop()
    give_up = loop.time() + 30
    opened: list[dict[str, Any]] = []
    while loop.time() < give_up and not opened:
        opened = await asyncio.to_thread(incidents, watched)
        await asyncio.sleep(0.1)
    assert len(opened) == 1, "no incident opened from the analysis event"
    assert opened[0]["related_analyses"] == [found["analysis_id"]]
    assert opened[0]["severity"] == "high"
    assert incidents(other) == []  # its rule is off (the default): its analysis opened nothing


async def test_an_organisations_lists_change_its_own_analyses_only(
    api: httpx.Client, stack: DevStack, channel_to: Channels
) -> None:
    alice, bob = register(api), register(api)
    a, b = bearer(alice["api_key"]), bearer(bob["api_key"])
    tag = new_id("t").lower().replace("_", "-")
    fed, denied = f"feed-{tag}.example", f"deny-{tag}.example"
    name = f"{tag}.txt"
    (stack.data_dir / "feeds" / name).write_text(f"# a plain blocklist\n{fed}\n")
    stub = threat_pb2_grpc.ThreatServiceStub(channel_to("threat"))
    owner = common_pb2.Owner(org_id=alice["org_id"], user_id=alice["user_id"])
    imported = await stub.ImportIntel(
        threat_pb2.ImportIntelRequest(owner=owner, kind="plain", path=name, source=f"plain-{tag}"), timeout=10
    )
    assert imported.source.indicators == 1
    with_hit = analyse(api, b, fed)
    assert [h["source"] for h in with_hit["feed_hits"]] == [f"plain-{tag}"]

    before = analyse(api, a, denied)
    entry = listed(api, a, {"list": "deny", "value": denied, "note": "phishing kit"})
    after = analyse(api, a, denied)
    assert [h["source"] for h in after["feed_hits"]] == ["org deny list"]
    assert after["risk_score"] > before["risk_score"]
    assert analyse(api, b, denied)["feed_hits"] == []  # alice's list is not bob's

    listed(api, a, {"list": "allow", "value": fed})
    assert analyse(api, a, fed)["feed_hits"] == []
    assert [h["source"] for h in analyse(api, b, fed)["feed_hits"]] == [f"plain-{tag}"]

    entries = api.get("/api/v1/threats/lists", headers=a).json()["data"]["items"]
    assert {(e["list"], e["value"]) for e in entries} == {("deny", denied), ("allow", fed)}
    assert api.get("/api/v1/threats/lists", headers=b).json()["data"]["items"] == []
    assert_refused(api.delete(f"/api/v1/threats/lists/{entry['entry_id']}", headers=b), 404, "NOT_FOUND")
    assert api.delete(f"/api/v1/threats/lists/{entry['entry_id']}", headers=a).status_code == 200
    assert analyse(api, a, denied)["feed_hits"] == []
    bad = api.post("/api/v1/threats/lists", json={"list": "deny", "value": "not a host!"}, headers=a)
    assert_refused(bad, 422, "VALIDATION_ERROR")


async def test_an_intel_import_outside_feeds_dir_is_refused(stack: DevStack, channel_to: Channels) -> None:
    stub = threat_pb2_grpc.ThreatServiceStub(channel_to("threat"))
    outside = stack.data_dir / "scope.json"
    request = threat_pb2.ImportIntelRequest(
        owner=common_pb2.Owner(org_id="org_x"), kind="plain", path=str(outside)
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.ImportIntel(request, timeout=10)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "outside FEEDS_DIR" in (refused.value.details() or "")
