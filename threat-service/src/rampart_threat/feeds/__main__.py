"""The operator's command: ``python -m rampart_threat.feeds import <kind> <path>``, ``fetch <kind>``
or ``status``.

Reads MONGODB_URL (and MONGODB_DATABASE, default ``rampart_threat``) like threat-service;
prints the import's provenance or the sources' status as JSON. ``fetch`` downloads the file at the
URL the operator configured for that kind (``FEED_URL_NVD``, ``FEED_URL_CVE5``, ``FEED_URL_KEV``,
``FEED_URL_EPSS``; all unset by default: nothing is downloaded) into ``FEEDS_DIR`` (else a temporary
directory) and imports it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from rampart.lib.errors import FailedPrecondition, RampartError
from rampart.lib.settings import load_settings
from rampart.lib.store import connect_store, service_database
from rampart_threat.feeds.domain import FeedKind
from rampart_threat.feeds.download import download
from rampart_threat.feeds.repository import MongoFeedRepository
from rampart_threat.feeds.service import FeedService

IMPORTABLE = [k.value for k in FeedKind]


class FeedCommandSettings(BaseSettings):
    """The store this command writes to, and when a source counts as stale."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    mongodb_url: str
    mongodb_database: str = ""
    feed_stale_days: float = Field(default=8.0, gt=0)
    feeds_dir: Path | None = None
    # Operator-configured download URLs, one per kind: unset (the default) means never downloaded.
    feed_url_nvd: str = ""
    feed_url_cve5: str = ""
    feed_url_kev: str = ""
    feed_url_epss: str = ""

    def feed_url(self, kind: FeedKind) -> str:
        return str(getattr(self, f"feed_url_{kind.value}", "") or "")


class NoFeedUrl(FailedPrecondition):
    """``fetch`` for a kind whose URL the operator did not configure."""


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


async def run(args: argparse.Namespace, settings: FeedCommandSettings) -> dict[str, Any]:
    client = connect_store(settings.mongodb_url, "rampart-feeds")
    try:
        repository = MongoFeedRepository(service_database(client, "threat", settings.mongodb_database))
        await repository.create_indexes()
        feeds = FeedService(repository, stale_days=settings.feed_stale_days)
        if args.command == "import":
            return asdict(await feeds.import_path(FeedKind(args.kind), Path(args.path)))
        if args.command == "fetch":
            return await fetch(feeds, FeedKind(args.kind), settings)
        return {"sources": [asdict(s) for s in await feeds.status()]}
    finally:
        await client.close()


async def fetch(feeds: FeedService, kind: FeedKind, settings: FeedCommandSettings) -> dict[str, Any]:
    """Download the operator's URL for ``kind`` and import the file."""
    url = settings.feed_url(kind)
    if not url:
        raise NoFeedUrl(f"FEED_URL_{kind.value.upper()} is not set: nothing is downloaded unless configured")
    if settings.feeds_dir is not None:
        path = await asyncio.to_thread(download, url, settings.feeds_dir / kind.value)
        return {"downloaded": str(path), **asdict(await feeds.import_path(kind, path))}
    with tempfile.TemporaryDirectory(prefix="rampart-feed-") as directory:
        path = await asyncio.to_thread(download, url, Path(directory))
        return {"downloaded": url, **asdict(await feeds.import_path(kind, path))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rampart_threat.feeds", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    do_import = commands.add_parser("import", help="import one feed file, directory or zip")
    do_import.add_argument("kind", choices=IMPORTABLE)
    do_import.add_argument("path")
    do_fetch = commands.add_parser("fetch", help="download the configured FEED_URL_<KIND> and import it")
    do_fetch.add_argument("kind", choices=[k.value for k in FeedKind if k is not FeedKind.STARTER])
    commands.add_parser("status", help="what each source holds, its snapshot date and staleness")
    args = parser.parse_args(argv)
    settings = load_settings(FeedCommandSettings)
    try:
        result = asyncio.run(run(args, settings))
    except RampartError as error:
        print(f"error: {error.message} {error.details or ''}".rstrip(), file=sys.stderr)
        return 2
    print(json.dumps(result, default=_json, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
