"""In-memory auth-service and scan-service: the gRPC methods the gateway's handlers call.

Each keeps what it is given, answers with real proto messages, records every request
(``requests``, ``last``) and can be told to fail a method as the real service does
(``fail(method, rpc_error(...))``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterable
from typing import Any

import grpc
from google.protobuf.message import Message

from rampart.auth.v1 import auth_pb2
from rampart.common.v1 import common_pb2
from rampart.lib.errors import rich_status
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2

PLAN = auth_pb2.Plan(
    name="pro",
    requests_per_hour=10_000,
    scans_per_day=50,
    concurrent_scans=3,
    concurrent_streams=25,
    ai_requests_per_day=40,
    ai_tokens_per_day=9_000,
)


def rpc_error(
    status: grpc.StatusCode, message: str, code: str | None = None, **details: Any
) -> grpc.aio.AioRpcError:
    """A failed call as a service reports it: status, message, and its public code and details."""
    trailers = (
        []
        if code is None
        else [("grpc-status-details-bin", rich_status(status, code, message, details).SerializeToString())]
    )
    return grpc.aio.AioRpcError(status, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), message)


class Call:
    """What a grpc.aio unary call returns: awaitable for the reply, with initial metadata."""

    def __init__(self, produce: Callable[[], Message], initial: Iterable[tuple[str, str]] = ()) -> None:
        self._produce = produce
        self.initial = tuple(initial)

    def __await__(self) -> Generator[Any, None, Message]:
        return self._answer().__await__()

    async def _answer(self) -> Message:
        return self._produce()

    async def initial_metadata(self) -> grpc.aio.Metadata:
        return grpc.aio.Metadata(*self.initial)


class StubService:
    """Records every request by method; ``fail(method, error)`` makes the next calls raise it."""

    def __init__(self) -> None:
        self.requests: dict[str, list[Message]] = {}
        self.failures: dict[str, Exception] = {}

    def fail(self, method: str, error: Exception) -> None:
        self.failures[method] = error

    def _call(
        self,
        method: str,
        request: Message,
        produce: Callable[[], Message],
        initial: Iterable[tuple[str, str]] = (),
    ) -> Call:
        self.requests.setdefault(method, []).append(request)

        def answer() -> Message:
            if method in self.failures:
                raise self.failures[method]
            return produce()

        return Call(answer, initial)

    def last(self, method: str) -> Any:
        return self.requests[method][-1]


def scan_not_found(scan_id: str) -> grpc.aio.AioRpcError:
    return rpc_error(
        grpc.StatusCode.NOT_FOUND, f"scan {scan_id} not found", "SCAN_NOT_FOUND", scan_id=scan_id
    )


class StubScan(StubService):
    """scan-service in memory: scans by id (per organisation), results, idempotency keys."""

    def __init__(self) -> None:
        super().__init__()
        self.scans: dict[str, scan_pb2.Scan] = {}
        self.results: dict[str, scan_pb2.ScanResults] = {}
        self.keys: dict[tuple[str, str], str] = {}  # (org, idempotency key) -> scan id
        self.page = common_pb2.PageInfo()
        self.diffs: dict[str, scan_pb2.ScanDiff] = {}  # by the newer scan's id
        self.schedules: dict[str, scan_pb2.Schedule] = {}
        self._ids = itertools.count(1)

    def add(self, scan: scan_pb2.Scan, ports: Iterable[scan_pb2.PortResult] = ()) -> scan_pb2.Scan:
        self.scans[scan.scan_id] = scan
        self.results[scan.scan_id] = scan_pb2.ScanResults(scan=scan, ports=list(ports))
        return scan

    def _own(self, owner: common_pb2.Owner, scan_id: str) -> scan_pb2.Scan:
        scan = self.scans.get(scan_id)
        if scan is None or scan.owner.org_id != owner.org_id:
            raise scan_not_found(scan_id)
        return scan

    def CreateScan(self, request: scan_pb2.CreateScanRequest, timeout: float) -> Call:
        known = self.keys.get((request.owner.org_id, request.idempotency_key))
        if request.idempotency_key and known:
            return self._call(
                "CreateScan", request, lambda: self.scans[known], [("rampart-idempotent-replay", "true")]
            )

        def create() -> scan_pb2.Scan:
            scan = scan_pb2.Scan(
                scan_id=f"scan_{next(self._ids):04d}",
                owner=request.owner,
                targets=request.targets,
                scan_type=request.scan_type,
                ports=request.ports,
                profile=request.profile,
                options=request.options,
                status=scan_pb2.SCAN_STATUS_QUEUED,
                sandbox=request.owner.mode == common_pb2.KEY_MODE_TEST,
                estimated_duration_seconds=30,
            )
            scan.created_at.GetCurrentTime()
            if request.idempotency_key:
                self.keys[(request.owner.org_id, request.idempotency_key)] = scan.scan_id
            return self.add(scan)

        return self._call("CreateScan", request, create)

    def GetScan(self, request: scan_pb2.GetScanRequest, timeout: float) -> Call:
        return self._call("GetScan", request, lambda: self._own(request.owner, request.scan_id))

    def ListScans(self, request: scan_pb2.ListScansRequest, timeout: float) -> Call:
        def listing() -> scan_pb2.ListScansResponse:
            mine = [s for s in self.scans.values() if s.owner.org_id == request.owner.org_id]
            return scan_pb2.ListScansResponse(scans=mine, page=self.page)

        return self._call("ListScans", request, listing)

    def CancelScan(self, request: scan_pb2.CancelScanRequest, timeout: float) -> Call:
        def cancel() -> scan_pb2.Scan:
            scan = self._own(request.owner, request.scan_id)
            scan.status = scan_pb2.SCAN_STATUS_CANCELLED
            return scan

        return self._call("CancelScan", request, cancel)

    def ResumeScan(self, request: scan_pb2.ResumeScanRequest, timeout: float) -> Call:
        def resume() -> scan_pb2.Scan:
            scan = self._own(request.owner, request.scan_id)
            scan.status, scan.resumes = scan_pb2.SCAN_STATUS_QUEUED, scan.resumes + 1
            return scan

        return self._call("ResumeScan", request, resume)

    def GetScanResults(self, request: scan_pb2.GetScanResultsRequest, timeout: float) -> Call:
        def results() -> scan_pb2.ScanResults:
            self._own(request.owner, request.scan_id)
            return self.results[request.scan_id]

        return self._call("GetScanResults", request, results)

    def DeleteScanResults(self, request: scan_pb2.DeleteScanResultsRequest, timeout: float) -> Call:
        def delete() -> scan_pb2.DeleteScanResultsResponse:
            self._own(request.owner, request.scan_id)
            deleted = len(self.results[request.scan_id].ports)
            del self.results[request.scan_id].ports[:]
            return scan_pb2.DeleteScanResultsResponse(deleted_ports=deleted)

        return self._call("DeleteScanResults", request, delete)

    def GetUsage(self, request: scan_pb2.GetUsageRequest, timeout: float) -> Call:
        def usage() -> scan_pb2.Usage:
            mine = [s for s in self.scans.values() if s.owner.org_id == request.owner.org_id]
            return scan_pb2.Usage(
                scans_total=len(mine), scans_since=len(mine), by_status={"queued": len(mine)}
            )

        return self._call("GetUsage", request, usage)

    def DiffScans(self, request: scan_pb2.DiffScansRequest, timeout: float) -> Call:
        def diff() -> scan_pb2.ScanDiff:
            scan = self._own(request.owner, request.scan_id)
            against = self._own(request.owner, request.against_scan_id) if request.against_scan_id else scan
            return self.diffs.get(request.scan_id) or scan_pb2.ScanDiff(scan=scan, against=against)

        return self._call("DiffScans", request, diff)

    def _own_schedule(self, owner: common_pb2.Owner, schedule_id: str) -> scan_pb2.Schedule:
        found = self.schedules.get(schedule_id)
        if found is None or found.owner.org_id != owner.org_id:
            raise rpc_error(grpc.StatusCode.NOT_FOUND, "schedule not found", "SCHEDULE_NOT_FOUND")
        return found

    def CreateSchedule(self, request: scan_pb2.CreateScheduleRequest, timeout: float) -> Call:
        def create() -> scan_pb2.Schedule:
            made = scan_pb2.Schedule(
                schedule_id=f"sched_{next(self._ids):04d}", owner=request.owner, spec=request.spec
            )
            self.schedules[made.schedule_id] = made
            return made

        return self._call("CreateSchedule", request, create)

    def GetSchedule(self, request: scan_pb2.GetScheduleRequest, timeout: float) -> Call:
        return self._call(
            "GetSchedule", request, lambda: self._own_schedule(request.owner, request.schedule_id)
        )

    def ListSchedules(self, request: scan_pb2.ListSchedulesRequest, timeout: float) -> Call:
        def listing() -> scan_pb2.ListSchedulesResponse:
            mine = [s for s in self.schedules.values() if s.owner.org_id == request.owner.org_id]
            return scan_pb2.ListSchedulesResponse(
                schedules=mine, page=common_pb2.PageInfo(total=len(mine), page=1, per_page=20, pages=1)
            )

        return self._call("ListSchedules", request, listing)

    def UpdateSchedule(self, request: scan_pb2.UpdateScheduleRequest, timeout: float) -> Call:
        def update() -> scan_pb2.Schedule:
            found = self._own_schedule(request.owner, request.schedule_id)
            for path in request.update_paths:
                if path == "options":
                    found.spec.options.CopyFrom(request.spec.options)
                elif path == "targets":
                    found.spec.ClearField("targets")
                    found.spec.targets.extend(request.spec.targets)
                else:
                    setattr(found.spec, path, getattr(request.spec, path))
            return found

        return self._call("UpdateSchedule", request, update)

    def DeleteSchedule(self, request: scan_pb2.DeleteScheduleRequest, timeout: float) -> Call:
        def delete() -> scan_pb2.DeleteScheduleResponse:
            self._own_schedule(request.owner, request.schedule_id)
            del self.schedules[request.schedule_id]
            return scan_pb2.DeleteScheduleResponse()

        return self._call("DeleteSchedule", request, delete)


class StubAuth(StubService):
    """auth-service in memory: API keys with their secrets, tokens, tickets, the profile."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[str, auth_pb2.ApiKey] = {}
        self._ids = itertools.count(1)

    def add_key(
        self, name: str = "", mode: int = common_pb2.KEY_MODE_LIVE, scopes: Iterable[str] = ("*",)
    ) -> auth_pb2.CreatedApiKey:
        """A new key (ids key_0001, key_0002, …) and its secret."""
        number = next(self._ids)
        prefix = "sk_test_" if mode == common_pb2.KEY_MODE_TEST else "sk_live_"
        key = auth_pb2.ApiKey(
            key_id=f"key_{number:04d}", name=name, mode=mode, prefix=f"{prefix}{number:04d}", scopes=scopes
        )
        key.created_at.GetCurrentTime()
        self.keys[key.key_id] = key
        return auth_pb2.CreatedApiKey(key=key, secret=f"{key.prefix}SECRET{number:04d}")

    def _existing(self, key_id: str) -> auth_pb2.ApiKey:
        if key_id not in self.keys:
            raise rpc_error(grpc.StatusCode.NOT_FOUND, "no such API key")
        return self.keys[key_id]

    def Register(self, request: auth_pb2.RegisterRequest, timeout: float) -> Call:
        def register() -> auth_pb2.RegisterResponse:
            created = self.add_key("default", common_pb2.KEY_MODE_LIVE, ["*"])
            return auth_pb2.RegisterResponse(user_id="usr_1", org_id="org_1", api_key=created)

        return self._call("Register", request, register)

    def IssueToken(self, request: auth_pb2.IssueTokenRequest, timeout: float) -> Call:
        reply = auth_pb2.TokenResponse(access_token="a.b.c", token_type="bearer", expires_in=3600)
        return self._call("IssueToken", request, lambda: reply)

    def IssueStreamTicket(self, request: auth_pb2.IssueStreamTicketRequest, timeout: float) -> Call:
        reply = auth_pb2.StreamTicket(ticket="st_" + "t" * 43, expires_in=60)
        return self._call("IssueStreamTicket", request, lambda: reply)

    def CreateApiKey(self, request: auth_pb2.CreateApiKeyRequest, timeout: float) -> Call:
        return self._call(
            "CreateApiKey", request, lambda: self.add_key(request.name, request.mode, request.scopes)
        )

    def ListApiKeys(self, request: auth_pb2.ListApiKeysRequest, timeout: float) -> Call:
        def listing() -> auth_pb2.ListApiKeysResponse:
            keys = [k for k in self.keys.values() if request.include_revoked or not k.HasField("revoked_at")]
            return auth_pb2.ListApiKeysResponse(keys=keys)

        return self._call("ListApiKeys", request, listing)

    def RevokeApiKey(self, request: auth_pb2.RevokeApiKeyRequest, timeout: float) -> Call:
        def revoke() -> auth_pb2.ApiKey:
            key = self._existing(request.key_id)
            key.revoked_at.GetCurrentTime()
            return key

        return self._call("RevokeApiKey", request, revoke)

    def RotateApiKey(self, request: auth_pb2.RotateApiKeyRequest, timeout: float) -> Call:
        def rotate() -> auth_pb2.CreatedApiKey:
            old = self._existing(request.key_id)
            old.revoked_at.GetCurrentTime()
            return self.add_key(old.name, old.mode, old.scopes)

        return self._call("RotateApiKey", request, rotate)

    def GetProfile(self, request: auth_pb2.GetProfileRequest, timeout: float) -> Call:
        owner = request.owner
        reply = auth_pb2.Profile(
            user_id=owner.user_id,
            email="user@example.com",
            org_id=owner.org_id,
            organization_name="Example",
            plan=PLAN,
            mode=owner.mode,
            key_id=owner.key_id,
        )
        return self._call("GetProfile", request, lambda: reply)


