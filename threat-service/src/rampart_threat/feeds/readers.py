"""Stream raw per-CVE dicts out of each feed format, without loading a whole mirror at once.

NVD API 2.0 and CVE JSON 5 mirrors are read one file at a time (an API response page holds
at most 2,000 records); EPSS rows are read line by line; the KEV catalogue (~1,500 entries)
is read whole.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import lzma
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from rampart_threat.feeds.domain import FeedFormatError

CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")
CVE_FILE = re.compile(r"CVE-\d{4}-\d{4,}\.json(\.gz|\.xz)?$")
JSON_FILE = re.compile(r"\.json(\.gz|\.xz)?$")
EPSS_HEADER = re.compile(r"#model_version:(?P<model>[^,]*),score_date:(?P<date>\S+)")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time from any of the feeds as an aware UTC datetime (naive means UTC)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def open_text(path: Path) -> IO[str]:
    """A text stream over a plain, gzip or xz file (by suffix)."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    if path.suffix == ".xz":
        return lzma.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _load_json(path: Path) -> Any:
    try:
        with open_text(path) as stream:
            return json.load(stream)
    except (ValueError, OSError, EOFError, lzma.LZMAError) as error:
        raise FeedFormatError(f"{path.name}: not readable JSON ({error})", path=str(path)) from error


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_digest(path: Path) -> str:
    """SHA-256 of a file; for a directory, of its sorted ``relative-path digest`` lines."""
    if path.is_file():
        return file_digest(path)
    listing = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        listing.update(f"{item.relative_to(path).as_posix()} {file_digest(item)}\n".encode())
    return listing.hexdigest()


def _files(root: Path, pattern: re.Pattern[str]) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        raise FeedFormatError(f"{root}: no such file or directory", path=str(root))
    for path in sorted(root.rglob("*")):
        if path.is_file() and pattern.search(path.name):
            yield path


# ---- NVD CVE API 2.0 -----------------------------------------------------------------------
def nvd_cves(document: Any, origin: str) -> Iterator[dict[str, Any]]:
    """The ``cve`` objects of an API response envelope, or the one ``cve`` object of a file."""
    if isinstance(document, dict) and isinstance(document.get("vulnerabilities"), list):
        for item in document["vulnerabilities"]:
            if not isinstance(item, dict) or not isinstance(item.get("cve"), dict):
                raise FeedFormatError(f"{origin}: vulnerabilities[] without a cve object")
            yield item["cve"]
    elif isinstance(document, dict) and isinstance(document.get("id"), str) and "lastModified" in document:
        yield document
    elif isinstance(document, dict) and isinstance(document.get("cve"), dict):
        yield document["cve"]
    else:
        raise FeedFormatError(f"{origin}: neither an NVD API 2.0 response nor an NVD cve object")


def iter_nvd(root: Path) -> Iterator[dict[str, Any]]:
    """Every NVD ``cve`` object under ``root`` (a file, or a tree of .json/.json.gz/.json.xz)."""
    for path in _files(root, JSON_FILE):
        yield from nvd_cves(_load_json(path), path.name)


# ---- CVE JSON 5 ----------------------------------------------------------------------------
def _cve5_record(document: Any, origin: str) -> dict[str, Any]:
    meta = document.get("cveMetadata") if isinstance(document, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("cveId"), str):
        raise FeedFormatError(f"{origin}: not a CVE JSON 5 record (no cveMetadata.cveId)")
    return document  # type: ignore[no-any-return]


def _iter_zip(archive: zipfile.ZipFile, origin: str) -> Iterator[dict[str, Any]]:
    for name in sorted(archive.namelist()):
        base = name.rsplit("/", 1)[-1]
        if base.endswith(".zip"):  # the CVE list's release is a zip holding cves.zip
            with archive.open(name) as inner, zipfile.ZipFile(io.BytesIO(inner.read())) as nested:
                yield from _iter_zip(nested, f"{origin}!{name}")
        elif CVE_FILE.search(base):
            with archive.open(name) as member:
                try:
                    document = json.load(member)
                except ValueError as error:
                    raise FeedFormatError(f"{origin}!{name}: not JSON ({error})") from error
            yield _cve5_record(document, f"{origin}!{name}")


