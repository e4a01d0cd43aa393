"""Scan workers: pull jobs from the SCAN_JOBS work queue, run the engine, publish and store.

Any number of worker processes share one durable consumer. A job is acknowledged only when
its scan reached a final state; while it runs the worker reports progress to JetStream so it
is not redelivered, and a worker that dies (kill -9) stops reporting, so the job goes to
another worker, which runs the scan again. Port results are upserted and every event has a
deterministic id, so a second run duplicates nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import structlog
from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig

from rampart.lib.catalogue import subjects
from rampart.lib.errors import RampartError
from rampart.lib.events import EventPublisher, retry_delay
from rampart.lib.ids import utcnow
from rampart.lib.logging import bind_request, configure_logging
from rampart.lib.metrics import serve_metrics
from rampart.lib.outbox import Outbox
from rampart.lib.runtime import Infra, connect_infra
from rampart.lib.settings import load_settings
from rampart.lib.store import Document, read_time
from rampart.scan.v1 import scan_pb2
from rampart_scan import domain, events
from rampart_scan.api import port_to_proto
from rampart_scan.durable import Leases
from rampart_scan.engine.exclusions import Exclusions, own_listening_ports
from rampart_scan.engine.ports import parse_ports
from rampart_scan.engine.scanner import (
    EngineOptions,
    Event,
    HostDone,
    PortFinding,
    PortFound,
    Progress,
    ServiceFound,
    scan_hosts,
)
from rampart_scan.repository import ScanRepository
from rampart_scan.sandbox import sandbox_scan
from rampart_scan.scope import ScopeBook
from rampart_scan.service import ScanCommands
from rampart_scan.settings import ScanSettings

log = structlog.get_logger(__name__)
DURABLE = subjects.SCAN_WORKERS_DURABLE
MAX_DELIVER = 5
PROGRESS_EVERY = 0.25  # seconds between progress events
HEARTBEAT_SECONDS = 2.0
STORE_PROGRESS_EVERY = 1.0


def worker_exclusions(settings: ScanSettings) -> Exclusions:
    """PLATFORM_ENDPOINTS, plus every port this worker listens on, on every local address."""
    ports = own_listening_ports()
    if settings.metrics_port:
        ports |= {settings.metrics_port}
    return Exclusions(settings.platform_endpoint_set(), ports)


def finding_fields(finding: PortFinding) -> dict[str, Any]:
    fields: dict[str, Any] = {"state": finding.state, "rtt_ms": finding.rtt_ms}
    if finding.service is not None:
        service = finding.service
        fields["service"] = {
            "name": service.name,
            "product": service.product,
            "version": service.version,
            "extra_info": service.extra_info,
            "cpe": service.cpe,
            "confidence": service.confidence,
            "evidence": service.evidence,
        }
    if finding.tls is not None:
        tls, cert = finding.tls, finding.tls.certificate
        fields["tls"] = {
            "protocols_accepted": tls.protocols_accepted,
            "negotiated_protocol": tls.negotiated_protocol,
            "negotiated_cipher": tls.negotiated_cipher,
            "weaknesses": tls.weaknesses,
            "certificate": None
            if cert is None
            else {
                "subject": cert.subject,
                "issuer": cert.issuer,
                "subject_alt_names": cert.subject_alt_names,
                "not_before": cert.not_before,
                "not_after": cert.not_after,
                "key_type": cert.key_type,
                "key_bits": cert.key_bits,
                "signature_algorithm": cert.signature_algorithm,
                "self_signed": cert.self_signed,
                "expired": cert.expired,
                "not_yet_valid": cert.not_yet_valid,
                "hostname_mismatch": cert.hostname_mismatch,
            },
        }
    return fields


@dataclass
class Run:
    """One scan being executed: its document and what it has found so far."""

    doc: Document
    request_id: str
    attempt: int
    counts: dict[str, int] = field(default_factory=lambda: {"open": 0, "closed": 0, "filtered": 0})
    progress: int = 0
    sent_progress: float = 0.0
    stored_progress: float = 0.0
    sequence: int = 0
    claim: str = ""


class Worker:
    """Runs scan jobs, up to ``worker_concurrency`` at a time."""

    def __init__(
        self, infra: Infra, repo: ScanRepository, commands: ScanCommands, settings: ScanSettings
    ) -> None:
        self._infra = infra
        self._repo = repo
        self._commands = commands
        self._settings = settings
        self._outbox: Outbox = infra.outbox()
        self._publisher = EventPublisher(infra.js)
        self._id = f"{socket.gethostname()}:{os.getpid()}"
        self._jobs: set[asyncio.Task[None]] = set()
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._cancelled_by_user: set[str] = set()
        self._claims: dict[str, str] = {}
        self._leases = Leases(repo, self._id, settings.lease_seconds, settings.requeue_after_seconds)

    # ---- the queue ---------------------------------------------------------------------
    async def run(self) -> None:
        await self._infra.nc.subscribe(events.CONTROL_SUBJECT, cb=self._on_control)
        watcher = asyncio.gather(self._watch_cancellations(), self._announce())
        subscription = None
        try:
            while True:
                if len(self._jobs) >= self._settings.worker_concurrency:
                    await asyncio.wait(self._jobs, timeout=0.25, return_when=asyncio.FIRST_COMPLETED)
                    if subscription is not None and subscription.pending_msgs:
                        await self._hand_back(subscription)
                    continue
                try:
                    if subscription is None:
                        subscription = await self._infra.js.pull_subscribe(
                            events.JOB_SUBJECT,
                            durable=DURABLE,
                            stream=subjects.SCAN_JOBS_STREAM,
                            config=ConsumerConfig(
                                durable_name=DURABLE,
                                ack_policy=AckPolicy.EXPLICIT,
                                ack_wait=self._settings.job_ack_wait_seconds,
                                max_deliver=MAX_DELIVER,
                                max_ack_pending=10_000,
                            ),
                        )
                        log.info("worker ready", worker=self._id)
                    # One at a time: fetch(n) returns every message already buffered, whatever n.
                    messages = await subscription.fetch(1, timeout=1.0)
                except (nats.errors.TimeoutError, TimeoutError):
                    continue
                except (nats.errors.Error, OSError) as error:
                    log.warning("worker waiting for broker", error=str(error))
                    await asyncio.sleep(0.5)
                    continue
                for message in messages:
                    job = asyncio.create_task(self._handle(message))
                    self._jobs.add(job)
                    job.add_done_callback(self._jobs.discard)
        finally:
            watcher.cancel()
            for job in list(self._jobs):
                job.cancel()
            await asyncio.gather(*self._jobs, watcher, return_exceptions=True)

    async def _hand_back(self, subscription: Any) -> None:
        """A delivery that reached this busy worker late (a pull request that outlived its fetch)
        goes back to the queue now, instead of waiting unseen for ack_wait and then running here
        while another worker runs its redelivery (the double runs of issue 8, item 20)."""
        with contextlib.suppress(nats.errors.Error, OSError, TimeoutError):
            for message in await subscription.fetch(1, timeout=0.2):
                await message.nak()
                log.info("busy: job handed back", subject=message.subject)

    async def _handle(self, message: Msg) -> None:
        try:
            job = scan_pb2.ScanJob.FromString(message.data)
        except DecodeError:
            await message.term()
            return
        bind_request(job.request_id or job.scan_id)
        attempt = message.metadata.num_delivered or 1
        heartbeat = asyncio.create_task(self._heartbeat(message, job.scan_id))
        try:
            if not await self._execute(job.scan_id, attempt, job.request_id):
                # Another worker holds a live lease on this scan. Neither ack nor nak: an ack or
                # nak of an old delivery settles the current one too, and the holder acks it
                # when done; if the holder dies, ack_wait redelivers it after the lease expired.
                log.info("scan held by another worker; not run", scan_id=job.scan_id, attempt=attempt)
                return
            await message.ack()
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):  # shutting down: hand the job to another worker now
                await asyncio.wait_for(message.nak(), timeout=0.5)
            raise
        except Exception as error:
            log.error("scan job failed", scan_id=job.scan_id, attempt=attempt, exc_info=error)
            if attempt >= MAX_DELIVER:
                doc = await self._repo.by_id(job.scan_id)
                if doc is not None:
                    await self._finalize(
                        Run(doc, job.request_id, attempt),
                        domain.FAILED,
                        scan_pb2.ScanError(code="INTERNAL_ERROR", message="the scan could not be run"),
                    )
                await message.ack()
            else:
                await message.nak(delay=retry_delay(attempt))
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, message: Msg, scan_id: str) -> None:
        while True:
            await asyncio.sleep(self._settings.job_ack_wait_seconds / 3)
            token = self._claims.get(scan_id)
            if token is None:
                continue  # not (yet, or no longer) running here: nothing to keep alive
            with contextlib.suppress(nats.errors.Error, OSError):
                await message.in_progress()
            try:
                if not await self._leases.renew(scan_id, token):
                    log.warning("lease lost", scan_id=scan_id)
            except Exception as error:  # the store is away: the lease may lapse; finishing checks it
                log.warning("lease not renewed", scan_id=scan_id, error=str(error))

    async def _announce(self) -> None:
        """Tell gateways this worker is alive and how busy it is (their health shows it)."""
        while True:
            beat = {
                "worker": self._id,
                "running": len(self._running),
                "capacity": self._settings.worker_concurrency,
            }
            with contextlib.suppress(nats.errors.Error, OSError):
                await self._infra.nc.publish(events.HEARTBEAT_SUBJECT, json.dumps(beat).encode())
            await asyncio.sleep(HEARTBEAT_SECONDS)

    # ---- cancellation --------------------------------------------------------------------
    def _cancel(self, scan_id: str) -> None:
        task = self._running.get(scan_id)
        if task is not None and scan_id not in self._cancelled_by_user:
            self._cancelled_by_user.add(scan_id)
            task.cancel()

    async def _on_control(self, message: Msg) -> None:
        self._cancel(message.data.decode(errors="replace"))

    async def _watch_cancellations(self) -> None:
        """The broadcast can be missed (a reconnect): also look at the store every second."""
        while True:
            await asyncio.sleep(self._settings.cancel_poll_seconds)
            for scan_id in list(self._running):
                with contextlib.suppress(Exception):
                    doc = await self._repo.by_id(scan_id)
                    if doc is not None and doc.get("cancel_requested"):
                        self._cancel(scan_id)

    # ---- one scan ------------------------------------------------------------------------
    async def _execute(self, scan_id: str, attempt: int, request_id: str) -> bool:
        """Run the scan under a lease; False when another worker's live lease holds it."""
        doc = await self._repo.by_id(scan_id)
        if doc is None or doc["status"] in domain.FINAL_STATES:
            return True
        run = Run(doc, request_id, attempt)
        if doc.get("cancel_requested"):
            await self._finalize(
                run,
                domain.CANCELLED,
                scan_pb2.ScanError(code="SCAN_CANCELLED", message="cancelled by the caller"),
            )
            return True
        started_at = read_time(doc.get("started_at")) or utcnow()
        running = await self._leases.claim(scan_id, {"started_at": started_at})
        if running is None:
            current = await self._repo.by_id(scan_id)
            return current is None or current["status"] in domain.FINAL_STATES
        run.doc, run.attempt, run.claim = running, int(running["attempts"]), running["claim"]
        self._claims[scan_id] = run.claim
        await events.lifecycle(self._outbox, running, request_id)
        remaining = doc["max_duration_seconds"] - (utcnow() - started_at).total_seconds()
        self._running[scan_id] = asyncio.current_task()  # type: ignore[assignment]
        try:
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):
                async for event in self._events(running):
                    await self._apply(run, event)
        except TimeoutError:
            await self._finalize(
                run,
                domain.TIMEOUT,
                scan_pb2.ScanError(
                    code="SCAN_TIMEOUT",
                    message=f"stopped after max_duration ({doc['max_duration_seconds']} s)",
                ),
            )
        except asyncio.CancelledError:
            if scan_id not in self._cancelled_by_user:
                raise
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            await self._finalize(
                run,
                domain.CANCELLED,
                scan_pb2.ScanError(code="SCAN_CANCELLED", message="cancelled by the caller"),
            )
        except RampartError as refused:  # e.g. the target left the scope since it was accepted
            await self._finalize(
                run, domain.FAILED, scan_pb2.ScanError(code=refused.public_code, message=refused.message)
            )
        else:
            await self._finalize(run, domain.COMPLETED)
        finally:
            self._running.pop(scan_id, None)
            self._claims.pop(scan_id, None)
            self._cancelled_by_user.discard(scan_id)
        return True

    def _events(self, doc: Document) -> Any:
        options = EngineOptions(
            ports=doc["ports"], max_hosts=self._settings.max_hosts_per_scan, **doc["options"]
        )
        if doc.get("sandbox"):
            return sandbox_scan(doc["targets"], options)
        return self._live_events(doc, options)

    async def _live_events(self, doc: Document, options: EngineOptions) -> Any:
        hosts = await self._commands.authorised_hosts(doc["org_id"], doc["targets"])  # checked again, now
        exclusions = self.exclusions()
        listed = exclusions.listed((host.address for host in hosts), parse_ports(doc["ports"]))
        if listed != doc.get("excluded_endpoints"):
            await self._repo.update(doc["_id"], {"excluded_endpoints": listed})
        async for event in scan_hosts(hosts, options, exclusions):
            yield event

    def exclusions(self) -> Exclusions:
        return worker_exclusions(self._settings)

    async def _apply(self, run: Run, event: Event) -> None:
        doc, scan_id = run.doc, run.doc["_id"]
        if isinstance(event, Progress):
            run.progress = event.percent
            now = time.monotonic()
            if now - run.sent_progress >= PROGRESS_EVERY:
                run.sent_progress, run.sequence = now, run.sequence + 1
                progress = scan_pb2.Progress(
                    ports_done=event.ports_done, ports_total=event.ports_total, percent=event.percent
                )
                message = events.event(
                    doc,
                    scan_pb2.SCAN_EVENT_TYPE_PROGRESS,
                    f"{scan_id}.progress.{run.attempt}.{run.sequence}",
                    progress=progress,
                )
                await self._send(message, run)
            if now - run.stored_progress >= STORE_PROGRESS_EVERY:
                run.stored_progress = now
                await self._repo.update(scan_id, {"progress": event.percent})
        elif isinstance(event, PortFound | ServiceFound):
            host, finding = str(event.host.address), event.finding
            found = isinstance(event, PortFound)
            kind = scan_pb2.SCAN_EVENT_TYPE_PORT_FOUND if found else scan_pb2.SCAN_EVENT_TYPE_SERVICE_DETECTED
            port = self._port_message(host, finding)
            message = events.event(
                doc, kind, f"{scan_id}.{'port' if found else 'service'}.{host}.{finding.port}", port=port
            )
            await self._send(message, run)
            await self._repo.save_port(
                scan_id,
                doc["org_id"],
                host,
                finding.port,
                {**finding_fields(finding), "name": event.host.name, "found_at": utcnow()},
            )
        elif isinstance(event, HostDone):
            report = event.report
            for state, count in report.counts.items():
                run.counts[state] = run.counts.get(state, 0) + count
            host = str(report.host.address)
            for finding in report.open_ports:
                await self._repo.save_port(
                    scan_id,
                    doc["org_id"],
                    host,
                    finding.port,
                    {**finding_fields(finding), "name": report.host.name},
                )
            await self._repo.save_host(
                scan_id,
                doc["org_id"],
                host,
                {
                    "name": report.host.name,
                    "counts": report.counts,
                    "filtered_ports": report.filtered_ports,
                    "duration_seconds": report.duration_seconds,
                    "os": None
                    if report.os is None
                    else {
                        "name": report.os.name,
                        "confidence": report.os.confidence,
                        "evidence": report.os.evidence,
                    },
                },
            )
            await self._repo.update(scan_id, {"counts": run.counts})

    @staticmethod
    def _port_message(host: str, finding: PortFinding) -> scan_pb2.PortResult:
        return port_to_proto({"host": host, "port": finding.port, **finding_fields(finding)})

    async def _send(self, message: scan_pb2.ScanEvent, run: Run) -> None:
        try:
            await events.live(self._publisher, message, run.request_id)
        except (nats.errors.Error, OSError, TimeoutError) as error:
            # Live events are a view of stored results; the final event still goes through the outbox.
            log.warning("live event not sent", event_id=message.event_id, error=str(error))

    async def _finalize(self, run: Run, status: str, error: scan_pb2.ScanError | None = None) -> None:
        doc = run.doc
        changes: dict[str, Any] = {"status": status, "completed_at": utcnow(), "counts": run.counts}
        if status == domain.COMPLETED:
            changes["progress"] = 100
        if error is not None:
            changes["error"] = {"code": error.code, "message": error.message}
        if run.claim:
            final = await self._leases.finish(doc["_id"], run.claim, changes)
        else:
            final = await self._repo.transition(doc["_id"], domain.ACTIVE_STATES, changes)
        if final is None:
            return  # finished elsewhere (a cancel of a queued scan, or a worker that took it over)
        await self._repo.release_slot(final["org_id"])
        started, finished = read_time(final.get("started_at")), read_time(final.get("completed_at"))
        duration = (finished - started).total_seconds() if started and finished else 0.0
        summary = scan_pb2.PortCounts(total_scanned=sum(run.counts.values()), **run.counts)
        await events.lifecycle(
            self._outbox,
            final,
            run.request_id,
            summary=summary,
            error=error,
            duration_seconds=duration,
            at=finished,
        )
        log.info("scan finished", scan_id=doc["_id"], status=status, duration_seconds=round(duration, 3))


async def serve(settings: ScanSettings) -> None:
    infra = await connect_infra("scan", settings)
    repo = ScanRepository(infra.db)
    await repo.create_indexes()
    scopes = ScopeBook(settings.scan_scope_file, settings.platform_networks(), settings.default_scope())
    commands = ScanCommands(repo, infra.outbox(), scopes, settings, infra.nc)
    worker = Worker(infra, repo, commands, settings)
    outbox = infra.outbox()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(worker.run()), asyncio.create_task(outbox.run())]
    await stop.wait()
    log.info("worker stopping")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await infra.close()
    log.info("worker stopped")


def main() -> None:
    settings = load_settings(ScanSettings)
    configure_logging("scan-worker", settings.log_level)
    if settings.metrics_port:
        serve_metrics(settings.host, settings.metrics_port)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
