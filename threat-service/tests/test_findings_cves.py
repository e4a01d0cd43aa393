"""vulnerable_service findings through the real catalog (KnowledgeService), on the shared fixture records
(checked against ../shared/vulnfeeds/expected.json) and on the shipped starter set."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from findings_ports import NOW, port
from test_knowledge_service import FakeFeedStore, catalog

from rampart.lib.errors import InvalidArgument
from rampart.scan.v1 import scan_pb2
from rampart_threat.feeds.domain import FeedKind, StoredCve
from rampart_threat.feeds.service import FeedService
from rampart_threat.findings.model import Confidence, Finding, FindingType, Severity
from rampart_threat.findings.ports import ScanContext
from rampart_threat.findings.source import make_finding_source
from rampart_threat.knowledge.matcher import Query
from rampart_threat.knowledge.service import CatalogMatches, KnowledgeService

FEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "vulnfeeds"
if not FEEDS.is_dir():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs the vulnerability fixtures at {FEEDS}")
    pytest.skip(
        f"vulnerability fixtures not found at {FEEDS} (CI has them beside the repo)", allow_module_level=True
    )

EXPECTED: dict[str, Any] = json.loads((FEEDS / "expected.json").read_text("utf-8"))
CONTEXT = ScanContext(scan_id="scn_9", org_id="org_9", live=True, profile="standard")
OPENSSH_BANNER = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"


def fixture_records() -> list[StoredCve]:
    """The fixture CVEs as the feed store holds them: NVD and CVE 5 records as published, KEV, EPSS."""
    catalogue = json.loads((FEEDS / "kev" / "known_exploited_vulnerabilities.json").read_text("utf-8"))
    kev = {v["cveID"]: v for v in catalogue["vulnerabilities"]}
    with (FEEDS / "epss" / "epss_scores-subset.csv").open(encoding="utf-8") as f:
        f.readline()  # #model_version...,score_date:2026-09-29...
        epss = {r["cve"]: r for r in csv.DictReader(f)}
    out = []
    for path in sorted((FEEDS / "nvd").glob("CVE-*.json")):
        nvd = json.loads(path.read_text("utf-8"))
        cve_id = nvd["id"]
        cve5 = json.loads((FEEDS / "cve5" / f"{cve_id}.json").read_text("utf-8"))
        score = epss.get(cve_id)
        out.append(
            StoredCve(
                cve_id,
                nvd=nvd,
                cve5=cve5,
                kev=kev.get(cve_id),
                epss={"score": score["epss"], "percentile": score["percentile"], "date": "2026-09-29"}
                if score
                else None,
                sources={"nvd": "imp_fixtures", "cve5": "imp_fixtures"},
            )
        )
    return out


@pytest.fixture(scope="module")
def fixture_catalog() -> KnowledgeService:
    store = FakeFeedStore()
    store.activate(fixture_records(), FeedKind.NVD, "imp_fixtures", datetime(2026, 9, 29, tzinfo=UTC))
    return KnowledgeService(store, FeedService(cast(Any, store), stale_days=10_000.0))


def _product(name: str, version: str) -> dict[str, Any]:
    return next(p for p in EXPECTED["products"] if p["product"] == name and p["version"] == version)


async def cve_findings(catalog: Any, p: scan_pb2.PortResult) -> dict[str, Finding]:
    source = make_finding_source(catalog, clock=lambda: NOW)
    found = await source.findings_for(CONTEXT, p)
    return {f.subject: f for f in found if f.type is FindingType.VULNERABLE_SERVICE}


def openssh_debian() -> scan_pb2.PortResult:
    """What the engine reports for bookworm's sshd (its CPE carries the version as the banner says it)."""
    return port(
        "ssh",
        {},
        number=22,
        product="OpenSSH",
        version="9.2p1",
        extra_info="protocol 2.0 Debian-2+deb12u3",
        cpe="cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*",
        evidence=OPENSSH_BANNER + "\\r\\n",
    )


async def test_openssh_9_2p1_debian_gives_the_expected_cves_tentative_because_of_backports(
    fixture_catalog: KnowledgeService,
) -> None:
    expected = _product("OpenSSH", "9.2p1")
    found = await cve_findings(fixture_catalog, openssh_debian())
    assert set(found) == {e["cve"] for e in expected["affected"]}
    regression = found["CVE-2024-6387"]
    assert regression.confidence is Confidence.TENTATIVE
    assert ">= 8.6, < 9.8, per NVD" in regression.remediation
    assert "backported" in regression.remediation
    assert regression.evidence["banner"].startswith(OPENSSH_BANNER)
    assert regression.evidence["basis"] == "nvd_configurations"
    assert regression.references[0] == "https://nvd.nist.gov/vuln/detail/CVE-2024-6387"
    assert (regression.host, regression.port, regression.protocol) == ("127.0.0.1", 22, "tcp")
    assert regression.service == "ssh OpenSSH 9.2p1"
    assert regression.title == "OpenSSH 9.2p1 is affected by CVE-2024-6387"
    assert regression.detected_at == NOW


async def test_without_a_distribution_banner_an_nvd_match_is_confirmed(
    fixture_catalog: KnowledgeService,
) -> None:
    p = port("ssh", {}, number=22, product="OpenSSH", version="9.2p1", evidence="SSH-2.0-OpenSSH_9.2p1\\r\\n")
    found = await cve_findings(fixture_catalog, p)
    assert {f.confidence for f in found.values()} == {Confidence.CONFIRMED}


