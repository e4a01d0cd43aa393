"""Each export format rendered from fixed domain data: what a reader or a tool relies on."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pypdf import PdfReader

from rampart_report.exports.csvfile import FINDING_COLUMNS, PORT_COLUMNS
from rampart_report.exports.model import CsvKind, ExportFormat, PortEntry, ScanExport
from rampart_report.exports.samples import FINDINGS, PORTS, finding_fingerprint, sample_export
from rampart_report.exports.sarif import FINGERPRINT_KEY, endpoint_uri
from rampart_report.exports.service import render

SCHEMA_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
HOSTILE = '"><script>alert(1)</script><img src="http://evil.example/x.png" onerror="alert(2)">'


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    if not SCHEMA_PATH.exists():
        pytest.fail(f"the SARIF 2.1.0 schema is read from {SCHEMA_PATH} (shared/ beside the repository)")
    schema = json.loads(SCHEMA_PATH.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema)


def sarif(data: ScanExport, validator: jsonschema.protocols.Validator) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(render(data, ExportFormat.SARIF).content)
    validator.validate(log)
    return log


def hostile_export() -> ScanExport:
    """A banner and an evidence value that try to inject markup."""
    data = sample_export()
    ports = (*data.ports, PortEntry("192.0.2.12", 8080, "tcp", "open", "http", HOSTILE, evidence=HOSTILE))
    finding = replace(FINDINGS[0], host="192.0.2.12", port=8080, evidence={"http.server": HOSTILE})
    return replace(data, ports=ports, findings=(*(data.findings or ()), finding))


# ---- SARIF ------------------------------------------------------------------------------


def test_sarif_is_schema_valid_with_one_run_and_a_result_per_finding(sarif_validator: Any) -> None:
    log = sarif(sample_export(), sarif_validator)
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert run["tool"]["driver"]["name"] == "Rampart"
    assert sorted(r["ruleId"] for r in run["results"]) == sorted(f.subject for f in FINDINGS)
    assert run["properties"]["scanId"] == "scan_sample01"


def test_sarif_rules_carry_help_cwe_cvss_and_security_severity(sarif_validator: Any) -> None:
    rules = {
        r["id"]: r for r in sarif(sample_export(), sarif_validator)["runs"][0]["tool"]["driver"]["rules"]
    }
    assert set(rules) == {"RMP-AUTH-001", "CVE-2021-32675", "RMP-TLS-003"}
    cve = rules["CVE-2021-32675"]
    assert cve["properties"]["security-severity"] == "7.5"
    assert cve["properties"]["cvss"] == {
        "score": 7.5,
        "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
    }
    assert "Upgrade Redis to 6.0.15" in cve["help"]["text"]
    assert "external/cwe/cwe-770" in cve["properties"]["tags"]
    # no CVSS score: the severity's band gives security-severity
    assert rules["RMP-AUTH-001"]["properties"]["security-severity"] == "8.0"
    assert rules["RMP-TLS-003"]["defaultConfiguration"]["level"] == "warning"


def test_sarif_results_point_at_the_endpoint_and_carry_the_finding_fingerprint(sarif_validator: Any) -> None:
    run = sarif(sample_export(), sarif_validator)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    result = next(r for r in run["results"] if r["ruleId"] == "RMP-TLS-003")
    assert result["partialFingerprints"] == {
        FINGERPRINT_KEY: finding_fingerprint("192.0.2.10", 443, "tcp", "RMP-TLS-003")
    }
    (location,) = result["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "tcp://192.0.2.10:443"
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "192.0.2.10:443/tcp"
    assert rules[result["ruleIndex"]]["id"] == "RMP-TLS-003"


def test_a_rule_seen_on_two_endpoints_is_described_once(sarif_validator: Any) -> None:
    data = sample_export()
    again = replace(FINDINGS[2], host="192.0.2.11", fingerprint="f" * 32)
    run = sarif(replace(data, findings=(*FINDINGS, again)), sarif_validator)["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]].count("RMP-TLS-003") == 1
    assert sum(r["ruleId"] == "RMP-TLS-003" for r in run["results"]) == 2


def test_ipv6_endpoints_are_bracketed_in_the_uri() -> None:
    assert endpoint_uri("2001:db8::1", 443, "tcp") == "tcp://[2001:db8::1]:443"
    assert endpoint_uri("192.0.2.1", 53, "udp") == "udp://192.0.2.1:53"


def test_sarif_without_findings_says_why_and_stays_valid(sarif_validator: Any) -> None:
    data = replace(sample_export(), findings=None, findings_note="threat-service did not answer")
    run = sarif(data, sarif_validator)["runs"][0]
    assert run["results"] == []
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["message"]["text"] == "threat-service did not answer"


def test_sarif_of_a_hostile_banner_is_valid(sarif_validator: Any) -> None:
    log = sarif(hostile_export(), sarif_validator)
    evidence = [r["properties"]["evidence"] for r in log["runs"][0]["results"]]
    assert {"http.server": HOSTILE} in evidence


# ---- HTML -------------------------------------------------------------------------------


class Resources(HTMLParser):
    """Collects what a browser would load or follow, and every element name."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "poster", "data") and value is not None:
                self.urls.append(value)
            if name == "style" and value:
                self.urls.extend(re.findall(r"url\(([^)]*)\)", value))

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls.extend(re.findall(r"url\(([^)]*)\)", data))
            self.urls.extend(re.findall(r"@import\s+([^;]+)", data))
        self.text.append(data)


