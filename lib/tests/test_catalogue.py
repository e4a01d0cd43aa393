"""The catalogue is complete: every error code and scope the code uses is in rampart.lib.catalogue.

The source scan reads every non-generated module of the workspace for the places a public
error code is written (``ApiError("X"``, ``public_code = "X"``, ``code="X"`` / ``"code": "X"``
of a scan or stream error, ``fail(request, 503, "X"``) and the places a scope is required
(``require(request, "s")``, ``allows("s")``, ``scope="s"``); the operation table is checked
as built.
"""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest

from rampart.lib.catalogue import (
    CODE_FOR_GRPC_STATUS,
    CODE_FOR_HTTP_STATUS,
    ERRORS,
    SCOPES,
    error_code,
    subjects,
)
from rampart.lib.errors import InvalidArgument, RampartError, decode_details, encode_details
from rampart_auth.domain import SCOPES as AUTH_SCOPES
from rampart_gateway.app import operations
from rampart_gateway.errors import STATUS_BY_CODE, ApiError
from rampart_gateway.openapi import ENVELOPE_SCHEMAS
from rampart_gateway.openapi import SCOPES as OPENAPI_SCOPES
from rampart_scan.engine.ports import InvalidPortSpec, parse_ports

ROOT = Path(__file__).resolve().parents[2]
CODE = r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"'
CODE_PATTERNS = (
    re.compile(r"ApiError\(\s*" + CODE),
    re.compile(r"ScanError\(\s*" + CODE),
    re.compile(r"public_code(?:\s*:\s*[^=\n]+)?\s*=\s*" + CODE),
    re.compile(r"\bcode\s*=\s*" + CODE),
    re.compile(r'"code"\s*:\s*' + CODE),
    re.compile(r"\bfail\(\s*\w+,\s*\d+,\s*" + CODE),
)
SCOPE = r'"(\*|[a-z]+:[a-z*]+)"'  # "*" or resource:action
SCOPE_PATTERNS = (
    re.compile(r"\brequire\(\s*\w+,\s*" + SCOPE),
    re.compile(r"\ballows\(\s*" + SCOPE),
    re.compile(r"\bscope\s*=\s*" + SCOPE),
)


def sources() -> list[Path]:
    """Every hand-written module of the workspace (generated code and virtualenvs aside)."""
    found = []
    for folder in (
        "lib",
        "gateway",
        "auth-service",
        "scan-service",
        "threat-service",
        "ai-service",
        "report-service",
    ):
        found += [p for p in (ROOT / folder / "src").rglob("*.py") if "_pb2" not in p.name]
    return sorted(found)


def used(patterns: tuple[re.Pattern[str], ...], text: str) -> set[str]:
    return {match for pattern in patterns for match in pattern.findall(text)}


def used_in_sources(patterns: tuple[re.Pattern[str], ...]) -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    for path in sources():
        for name in used(patterns, path.read_text()):
            where.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return where


def test_the_source_scan_finds_codes_and_scopes_in_every_form_it_looks_for() -> None:
    """Pins the scanner itself, so that a silent regex cannot make the next test pass vacuously."""
    snippet = """
        raise ApiError(
            "NEW_GATEWAY_CODE", "…")
        public_code = "NEW_DOMAIN_CODE"
        public_code: ClassVar[str] = "NEW_TYPED_CODE"
        ScanError(code="NEW_SCAN_ERROR", message="…")
        ScanError("NEW_POSITIONAL_SCAN_ERROR", "…")
        {"error": {"code": "NEW_STREAM_ERROR"}}
        return fail(request, 503, "NEW_ENVELOPE_CODE", message)
        principal = require(request, "new:scope")
        principal.allows("other:scope")
        Operation("GET", "/x", endpoint, "s", "t", scope="op:scope")
    """
    assert used(CODE_PATTERNS, snippet) == {
        "NEW_GATEWAY_CODE",
        "NEW_DOMAIN_CODE",
        "NEW_TYPED_CODE",
        "NEW_SCAN_ERROR",
        "NEW_POSITIONAL_SCAN_ERROR",
        "NEW_STREAM_ERROR",
        "NEW_ENVELOPE_CODE",
    }
    assert used(SCOPE_PATTERNS, snippet) == {"new:scope", "other:scope", "op:scope"}
    found = used_in_sources(CODE_PATTERNS)
    assert {"CLIENT_TOO_SLOW", "SCAN_CANCELLED", "SCAN_TIMEOUT", "INVALID_PORT_SPEC", "SERVICE_BUSY"} <= set(
        found
    )


