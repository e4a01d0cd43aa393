"""Every verdict of ../shared/vulnfeeds/expected.json, from the real NVD, CVE 5, KEV and EPSS records."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest

from rampart_threat.knowledge.cve5 import parse_cve5
from rampart_threat.knowledge.matcher import Basis, KnowledgeIndex, Matcher, Query, Verdict
from rampart_threat.knowledge.merge import merge
from rampart_threat.knowledge.model import CveRecord, EpssScore, KevEntry
from rampart_threat.knowledge.nvd import parse_nvd_cve
from rampart_threat.knowledge.severity import assess, choose_metric
from rampart_threat.knowledge.sources import parse_epss_header, parse_epss_row, parse_kev_entry

FEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "vulnfeeds"
if not FEEDS.is_dir():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs the vulnerability fixtures at {FEEDS}")
    pytest.skip(
        f"vulnerability fixtures not found at {FEEDS} (CI has them beside the repo)", allow_module_level=True
    )

EXPECTED: dict[str, Any] = json.loads((FEEDS / "expected.json").read_text("utf-8"))
BASES = {
    "nvd_configurations": {Basis.NVD},
    "cve5_affected": {Basis.CNA, Basis.ADP},
    "description_only": {Basis.DESCRIPTION},
    "nvd_configurations_do_not_name_product": {Basis.NOT_NAMED},
}


def _kev() -> dict[str, KevEntry]:
    catalogue = json.loads((FEEDS / "kev" / "known_exploited_vulnerabilities.json").read_text("utf-8"))
    entries = (parse_kev_entry(v, catalogue["catalogVersion"]) for v in catalogue["vulnerabilities"])
    return {e.cve_id: e for e in entries}


def _epss() -> dict[str, EpssScore]:
    with (FEEDS / "epss" / "epss_scores-subset.csv").open(encoding="utf-8") as f:
        model, date = parse_epss_header(f.readline())
        assert date is not None
        rows = csv.DictReader(f)
        return {r["cve"]: parse_epss_row(r["cve"], r["epss"], r["percentile"], date, model) for r in rows}


def _records(nvd_objects: list[dict[str, Any]]) -> list[CveRecord]:
    kev, epss = _kev(), _epss()
    out = []
    for obj in nvd_objects:
        nvd = parse_nvd_cve(obj)
        cve5 = parse_cve5(json.loads((FEEDS / "cve5" / f"{nvd.id}.json").read_text("utf-8")))
        out.append(merge(nvd, cve5, kev.get(nvd.id), epss.get(nvd.id)))
    return out


def _per_cve_files() -> list[dict[str, Any]]:
    return [json.loads(p.read_text("utf-8")) for p in sorted((FEEDS / "nvd").glob("CVE-*.json"))]


def _api_response() -> list[dict[str, Any]]:
    envelope = json.loads((FEEDS / "nvd-api-2.0-response.json").read_text("utf-8"))
    assert envelope["format"] == "NVD_CVE"
    return [v["cve"] for v in envelope["vulnerabilities"]]


@pytest.fixture(scope="module", params=["per-cve-files", "api-response"])
def records(request: pytest.FixtureRequest) -> dict[str, CveRecord]:
    objects = _per_cve_files() if request.param == "per-cve-files" else _api_response()
    parsed = _records(objects)
    assert len(parsed) == 40
    return {r.id: r for r in parsed}


@pytest.fixture(scope="module")
def matcher(records: dict[str, CveRecord]) -> Matcher:
    return Matcher(KnowledgeIndex(records.values()))


def _cases() -> list[tuple[str, str, dict[str, Any], str]]:
    out = []
    for product in EXPECTED["products"]:
        for verdict in ("affected", "not_affected", "undetermined"):
            for entry in product.get(verdict, ()):
                out.append((product["cpe"], f"{product['product']} {product['version']}", entry, verdict))
    return out


@pytest.mark.parametrize(
    ("cpe", "label", "entry", "verdict"), _cases(), ids=lambda v: v["cve"] if isinstance(v, dict) else None
)
def test_every_answer_key_verdict_is_reproduced(
    matcher: Matcher, cpe: str, label: str, entry: dict[str, Any], verdict: str
) -> None:
    """The matcher gives the answer key's verdict, basis and NVD/CVE 5 disagreement for each CVE."""
    results = {m.cve_id: m for m in matcher.match(Query(cpe=cpe), include_negative=True)}
    got = results.get(entry["cve"])
    assert got is not None, f"{label}: {entry['cve']} is not even a candidate"
    assert got.verdict.value == verdict, f"{label} {entry['cve']}: {got.reason}"
    assert got.basis in BASES[entry["basis"]], f"{label} {entry['cve']}: basis {got.basis}"
    assert got.disagreement == bool(entry.get("disagreement")), f"{label} {entry['cve']}: {got.sources}"
    if entry["basis"] == "description_only":
        assert not got.confirmed
        assert got.tentative
    if verdict == "affected" and entry["basis"] != "description_only":
        assert got.confirmed