def parse(html: bytes) -> Resources:
    parser = Resources()
    parser.feed(html.decode())
    return parser


def test_html_loads_nothing_from_outside_and_draws_its_charts_inline() -> None:
    page = parse(render(sample_export(), ExportFormat.HTML).content)
    assert page.urls, "the contents links are internal anchors"
    assert all(url.startswith("#") for url in page.urls), page.urls
    assert page.tags.count("svg") == 4  # severity, hosts, services, trend
    assert "script" not in page.tags
    assert "link" not in page.tags
    assert "img" not in page.tags


def test_html_lists_every_finding_and_its_remediation() -> None:
    text = " ".join(parse(render(sample_export(), ExportFormat.HTML).content).text)
    for finding in FINDINGS:
        assert finding.subject in text
        assert finding.title in text
        assert finding.remediation in text
    assert "192.0.2.11:6379/tcp" in text


def test_a_hostile_banner_is_shown_as_text_and_injects_no_markup() -> None:
    html = render(hostile_export(), ExportFormat.HTML).content
    page = parse(html)
    assert "script" not in page.tags
    assert "img" not in page.tags
    assert all(url.startswith("#") for url in page.urls)
    assert "<script>" not in html.decode()
    assert any('"><script>alert(1)</script>' in chunk for chunk in page.text)  # shown, as text


def test_the_trend_chart_needs_two_scans_and_says_so() -> None:
    page = parse(render(replace(sample_export(), history=()), ExportFormat.HTML).content)
    assert page.tags.count("svg") == 3
    assert "fewer than two completed scans" in " ".join(page.text)


# ---- PDF --------------------------------------------------------------------------------


def test_pdf_text_is_extractable_with_cover_contents_page_numbers_and_findings() -> None:
    pdf = render(sample_export(), ExportFormat.PDF).content
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) >= 3
    assert "Scan report" in pages[0]
    assert "Contents" in pages[0]
    assert f"Page 2 of {len(pages)}" in pages[1]
    text = "\n".join(pages)
    for finding in FINDINGS:
        assert finding.subject in text
    assert "Redis answers without authentication" in text


# ---- CSV --------------------------------------------------------------------------------


def rows(data: ScanExport, kind: CsvKind) -> list[list[str]]:
    return list(csv.reader(io.StringIO(render(data, ExportFormat.CSV, kind).content.decode())))


