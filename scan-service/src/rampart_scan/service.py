"""Scan use cases: accept (validated, in scope, within the plan), read, list, cancel, results."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from datetime import datetime
from typing import Any

import structlog
from nats.aio.client import Client as NATS

from rampart.common.v1 import common_pb2
from rampart.lib.enums import enum_word
from rampart.lib.errors import FailedPrecondition, InvalidArgument
from rampart.lib.ids import from_timestamp, new_id, utcnow
from rampart.lib.outbox import Outbox
from rampart.lib.store import Document
from rampart.scan.v1 import scan_pb2
from rampart_scan import domain, events
from rampart_scan.engine.exclusions import Exclusions
from rampart_scan.engine.ports import parse_ports
from rampart_scan.engine.targets import (
    Host,
    Resolver,
    TargetUnresolvable,
    expand_targets,
    parse_target,
    system_resolver,
)
from rampart_scan.repository import ScanRepository, world
from rampart_scan.scope import ScopeBook, refuse
from rampart_scan.settings import ScanSettings

SORTS = {"created_at": "sort_key", "status": "status", "completed_at": "completed_at"}
MAX_PER_PAGE = 100
STATUS_NAMES = {value: name for name, value in events.STATUSES.items()}
log = structlog.get_logger(__name__)


class ScanNotFinished(FailedPrecondition):
    public_code = "SCAN_NOT_FINISHED"


def require_owner(owner: common_pb2.Owner) -> None:
    if not owner.user_id or not owner.org_id:
        raise InvalidArgument("owner is required", field="owner")


def fingerprint(request: scan_pb2.CreateScanRequest) -> str:
    """What an Idempotency-Key must keep meaning: the request minus who sent it and when."""
    data = scan_pb2.CreateScanRequest()
    data.CopyFrom(request)
    data.ClearField("owner")
    data.ClearField("request_id")
    data.ClearField("idempotency_key")
    if request.owner.mode == common_pb2.KEY_MODE_TEST:  # a key reused across worlds never replays
        data.owner.mode = common_pb2.KEY_MODE_TEST
    return hashlib.sha256(data.SerializeToString(deterministic=True)).hexdigest()


def is_sandbox(owner: common_pb2.Owner) -> bool:
    """Test keys act in the sandbox world; live keys and signed-in users (JWT) in the live one."""
    return owner.mode == common_pb2.KEY_MODE_TEST


def micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def sort_key(created: datetime, scan_id: str) -> int:
    """Creation order as one number: microseconds x 1000 plus a tie-breaker from the id.

    A number, not a date or a string: the local store (nx-27017) compares only numbers
    reliably with $lt/$gt (and sorts wrongly under $or); MongoDB orders it the same way.
    """
    tie = int(hashlib.sha256(scan_id.encode()).hexdigest()[:8], 16) % 1000
    return micros(created) * 1000 + tie


def encode_cursor(doc: Document) -> str:
    raw = json.dumps({"k": doc["sort_key"]}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)["k"]
    except (ValueError, TypeError, KeyError):
        key = None
    if type(key) is not int or not 0 <= key < 2**63:  # bool is an int; the store holds int64
        raise InvalidArgument("cursor is not valid", field="cursor", value=cursor[:64])
    return key


class ScanCommands:
    """Entry points call these; transport stays outside."""

    def __init__(
        self,
        repo: ScanRepository,
        outbox: Outbox,
        scopes: ScopeBook,
        settings: ScanSettings,
        nc: NATS | None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._resolver = resolver
        self._repo = repo
        self._outbox = outbox
        self._scopes = scopes
        self._settings = settings
        self._nc = nc
        self._admitting: set[asyncio.Future[Document]] = set()

    async def authorised_hosts(self, org_id: str, targets: list[str]) -> list[Host]:
        """Resolve every target and check every address against the organisation's scope."""
        scope = self._scopes.for_org(org_id)
        for target in targets:
            parsed = parse_target(target, self._settings.max_hosts_per_scan)
            if isinstance(parsed, str):
                scope.check_name(parsed)
        try:
            hosts = await expand_targets(
                targets, self._settings.max_hosts_per_scan, self._resolver, self._settings.resolve_budget()
            )
        except TargetUnresolvable as unresolved:  # answered like a refusal: DNS is not an oracle
            raise refuse(unresolved.names[0], "does not resolve", unresolved=unresolved.names) from None
        for host in hosts:
            scope.check(host, self._settings.platform_networks())
        return hosts

    def excluded(self, hosts: list[Host], ports: list[int]) -> list[str]:
        exclusions = Exclusions(self._settings.platform_endpoint_set())
        return exclusions.listed((h.address for h in hosts), ports)

    async def create(self, request: scan_pb2.CreateScanRequest, request_id: str) -> Document:
        owner = request.owner
        require_owner(owner)
        targets = domain.check_targets(list(request.targets))
        scan_type = enum_word(scan_pb2.ScanType, request.scan_type) or "tcp"
        if scan_type not in domain.SCAN_TYPES:
            raise InvalidArgument("scan_type must be tcp", field="scan_type", value=scan_type)
        profile = enum_word(scan_pb2.ScanProfile, request.profile) or "standard"
        if profile not in domain.PROFILES:
            raise InvalidArgument(
                f"profile must be one of {', '.join(domain.PROFILES)}", field="profile", value=profile
            )
        defaults = domain.PROFILE_DEFAULTS[profile]
        ports_spec = request.ports or defaults.ports
        ports = parse_ports(ports_spec)
        max_duration = request.max_duration_seconds or 3600
        if not 1 <= max_duration <= domain.MAX_DURATION_SECONDS:
            raise InvalidArgument(
                "max_duration must be 1 second to 24 hours", field="max_duration", value=max_duration
            )
        plan = domain.Plan(
            ports_spec,
            defaults.service_detection or request.options.service_detection,
            defaults.ssl_check or request.options.ssl_check,
            defaults.os_detection or request.options.os_detection,
            defaults.fast_mode or request.options.fast_mode,
        )
        sandbox = owner.mode == common_pb2.KEY_MODE_TEST
        if sandbox:  # syntax only: resolving a name would already send a packet
            hosts_count = sum(
                len(p) if isinstance(p, list) else 1
                for p in (parse_target(t, self._settings.max_hosts_per_scan) for t in targets)
            )
            excluded: list[str] = []
        else:
            hosts = await self.authorised_hosts(owner.org_id, targets)
            hosts_count, excluded = len(hosts), self.excluded(hosts, ports)

        scan_id = new_id("scan")
        now = utcnow()
        doc: dict[str, Any] = {
            "_id": scan_id,
            "org_id": owner.org_id,
            "user_id": owner.user_id,
            "sandbox": sandbox,
            "targets": targets,
            "scan_type": scan_type,
            "ports": ports_spec,
            "port_count": len(ports),
            "options": {
                "os_detection": plan.os_detection,
                "service_detection": plan.service_detection,
                "ssl_check": plan.ssl_check,
                "fast_mode": plan.fast_mode,
            },
            "profile": profile,
            "max_duration_seconds": max_duration,
            "status": domain.QUEUED,
            "progress": 0,
            "estimated_duration_seconds": domain.estimate_seconds(hosts_count, len(ports), plan, sandbox),
            "excluded_endpoints": excluded,
            "day": now.strftime("%Y-%m-%d"),
            "attempts": 0,
            "lease_until": 0.0,
            "stale_at": now.timestamp() + self._settings.requeue_after_seconds,
            "created_at": now,
            "sort_key": sort_key(now, scan_id),
            "updated_at": now,
        }
        # The scan carries its own outbox entries: one insert stores the scan, its queued
        # event and its job together (the store has no multi-document transactions).
        doc["outbox"] = [events.lifecycle_entry(doc, request_id), events.job_entry(doc, request_id)]
        doc["outbox_pending"] = True
        # From here on the writes must all happen or be repaired: a cancelled RPC (client gone,
        # gateway killed) does not stop them half-way.
        admission = asyncio.ensure_future(self._admit(request, doc))
        self._admitting.add(admission)
        admission.add_done_callback(self._admitting.discard)
        return await asyncio.shield(admission)

    async def settled(self) -> None:
        """Wait for admissions whose callers went away (tests, and a clean shutdown)."""
        await asyncio.gather(*self._admitting, return_exceptions=True)

    async def _admit(self, request: scan_pb2.CreateScanRequest, doc: dict[str, Any]) -> Document:
        owner, key = request.owner, request.idempotency_key
        if key:
            replay = await self._claim_key(owner.org_id, key, fingerprint(request), doc["_id"])
            if replay is not None:
                return {**replay, "replayed": True}
        try:
            if not await self._repo.claim_daily(owner.org_id, doc["day"], request.daily_limit):
                raise domain.ScanQuotaExceeded(
                    f"daily scan quota of {request.daily_limit} reached", limit=request.daily_limit
                )
            if not await self._repo.claim_slot(owner.org_id, request.concurrent_limit):
                await self._repo.release_daily(owner.org_id, doc["day"])
                raise domain.ConcurrentLimitExceeded(
                    f"{request.concurrent_limit} scans already running or queued",
                    limit=request.concurrent_limit,
                )
        except (domain.ScanQuotaExceeded, domain.ConcurrentLimitExceeded):
            if key:
                await self._repo.idempotency.delete_one(
                    {"_id": f"{owner.org_id}|{key}", "scan_id": doc["_id"]}
                )
            raise
        await self._repo.insert(doc)
        if key:
            record = await self._repo.idempotency.find_one({"_id": f"{owner.org_id}|{key}"})
            if record is not None and record["scan_id"] != doc["_id"]:
                # A retry took the key over while this create was stalled: it owns the key, so
                # this scan goes before anything about it is published.
                await self._repo.scans.delete_one({"_id": doc["_id"], "outbox_pending": True})
                await self._repo.release_slot(owner.org_id)
                await self._repo.release_daily(owner.org_id, doc["day"])
                winner = await self._wait_for_scan(owner.org_id, record["scan_id"])
                if winner is not None:
                    return {**winner, "replayed": True}
                raise domain.ConcurrentLimitExceeded("retry this request", limit=request.concurrent_limit)
        await self._outbox.add_entries(doc["outbox"])
        await self._repo.update(doc["_id"], {"outbox_pending": False})
        return doc

    async def _claim_key(self, org_id: str, key: str, digest: str, scan_id: str) -> Document | None:
        """Bind the key to ``scan_id``; return the earlier scan when the key already has a live one.

        A key whose scan never appeared (its create died between the key and the insert) is
        taken over once it is older than the grace period, so the retry creates exactly one scan.
        """
        while True:
            seen = await self._repo.remember_key(org_id, key, digest, scan_id)
            if seen is None:
                return None
            if seen["fingerprint"] != digest:
                raise domain.IdempotencyKeyReused(
                    "this Idempotency-Key was used with a different request", field="Idempotency-Key"
                )
            existing = await self._wait_for_scan(org_id, seen["scan_id"], since=seen.get("claimed_at"))
            if existing is not None:
                return existing
            taken = await self._repo.idempotency.update_one(
                {"_id": f"{org_id}|{key}", "scan_id": seen["scan_id"]},
                {"$set": {"scan_id": scan_id, "claimed_at": time.time()}},
            )
            if taken.modified_count == 1:
                log.warning("idempotency key taken over", dangling_scan_id=seen["scan_id"], scan_id=scan_id)
                return None

    async def _wait_for_scan(self, org_id: str, scan_id: str, since: float | None = None) -> Document | None:
        """The key's scan, waiting while its create may still be running (up to the grace period)."""
        give_up = (since or time.time()) + self._settings.idempotency_grace_seconds
        while True:
            existing = await self._repo.get(org_id, scan_id)
            if existing is not None or time.time() >= give_up:
                return existing
            await asyncio.sleep(0.05)

    async def get(self, owner: common_pb2.Owner, scan_id: str) -> Document:
        require_owner(owner)
        doc = await self._repo.get(owner.org_id, scan_id, sandbox=is_sandbox(owner))
        if doc is None:
            raise domain.ScanNotFound("scan not found", scan_id=scan_id)
        return doc

    async def list_scans(self, request: scan_pb2.ListScansRequest) -> tuple[list[Document], dict[str, Any]]:
        owner = request.owner
        require_owner(owner)
        query: dict[str, Any] = {"org_id": owner.org_id, **world(is_sandbox(owner))}
        if request.target:
            query["targets"] = {"$in": [request.target]}
        if request.status:
            query["status"] = STATUS_NAMES[request.status]
        created: dict[str, Any] = {}
        after, before = from_timestamp(request.created.after), from_timestamp(request.created.before)
        if after:
            created["$gte"] = micros(after) * 1000
        if before:
            created["$lt"] = micros(before) * 1000
        if created:
            query["sort_key"] = created
        page = request.page
        sort = page.sort or "created_at"
        if sort not in SORTS:
            raise InvalidArgument(f"sort must be one of {', '.join(SORTS)}", field="sort", value=sort)
        direction = -1 if page.descending or not page.sort else 1
        per_page = min(max(page.per_page or 20, 1), MAX_PER_PAGE)
        number = max(page.page or 1, 1)
        order = [(SORTS[sort], direction), ("sort_key", direction)]
        if page.cursor:
            if sort != "created_at":
                raise InvalidArgument("cursor paging is by created_at only", field="cursor")
            bound = {("$lt" if direction < 0 else "$gt"): decode_cursor(page.cursor)}
            query["sort_key"] = {**query.get("sort_key", {}), **bound}
            order = [("sort_key", direction)]
            docs, remaining = await self._repo.find(query, order, 0, per_page)
            total = remaining
        else:
            docs, total = await self._repo.find(query, order, (number - 1) * per_page, per_page)
        more = (len(docs) == per_page) and (total > per_page if page.cursor else number * per_page < total)
        info = {
            "total": total,
            "page": number,
            "per_page": per_page,
            "pages": -(-total // per_page) if total else 0,
            "next_cursor": encode_cursor(docs[-1]) if docs and more and sort == "created_at" else "",
        }
        return docs, info

    async def cancel(self, owner: common_pb2.Owner, scan_id: str, request_id: str) -> Document:
        doc = await self.get(owner, scan_id)
        if doc["status"] in domain.FINAL_STATES:
            return doc
        queued = await self._repo.transition(
            scan_id, (domain.QUEUED,), {"status": domain.CANCELLED, "completed_at": utcnow()}
        )
        if queued is not None:
            await self._repo.release_slot(owner.org_id)
            await events.lifecycle(
                self._outbox,
                queued,
                request_id,
                error=scan_pb2.ScanError(code="SCAN_CANCELLED", message="cancelled by the caller"),
            )
            return queued
        await self._repo.update(scan_id, {"cancel_requested": True})
        if self._nc is not None and self._nc.is_connected:
            await self._nc.publish(events.CONTROL_SUBJECT, scan_id.encode())
        deadline = asyncio.get_running_loop().time() + 2.0  # workers stop within a second
        while asyncio.get_running_loop().time() < deadline:
            current = await self.get(owner, scan_id)
            if current["status"] in domain.FINAL_STATES:
                return current
            await asyncio.sleep(0.05)
        return await self.get(owner, scan_id)

    async def results(
        self, owner: common_pb2.Owner, scan_id: str
    ) -> tuple[Document, list[Document], list[Document]]:
        doc = await self.get(owner, scan_id)
        return doc, await self._repo.ports_of(scan_id), await self._repo.hosts_of(scan_id)

    async def delete_results(self, owner: common_pb2.Owner, scan_id: str) -> int:
        doc = await self.get(owner, scan_id)
        if doc["status"] not in domain.FINAL_STATES:
            raise ScanNotFinished("results can be deleted once the scan has finished", scan_id=scan_id)
        deleted = await self._repo.delete_results(scan_id)
        await self._repo.update(scan_id, {"results_deleted_at": utcnow()})
        return deleted

    async def usage(self, owner: common_pb2.Owner, since: datetime) -> scan_pb2.Usage:
        require_owner(owner)
        counts = await self._repo.usage(owner.org_id, micros(since) * 1000)
        by_status = counts["by_status"]
        return scan_pb2.Usage(
            scans_total=sum(by_status.values()),
            scans_since=counts["scans_since"],
            active_scans=sum(by_status.get(state, 0) for state in domain.ACTIVE_STATES),
            by_status=by_status,
        )
