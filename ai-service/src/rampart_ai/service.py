"""Use cases of ai-service on domain types; none is built yet (every RPC answers UNIMPLEMENTED)."""

from __future__ import annotations

from rampart_ai.repository import AiRepository


class AssistantService:
    """The assistant's use cases (ask, explain, generate a report) will live here."""

    def __init__(self, repository: AiRepository) -> None:
        self._repository = repository
