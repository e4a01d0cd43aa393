"""Where alert preferences are kept: ``alert_preferences``, one document per organisation
(``_id`` = org_id), written whole with one upsert."""

from __future__ import annotations

from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase

from rampart.lib.store import Document
from rampart_report.alerts.model import DEFAULTS, AlertPreferences, AlertRule


class PreferencesRepository(Protocol):
    async def get(self, org_id: str) -> AlertPreferences | None: ...

    async def save(self, preferences: AlertPreferences) -> None: ...


def _rule(document: dict[str, Any], kind: str) -> AlertRule:
    default = DEFAULTS[kind]
    return AlertRule(
        bool(document.get("enabled", default.enabled)),
        str(document.get("min_severity", default.min_severity)),
        int(document.get("days", default.days)),
    )


class MongoPreferencesRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._collection = db["alert_preferences"]

    async def get(self, org_id: str) -> AlertPreferences | None:
        document = await self._collection.find_one({"_id": org_id})
        if document is None:
            return None
        stored = document.get("rules", {})
        rules = {kind: _rule(stored.get(kind, {}), kind) for kind in DEFAULTS}
        return AlertPreferences(org_id, rules, float(document.get("updated_at", 0.0)))

    async def save(self, preferences: AlertPreferences) -> None:
        rules = {
            kind: {"enabled": rule.enabled, "min_severity": rule.min_severity, "days": rule.days}
            for kind, rule in preferences.rules.items()
        }
        await self._collection.update_one(
            {"_id": preferences.org_id},
            {"$set": {"rules": rules, "updated_at": preferences.updated_at}},
            upsert=True,
        )


class MemoryPreferencesRepository:
    """For unit tests and for report-service assembled without a store."""

    def __init__(self) -> None:
        self.saved: dict[str, AlertPreferences] = {}

    async def get(self, org_id: str) -> AlertPreferences | None:
        return self.saved.get(org_id)

    async def save(self, preferences: AlertPreferences) -> None:
        self.saved[preferences.org_id] = preferences
