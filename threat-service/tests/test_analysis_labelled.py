"""The labelled set (tests/data/labelled.jsonl): precision and recall of the analysis.

A verdict of ``malicious`` or ``suspicious`` counts as flagged; ``benign`` and ``unknown``
as not flagged. Every wrong verdict is printed (run with ``-s``) and listed, with why, in
docs/threat-analysis.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rampart_threat.analysis.detect import refang
from rampart_threat.analysis.domain import FeedHit, Kind, Mode, Verdict
from rampart_threat.analysis.feeds import InMemoryIndicatorLookup
from rampart_threat.analysis.repository import InMemoryAnalysisRepository
from rampart_threat.analysis.service import AnalysisService, AnalyzeRequest

DATA = Path(__file__).parent / "data"
FLAGGED = {Verdict.MALICIOUS, Verdict.SUSPICIOUS}


def rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / "labelled.jsonl").read_text(encoding="utf-8").splitlines()]


def feed() -> InMemoryIndicatorLookup:
    entries = [json.loads(line) for line in (DATA / "feed.jsonl").read_text().splitlines()]
    return InMemoryIndicatorLookup(
        ("", FeedHit(e["source"], e["kind"], e["value"], e["threat"])) for e in entries
    )


def test_the_labelled_set_has_200_of_each_label_across_types() -> None:
    data = rows()
    assert sum(r["label"] == "malicious" for r in data) >= 200
    assert sum(r["label"] == "benign" for r in data) >= 200
    assert all(r["source"] for r in data)


@pytest.mark.parametrize("mode", [Mode.QUICK, Mode.DEEP])
async def test_precision_and_recall_on_the_labelled_set_are_at_least_0_9(mode: Mode) -> None:
    service = AnalysisService(InMemoryAnalysisRepository(), feed())
    tp = fp = fn = tn = 0
    wrong = []
    for row in rows():
        kind = Kind(row["type"]) if row.get("type") else None
        target = row["indicator"] if kind is Kind.PAYLOAD else refang(row["indicator"])
        analysis = await service.analyze(AnalyzeRequest("org", "user", target, kind, mode))
        flagged = analysis.verdict in FLAGGED
        malicious = row["label"] == "malicious"
        tp, fp, fn, tn = (
            tp + (flagged and malicious),
            fp + (flagged and not malicious),
            fn + (not flagged and malicious),
            tn + (not flagged and not malicious),
        )
        if flagged != malicious:
            why = "; ".join(f"{r.signal}+{r.weight}" for r in analysis.reasons if r.weight) or "no signal"
            wrong.append(
                f"{row['label']:9} -> {analysis.verdict.value:10} {analysis.risk_score:3} "
                f"{row['indicator'][:70]!r} [{why}]"
            )
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"\n{mode.value}: precision {precision:.3f} recall {recall:.3f} (tp {tp} fp {fp} fn {fn} tn {tn})")
    print("\n".join(wrong))
    assert precision >= 0.9
    assert recall >= 0.9