def iter_cve5(root: Path) -> Iterator[dict[str, Any]]:
    """Every CVE JSON 5 record in a file, a directory tree or a zip (nested zips included).

    Only files named ``CVE-YYYY-N….json`` count, so the list's ``delta.json`` and
    ``deltaLog.json`` are passed over.
    """
    if root.is_file() and root.suffix == ".zip":
        try:
            with zipfile.ZipFile(root) as archive:
                yield from _iter_zip(archive, root.name)
        except zipfile.BadZipFile as error:
            raise FeedFormatError(f"{root.name}: not a zip ({error})") from error
        return
    for path in _files(root, CVE_FILE):
        yield _cve5_record(_load_json(path), path.name)


# ---- CISA KEV ------------------------------------------------------------------------------
@dataclass(frozen=True)
class KevCatalogue:
    """The KEV catalogue: its version, release time and entries (each as published)."""

    version: str
    released: datetime
    entries: list[dict[str, Any]]


def read_kev(path: Path) -> KevCatalogue:
    document = _load_json(path)
    if not isinstance(document, dict) or not isinstance(document.get("vulnerabilities"), list):
        raise FeedFormatError(f"{path.name}: not a CISA KEV catalogue (no vulnerabilities[])")
    try:
        released = parse_time(str(document["dateReleased"]))
    except (KeyError, ValueError) as error:
        raise FeedFormatError(f"{path.name}: KEV catalogue without a valid dateReleased") from error
    entries = [
        e for e in document["vulnerabilities"] if isinstance(e, dict) and CVE_ID.match(str(e.get("cveID")))
    ]
    return KevCatalogue(str(document.get("catalogVersion", "")), released, entries)


# ---- FIRST EPSS ----------------------------------------------------------------------------
@dataclass(frozen=True)
class EpssRow:
    cve_id: str
    score: float
    percentile: float


@dataclass(frozen=True)
class EpssFile:
    """An open EPSS scores file: its model version and score date, and a stream of its rows."""

    model_version: str
    score_date: datetime
    rows: Iterator[EpssRow]


def _epss_rows(reader: Iterator[list[str]], origin: str) -> Iterator[EpssRow]:
    for number, row in enumerate(reader, start=3):
        if not row:
            continue
        try:
            cve_id, score, percentile = row[0], float(row[1]), float(row[2])
        except (IndexError, ValueError) as error:
            raise FeedFormatError(f"{origin}: line {number} is not cve,epss,percentile") from error
        if CVE_ID.match(cve_id):
            yield EpssRow(cve_id, score, percentile)


@contextmanager
def open_epss(path: Path) -> Iterator[EpssFile]:
    """Read the ``#model_version:…,score_date:…`` line and the header, then stream the rows."""
    if not path.is_file():
        raise FeedFormatError(f"{path}: no such file", path=str(path))
    with open_text(path) as stream:
        try:
            first = stream.readline()
        except (OSError, EOFError, UnicodeDecodeError) as error:
            raise FeedFormatError(f"{path.name}: not a readable CSV ({error})") from error
        match = EPSS_HEADER.match(first.strip())
        if match is None:
            raise FeedFormatError(f"{path.name}: first line is not #model_version:…,score_date:…")
        reader = csv.reader(stream)
        header = next(reader, [])
        if [h.strip() for h in header[:3]] != ["cve", "epss", "percentile"]:
            raise FeedFormatError(f"{path.name}: header is not cve,epss,percentile")
        yield EpssFile(match["model"], parse_time(match["date"]), _epss_rows(reader, path.name))
