"""Which CVSS score represents a CVE, CWE names, and a priority combining severity, KEV and EPSS.

Severity: the newest CVSS version present (4.0 > 3.1 > 3.0 > 2.0); within a version, NVD's Primary
score, then the CNA's (NVD Secondary or the CVE 5 CNA container), then an ADP's.

Priority follows the decision points of CISA's SSVC (Stakeholder-Specific Vulnerability
Categorization, "CISA SSVC Guide", 2022): Exploitation, Automatable, Technical Impact, with
Mission & Well-being fixed at "medium" because the scanner does not know the asset's mission. The outcome
table is ours (docs/knowledge.md), not CISA's tree verbatim:

- Exploitation: ``active`` when the CVE is in KEV (or CISA's SSVC says active); ``poc`` when CISA's SSVC says
  poc or EPSS >= 0.1 (a proxy: FIRST's probability of exploitation activity in the next 30 days);
  otherwise ``none``.
- Automatable / Technical Impact: CISA-ADP's SSVC values when present; otherwise from the chosen CVSS
  vector (AV:N + PR:N + UI:N -> automatable; high confidentiality and integrity impact -> total).
- Outcome: active -> Act if automatable or total impact, else Attend; poc -> Attend if automatable and
  total, Track* if either, else Track; none -> Track* if automatable and total, else Track.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from rampart_threat.knowledge.model import CveRecord, CvssMetric, Origin

_VERSION_RANK = {"4.0": 0, "3.1": 1, "3.0": 2, "2.0": 3}
EPSS_POC_THRESHOLD = 0.1


def _source_rank(m: CvssMetric) -> int:
    if m.origin is Origin.NVD:
        return 0 if m.type == "Primary" else 1
    return 1 if m.origin is Origin.CNA else 2


def choose_metric(metrics: tuple[CvssMetric, ...]) -> CvssMetric | None:
    """The score that represents the CVE: newest CVSS version, then NVD Primary, CNA, ADP."""
    known = [m for m in metrics if m.version in _VERSION_RANK]
    if not known:
        return None
    return min(known, key=lambda m: (_VERSION_RANK[m.version], _source_rank(m)))


class Priority(StrEnum):
    ACT = "act"
    ATTEND = "attend"
    TRACK_STAR = "track*"
    TRACK = "track"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


@dataclass(frozen=True, slots=True)
class Assessment:
    """Severity and priority for one CVE, with the decision points that produced it."""

    metric: CvssMetric | None
    exploitation: str
    automatable: str
    technical_impact: str
    priority: Priority

    @property
    def score(self) -> float | None:
        return self.metric.base_score if self.metric else None

    def sort_key(self) -> tuple[int, float]:
        """Most urgent first: priority, then CVSS score."""
        return (self.priority.rank, -(self.score or 0.0))


def _vector(vector: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in vector.split("/"):
        k, _, v = part.partition(":")
        out[k] = v
    return out


def assess(record: CveRecord) -> Assessment:
    """Severity and SSVC-style priority for ``record``."""
    metric = choose_metric(record.metrics)
    cisa = next((s for s in record.ssvc if s.provider.upper().startswith("CISA")), None)
    if record.kev is not None or (cisa and cisa.exploitation == "active"):
        exploitation = "active"
    elif (cisa and cisa.exploitation == "poc") or (record.epss and record.epss.score >= EPSS_POC_THRESHOLD):
        exploitation = "poc"
    else:
        exploitation = "none"
    v = _vector(metric.vector) if metric else {}
    automatable = (cisa.automatable if cisa and cisa.automatable else None) or (
        "yes"
        if v.get("AV") == "N" and v.get("PR", v.get("Au")) in ("N",) and v.get("UI", "N") == "N"
        else "no"
    )
    high = {"H", "C"}  # v3/v4 High; v2 Complete
    total = (v.get("C", v.get("VC")) in high) and (v.get("I", v.get("VI")) in high)
    impact = (cisa.technical_impact if cisa and cisa.technical_impact else None) or (
        "total" if total else "partial"
    )
    auto, tot = automatable == "yes", impact == "total"
    if exploitation == "active":
        priority = Priority.ACT if auto or tot else Priority.ATTEND
    elif exploitation == "poc":
        priority = Priority.ATTEND if auto and tot else Priority.TRACK_STAR if auto or tot else Priority.TRACK
    else:
        priority = Priority.TRACK_STAR if auto and tot else Priority.TRACK
    return Assessment(metric, exploitation, automatable, impact, priority)


@lru_cache(maxsize=1)
def _cwe_db() -> Any:
    from cwe2.database import Database  # type: ignore[import-untyped]  # ships MITRE's CWE list offline

    return Database()


@lru_cache(maxsize=4096)
def cwe_name(cwe_id: str) -> str | None:
    """``CWE-362`` -> its MITRE name (from the ``cwe2`` package's bundled CWE list), or None."""
    if not cwe_id.upper().startswith("CWE-"):
        return None
    try:
        return str(_cwe_db().get(int(cwe_id[4:])).name)
    except Exception:  # cwe2 raises its own error or KeyError for unknown ids
        return None
