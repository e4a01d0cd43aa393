"""MongoDB access through PyMongo's async API; each service owns one database."""

from __future__ import annotations

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
