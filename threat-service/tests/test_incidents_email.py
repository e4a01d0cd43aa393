"""Incident email through a real SMTP server (aiosmtpd on loopback, started by the test)."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from incidents_fakes import T0

from rampart.lib.catalogue import subjects
from rampart_devtools.ports import free_port
from rampart_threat.incidents.domain import Incident, Severity
from rampart_threat.incidents.notify import EmailNotifier, Notice, SmtpConfig
from rampart_threat.incidents.triage import SlaTable, triage

pytestmark = pytest.mark.service


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.content
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(content)))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def incident(title: str = "Beacon from 10.0.0.5") -> Incident:
    found = Incident.open("inc_mail", "org_a", "usr_a", T0, title=title, severity=Severity.HIGH)
    found.record_triage(triage(found, [], SlaTable.load()), T0)
    return found


async def test_a_new_incident_is_mailed_to_every_recipient(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    config = SmtpConfig(
        f"smtp://127.0.0.1:{port}", "rampart@example.test", ("soc@example.test", "ciso@example.test")
    )
    await EmailNotifier(config).notify(Notice.created(incident()))
    [(recipients, message)] = handler.messages
    assert recipients == ["soc@example.test", "ciso@example.test"]
    assert message["Subject"] == "[Rampart] New incident: Beacon from 10.0.0.5 (high, open)"
    assert message["X-Rampart-Incident"] == "inc_mail"
    body = message.get_payload()
    assert "priority: P2" in body
    assert "Next steps:" in body


async def test_a_mail_server_that_is_down_costs_the_email_not_the_change() -> None:
    config = SmtpConfig(
        f"smtp://127.0.0.1:{free_port()}", "rampart@example.test", ("soc@example.test",), timeout=2
    )
    await EmailNotifier(config).notify(Notice(subjects.INCIDENT_UPDATED, incident(), ()))  # no exception


async def test_a_title_with_line_breaks_gives_a_one_line_subject(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    config = SmtpConfig(f"smtp://127.0.0.1:{port}", "rampart@example.test", ("soc@example.test",))
    await EmailNotifier(config).notify(
        Notice.created(incident("Beacon\r\nBcc: attacker@example.test\u2028x"))
    )
    [(recipients, message)] = handler.messages
    assert recipients == ["soc@example.test"]
    unfolded = str(message["Subject"]).replace("\r\n", "").replace("\n", "").strip()
    assert unfolded == "[Rampart] New incident: Beacon  Bcc: attacker@example.test x (high, open)"
    assert message["Bcc"] is None
