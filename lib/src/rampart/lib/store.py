"""MongoDB access through PyMongo's async API; each service owns one database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


def connect_store(url: str, app_name: str) -> AsyncMongoClient[Document]:
    """A client for MONGODB_URL; connects lazily, fails fast when the store is gone."""
    return AsyncMongoClient(
        url,
        appname=app_name,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=2000,
        tz_aware=True,
    )


def service_database(
    client: AsyncMongoClient[Document], service: str, override: str = ""
) -> AsyncDatabase[Document]:
    return client[override or f"rampart_{service}"]


async def ping(client: AsyncMongoClient[Document]) -> None:
    await client.admin.command("ping")


def read_time(value: object) -> datetime | None:
    """A stored time as an aware UTC datetime.

    nx-27017 keeps a datetime written by ``$set`` as a naive ISO string (an inserted one
    stays a date); real MongoDB returns dates. Accept both so one code path serves either.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise TypeError(f"not a stored time: {value!r}")