class StubAnalyses(StubService):
    """threat-service's analysis RPCs in memory: analyses by id, per organisation."""

    def __init__(self) -> None:
        super().__init__()
        self.analyses: dict[str, threat_pb2.ThreatAnalysis] = {}
        self.owners: dict[str, str] = {}
        self._ids = itertools.count(1)

    def add(self, analysis: threat_pb2.ThreatAnalysis, org_id: str) -> None:
        self.analyses[analysis.analysis_id] = analysis
        self.owners[analysis.analysis_id] = org_id

    def AnalyzeThreat(self, request: threat_pb2.AnalyzeThreatRequest, timeout: float) -> Call:
        def analyze() -> threat_pb2.ThreatAnalysis:
            reply = threat_pb2.ThreatAnalysis(
                analysis_id=f"ana_{next(self._ids):04d}",
                target=request.target,
                kind=request.kind or threat_pb2.INDICATOR_KIND_DOMAIN,
                mode=request.mode or threat_pb2.ANALYSIS_MODE_QUICK,
                normalized=request.target.lower(),
                indicator_type="domain",
                risk_score=45,
                verdict=threat_pb2.VERDICT_SUSPICIOUS,
                confidence=0.5,
                reasons=[
                    threat_pb2.AnalysisReason(signal="brand_embedded", weight=45, evidence="e", attack=["T1"])
                ],
                attack=["T1"],
                metadata=request.metadata,
                duration_us=1500,
            )
            reply.analyzed_at.GetCurrentTime()
            self.analyses[reply.analysis_id] = reply
            self.owners[reply.analysis_id] = request.owner.org_id
            return reply

        return self._call("AnalyzeThreat", request, analyze)

    def GetAnalysis(self, request: threat_pb2.GetAnalysisRequest, timeout: float) -> Call:
        def get() -> threat_pb2.ThreatAnalysis:
            if self.owners.get(request.analysis_id) != request.owner.org_id:
                raise rpc_error(grpc.StatusCode.NOT_FOUND, "no such analysis", "NOT_FOUND")
            return self.analyses[request.analysis_id]

        return self._call("GetAnalysis", request, get)

    def ListAnalyses(self, request: threat_pb2.ListAnalysesRequest, timeout: float) -> Call:
        def page() -> threat_pb2.ListAnalysesResponse:
            own = [a for i, a in self.analyses.items() if self.owners[i] == request.owner.org_id]
            return threat_pb2.ListAnalysesResponse(analyses=own[::-1][: request.page_size or 20])

        return self._call("ListAnalyses", request, page)
