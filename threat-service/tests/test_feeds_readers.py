"""Feed readers on the real fixture records, the starter set, and FEEDS_DIR path safety."""

from __future__ import annotations

import gzip
import json
import lzma
import zipfile
from pathlib import Path

import pytest

from rampart_threat.feeds import readers, starter
from rampart_threat.feeds.domain import FeedFormatError, FeedPathRefused
from rampart_threat.feeds.paths import resolve_under

FEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "vulnfeeds"
pytestmark = pytest.mark.skipif(not FEEDS.is_dir(), reason=f"feed fixtures not found at {FEEDS}")


def by_id(records: list[dict[str, object]], key: str = "id") -> dict[object, dict[str, object]]:
    return {r[key]: r for r in records}


def test_per_cve_nvd_files_and_the_api_response_give_the_same_records() -> None:
    files = list(readers.iter_nvd(FEEDS / "nvd"))
    response = list(readers.iter_nvd(FEEDS / "nvd-api-2.0-response.json"))
    assert len(files) == len(response) == 40
    assert by_id(files) == by_id(response)


@pytest.mark.parametrize("suffix", [".gz", ".xz"])
def test_a_compressed_api_response_reads_like_the_plain_one(tmp_path: Path, suffix: str) -> None:
    raw = (FEEDS / "nvd-api-2.0-response.json").read_bytes()
    target = tmp_path / f"page.json{suffix}"
    target.write_bytes(gzip.compress(raw) if suffix == ".gz" else lzma.compress(raw))
    assert by_id(list(readers.iter_nvd(target))) == by_id(list(readers.iter_nvd(FEEDS / "nvd")))


def test_cve5_records_keep_their_adp_containers() -> None:
    records = {r["cveMetadata"]["cveId"]: r for r in readers.iter_cve5(FEEDS / "cve5")}
    assert len(records) == 40
    adp = records["CVE-2024-1737"]["containers"]["adp"]
    assert any(c["providerMetadata"]["shortName"] == "CISA-ADP" for c in adp)


def test_a_cve_list_release_zip_with_a_nested_zip_reads_like_the_directory(tmp_path: Path) -> None:
    inner = tmp_path / "cves.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        for path in sorted((FEEDS / "cve5").glob("*.json")):
            year, number = path.stem.split("-")[1:]
            archive.write(path, f"cves/{year}/{number[:-3]}xxx/{path.name}")
        archive.writestr("cves/delta.json", "{}")  # the list's delta file is passed over
    outer = tmp_path / "release.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.write(inner, "cves.zip")
    from_zip = {r["cveMetadata"]["cveId"]: r for r in readers.iter_cve5(outer)}
    assert from_zip == {r["cveMetadata"]["cveId"]: r for r in readers.iter_cve5(FEEDS / "cve5")}


def test_the_kev_catalogue_gives_its_version_release_and_every_entry() -> None:
    kev = readers.read_kev(FEEDS / "kev" / "known_exploited_vulnerabilities.json")
    assert kev.version == "2025.08.25"
    assert kev.released.isoformat().startswith("2025-08-25T17:04:19")
    assert len(kev.entries) == 1404
    assert "CVE-2021-41773" in {e["cveID"] for e in kev.entries}


@pytest.mark.parametrize("compressed", [False, True])
def test_epss_gives_its_model_version_score_date_and_rows(tmp_path: Path, compressed: bool) -> None:
    path = FEEDS / "epss" / "epss_scores-subset.csv"
    if compressed:
        path = tmp_path / "epss.csv.gz"
        path.write_bytes(gzip.compress((FEEDS / "epss" / "epss_scores-subset.csv").read_bytes()))
    with readers.open_epss(path) as scores:
        rows = list(scores.rows)
        assert scores.model_version == "v2026.06.15"
        assert scores.score_date.isoformat() == "2026-09-29T12:00:22+00:00"
    assert len(rows) == 40
    assert (rows[0].cve_id, rows[0].score, rows[0].percentile) == ("CVE-2013-2028", 0.87475, 0.99753)


def test_an_epss_file_without_its_score_date_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "epss.csv"
    path.write_text("cve,epss,percentile\nCVE-2024-6387,0.1,0.2\n")
    with pytest.raises(FeedFormatError), readers.open_epss(path) as scores:
        list(scores.rows)


def test_a_file_that_is_not_nvd_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"hello": "world"}))
    with pytest.raises(FeedFormatError):
        list(readers.iter_nvd(path))


def test_the_starter_set_loads_and_every_record_carries_its_source() -> None:
    dataset = starter.load()
    assert dataset.snapshot.year >= 2026
    assert len(dataset.records) >= 20
    raw = json.loads(starter.STARTER_PATH.read_text())["records"]
    for item in raw:
        assert item["source"]["nvd"] == f"https://nvd.nist.gov/vuln/detail/{item['id']}"
        assert item["source"]["transcribed_from"].startswith("fkie-cad/nvd-json-data-feeds@")
    products = {r["product"] for r in raw}
    assert {"OpenSSH", "nginx", "Apache httpd", "Redis", "PostgreSQL", "OpenSSL", "BIND"} <= products
    regresshion = next(r for r in dataset.records if r.cve_id == "CVE-2024-6387")
    criteria = [
        m["criteria"] for c in regresshion.nvd["configurations"] for n in c["nodes"] for m in n["cpeMatch"]
    ]
    assert "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*" in criteria
    assert regresshion.nvd["metrics"]["cvssMetricV31"][0]["cvssData"]["baseScore"] == 8.1


def test_starter_facts_match_the_public_nvd_records_they_cite() -> None:
    """Where the fixtures hold the same record, the transcribed facts agree with it."""
    for record in starter.load().records:
        fixture = FEEDS / "nvd" / f"{record.cve_id}.json"
        if not fixture.exists():
            continue
        nvd = json.loads(fixture.read_text())
        assert record.nvd["lastModified"] == nvd["lastModified"]
        ours = {
            m["criteria"] for c in record.nvd["configurations"] for n in c["nodes"] for m in n["cpeMatch"]
        }
        theirs = {m["criteria"] for c in nvd["configurations"] for n in c["nodes"] for m in n["cpeMatch"]}
        assert ours
        assert ours <= theirs


def test_rpc_paths_inside_feeds_dir_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "nvd").mkdir()
    page = tmp_path / "nvd" / "page.json"
    page.write_text("{}")
    assert resolve_under(tmp_path, "nvd/page.json") == page.resolve()
    assert resolve_under(tmp_path, str(page)) == page.resolve()


@pytest.mark.parametrize(
    "requested", ["../outside.json", "/etc/passwd", "missing.json", "", "link.json", "tree"]
)
def test_rpc_paths_outside_feeds_dir_or_through_escaping_symlinks_are_refused(
    tmp_path: Path, requested: str
) -> None:
    root = tmp_path / "feeds"
    root.mkdir()
    (tmp_path / "outside.json").write_text("{}")
    (root / "link.json").symlink_to(tmp_path / "outside.json")
    (root / "tree").mkdir()
    (root / "tree" / "escape.json").symlink_to(tmp_path / "outside.json")
    with pytest.raises(FeedPathRefused):
        resolve_under(root, requested)


def test_rpc_imports_are_refused_when_feeds_dir_is_not_set() -> None:
    with pytest.raises(FeedPathRefused):
        resolve_under(None, "anything.json")
