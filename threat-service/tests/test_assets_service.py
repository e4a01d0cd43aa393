"""The asset inventory on fakes: scan events in, assets out, every write idempotent."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

import pytest
from assets_fakes import T0, FakeAssets
from incidents_fakes import FakeIncidents, RecordingNotifier
from nats.aio.msg import Msg

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.lib.events import Outcome, PoisonMessage
from rampart.lib.ids import to_timestamp
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_threat.assets.domain import MAX_SCANS, AssetNotFound, PortChange, asset_id
from rampart_threat.assets.repository import AssetFilter
from rampart_threat.assets.service import AssetListing, AssetService
from rampart_threat.assets.wiring import asset_parts
from rampart_threat.bootstrap import assemble
from rampart_threat.domain import ActivityEvent, Delivery
from rampart_threat.feeds.service import FeedService
from rampart_threat.findings.ports import Coverage
from rampart_threat.incidents.domain import Severity
from rampart_threat.incidents.service import Actor, IncidentDraft
from rampart_threat.incidents.wiring import incident_parts

DEBIAN_SSH = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"


def event(
    host: str,
    port: int,
    *,
    scan: str = "scn_1",
    at: datetime = T0,
    service: str = "",
    product: str = "",
    version: str = "",
    banner: str = "",
    sans: tuple[str, ...] = (),
    org: str = "org_a",
    test_key: bool = False,
) -> scan_pb2.ScanEvent:
    """A port_found event, or a service_detected one when a service is given."""
    result = scan_pb2.PortResult(host=host, port=port, protocol="tcp", state=scan_pb2.PORT_STATE_OPEN)
    kind = scan_pb2.SCAN_EVENT_TYPE_PORT_FOUND
    if service:
        kind = scan_pb2.SCAN_EVENT_TYPE_SERVICE_DETECTED
        result.service.CopyFrom(
            scan_pb2.ServiceInfo(name=service, product=product, version=version, evidence=banner)
        )
        if sans:
            result.tls.negotiated_protocol = "TLSv1.3"
            result.tls.certificate.subject_alt_names.extend(sans)
    mode = common_pb2.KEY_MODE_TEST if test_key else common_pb2.KEY_MODE_LIVE
    return scan_pb2.ScanEvent(
        event_id=f"{scan}.{'service' if service else 'port'}.{host}.{port}",
        scan_id=scan,
        owner=common_pb2.Owner(org_id=org, user_id="usr_a", mode=mode),
        type=kind,
        occurred_at=to_timestamp(at),
        port=result,
    )


def inventory() -> tuple[Any, FakeAssets]:
    store = FakeAssets()
    return asset_parts(store), store


def where(org: str = "org_a", **kwargs: Any) -> AssetListing:
    sort = kwargs.pop("sort", "last_seen")
    ascending = kwargs.pop("ascending", False)
    page = kwargs.pop("page", 1)
    size = kwargs.pop("size", 20)
    token = kwargs.pop("token", "")
    return AssetListing(AssetFilter(org, **kwargs), sort, ascending, page, size, token)


async def test_a_port_seen_by_a_live_scan_makes_the_host_an_asset() -> None:
    parts, _ = inventory()
    await parts.recorder.record(event("10.0.0.5", 22))
    record = await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.5"))
    assert (record.host, record.addresses, [p.port for p in record.open_ports()]) == (
        "10.0.0.5",
        ("10.0.0.5",),
        [22],
    )
    assert (record.first_seen, record.last_seen, record.last_scan_id) == (T0, T0, "scn_1")
    assert [(h.port, h.change) for h in record.history] == [(22, PortChange.OPENED)]


async def test_a_redelivered_event_changes_nothing_and_writes_nothing() -> None:
    parts, store = inventory()
    detected = event(
        "10.0.0.5", 22, at=T0 + timedelta(seconds=1), service="ssh", product="OpenSSH", version="9.2p1"
    )
    for message in (event("10.0.0.5", 22), detected):
        await parts.recorder.record(message)
    before, saves = await store.get("org_a", True, asset_id("org_a", "10.0.0.5")), store.saves
    for message in (detected, event("10.0.0.5", 22), detected):  # redelivered, one out of order
        await parts.recorder.record(message)
    assert store.saves == saves
    assert await store.get("org_a", True, asset_id("org_a", "10.0.0.5")) == before


async def test_a_service_change_between_scans_is_kept_in_the_port_history() -> None:
    parts, _ = inventory()
    await parts.recorder.record(event("10.0.0.5", 80, service="http", product="nginx", version="1.22.1"))
    later = T0 + timedelta(days=3)
    await parts.recorder.record(
        event("10.0.0.5", 80, scan="scn_2", at=later, service="http", product="nginx", version="1.24.0")
    )
    record = await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.5"))
    [port] = record.open_ports()
    assert (port.service.version, port.since, port.first_seen, port.last_seen) == ("1.24.0", T0, T0, later)
    changes = [(h.change, h.before, h.after, h.scan_id) for h in record.history]
    assert changes == [
        (PortChange.OPENED, "", "", "scn_1"),
        (PortChange.SERVICE, "", "http nginx 1.22.1", "scn_1"),
        (PortChange.SERVICE, "http nginx 1.22.1", "http nginx 1.24.0", "scn_2"),
    ]
    assert [s.scan_id for s in record.scans] == ["scn_2", "scn_1"]


async def test_an_older_event_arriving_late_does_not_move_a_port_back() -> None:
    parts, _ = inventory()
    new, old = T0 + timedelta(days=1), T0
    await parts.recorder.record(
        event("10.0.0.5", 80, scan="scn_2", at=new, service="http", product="nginx", version="1.24.0")
    )
    await parts.recorder.record(
        event("10.0.0.5", 80, scan="scn_1", at=old, service="http", product="nginx", version="1.22.1")
    )
    record = await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.5"))
    assert record.open_ports()[0].service.version == "1.24.0"
    assert (record.first_seen, record.last_seen) == (old, new)  # the older scan still covered it
    assert {s.scan_id for s in record.scans} == {"scn_1", "scn_2"}


async def test_a_finished_scan_closes_the_ports_it_covered_and_did_not_see_and_a_rescan_reopens_them() -> (
    None
):
    parts, _ = inventory()
    await parts.recorder.record(event("10.0.0.5", 22))
    await parts.recorder.record(event("10.0.0.5", 6379))
    await parts.recorder.record(event("10.0.0.5", 8080))
    second = T0 + timedelta(hours=1)
    await parts.recorder.record(event("10.0.0.5", 22, scan="scn_2", at=second))
    coverage = Coverage(
        "scn_2", "org_a", True, frozenset({"10.0.0.5"}), frozenset({(22, "tcp"), (6379, "tcp")})
    )
    assert await parts.service.settle(coverage, second + timedelta(minutes=1)) == 1
    assert await parts.service.settle(coverage, second + timedelta(minutes=1)) == 0  # redelivered
    record = await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.5"))
    assert [p.port for p in record.open_ports()] == [22, 8080]  # 8080 was not covered: still open
    assert [(h.port, h.change, h.scan_id) for h in record.history][-1] == (6379, PortChange.CLOSED, "scn_2")
    third = second + timedelta(hours=1)
    await parts.recorder.record(event("10.0.0.5", 6379, scan="scn_3", at=third))
    record = await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.5"))
    assert [(h.port, h.change) for h in record.history][-1] == (6379, PortChange.OPENED)
    assert record.ports[(6379, "tcp")].since == third


def final(
    scan: str, ports: str, at: datetime, kind: int = scan_pb2.SCAN_EVENT_TYPE_COMPLETED
) -> scan_pb2.ScanEvent:
    return scan_pb2.ScanEvent(
        event_id=f"{scan}.final",
        scan_id=scan,
        owner=common_pb2.Owner(org_id="org_a", user_id="usr_a", mode=common_pb2.KEY_MODE_LIVE),
        type=kind,
        occurred_at=to_timestamp(at),
        coverage=scan_pb2.ScanCoverage(ports=ports, protocol="tcp"),
    )


async def test_a_completed_scans_final_event_closes_the_ports_it_probed_on_its_hosts_only() -> None:
    parts, _ = inventory()
    for host, port in (("10.0.0.5", 22), ("10.0.0.5", 6379), ("10.0.0.6", 6379)):
        await parts.recorder.record(event(host, port))
    second = T0 + timedelta(hours=1)
    await parts.recorder.record(event("10.0.0.5", 22, scan="scn_2", at=second))
    end = second + timedelta(minutes=1)
    cancelled = final("scn_2", "1-10000", end, scan_pb2.SCAN_EVENT_TYPE_CANCELLED)
    assert await parts.recorder.record(cancelled) == Outcome.DUPLICATE  # an unfinished scan closes nothing
    assert await parts.recorder.record(final("scn_2", "1-10000", end)) == Outcome.APPLIED
    assert await parts.recorder.record(final("scn_2", "1-10000", end)) == Outcome.DUPLICATE  # redelivered
    seen = await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.5"))
    assert [p.port for p in seen.open_ports()] == [22]
    assert [(h.port, h.change, h.scan_id) for h in seen.history][-1] == (6379, PortChange.CLOSED, "scn_2")
    unreached = await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.6"))
    assert [p.port for p in unreached.open_ports()] == [6379]  # scn_2 never reached it: maybe only down


async def test_test_key_scans_keep_a_separate_sandbox_inventory() -> None:
    parts, _ = inventory()
    await parts.recorder.record(event("10.0.0.5", 22, test_key=True))
    live = await parts.service.list(where())
    sandbox = await parts.service.list(where(live=False))
    assert (live.total, [r.host for r in sandbox.assets]) == (0, ["10.0.0.5"])
    assert (
        sandbox.assets[0].asset_id
        == asset_id("org_a", "10.0.0.5", live=False)
        != asset_id("org_a", "10.0.0.5")
    )
    with pytest.raises(AssetNotFound):
        await parts.service.get("org_a", True, sandbox.assets[0].asset_id)


async def test_the_os_hint_is_the_vote_of_the_open_ports_banners() -> None:
    parts, _ = inventory()
    await parts.recorder.record(
        event("10.0.0.5", 22, service="ssh", product="OpenSSH", version="9.2p1", banner=DEBIAN_SSH)
    )
    await parts.recorder.record(
        event("10.0.0.5", 80, service="http", product="nginx", banner="Server: nginx/1.22.1")
    )
    record = await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.5"))
    assert (record.os.name, record.os.confidence) == ("Linux (Debian 12)", 60)
    assert record.os.evidence == ("22/tcp ssh: Debian-2+deb12",)
    await parts.recorder.record(event("10.0.0.6", 80, service="http", product="nginx"))
    other = await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.6"))
    assert (other.os.name, other.os.confidence) == ("", 0)  # no clue: no guess


async def test_names_come_from_the_certificates_the_host_presents() -> None:
    parts, _ = inventory()
    sans = ("www.example.org", "*.example.org", "API.example.org")
    await parts.recorder.record(event("10.0.0.5", 443, service="https", sans=sans))
    record = await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.5"))
    assert record.names == ("api.example.org", "www.example.org")
    found = await parts.service.list(where(text="WWW.example"))
    assert [r.host for r in found.assets] == ["10.0.0.5"]


async def test_finding_counts_from_the_ledger_filter_and_sort_the_assets() -> None:
    parts, store = inventory()
    for host in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        await parts.recorder.record(event(host, 22))
    assert await parts.service.set_finding_counts("org_a", True, "10.0.0.1", {"high": 2, "low": 1})
    assert await parts.service.set_finding_counts("org_a", True, "10.0.0.2", {"critical": 1})
    saves = store.saves
    assert not await parts.service.set_finding_counts("org_a", True, "10.0.0.2", {"critical": 1, "low": 0})
    assert store.saves == saves
    by_findings = await parts.service.list(where(sort="findings"))
    assert [r.host for r in by_findings.assets] == ["10.0.0.2", "10.0.0.1", "10.0.0.3"]
    assert sorted(r.host for r in (await parts.service.list(where(min_severity="high"))).assets) == [
        "10.0.0.1",
        "10.0.0.2",
    ]
    assert [r.host for r in (await parts.service.list(where(has_findings=False))).assets] == ["10.0.0.3"]
    assert await parts.service.set_finding_counts("org_a", True, "10.0.0.1", {})  # all fixed
    assert (await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.1"))).findings == {}
    with pytest.raises(InvalidArgument):
        await parts.service.set_finding_counts("org_a", True, "10.0.0.1", {"severe": 1})
    await parts.service.set_finding_counts("org_a", False, "10.0.0.1", {"high": 1})  # a sandbox finding
    assert (await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.1"))).findings == {}


async def test_filters_select_by_port_service_os_and_when_last_seen() -> None:
    parts, _ = inventory()
    await parts.recorder.record(event("10.0.0.1", 22, service="ssh", product="OpenSSH", banner=DEBIAN_SSH))
    await parts.recorder.record(
        event("10.0.0.2", 6379, at=T0 + timedelta(days=2), service="redis", product="Redis")
    )
    await parts.recorder.record(event("db.example.org", 5432, at=T0 + timedelta(days=4)))

    async def hosts(**kwargs: Any) -> list[str]:
        return sorted(r.host for r in (await parts.service.list(where(**kwargs))).assets)

    assert await hosts(port=6379) == ["10.0.0.2"]
    assert await hosts(service="SSH") == ["10.0.0.1"]
    assert await hosts(os="debian") == ["10.0.0.1"]
    assert await hosts(text="example") == ["db.example.org"]
    assert await hosts(seen_after=T0 + timedelta(days=1)) == ["10.0.0.2", "db.example.org"]
    assert await hosts(seen_before=T0 + timedelta(days=3)) == ["10.0.0.1", "10.0.0.2"]
    assert sorted(r.host for r in (await parts.service.list(where("org_b"))).assets) == []


async def test_pages_and_cursors_visit_every_asset_once_in_order() -> None:
    parts, _ = inventory()
    for n in range(7):  # two share each time: the cursor must split ties by id
        await parts.recorder.record(event(f"10.0.1.{n}", 80, at=T0 + timedelta(minutes=n // 2)))
    first = await parts.service.list(where(size=3))
    assert (first.total, first.pages, first.page) == (7, 3, 1)
    seen, token = [r.asset_id for r in first.assets], first.next_page_token
    while token:
        page = await parts.service.list(where(size=3, token=token))
        seen += [r.asset_id for r in page.assets]
        token = page.next_page_token
    assert len(seen) == len(set(seen)) == 7
    third = await parts.service.list(where(size=3, page=3))
    assert [r.asset_id for r in third.assets] == seen[6:]
    by_host = await parts.service.list(where(sort="host", ascending=True, size=4))
    rest = await parts.service.list(where(sort="host", ascending=True, size=4, token=by_host.next_page_token))
    assert [r.host for r in by_host.assets + rest.assets] == [f"10.0.1.{n}" for n in range(7)]
    with pytest.raises(InvalidArgument):
        await parts.service.list(where(sort="host", token=first.next_page_token))


async def test_the_scans_that_covered_an_asset_are_bounded() -> None:
    parts, _ = inventory()
    for n in range(MAX_SCANS + 5):
        await parts.recorder.record(event("10.0.0.5", 22, scan=f"scn_{n:02}", at=T0 + timedelta(hours=n)))
    record = await parts.service.get("org_a", True, asset_id("org_a", "10.0.0.5"))
    assert len(record.scans) == MAX_SCANS
    assert record.scans[0].scan_id == f"scn_{MAX_SCANS + 4:02}"
    assert record.first_seen == T0  # the first sighting outlives the bound


async def test_a_lost_version_race_reloads_and_reapplies() -> None:
    store = FakeAssets()
    service = AssetService(store)
    await asset_parts(store).recorder.record(event("10.0.0.5", 22))
    store.lose_next_saves = 2
    assert await service.set_finding_counts("org_a", True, "10.0.0.5", {"medium": 3})
    assert (await service.get("org_a", True, asset_id("org_a", "10.0.0.5"))).findings == {"medium": 3}


# ---- through the entry points --------------------------------------------------------------------------


def owner(org: str = "org_a") -> common_pb2.Owner:
    return common_pb2.Owner(org_id=org, user_id="usr_a", mode=common_pb2.KEY_MODE_LIVE)


async def test_the_scan_event_consumer_feeds_the_rpcs_and_another_organisation_gets_not_found() -> None:
    store = FakeAssets()
    parts = assemble(
        cast(Any, FakeActivity()),
        incidents=incident_parts(FakeIncidents(), store, RecordingNotifier()),
        knowledge=FeedService(cast(Any, None)),
    )
    found = event("10.0.0.5", 443, service="https", product="nginx", version="1.24.0")
    outcomes = [
        await parts.on_asset_event(Msg(_client=cast(Any, None), data=message.SerializeToString()))
        for message in (event("10.0.0.5", 443), found, found)
    ]
    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED, Outcome.DUPLICATE]
    with pytest.raises(PoisonMessage):
        await parts.on_asset_event(Msg(_client=cast(Any, None), data=b"\xff not a scan event"))
    context = cast(Any, None)
    listed = await parts.servicer.ListAssets(
        threat_pb2.ListAssetsRequest(owner=owner(), port=443, sort=threat_pb2.ASSET_SORT_HOST), context
    )
    [asset] = listed.assets
    assert (asset.host, [p.port for p in asset.ports], asset.ports[0].service.version) == (
        "10.0.0.5",
        [443],
        "1.24.0",
    )
    assert (listed.page.total, listed.page.pages, asset.sandbox) == (1, 1, False)
    assert len(asset.history) == 0  # the history comes with GetAsset
    detail = await parts.servicer.GetAsset(
        threat_pb2.GetAssetRequest(owner=owner(), asset_id=asset.asset_id), context
    )
    assert [h.kind for h in detail.history] == [
        threat_pb2.ASSET_PORT_CHANGE_KIND_OPENED,
        threat_pb2.ASSET_PORT_CHANGE_KIND_SERVICE,
    ]
    with pytest.raises(AssetNotFound):
        await parts.servicer.GetAsset(
            threat_pb2.GetAssetRequest(owner=owner("org_b"), asset_id=asset.asset_id), context
        )
    test_key = common_pb2.Owner(org_id="org_a", user_id="usr_a", mode=common_pb2.KEY_MODE_TEST)
    with pytest.raises(AssetNotFound):
        await parts.servicer.GetAsset(
            threat_pb2.GetAssetRequest(owner=test_key, asset_id=asset.asset_id), context
        )


async def test_an_incident_links_an_asset_by_the_id_the_inventory_gives_it() -> None:
    store = FakeAssets()
    built = incident_parts(FakeIncidents(), store, RecordingNotifier())
    await asset_parts(store).recorder.record(event("10.0.0.5", 3389))
    [listed] = (await asset_parts(store).service.list(where())).assets
    incident = await built.service.create(
        Actor("org_a", "usr_a"),
        IncidentDraft("RDP exposed", Severity.HIGH, affected_systems=(listed.asset_id,)),
    )
    [link] = incident.triage.assets
    assert (link.asset.asset_id, link.asset.host, link.asset.open_ports) == (
        listed.asset_id,
        "10.0.0.5",
        (3389,),
    )


class FakeActivity:
    """The activity repository, for wiring only: every event is new (the activity has its own tests)."""

    async def mark(self, event: ActivityEvent) -> Delivery:
        return Delivery.FIRST

    async def add(self, event: ActivityEvent) -> None:
        return None

    async def settle(self, event_id: str) -> None:
        return None


def _message(found: scan_pb2.ScanEvent) -> Msg:
    return Msg(_client=cast(Any, None), subject="scan.events.x", data=found.SerializeToString())


async def test_a_fetch_of_port_events_writes_each_host_once_with_what_each_event_says() -> None:
    """The consumer hands a fetch over at once: the same asset as event by event, one write per host
    (a host with a thousand ports is not rewritten a thousand times); redelivered, nothing."""
    one_by_one, _ = inventory()
    together, store = inventory()
    fetched = [event("10.0.0.5", port) for port in range(8000, 8040)]
    fetched += [event("10.0.0.5", 8001, service="http", product="nginx", at=T0 + timedelta(seconds=2))]
    fetched += [event("10.0.0.6", 22), event("10.0.0.7", 22, org="org_b")]
    for found in fetched:
        await one_by_one.recorder.record(found)
    outcomes = await together.recorder.handle_many([_message(found) for found in fetched])
    assert outcomes == [Outcome.APPLIED] * len(fetched)
    assert store.saves == 3  # one per host
    for org, host in (("org_a", "10.0.0.5"), ("org_a", "10.0.0.6"), ("org_b", "10.0.0.7")):
        wanted = asset_id(org, host)
        batched = await together.service.get(org, True, wanted)
        single = await one_by_one.service.get(org, True, wanted)
        assert replace(batched, version=0) == replace(single, version=0)  # versions count the writes
    again = await together.recorder.handle_many([_message(found) for found in fetched])
    assert (again, store.saves) == ([Outcome.DUPLICATE] * len(fetched), 3)
    assert together.recorder.alone(_message(final("scn_1", "1-9000", T0))) is True
    assert together.recorder.alone(_message(fetched[0])) is False
