"""Scan workers: pull jobs from the SCAN_JOBS work queue and run them (``python -m rampart_scan.worker``).

Any number of worker processes share one durable consumer. A job is acknowledged only when
its scan reached a final state; while it runs the worker reports progress to JetStream so it
is not redelivered, and a worker that dies (kill -9) stops reporting, so the job goes to
another worker, which takes the scan over once the dead worker's lease has expired.
The use case is ``execution.ScanExecution``; this module wires it to the queue and the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket

import nats.errors
import structlog
from google.protobuf.message import DecodeError
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import SCAN_JOBS, ConsumerSpec, EventPublisher, PoisonMessage, bounded
from rampart.lib.logging import bind_request
from rampart.lib.runtime import Runtime, connect_infra, run_service
from rampart.lib.settings import ServiceSettings
from rampart.lib.workqueue import Job, JobFactory, Settle, WorkQueueConsumer
from rampart.scan.v1 import scan_pb2
from rampart_scan.bootstrap import authoriser
from rampart_scan.durable import Leases
from rampart_scan.engine.syn import has_cap_net_raw
from rampart_scan.events import CONTROL_SUBJECT, HEARTBEAT_SUBJECT, JOB_SUBJECT, ScanEvents
from rampart_scan.execution import ScanExecution
from rampart_scan.interfaces import ScanStore
from rampart_scan.pacing_store import Pacing
from rampart_scan.repository import ScanRepository
from rampart_scan.scan_engine import ScanEngine
from rampart_scan.settings import ScanSettings
from rampart_scan.sharding import ShardExecution

log = structlog.get_logger(__name__)
DURABLE = subjects.SCAN_WORKERS_DURABLE
MAX_DELIVER = 5
HEARTBEAT_SECONDS = 2.0


def jobs_consumer(settings: ScanSettings) -> ConsumerSpec:
    return ConsumerSpec(
        SCAN_JOBS,
        durable=DURABLE,
        filter_subject=JOB_SUBJECT,
        max_deliver=MAX_DELIVER,
        ack_wait_seconds=settings.job_ack_wait_seconds,
        max_ack_pending=10_000,
    )


class ScanJob:
    """One delivery of a scan's job (``workqueue.Job``)."""

    def __init__(self, execution: ScanExecution, scan_id: str, request_id: str) -> None:
        self._execution = execution
        self._scan_id = scan_id
        self._request_id = request_id

    async def run(self) -> Settle:
        if await self._execution.execute(self._scan_id, self._request_id):
            return Settle.ACK
        # Another worker holds a live lease on this scan. Neither ack nor nak: the holder acks
        # it when done; if the holder dies, ack_wait redelivers it after the lease expired.
        log.info("scan held by another worker; not run", scan_id=self._scan_id)
        return Settle.LEAVE

    def active(self) -> bool:
        return self._execution.holds(self._scan_id)

    async def beat(self) -> None:
        await self._execution.renew(self._scan_id)

    async def give_up(self) -> None:
        await self._execution.give_up(self._scan_id, self._request_id)


class ShardJob:
    """One delivery of a shard's job: the shard runs under its own lease (``sharding``)."""

    def __init__(self, shards: ShardExecution, scan_id: str, index: int, request_id: str) -> None:
        self._shards = shards
        self._scan_id = scan_id
        self._index = index
        self._request_id = request_id

    async def run(self) -> Settle:
        if await self._shards.execute(self._scan_id, self._index, self._request_id):
            return Settle.ACK
        log.info("shard held by another worker; not run", scan_id=self._scan_id, shard=self._index)
        return Settle.LEAVE

    def active(self) -> bool:
        return self._shards.holds(self._scan_id, self._index)

    async def beat(self) -> None:
        await self._shards.renew(self._scan_id, self._index)

    async def give_up(self) -> None:
        await self._shards.give_up(self._scan_id, self._request_id)


def scan_jobs(execution: ScanExecution, shards: ShardExecution | None = None) -> JobFactory:
    def open_job(message: Msg) -> Job:
        try:
            job = scan_pb2.ScanJob.FromString(message.data)
        except DecodeError as error:
            raise PoisonMessage(f"undecodable scan job: {error}") from error
        bind_request(job.request_id or job.scan_id)
        if job.shard and shards is not None:
            return ShardJob(shards, job.scan_id, job.shard, job.request_id)
        return ScanJob(execution, job.scan_id, job.request_id)

    return open_job


