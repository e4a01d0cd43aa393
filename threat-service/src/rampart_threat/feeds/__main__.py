"""The operator's command: ``python -m rampart_threat.feeds import <kind> <path>`` or ``status``.

Reads MONGODB_URL (and MONGODB_DATABASE, default ``rampart_threat``) like threat-service;
prints the import's provenance or the sources' status as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from rampart.lib.errors import RampartError
from rampart.lib.settings import load_settings
from rampart.lib.store import connect_store, service_database
from rampart_threat.feeds.domain import FeedKind
from rampart_threat.feeds.repository import MongoFeedRepository
from rampart_threat.feeds.service import FeedService

IMPORTABLE = [k.value for k in FeedKind]


class FeedCommandSettings(BaseSettings):
    """The store this command writes to, and when a source counts as stale."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    mongodb_url: str
    mongodb_database: str = ""
    feed_stale_days: float = Field(default=8.0, gt=0)


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
        return {"sources": [asdict(s) for s in await feeds.status()]}
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rampart_threat.feeds", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    do_import = commands.add_parser("import", help="import one feed file, directory or zip")
    do_import.add_argument("kind", choices=IMPORTABLE)
    do_import.add_argument("path")
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
