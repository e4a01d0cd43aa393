"""auth's events onto the transactional outbox: the only place they become bytes."""

from __future__ import annotations

from rampart.lib.catalogue import subjects
from rampart.lib.logging import current_request_id
from rampart.lib.outbox import Outbox
from rampart_auth.domain import KeyRevoked
from rampart_auth.mappers import key_revoked_message


class OutboxEvents:
    """Publishes auth's domain events through the outbox (stored first, then sent)."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def key_revoked(self, event: KeyRevoked) -> None:
        await self._outbox.add(
            subjects.key_revoked(event.key_id),
            key_revoked_message(event).SerializeToString(),
            event.event_id,
            current_request_id(),
        )
