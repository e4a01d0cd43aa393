"""Where ai-service stores its documents: the only module that will know their fields.

ai-service stores nothing yet; the repository exists so the wiring has its final shape.
"""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from rampart.lib.store import Document


class AiRepository:
    """ai-service's collections (none yet) in its own database."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    async def create_indexes(self) -> None:
        """Nothing to index until the assistant stores something."""
