"""Unit rules of the matcher: CPE names, version families, configurations, ranges, aliases, priority."""

from __future__ import annotations

import pytest

from rampart_threat.knowledge.aliases import load_aliases
from rampart_threat.knowledge.cpe import (
    InvalidCpe,
    Relation,
    compare_values,
    is_disjoint,
    is_superset,
    parse_cpe,
    unquote,
)
from rampart_threat.knowledge.matcher import Basis, KnowledgeIndex, Matcher, Query, Verdict
from rampart_threat.knowledge.model import (
    Affected,
    AffectedVersion,
    ConfigNode,
    Configuration,
    CpeMatch,
    CveRecord,
    CvssMetric,
    Description,
    EpssScore,
    KevEntry,
    Origin,
)
from rampart_threat.knowledge.ranges import description_ranges, parse_comparators
from rampart_threat.knowledge.severity import Priority, assess, choose_metric
from rampart_threat.knowledge.versions import compare, detect, dpkg_compare

# --- CPE (NISTIR 7695/7696 examples) ---------------------------------------------------------------------


def test_cpe_parsing_keeps_quoting_and_fills_any() -> None:
    """Escaped characters stay literal; missing trailing attributes are ANY."""
    c = parse_cpe(r"cpe:2.3:a:foo\\bar:big\$money_2010:*:*:*:*:special:ipod_touch:80gb:*")
    assert c.vendor == r"foo\\bar"
    assert unquote(c.product) == "big$money_2010"
    assert c.sw_edition == "special"
    short = parse_cpe("cpe:2.3:a:redis:redis")
    assert short.version == "*"
    assert short.other == "*"
    assert parse_cpe(r"cpe:2.3:a:vendor:prod\:uct:1.0").key == "vendor:prod:uct"


@pytest.mark.parametrize(
    "bad",
    [
        "cpe:/a:redis:redis:7.0",
        "cpe:2.3:x:redis:redis:7",
        "cpe:2.3:a:v:p:1:2:3:4:5:6:7:8:9",
        "cpe:2.3:a:v:p:1*2",
    ],
)
def test_cpe_parsing_rejects_malformed_names(bad: str) -> None:
    with pytest.raises(InvalidCpe):
        parse_cpe(bad)


def test_attribute_relations_follow_the_name_matching_table() -> None:
    """ANY is a superset of everything, NA only equals NA, wildcards are supersets of what they cover."""
    assert compare_values("*", "-") is Relation.SUPERSET
    assert compare_values("-", "*") is Relation.SUBSET
    assert compare_values("-", "1.0") is Relation.DISJOINT
    assert compare_values("8.0.*", "8.0.6001") is Relation.SUPERSET
    assert compare_values("8.0.?", "8.0.61") is Relation.DISJOINT
    assert compare_values("1.0", "1.*") is Relation.UNDEFINED
    assert compare_values(r"8\.0\*", "8.0x") is Relation.DISJOINT


def test_name_superset_and_disjoint() -> None:
    """NISTIR 7696 example: a wildcarded IE 8 name covers the specific build."""
    source = parse_cpe("cpe:2.3:a:microsoft:internet_explorer:8.*:sp?:*:*:*:*:*:*")
    target = parse_cpe("cpe:2.3:a:microsoft:internet_explorer:8.0.6001:sp1:*:*:*:*:*:*")
    assert is_superset(source, target)
    assert not is_superset(target, source)
    assert is_disjoint(parse_cpe("cpe:2.3:a:microsoft:internet_explorer:7.*"), target)


# --- versions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("1.3.8", "1.3.8a"),
        ("1.1.1w", "1.1.1x"),
        ("4.96", "4.96.1"),
        ("9.2", "9.3"),
        ("9.2p1", "9.2p2"),
        ("9.2p2", "9.3"),
        ("15.8", "15.20"),
        ("2.11.0-RC.1", "2.11.0"),
        ("2.6.0rc1", "2.6.0"),
        ("7.0.0-beta2", "7.0.0-rc1"),
    ],
)
def test_version_order_per_family(older: str, newer: str) -> None:
    assert compare(older, newer) < 0
    assert compare(newer, older) > 0


def test_trailing_zeros_are_equal() -> None:
    assert compare("2.4", "2.4.0") == 0