@pytest.mark.parametrize("product", EXPECTED["products"], ids=lambda p: f"{p['product']} {p['version']}")
async def test_each_fixture_product_gets_a_finding_per_affected_cve_and_no_other(
    fixture_catalog: KnowledgeService, product: dict[str, Any]
) -> None:
    """Affected (any basis) are findings; not-affected and undetermined CVEs never are."""
    name = product["product"]
    p = port("svc", {}, number=1000, product=name, version=product["version"], cpe=product["cpe"])
    found = await cve_findings(fixture_catalog, p)
    assert set(found) == {e["cve"] for e in product.get("affected", ())}
    for entry in product.get("affected", ()):
        got = found[entry["cve"]]
        basis_confirmed = entry["basis"] == "nvd_configurations"
        assert (got.confidence is Confidence.CONFIRMED) == basis_confirmed, entry["cve"]


async def test_a_finding_carries_the_records_scores_kev_epss_and_cwe(
    fixture_catalog: KnowledgeService,
) -> None:
    cves = {c["cve"]: c for c in EXPECTED["cves"]}
    found = await cve_findings(fixture_catalog, openssh_debian())
    for cve_id, finding in found.items():
        entry = await fixture_catalog.entry(cve_id)
        metric = entry.assessment.metric
        assert metric is not None
        assert finding.cvss_score == metric.base_score
        assert finding.cvss_vector == metric.vector
        assert finding.severity.value == metric.base_severity.lower()
        assert finding.priority == entry.assessment.priority.value
        assert finding.kev is cves[cve_id]["kev"]
        assert finding.epss == cves[cve_id]["epss"]["epss"]
        assert finding.cwe == tuple(
            dict.fromkeys(w.cwe_id for w in entry.record.weaknesses if "CWE-" in w.cwe_id)
        )
        assert finding.description == entry.record.description()


async def test_a_cve_5_only_match_is_tentative_and_undetermined_cves_are_not_findings(
    fixture_catalog: KnowledgeService,
) -> None:
    nginx = _product("nginx", "1.22.1")
    p = port("http", {}, number=80, product="nginx", version="1.22.1", cpe=nginx["alias_cpes"][0])
    found = await cve_findings(fixture_catalog, p)
    assert set(found) == {"CVE-2024-7347"}  # CVE-2023-44487 is undetermined for nginx
    assert found["CVE-2024-7347"].confidence is Confidence.TENTATIVE
    assert "F5 NGINX Open Source 1.5.13 <= v" in found["CVE-2024-7347"].remediation


async def test_the_starter_set_reports_a_kev_cve_to_act_on() -> None:
    """Apache httpd 2.4.49 and the shipped starter set: CVE-2021-41773 (KEV, path traversal)."""
    service, _, _ = catalog()
    p = port(
        "http",
        {"http.server": "Apache/2.4.49 (Unix)", "http.directory_listing": "false"},
        number=80,
        product="Apache httpd",
        version="2.4.49",
        cpe="cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
    )
    source = make_finding_source(service, clock=lambda: NOW)
    found = {f.subject: f for f in await source.findings_for(CONTEXT, p)}
    traversal = found["CVE-2021-41773"]
    assert traversal.kev is True
    assert traversal.priority == "act"
    assert traversal.severity is Severity.HIGH
    assert traversal.cwe == ("CWE-22",)
    assert traversal.confidence is Confidence.CONFIRMED
    assert "in CISA KEV since 2021-11-03" in traversal.remediation
    assert "RMP-HTTP-004" in found  # the rules ran on the same port: the version is in the Server header


class RecordingCatalog:
    """Records the queries; answers nothing, or refuses like the real catalog does a bad CPE."""

    def __init__(self, refuse: bool = False) -> None:
        self.queries: list[Query] = []
        self.refuse = refuse

    async def match(self, query: Query) -> CatalogMatches:
        self.queries.append(query)
        if self.refuse:
            raise InvalidArgument("not a CPE 2.3 name", field="cpe")
        return CatalogMatches(None, (), ())


async def test_a_service_without_a_version_is_not_matched() -> None:
    recording = RecordingCatalog()
    source = make_finding_source(recording, clock=lambda: NOW)
    await source.findings_for(CONTEXT, port("ssh", {}, number=22, product="OpenSSH"))
    await source.findings_for(CONTEXT, port("redis", {"redis.auth": "none"}, number=6379))
    assert recording.queries == []
    await source.findings_for(CONTEXT, port("ssh", {}, number=22, product="OpenSSH", version="9.6p1"))
    assert [(q.product, q.version) for q in recording.queries] == [("OpenSSH", "9.6p1")]


async def test_a_malformed_cpe_falls_back_to_product_and_version() -> None:
    recording = RecordingCatalog()
    source = make_finding_source(recording, clock=lambda: NOW)
    p = port("ssh", {}, number=22, product="OpenSSH", version="9.6p1", cpe="cpe:2.3:a:openbsd")
    await source.findings_for(CONTEXT, p)
    assert [(q.cpe, q.product, q.version) for q in recording.queries] == [(None, "OpenSSH", "9.6p1")]


async def test_a_refused_query_still_leaves_the_rule_findings() -> None:
    source = make_finding_source(RecordingCatalog(refuse=True), clock=lambda: NOW)
    p = port("redis", {"redis.auth": "none"}, number=6379, product="Redis", version="7.0.15")
    assert [f.subject for f in await source.findings_for(CONTEXT, p)] == ["RMP-AUTH-001"]
