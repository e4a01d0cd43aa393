"""Every protocol rule against what a real server answered (recorded in tests/transcripts/)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from rampart_scan.engine.protocols import PARSERS
from rampart_scan.engine.services import load_rules, match_response

TRANSCRIPTS = sorted(Path(__file__).with_name("transcripts").glob("*.toml"))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[path.stem for path in TRANSCRIPTS])
def test_a_recorded_reply_names_service_product_version_and_cpe(path: Path) -> None:
    transcript = tomllib.loads(path.read_text())
    assert path.read_text().startswith("# Recorded by"), "a transcript says where it came from"
    rules = load_rules()
    probe = next(probe for probe in rules.probes if probe.name == transcript["probe"])
    info = match_response(probe, bytes.fromhex(transcript["response_hex"]), rules, tls=transcript["tls"])
    expect = transcript["expect"]
    assert info is not None
    assert (info.name, info.product, info.version) == (
        expect["service"],
        expect["product"],
        expect["version"],
    )
    assert info.tls is transcript["tls"]
    if expect["cpe_prefix"]:
        version = expect["version"] or "*"
        assert info.cpe == f"{expect['cpe_prefix']}{version}:*:*:*:*:*:*:*"
    else:
        assert info.cpe == ""


def test_the_transcripts_cover_every_decoder() -> None:
    probes = {probe.name: probe.parser for probe in load_rules().probes}
    used = {probes[tomllib.loads(path.read_text())["probe"]] for path in TRANSCRIPTS}
    assert set(PARSERS) <= used


@pytest.mark.parametrize("parser", sorted(PARSERS))
@pytest.mark.parametrize(
    "garbage",
    [b"", b"\x00", b"HTTP/1.0 400 Bad Request\r\n\r\n", b"\x30\x84\xff\xff\xff\xff", bytes(range(256))],
)
def test_decoders_reject_replies_of_other_protocols(parser: str, garbage: bytes) -> None:
    assert PARSERS[parser](garbage) is None


def test_decoders_survive_every_truncation_of_a_real_reply() -> None:
    rules = load_rules()
    for path in TRANSCRIPTS:
        transcript = tomllib.loads(path.read_text())
        probe = next(probe for probe in rules.probes if probe.name == transcript["probe"])
        reply = bytes.fromhex(transcript["response_hex"])
        for end in range(len(reply)):
            match_response(probe, reply[:end], rules, tls=transcript["tls"])  # never raises