def test_every_error_code_written_in_the_source_is_in_the_catalogue() -> None:
    missing = {code: where for code, where in used_in_sources(CODE_PATTERNS).items() if code not in ERRORS}
    assert missing == {}, "add these codes to rampart/lib/catalogue/codes.py"


def test_every_error_an_operation_lists_is_answerable_over_http() -> None:
    for op in operations():
        unknown = [code for code in op.errors if code not in STATUS_BY_CODE]
        assert unknown == [], f"{op.method} {op.path} lists codes the catalogue lacks"


def test_every_scope_required_in_the_source_or_by_an_operation_is_in_the_catalogue() -> None:
    missing = {s: where for s, where in used_in_sources(SCOPE_PATTERNS).items() if s not in SCOPES}
    assert missing == {}
    declared = {op.scope for op in operations() if op.scope is not None}
    assert declared
    assert declared <= set(SCOPES)


def test_scopes_are_one_list_for_auth_service_and_the_openapi_document() -> None:
    assert set(AUTH_SCOPES) == set(SCOPES) == set(OPENAPI_SCOPES)
    assert OPENAPI_SCOPES["scans:write"] == SCOPES["scans:write"].description


def test_the_gateway_and_openapi_statuses_come_from_the_catalogue() -> None:
    assert {name: code.http for name, code in ERRORS.items() if code.http is not None} == STATUS_BY_CODE
    assert ENVELOPE_SCHEMAS["Error"]["properties"]["code"]["enum"] == sorted(STATUS_BY_CODE)
    assert STATUS_BY_CODE["INVALID_PORT_SPEC"] == 400
    assert "SCAN_CANCELLED" not in STATUS_BY_CODE  # only ever in a scan's or a stream's error


def test_fallback_codes_exist_and_answer_with_their_own_http_status() -> None:
    for http, name in CODE_FOR_HTTP_STATUS.items():
        assert ERRORS[name].http == http
    for status, name in CODE_FOR_GRPC_STATUS.items():
        assert name in ERRORS
        assert isinstance(status, grpc.StatusCode)


def test_an_error_class_with_a_code_outside_the_catalogue_fails_when_defined() -> None:
    with pytest.raises(KeyError, match="NOT_IN_THE_CATALOGUE"):

        class Unknown(RampartError):
            public_code = "NOT_IN_THE_CATALOGUE"


def test_error_classes_take_their_grpc_status_from_the_catalogue() -> None:
    class Refused(InvalidArgument):
        public_code = "TARGET_NOT_ALLOWED"

    assert Refused.grpc_code == grpc.StatusCode.PERMISSION_DENIED
    assert (
        InvalidPortSpec.grpc_code == error_code("INVALID_PORT_SPEC").grpc == grpc.StatusCode.INVALID_ARGUMENT
    )


def test_a_bad_port_spec_is_refused_with_invalid_port_spec_and_its_details() -> None:
    with pytest.raises(InvalidPortSpec) as refused:
        parse_ports("1-99999")
    assert refused.value.public_code == "INVALID_PORT_SPEC"
    assert refused.value.details == {"field": "ports", "value": "1-99999", "part": "99999"}


def test_an_unknown_code_in_the_gateway_is_a_logged_internal_error_not_a_400() -> None:
    error = ApiError("NO_SUCH_CODE", "leaks nothing", {"secret": "x"})
    assert (error.status_code, error.code, error.message, error.details) == (
        500,
        "INTERNAL_ERROR",
        "internal error",
        {},
    )


def test_details_survive_error_info_metadata_with_their_types() -> None:
    details = {"part": "99999", "limit": 1024, "unresolved": ["a.example"], "ok": True, "null": None}
    metadata = encode_details(details)
    assert all(isinstance(value, str) for value in metadata.values())
    assert metadata["part"] == "99999"  # strings stay readable as they are (grpcurl)
    assert decode_details(metadata) == details


def test_subjects_of_one_scan_fall_under_the_scan_events_stream() -> None:
    assert subjects.scan_event("scan_x", "progress").startswith(subjects.SCAN_EVENTS[:-1])
    assert subjects.scan_events_of("scan_x") == "scan.events.scan_x.>"
    assert subjects.key_revoked("key_1").startswith(subjects.KEY_REVOKED_ANY[:-1])
