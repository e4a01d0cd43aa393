"""Feed use cases: import a file as one generation, report what the sources hold."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rampart_threat.feeds import readers, starter
from rampart_threat.feeds.domain import Counts, FeedKind, ImportReport, SourceStatus, is_stale
from rampart_threat.feeds.paths import resolve_under
from rampart_threat.feeds.repository import FeedStore, SourceState, Staged

BATCH = 1000  # NVD/CVE 5 records per batch (records are large)
SNAPSHOT_BATCH = 5000  # KEV/EPSS values per batch (small; nx-27017 scans per $in query)
STARTER_MARK = "starter:"  # a starter value is replaced by any imported one
Hook = Callable[[], Awaitable[None]]


@dataclass
class _Run:
    """One import in progress."""

    kind: FeedKind
    import_id: str
    staging: int
    counts: Counts = field(default_factory=Counts)
    snapshot: datetime | None = None
    details: dict[str, str] = field(default_factory=dict)

    def saw(self, when: datetime) -> None:
        self.snapshot = when if self.snapshot is None else max(self.snapshot, when)


def _kev_fingerprint(entry: dict[str, Any]) -> str:
    canonical = json.dumps(entry, sort_keys=True, ensure_ascii=False)
    return f"{entry.get('dateAdded', '')}|{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"


def _record_key(kind: FeedKind, obj: dict[str, Any]) -> tuple[str, datetime] | None:
    try:
        if kind is FeedKind.NVD:
            return str(obj["id"]), readers.parse_time(str(obj["lastModified"]))
        meta = obj["cveMetadata"]
        return str(meta["cveId"]), readers.parse_time(str(meta.get("dateUpdated") or meta["datePublished"]))
    except (KeyError, TypeError, ValueError):
        return None


def _is_newer(incoming: str, stored: str) -> bool | None:
    """True newer, False older, None the same; a starter value is always older."""
    if stored.startswith(STARTER_MARK) and not incoming.startswith(STARTER_MARK):
        return True
    a, b = (
        readers.parse_time(incoming.removeprefix(STARTER_MARK)),
        readers.parse_time(stored.removeprefix(STARTER_MARK)),
    )
    return None if a == b else a > b


class FeedService:
    """Imports feeds into the store and reports their state."""

    def __init__(
        self,
        store: FeedStore,
        feeds_dir: Path | None = None,
        stale_days: float = 8.0,
        on_batch: Hook | None = None,
        batch_size: int | None = None,
    ) -> None:
        self._store = store
        self._feeds_dir = feeds_dir
        self.stale_days = stale_days
        self._on_batch = on_batch  # tests interleave a reader here
        self._batch = batch_size or BATCH
        self._snapshot_batch = batch_size or SNAPSHOT_BATCH

    # ---- status ----------------------------------------------------------------------------
    async def status(self, now: datetime | None = None) -> list[SourceStatus]:
        states = await self._store.sources()
        return [
            SourceStatus(
                kind,
                s.snapshot,
                s.records,
                s.import_id,
                s.imported_at,
                is_stale(s.snapshot, self.stale_days, now),
            )
            for kind, s in sorted(states.items())
        ]

    async def is_empty(self) -> bool:
        return await self._store.active() == 0

    # ---- imports ---------------------------------------------------------------------------
    async def import_under_feeds_dir(self, kind: FeedKind, path: str) -> ImportReport:
        """The admin RPC's import: only a path inside FEEDS_DIR (symlinks resolved) is read."""
        return await self.import_path(kind, resolve_under(self._feeds_dir, path))

    async def load_starter_if_empty(self, path: Path = starter.STARTER_PATH) -> ImportReport | None:
        """Load the shipped starter set when nothing was ever imported (so `make run` correlates)."""
        if not await self.is_empty():
            return None
        return await self.import_path(FeedKind.STARTER, path)

    async def import_path(self, kind: FeedKind, path: Path) -> ImportReport:
        started, clock = datetime.now(UTC), time.perf_counter()
        digest = readers.source_digest(path)
        await self._store.lock()
        try:
            active = await self._store.active()
            await self._store.discard_staging(active)
            run = _Run(kind, f"imp_{uuid.uuid4().hex[:16]}", active + 1)
            previous = await self._store.sources()
            states = await self._run(run, path, previous)
            generation = active
            if run.counts.changed:
                await self._store.activate(run.staging, states)
                generation = run.staging
            report = ImportReport(
                run.import_id,
                kind,
                str(path),
                digest,
                run.snapshot,
                run.counts,
                round(time.perf_counter() - clock, 3),
                generation,
                started,
                run.details,
            )
            await self._store.record_import(report)
            return report
        finally:
            await self._store.unlock()

    async def _run(
        self, run: _Run, path: Path, previous: dict[FeedKind, SourceState]
    ) -> dict[FeedKind, SourceState]:
        old = previous.get(run.kind)
        if run.kind in (FeedKind.NVD, FeedKind.CVE5):
            items = readers.iter_nvd(path) if run.kind is FeedKind.NVD else readers.iter_cve5(path)
            await self._records(run, run.kind, items)
            if old and old.snapshot:
                run.saw(old.snapshot)
            return {run.kind: await self._state(run)}
        if run.kind is FeedKind.KEV:
            catalogue = readers.read_kev(path)
            run.details = {"catalog_version": catalogue.version}
            run.snapshot = catalogue.released
            if old and old.snapshot and catalogue.released < old.snapshot:
                run.counts.skipped = len(catalogue.entries)  # an older catalogue than the one we hold
                return {}
            snapshot = ((e["cveID"], e, _kev_fingerprint(e)) for e in catalogue.entries)
            await self._snapshot(run, FeedKind.KEV, snapshot)
            return {run.kind: await self._state(run)}
        if run.kind is FeedKind.EPSS:
            with readers.open_epss(path) as scores:
                run.details = {"model_version": scores.model_version}
                run.snapshot = scores.score_date
                if old and old.snapshot and scores.score_date < old.snapshot:
                    run.counts.skipped = sum(1 for _ in scores.rows)
                    return {}
                date = scores.score_date.isoformat()
                rows = (
                    (
                        r.cve_id,
                        {"score": r.score, "percentile": r.percentile, "date": date},
                        f"{date}|{r.score}|{r.percentile}",
                    )
                    for r in scores.rows
                )
                await self._snapshot(run, FeedKind.EPSS, rows)
            return {run.kind: await self._state(run)}
        return await self._starter(run, path)

    async def _state(self, run: _Run) -> SourceState:
        records = await self._store.count(run.kind, run.staging)
        return SourceState(run.snapshot, records, run.import_id, datetime.now(UTC))

    async def _records(
        self, run: _Run, kind: FeedKind, items: Iterable[dict[str, Any]], mark: str = ""
    ) -> None:
        """NVD and CVE 5: keep a record only when it is newer than the stored one (incremental)."""
        batch: dict[str, Staged] = {}
        for obj in items:
            key = _record_key(kind, obj)
            if key is None:
                run.counts.skipped += 1
                continue
            cve_id, modified = key
            run.saw(modified)
            staged = Staged(cve_id, obj, mark + modified.isoformat(), run.import_id)
            if cve_id in batch:  # the same CVE twice in one batch: keep the newer
                run.counts.skipped += 1
                if _is_newer(staged.fingerprint, batch[cve_id].fingerprint) is not True:
                    continue
            batch[cve_id] = staged
            if len(batch) >= self._batch:
                await self._flush_records(run, kind, batch)
        await self._flush_records(run, kind, batch)

    async def _flush_records(self, run: _Run, kind: FeedKind, batch: dict[str, Staged]) -> None:
        if not batch:
            return
        stored = await self._store.fingerprints(kind, list(batch), run.staging)
        keep = []
        for cve_id, staged in batch.items():
            before = stored.get(cve_id, "")
            verdict = True if not before else _is_newer(staged.fingerprint, before)
            if verdict is None:
                run.counts.unchanged += 1
            elif verdict is False:
                run.counts.skipped += 1
            else:
                keep.append(staged)
                if before:
                    run.counts.updated += 1
                else:
                    run.counts.added += 1
        await self._store.write(kind, keep, run.staging)
        batch.clear()
        await self._after_batch()

    async def _snapshot(
        self,
        run: _Run,
        kind: FeedKind,
        rows: Iterator[tuple[str, dict[str, Any], str]],
        mark: str = "",
        retire: bool = True,
    ) -> None:
        """KEV and EPSS are whole snapshots: changed values replaced, absent ones retired."""
        seen: set[str] = set()
        batch: dict[str, Staged] = {}
        for cve_id, payload, fingerprint in rows:
            if cve_id in seen:
                run.counts.skipped += 1
                continue
            seen.add(cve_id)
            batch[cve_id] = Staged(cve_id, payload, mark + fingerprint, run.import_id)
            if len(batch) >= self._snapshot_batch:
                await self._flush_snapshot(run, kind, batch)
        await self._flush_snapshot(run, kind, batch)
        if not retire:
            return
        gone = [i async for i in self._store.visible_ids(kind, run.staging - 1) if i not in seen]
        for start in range(0, len(gone), self._snapshot_batch):
            await self._store.retire(kind, gone[start : start + self._snapshot_batch], run.staging)
        run.counts.removed += len(gone)

    async def _flush_snapshot(self, run: _Run, kind: FeedKind, batch: dict[str, Staged]) -> None:
        if not batch:
            return
        stored = await self._store.fingerprints(kind, list(batch), run.staging)
        keep = [s for i, s in batch.items() if stored.get(i, "") != s.fingerprint]
        run.counts.unchanged += len(batch) - len(keep)
        run.counts.updated += sum(1 for s in keep if stored.get(s.cve_id))
        run.counts.added += sum(1 for s in keep if not stored.get(s.cve_id))
        await self._store.write(kind, keep, run.staging)
        batch.clear()
        await self._after_batch()

    async def _after_batch(self) -> None:
        await self._store.renew()
        if self._on_batch is not None:
            await self._on_batch()

    async def _starter(self, run: _Run, path: Path) -> dict[FeedKind, SourceState]:
        dataset = starter.load(path)
        run.snapshot = dataset.snapshot
        run.details = {"dataset": dataset.name}
        await self._records(run, FeedKind.NVD, (r.nvd for r in dataset.records), STARTER_MARK)
        kev = ((r.cve_id, r.kev, _kev_fingerprint(r.kev)) for r in dataset.records if r.kev)
        await self._snapshot(run, FeedKind.KEV, kev, STARTER_MARK, retire=False)
        epss = (
            (r.cve_id, r.epss, f"{r.epss['date']}|{r.epss['score']}|{r.epss['percentile']}")
            for r in dataset.records
            if r.epss
        )
        await self._snapshot(run, FeedKind.EPSS, epss, STARTER_MARK, retire=False)
        run.snapshot = dataset.snapshot
        return {
            FeedKind.STARTER: SourceState(
                dataset.snapshot, len(dataset.records), run.import_id, datetime.now(UTC)
            )
        }
