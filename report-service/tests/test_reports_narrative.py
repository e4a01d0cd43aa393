"""Executive sections: the assistant's words when it answers in time, the deterministic summary
otherwise, and "section unavailable" only when even the summary lacks its data."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from rampart_report.reports.model import Tenant
from rampart_report.reports.narrative import NarrativeUnavailable, executive_sections
from rampart_report.reports.summary import Digest, Issue, summary_text

pytestmark = pytest.mark.timeout(10)
ACME = Tenant("org_acme", "usr_a")
SECTIONS = ("summary", "risk", "recommendations")
DIGEST = Digest(
    scans=2,
    hosts=3,
    open_ports=7,
    severities={"critical": 1, "high": 2, "medium": 0, "low": 4, "info": 0},
    issues=(
        Issue(
            "RMP-AUTH-001", "Redis without authentication", "critical", 1, "Require AUTH on Redis", kev=False
        ),
        Issue("CVE-2024-6387", "OpenSSH regreSSHion", "high", 2, "Upgrade OpenSSH to 9.8p1", kev=True),
    ),
)


class Answering:
    def __init__(self) -> None:
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    async def narrate(self, tenant: Tenant, scan_id: str, sections: tuple[str, ...]) -> Mapping[str, str]:
        self.asked.append((scan_id, sections))
        return {name: f"{name} of {scan_id} by the assistant" for name in sections}


class Silent:
    """Never answers: only the timeout ends the wait."""

    async def narrate(self, tenant: Tenant, scan_id: str, sections: tuple[str, ...]) -> Mapping[str, str]:
        await asyncio.Event().wait()
        return {}


class Down:
    async def narrate(self, tenant: Tenant, scan_id: str, sections: tuple[str, ...]) -> Mapping[str, str]:
        raise NarrativeUnavailable("ai-service answered UNAVAILABLE")


async def test_the_assistants_narrative_is_used_when_it_answers_for_every_scan() -> None:
    narrator = Answering()
    written = await executive_sections(narrator, ACME, ("scan_1", "scan_2"), SECTIONS, DIGEST, wait=5)
    assert [(w.section.name, w.section.source, w.section.included) for w in written] == [
        ("summary", "assistant", True),
        ("risk", "assistant", True),
        ("recommendations", "assistant", True),
    ]
    assert written[0].body == "summary of scan_1 by the assistant\n\nsummary of scan_2 by the assistant"
    assert sorted(scan for scan, _ in narrator.asked) == ["scan_1", "scan_2"]


@pytest.mark.parametrize(
    ("narrator", "why"), [(Silent(), "did not answer within 0.05 s"), (Down(), "unavailable")]
)
async def test_without_the_assistant_the_deterministic_summary_stands_in_and_says_so(
    narrator: Silent | Down, why: str
) -> None:
    written = await executive_sections(narrator, ACME, ("scan_1",), SECTIONS, DIGEST, wait=0.05)
    assert all(w.section.included and w.section.source == "summary" for w in written)
    assert all(why in w.section.note for w in written)
    summary, risk, recommendations = (w.body for w in written)
    assert summary == summary_text(DIGEST)
    assert "3 hosts" in summary
    assert "7 open ports" in summary
    assert "1 critical, 2 high, 4 low" in summary
    assert summary.endswith("Overall risk: critical.")
    assert risk.splitlines()[0] == "Critical: Redis without authentication (1 finding)."
    assert "CISA KEV" in risk.splitlines()[1]
    assert recommendations.splitlines() == [
        "1. Require AUTH on Redis (Redis without authentication)",
        "2. Upgrade OpenSSH to 9.8p1 (OpenSSH regreSSHion)",
    ]


async def test_a_section_whose_data_is_missing_too_is_marked_unavailable_and_the_report_goes_on() -> None:
    unknown = Digest(scans=1, hosts=1, open_ports=2, severities=None)
    written = await executive_sections(Down(), ACME, ("scan_1",), SECTIONS, unknown, wait=1)
    by_name = {w.section.name: w for w in written}
    assert by_name["summary"].section.included
    assert "Findings could not be read" in by_name["summary"].body
    for name in ("risk", "recommendations"):
        assert not by_name[name].section.included
        assert by_name[name].section.note.startswith("section unavailable")
        assert by_name[name].body == ""