def test_openssh_banner_splits_like_nvd_and_keeps_the_debian_revision() -> None:
    """9.2p1 -> version 9.2, update p1; "Debian-2+deb12u3" is a distribution revision."""
    d = detect("openssh", "9.2p1", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")
    assert (d.upstream, d.version, d.update) == ("9.2p1", "9.2", "p1")
    assert (d.distro, d.distro_revision) == ("debian", "2+deb12u3")
    assert detect("openssh", "1:9.2p1-2+deb12u3").distro_revision == "2+deb12u3"
    assert detect("openssh", "9.3").update == "-"
    assert not detect("redis", "7.0.15").from_distribution
    assert detect("http_server", "2.4.57", "Apache/2.4.57 (Debian)").from_distribution


def test_debian_package_versions_compare_like_dpkg() -> None:
    assert dpkg_compare("1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u2") > 0
    assert dpkg_compare("1.0~rc1-1", "1.0-1") < 0
    assert dpkg_compare("2:1.0-1", "1:9.9-1") > 0
    assert dpkg_compare("9.2p1-2", "9.2p1-2") == 0


# --- text ranges ---------------------------------------------------------------------------------------


def test_github_style_ranges_in_the_version_string() -> None:
    bound = parse_comparators(">= 7.0.0, < 7.2.6")
    assert bound is not None
    assert bound.contains("7.0.15")
    assert not bound.contains("7.2.6")
    assert not bound.contains("6.9.9")
    rc = parse_comparators(">= 2.11.0-RC.1, < 2.11.1")
    assert rc is not None
    assert rc.contains("2.11.0")
    assert not rc.contains("2.10.9")


def test_description_phrases() -> None:
    """before / through / and earlier / lists with wildcards / a bare version."""
    assert description_ranges("In Memcached before 1.6.22, an off-by-one", ("memcached",))[0].contains(
        "1.6.21"
    )
    assert not description_ranges("In Memcached before 1.6.22, x", ("memcached",))[0].contains("1.6.22")
    text = "MariaDB Server 10.4 through 10.5.*, 10.6 through 10.6.*, and 10.7 through 10.11.* crashes"
    bounds = description_ranges(text, ("mariadb",))
    assert len(bounds) == 3
    assert any(b.contains("10.11.19") for b in bounds)
    assert not any(b.contains("10.12.0") for b in bounds)
    assert description_ranges("Apache HTTP Server 2.4.59 and earlier", ("httpd", "apache http server"))[
        0
    ].contains("2.4.59")
    exact = description_ranges("VSFTPD 3.0.3 allows attackers", ("vsftpd",))
    assert exact[0].contains("3.0.3")
    assert not exact[0].contains("3.0.4")
    assert description_ranges("The HTTP/2 protocol allows", ("nginx",)) == []


# --- configurations, CVE 5 fallback, aliases, backports --------------------------------------------------


def _record(cve: str, *nodes: ConfigNode, operator: str | None = None, **kw: object) -> CveRecord:
    confs = (Configuration(nodes=nodes, operator=operator),) if nodes else ()
    return CveRecord(id=cve, configurations=confs, **kw)  # type: ignore[arg-type]


def _or(*matches: CpeMatch, negate: bool = False) -> ConfigNode:
    return ConfigNode(operator="OR", negate=negate, cpe_match=matches)


APP = "cpe:2.3:a:example:server:*:*:*:*:*:*:*:*"
LINUX = "cpe:2.3:o:debian:debian_linux:12.0:*:*:*:*:*:*:*"


def _matcher(*records: CveRecord) -> Matcher:
    return Matcher(KnowledgeIndex(records, load_aliases()))


def _verdict(m: Matcher, cve: str, **q: object) -> Verdict:
    found = {x.cve_id: x for x in m.match(Query(**q), include_negative=True)}  # type: ignore[arg-type]
    return found[cve].verdict


def test_running_on_configuration_is_conditional_until_the_platform_is_known() -> None:
    """AND(app, platform): conditional without an OS CPE, affected on it, not affected on another OS."""
    rec = _record(
        "CVE-1",
        _or(CpeMatch(True, APP, version_end_excluding="2.0")),
        _or(CpeMatch(False, LINUX)),
        operator="AND",
    )
    m = _matcher(rec)
    cpe = "cpe:2.3:a:example:server:1.5:*:*:*:*:*:*:*"
    assert _verdict(m, "CVE-1", cpe=cpe) is Verdict.CONDITIONAL
    assert _verdict(m, "CVE-1", cpe=cpe, platforms=(LINUX,)) is Verdict.AFFECTED
    other = "cpe:2.3:o:microsoft:windows:10:*:*:*:*:*:*:*"
    assert _verdict(m, "CVE-1", cpe=cpe, platforms=(other,)) is Verdict.NOT_AFFECTED
    assert _verdict(m, "CVE-1", cpe="cpe:2.3:a:example:server:2.0:*:*:*:*:*:*:*") is Verdict.NOT_AFFECTED


def test_negated_node_excludes_a_version() -> None:
    """AND(range, NOT exact 1.5): 1.4 affected, 1.5 not."""
    rec = _record(
        "CVE-2",
        _or(CpeMatch(True, APP, version_start_including="1.0", version_end_including="1.9")),
        _or(CpeMatch(True, "cpe:2.3:a:example:server:1.5:*:*:*:*:*:*:*"), negate=True),
        operator="AND",
    )
    m = _matcher(rec)
    assert _verdict(m, "CVE-2", cpe="cpe:2.3:a:example:server:1.4:*:*:*:*:*:*:*") is Verdict.AFFECTED
    assert _verdict(m, "CVE-2", cpe="cpe:2.3:a:example:server:1.5:*:*:*:*:*:*:*") is Verdict.NOT_AFFECTED


def test_exact_entries_need_the_update_but_ranges_compare_the_version_only() -> None:
    """openssh:9.3:p1 does not cover 9.3p2; a <9.3 range covers 9.2p1 whatever its p-level."""
    rec = _record(
        "CVE-3",
        _or(
            CpeMatch(True, "cpe:2.3:a:openbsd:openssh:9.3:p1:*:*:*:*:*:*"),
            CpeMatch(True, "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*", version_end_excluding="9.3"),
        ),
    )
    m = _matcher(rec)
    assert _verdict(m, "CVE-3", product="openssh", version="9.3p1") is Verdict.AFFECTED
    assert _verdict(m, "CVE-3", product="openssh", version="9.3p2") is Verdict.NOT_AFFECTED
    assert _verdict(m, "CVE-3", product="openssh", version="9.2p1") is Verdict.AFFECTED


def test_sw_edition_qualifier_rules_out_other_editions_only() -> None:
    """f5:nginx for open_source: an unknown edition may match, a named other edition may not."""
    rec = _record(
        "CVE-4",
        _or(CpeMatch(True, "cpe:2.3:a:f5:nginx:*:*:*:*:open_source:*:*:*", version_end_including="1.22.0")),
    )
    m = _matcher(rec)
    assert _verdict(m, "CVE-4", cpe="cpe:2.3:a:nginx:nginx:1.20.0:*:*:*:*:*:*:*") is Verdict.AFFECTED
    assert _verdict(m, "CVE-4", cpe="cpe:2.3:a:f5:nginx:1.20.0:*:*:*:plus:*:*:*") is Verdict.NOT_AFFECTED


def test_cve5_fallback_has_lower_confidence_and_description_is_never_confirmed() -> None:
    cna = Affected(
        Origin.CNA, "redis", "redis", "redis", versions=(AffectedVersion(">= 7.0.0, < 7.2.6", "affected"),)
    )
    structured = CveRecord(id="CVE-5", vuln_status="Awaiting Analysis", affected=(cna,))
    described = CveRecord(id="CVE-6", descriptions=(Description("en", "Redis before 7.2.0 crashes"),))
    m = _matcher(structured, described)
    got = {x.cve_id: x for x in m.match(Query(product="redis", version="7.0.15"))}
    assert got["CVE-5"].basis is Basis.CNA
    assert got["CVE-5"].confidence.value == "medium"
    assert got["CVE-5"].confirmed
    assert got["CVE-6"].basis is Basis.DESCRIPTION
    assert not got["CVE-6"].confirmed
    assert got["CVE-6"].tentative


def test_renamed_vendor_alias_from_data() -> None:
    aliases = load_aliases(
        '[[product]]\nkey = "new:prod"\nalso = ["old:prod"]\ncve5 = [["old co", "prod"]]\n'
    )
    assert aliases.canonical("old:prod") == "new:prod"
    assert aliases.for_cve5("Old Co", "Prod", None, ()) == "new:prod"
    assert load_aliases().canonical("nginx:nginx") == "f5:nginx"


# --- severity and priority -----------------------------------------------------------------------------


def _metric(version: str, score: float, origin: Origin = Origin.NVD, type_: str = "Primary") -> CvssMetric:
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    return CvssMetric(version, vector, score, "HIGH", "x", type_, origin)


def test_severity_prefers_newest_cvss_then_nvd_primary_then_cna_then_adp() -> None:
    adp40 = _metric("4.0", 9.0, Origin.ADP, "Secondary")
    cna40 = _metric("4.0", 8.0, Origin.CNA, "Secondary")
    nvd31 = _metric("3.1", 7.0)
    assert choose_metric((nvd31, adp40, cna40)) == cna40
    assert choose_metric((nvd31, _metric("2.0", 10.0))) == nvd31
    assert choose_metric(()) is None


def test_priority_uses_kev_and_epss_as_exploitation() -> None:
    """KEV -> active -> Act (network, no auth: automatable); high EPSS -> poc; otherwise none."""
    base = CveRecord(id="CVE-7", metrics=(_metric("3.1", 9.8),))
    kev = KevEntry("CVE-7", "2024-01-01")
    assert assess(CveRecord(id="CVE-7", metrics=base.metrics, kev=kev)).priority is Priority.ACT
    hot = CveRecord(id="CVE-7", metrics=base.metrics, epss=EpssScore("CVE-7", 0.5, 0.99, "2026-09-29"))
    assert assess(hot).exploitation == "poc"
    assert assess(hot).priority is Priority.ATTEND
    assert assess(base).priority is Priority.TRACK_STAR
    assert assess(CveRecord(id="CVE-8")).priority is Priority.TRACK


def _cna(
    cve: str, *versions: AffectedVersion, vendor: str = "example", default: str | None = None
) -> CveRecord:
    affected = (Affected(Origin.CNA, "ExampleCNA", vendor, "server", default, versions),)
    return CveRecord(id=cve, affected=affected)


@pytest.mark.parametrize("version", ["0.9", "1.0", "1.4.2", "1.5", "2.0", "2.1", "3.0", "3.0.1", "9.9"])
def test_every_shortcut_gives_what_judging_each_candidate_gives(version: str) -> None:
    """The row and CNA-range shortcuts of a match return exactly the non-negative verdicts (with their
    basis, reason, sources and entry) that the full decision order gives each candidate."""
    m = _matcher(
        _record(
            "CVE-1", _or(CpeMatch(True, APP, version_start_including="1.0", version_end_excluding="1.5"))
        ),
        _record(
            "CVE-2",
            _or(
                CpeMatch(True, "cpe:2.3:a:example:server:2.0:*:*:*:*:*:*:*"),
                CpeMatch(True, APP, version_end_including="1.0"),
            ),
        ),
        _record(
            "CVE-3",
            _or(CpeMatch(True, APP, version_start_excluding="2.0")),
            _or(CpeMatch(False, LINUX)),
            operator="AND",
        ),
        _cna("CVE-4", AffectedVersion("0", "affected", "semver", less_than="1.5")),
        _cna(
            "CVE-5",
            AffectedVersion("unspecified", "affected", "custom", less_than_or_equal="2.0"),
            AffectedVersion("3.0", "affected", "semver", less_than="3.0.1"),
        ),
        _cna("CVE-6", AffectedVersion("2.0", "unaffected", "semver", less_than="9.0")),
        _cna("CVE-7", AffectedVersion("1.0", "affected", "semver", less_than="2.0"), default="affected"),
    )
    query = Query(cpe=f"cpe:2.3:a:example:server:{version}:*:*:*:*:*:*:*")
    judged = [x for x in m.match(query, include_negative=True) if x.verdict is not Verdict.NOT_AFFECTED]
    assert m.match(query) == judged
    assert {x.basis for x in judged} <= {Basis.NVD, Basis.CNA}
