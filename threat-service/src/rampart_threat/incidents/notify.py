"""Telling people about incidents: an event on the broker (via the outbox) and, if set up, email."""

from __future__ import annotations

import asyncio
import hashlib
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

import structlog

from rampart.lib.catalogue import subjects
from rampart.lib.outbox import Outbox
from rampart_threat.incidents.domain import Incident, TimelineEntry

log = structlog.get_logger(__name__)
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Notice:
    """One announcement: an incident was created, or changed (with the entries it gained)."""

    subject: str
    incident: Incident
    changes: tuple[TimelineEntry, ...]

    @classmethod
    def created(cls, incident: Incident) -> Notice:
        return cls(subjects.INCIDENT_CREATED, incident, tuple(incident.timeline))

    @classmethod
    def updated(cls, incident: Incident, changes: tuple[TimelineEntry, ...]) -> Notice:
        return cls(subjects.INCIDENT_UPDATED, incident, changes)

    @property
    def event_id(self) -> str:
        """Stable per incident and change count, so a retried write announces once."""
        key = f"{self.incident.incident_id}:{len(self.incident.timeline)}:{self.subject}"
        return "evt_" + hashlib.sha256(key.encode()).hexdigest()[:24]


class Notifier(Protocol):
    async def notify(self, notice: Notice) -> None: ...


class Notifiers:
    """Several notifiers in turn; one failing does not stop the next."""

    def __init__(self, notifiers: Sequence[Notifier]) -> None:
        self._notifiers = list(notifiers)

    async def notify(self, notice: Notice) -> None:
        for notifier in self._notifiers:
            await notifier.notify(notice)


class OutboxNotifier:
    """``incident.created`` / ``incident.updated`` as IncidentEvent messages through the outbox.

    The outbox stores the event before trying to publish it, and its relay retries while the
    broker is away; the event id is the Nats-Msg-Id, so a retry is dropped as a duplicate.
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def notify(self, notice: Notice) -> None:
        from rampart_threat.incidents.mappers import incident_event  # protobuf stays in mappers

        await self._outbox.add(notice.subject, incident_event(notice).SerializeToString(), notice.event_id)


@dataclass(frozen=True)
class SmtpConfig:
    """SMTP_URL (smtp://user:pass@host:port, smtps://… for implicit TLS, ?starttls=1), sender, recipients."""

    url: str
    sender: str
    recipients: tuple[str, ...]
    timeout: float = 10.0


class EmailNotifier:
    """One plain-text email per notice to the configured recipients; failures are logged, not raised.

    The incident is stored and its event is in the outbox before this runs: a mail server
    that is down costs the email, never the incident or the broker event.
    """

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def notify(self, notice: Notice) -> None:
        try:
            message = email_for(notice, self._config)
            await asyncio.to_thread(self._send, message)
        except (OSError, ValueError, smtplib.SMTPException) as error:
            log.warning("incident email not sent", incident_id=notice.incident.incident_id, error=str(error))

    def _send(self, message: EmailMessage) -> None:
        url = urlsplit(self._config.url)
        host, timeout = url.hostname or "127.0.0.1", self._config.timeout
        if url.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, url.port or 465, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, url.port or 25, timeout=timeout)
        with client:
            if url.scheme == "smtp" and "starttls=1" in url.query:
                client.starttls(context=ssl.create_default_context())
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message)


def email_for(notice: Notice, config: SmtpConfig) -> EmailMessage:
    incident = notice.incident
    verb = "New incident" if notice.subject == subjects.INCIDENT_CREATED else "Incident updated"
    message = EmailMessage()
    title = CONTROL.sub(" ", incident.title)  # a header cannot carry line breaks
    message["Subject"] = f"[Rampart] {verb}: {title} ({incident.severity.value}, {incident.status.value})"
    message["From"] = config.sender
    message["To"] = ", ".join(config.recipients)
    message["X-Rampart-Incident"] = incident.incident_id
    lines = [
        f"{verb}: {incident.title}",
        f"id: {incident.incident_id}",
        f"organisation: {incident.org_id}",
        f"severity: {incident.severity.value}   status: {incident.status.value}",
        f"priority: {incident.triage.priority or '-'}   due: {incident.triage.due_at or '-'}",
        f"assignee: {incident.assignee or '-'}",
        "",
        "Changes:",
        *(
            f"  {e.at.isoformat()} {e.kind.value} {e.before} -> {e.after} {e.reason}".rstrip()
            for e in notice.changes
        ),
    ]
    if notice.subject == subjects.INCIDENT_CREATED:
        hosts = ", ".join(link.asset.host for link in incident.triage.assets) or "none"
        lines += [
            "",
            f"Linked assets: {hosts}",
            "Next steps:",
            *(f"  - {s}" for s in incident.triage.next_steps),
        ]
    message.set_content("\n".join(lines) + "\n")
    return message