def test_csv_ports_has_the_stable_columns_and_one_row_per_port() -> None:
    header, *body = rows(sample_export(), CsvKind.PORTS)
    assert tuple(header) == PORT_COLUMNS
    assert [(r[0], r[1], r[3]) for r in body] == [(p.host, str(p.port), p.state) for p in PORTS]
    assert body[1][PORT_COLUMNS.index("tls_protocols")] == "TLSv1.2 TLSv1.3"


def test_csv_findings_has_the_stable_columns_and_one_row_per_finding() -> None:
    header, *body = rows(sample_export(), CsvKind.FINDINGS)
    assert tuple(header) == FINDING_COLUMNS
    assert [r[0] for r in body] == [f.fingerprint for f in FINDINGS]
    cve = body[1]
    assert (cve[FINDING_COLUMNS.index("id")], cve[FINDING_COLUMNS.index("cvss_score")]) == (
        "CVE-2021-32675",
        "7.5",
    )


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(formula: str) -> None:
    data = replace(
        sample_export(),
        ports=(replace(PORTS[0], product=formula),),
        findings=(replace(FINDINGS[0], remediation=formula, evidence={"k": "v"}),),
    )
    port_row = rows(data, CsvKind.PORTS)[1]
    finding_row = rows(data, CsvKind.FINDINGS)[1]
    assert port_row[PORT_COLUMNS.index("product")] == "'" + formula
    assert finding_row[FINDING_COLUMNS.index("remediation")] == "'" + formula


def test_csv_findings_is_just_the_header_when_findings_are_unavailable() -> None:
    assert rows(replace(sample_export(), findings=None), CsvKind.FINDINGS) == [list(FINDING_COLUMNS)]


# ---- JSON and names ---------------------------------------------------------------------


def test_json_holds_the_scan_ports_and_findings() -> None:
    body = json.loads(render(sample_export(), ExportFormat.JSON).content)
    assert body["scan"]["scan_id"] == "scan_sample01"
    assert body["scan"]["completed_at"] == "2026-11-20T09:03:12Z"
    assert len(body["ports"]) == len(PORTS)
    assert [f["id"] for f in body["findings"]] == [f.subject for f in FINDINGS]
    assert body["findings"][0]["evidence"] == {"redis.auth": "none", "redis.version": "6.0.5"}


@pytest.mark.parametrize(
    ("fmt", "kind", "filename", "content_type"),
    [
        (ExportFormat.JSON, CsvKind.PORTS, "scan_sample01.json", "application/json"),
        (ExportFormat.CSV, CsvKind.FINDINGS, "scan_sample01-findings.csv", "text/csv; charset=utf-8"),
        (ExportFormat.SARIF, CsvKind.PORTS, "scan_sample01.sarif", "application/sarif+json"),
        (ExportFormat.HTML, CsvKind.PORTS, "scan_sample01.html", "text/html; charset=utf-8"),
    ],
)
def test_each_format_has_its_file_name_and_content_type(
    fmt: ExportFormat, kind: CsvKind, filename: str, content_type: str
) -> None:
    file = render(sample_export(), fmt, kind)
    assert (file.filename, file.content_type) == (filename, content_type)


# ---- samples ----------------------------------------------------------------------------

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from rampart_report.exports.samples import write_samples

    return {path.name: path for path in write_samples(tmp_path_factory.mktemp("samples"))}


@pytest.mark.parametrize(
    "name",
    [
        "scan_sample01.json",
        "scan_sample01-ports.csv",
        "scan_sample01-findings.csv",
        "scan_sample01.sarif",
        "scan_sample01.html",
        "vulnerabilities-20261120T090500Z.json",
        "vulnerabilities-20261120T090500Z.csv",
        "vulnerabilities-20261120T090500Z.sarif",
        "vulnerabilities-20261120T090500Z.html",
    ],
)
def test_the_committed_samples_are_what_the_samples_command_writes(
    regenerated: dict[str, Path], name: str
) -> None:
    assert "scan_sample01.pdf" in regenerated
    assert "vulnerabilities-20261120T090500Z.pdf" in regenerated
    assert (SAMPLES / name).read_bytes() == regenerated[name].read_bytes(), (
        "run: uv run python -m rampart_report.exports.samples docs/samples/"
    )