@pytest.mark.parametrize("product", EXPECTED["products"], ids=lambda p: f"{p['product']} {p['version']}")
def test_no_other_fixture_cve_is_reported_affected(matcher: Matcher, product: dict[str, Any]) -> None:
    """CVEs the answer key does not list for a product are never reported as affecting it."""
    listed = {e["cve"] for k in ("affected", "not_affected", "undetermined") for e in product.get(k, ())}
    affected = {m.cve_id for m in matcher.match(Query(cpe=product["cpe"])) if m.verdict is Verdict.AFFECTED}
    assert affected <= listed


def test_the_old_nginx_vendor_name_finds_the_same_cves(matcher: Matcher) -> None:
    """nginx:nginx (what older tools build) is an alias of NVD's f5:nginx."""
    nginx = next(p for p in EXPECTED["products"] if p["product"] == "nginx")
    by_alias = {
        m.cve_id: m.verdict for m in matcher.match(Query(cpe=nginx["alias_cpes"][0]), include_negative=True)
    }
    direct = {m.cve_id: m.verdict for m in matcher.match(Query(cpe=nginx["cpe"]), include_negative=True)}
    assert by_alias == direct
    assert by_alias["CVE-2024-7347"] is Verdict.AFFECTED


def test_kev_epss_and_cvss_versions_match_the_per_cve_index(records: dict[str, CveRecord]) -> None:
    """Merged records carry KEV membership, EPSS score and the CVSS versions the feeds have."""
    names = {"cvssMetricV40": "4.0", "cvssMetricV31": "3.1", "cvssMetricV30": "3.0", "cvssMetricV2": "2.0"}
    for item in EXPECTED["cves"]:
        r = records[item["cve"]]
        assert (r.kev is not None) == item["kev"]
        if item["kev"]:
            assert r.kev is not None
            assert r.kev.date_added == item["kev_dateAdded"]
            assert assess(r).exploitation == "active"
        assert r.epss is not None
        assert r.epss.score == item["epss"]["epss"]
        assert r.epss.percentile == item["epss"]["percentile"]
        assert r.epss.date == "2026-09-29"
        nvd_versions = {m.version for m in r.metrics if m.origin.value == "nvd"}
        assert nvd_versions == {names[k] for k in item["nvd_cvss"] if k in names}
        assert bool(r.configurations) == item["nvd_has_configurations"]
        assert r.vuln_status == item["nvd_vulnStatus"]


def test_cvss_v4_is_preferred_when_present(records: dict[str, CveRecord]) -> None:
    """CVE-2024-7347 has v4.0 from NVD and F5: the representative score is CVSS 4.0."""
    metric = choose_metric(records["CVE-2024-7347"].metrics)
    assert metric is not None
    assert metric.version == "4.0"
    v2only = choose_metric(records["CVE-2013-2028"].metrics)
    assert v2only is not None
    assert v2only.version == "2.0"


def test_openssh_debian_banner_makes_version_matches_tentative(matcher: Matcher) -> None:
    """bookworm's 9.2p1-2+deb12u3 carries the CVE-2024-6387 fix: the version match says it may not apply."""
    q = Query(
        cpe="cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*",
        version="9.2p1",
        banner="SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
    )
    got = {m.cve_id: m for m in matcher.match(q)}
    assert got["CVE-2024-6387"].verdict is Verdict.AFFECTED
    assert got["CVE-2024-6387"].tentative
    assert "backported" in (got["CVE-2024-6387"].tentative_reason or "")
    fixed = Matcher(matcher.index, {("debian", "openbsd:openssh", "CVE-2024-6387"): "1:9.2p1-2+deb12u3"})
    verdicts = {m.cve_id: m for m in fixed.match(q, include_negative=True)}
    assert verdicts["CVE-2024-6387"].verdict is Verdict.NOT_AFFECTED
    assert verdicts["CVE-2024-6387"].basis is Basis.DISTRIBUTION
    assert verdicts["CVE-2023-38408"].tentative  # no distribution data for this one


@pytest.mark.parametrize("product", EXPECTED["products"], ids=lambda p: f"{p['product']} {p['version']}")
def test_the_row_fast_path_agrees_with_judging_every_candidate(
    matcher: Matcher, product: dict[str, Any]
) -> None:
    """A match (rows decide plain configurations) returns what judging every candidate says applies."""
    judged = [m for m in matcher.match(Query(cpe=product["cpe"]), include_negative=True)]
    expected = {
        (m.cve_id, m.verdict, m.basis, m.reason) for m in judged if m.verdict is not Verdict.NOT_AFFECTED
    }
    got = {(m.cve_id, m.verdict, m.basis, m.reason) for m in matcher.match(Query(cpe=product["cpe"]))}
    assert got == expected
    assert all(m.record is None for m in judged)  # the index keeps no full records
