"""Feed kinds, import provenance, source status and the feed errors."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rampart.lib.errors import FailedPrecondition, InvalidArgument


class FeedKind(enum.StrEnum):
    """A source format an operator imports."""

    NVD = "nvd"
    CVE5 = "cve5"
    KEV = "kev"
    EPSS = "epss"
    STARTER = "starter"


class FeedPathRefused(InvalidArgument):
    """The path is outside FEEDS_DIR, escapes it through a symlink, or does not exist."""


class FeedFormatError(InvalidArgument):
    """The file is not in the format its kind says."""


class FeedImportBusy(FailedPrecondition):
    """Another import holds the import lock."""


@dataclass
class Counts:
    """What an import did, record by record."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    removed: int = 0

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.removed


@dataclass(frozen=True)
class ImportReport:
    """The provenance of one import, as kept in ``feed_imports``."""

    import_id: str
    kind: FeedKind
    path: str
    sha256: str  # of the file, or of the sorted (name, digest) list of a directory or zip
    snapshot: datetime | None  # newest lastModified (NVD, CVE 5), release (KEV) or score date (EPSS)
    counts: Counts
    seconds: float
    generation: int  # the generation active after the import
    started_at: datetime
    details: dict[str, str] = field(default_factory=dict)  # model_version, catalogVersion, …


@dataclass(frozen=True)
class SourceStatus:
    """What the active knowledge base holds from one source."""

    kind: FeedKind
    snapshot: datetime | None
    records: int
    last_import_id: str
    imported_at: datetime | None
    stale: bool


def is_stale(snapshot: datetime | None, max_age_days: float, now: datetime | None = None) -> bool:
    """A source without a snapshot date, or one older than ``max_age_days``, is stale."""
    if snapshot is None:
        return True
    now = now or datetime.now(UTC)
    return now - snapshot > timedelta(days=max_age_days)


@dataclass(frozen=True)
class StoredCve:
    """Everything the active generation holds about one CVE, each source as published."""

    cve_id: str
    nvd: dict[str, Any] | None = None  # the NVD CVE API 2.0 ``cve`` object
    cve5: dict[str, Any] | None = None  # the CVE JSON 5 record
    kev: dict[str, Any] | None = None  # the KEV catalogue entry
    epss: dict[str, Any] | None = None  # {"score", "percentile", "date"}
    last_modified: dict[str, str] = field(default_factory=dict)  # per source
    sources: dict[str, str] = field(default_factory=dict)  # per source: the import that wrote it