class Worker:
    """One worker process: the job queue, cancellations, and its heartbeat to the gateways."""

    def __init__(
        self,
        nc: NATS,
        queue: WorkQueueConsumer,
        execution: ScanExecution,
        store: ScanStore,
        settings: ScanSettings,
        worker_id: str,
        shards: ShardExecution | None = None,
    ) -> None:
        self._shards = shards
        self._nc = nc
        self._queue = queue
        self._execution = execution
        self._store = store
        self._settings = settings
        self._id = worker_id

    async def run(self) -> None:
        await self._nc.subscribe(CONTROL_SUBJECT, cb=self._on_control)
        watchers = asyncio.gather(self._watch_cancellations(), self._announce())
        try:
            await self._queue.run()
        finally:
            watchers.cancel()
            await asyncio.gather(watchers, return_exceptions=True)

    @property
    def running(self) -> list[str]:
        """Scans with a run (or a shard) here now."""
        shards = self._shards.running if self._shards is not None else []
        return sorted({*self._execution.running, *shards})

    def _cancel(self, scan_id: str) -> None:
        self._execution.cancel(scan_id)
        if self._shards is not None:
            self._shards.cancel(scan_id)  # every shard of the scan running here

    async def _on_control(self, message: Msg) -> None:
        self._cancel(message.data.decode(errors="replace"))

    async def _watch_cancellations(self) -> None:
        """The broadcast can be missed (a reconnect): also look at the store every second."""
        while True:
            await asyncio.sleep(self._settings.cancel_poll_seconds)
            for scan_id in self.running:
                with contextlib.suppress(Exception):
                    scan = await self._store.by_id(scan_id)
                    if scan is not None and (scan.cancel_requested or scan.is_final):
                        self._cancel(scan_id)

    async def _announce(self) -> None:
        """Tell gateways this worker is alive and how busy it is (their health shows it)."""
        while True:
            beat = {
                "worker": self._id,
                "running": len(self.running),
                "capacity": self._settings.worker_concurrency,
            }
            with contextlib.suppress(nats.errors.Error, OSError):
                await bounded(self._nc.publish(HEARTBEAT_SUBJECT, json.dumps(beat).encode()))
            await asyncio.sleep(HEARTBEAT_SECONDS)


async def bootstrap_worker(settings: ServiceSettings) -> Runtime:
    """Wire a worker process from its settings; it serves no RPC, only METRICS_PORT."""
    assert isinstance(settings, ScanSettings)
    infra = await connect_infra("scan", settings)
    repository = ScanRepository(infra.db)
    await repository.create_indexes()
    outbox = infra.outbox()
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    leases = Leases(repository, worker_id, settings.lease_seconds, settings.requeue_after_seconds)
    events = ScanEvents(outbox, EventPublisher(infra.js), infra.nc)
    engine = ScanEngine(authoriser(settings), settings)
    if settings.scan_syn and not has_cap_net_raw():
        log.warning("SCAN_SYN is on but this worker lacks CAP_NET_RAW: its TCP scans will fail")
    pacing = Pacing(infra.db["scan_rate_buckets"], settings)
    execution = ScanExecution(repository, events, engine, leases, pacer_for=pacing.pacer_for)
    shards = ShardExecution(
        repository,
        events,
        engine,
        worker_id,
        settings.lease_seconds,
        settings.requeue_after_seconds,
        pacer_for=pacing.pacer_for,
    )
    queue = WorkQueueConsumer(
        infra.js, jobs_consumer(settings), scan_jobs(execution, shards), settings.worker_concurrency
    )
    worker = Worker(infra.nc, queue, execution, repository, settings, worker_id, shards)
    log.info("worker ready", worker=worker_id)
    return Runtime("scan-worker", settings, [], tasks=[worker.run, outbox.run], closers=[infra.close])


def main() -> None:
    run_service("scan-worker", ScanSettings, bootstrap_worker)


if __name__ == "__main__":
    main()
