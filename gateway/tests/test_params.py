"""Parameters are typed once: the same models parse requests and make the OpenAPI document."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import BaseModel, ValidationError

from rampart_gateway.api.scans.queries import ListScansQuery
from rampart_gateway.api.system.health import VERSION
from rampart_gateway.app import operations
from rampart_gateway.errors import ApiError
from rampart_gateway.inputs import parse, validation_error
from rampart_gateway.openapi import build_openapi


def spec() -> dict[str, Any]:
    return build_openapi(operations(), VERSION)


def params(document: dict[str, Any], path: str, method: str = "get") -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in document["paths"][path][method]["parameters"]}


def test_list_parameters_carry_types_bounds_formats_and_enums() -> None:
    listed = params(spec(), "/api/v1/scans")
    assert listed["page"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100_000, "default": 1}
    assert listed["per_page"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert listed["created_after"]["schema"] == {"type": "string", "format": "date-time"}
    assert "2100-01-01T00:00:00Z" in listed["created_after"]["description"]
    assert listed["status"]["schema"]["enum"] == [
        "queued",
        "running",
        "completed",
        "failed",
        "cancelled",
        "timeout",
    ]
    assert listed["order"]["schema"]["enum"] == ["desc", "asc"]
    assert listed["cursor"]["schema"]["maxLength"] == 512
    stream = params(spec(), "/api/v1/scans/{scan_id}/stream")
    assert stream["last_event_id"]["schema"]["type"] == "integer"
    assert stream["Last-Event-ID"]["in"] == "header"
    assert stream["Last-Event-ID"]["schema"]["maximum"] == 2**63 - 1
    keys = params(spec(), "/api/v1/api-keys")
    assert keys["include_revoked"]["schema"] == {"type": "boolean", "default": False}


def test_export_is_documented_as_the_object_or_the_file_it_returns() -> None:
    export = spec()["paths"]["/api/v1/scans/{scan_id}/export"]["get"]
    content = export["responses"]["200"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ScanExport"}
    for media_type in ("text/csv", "application/sarif+json", "text/html", "application/pdf"):
        assert content[media_type]["schema"] == {"type": "string"}
    formats = params(spec(), "/api/v1/scans/{scan_id}/export")["format"]["schema"]["enum"]
    assert formats == ["json", "csv", "sarif", "html", "pdf"]


def test_every_status_an_operation_can_answer_is_documented() -> None:
    paths = spec()["paths"]
    assert {"400", "413", "422", "429", "500", "503"} <= set(
        paths["/api/v1/auth/register"]["post"]["responses"]
    )
    assert {"400", "413", "422"} <= set(paths["/api/v1/auth/token"]["post"]["responses"])
    listed = set(paths["/api/v1/scans"]["get"]["responses"])
    assert {"200", "401", "403", "422", "429", "500", "503", "504"} <= listed
    assert {"404", "422"} <= set(paths["/api/v1/scans/{scan_id}/stream"]["get"]["responses"])


@pytest.mark.parametrize("raw", ["\u00b2", "\u0661", "\U0001d7da", "+1", " 1", "1.0", "0x10", "1_0", ""])
def test_numbers_are_ascii_digits_only(raw: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse(ListScansQuery, {"page": raw})
    assert (refused.value.status_code, refused.value.details["field"]) == (422, "page")


@pytest.mark.parametrize(
    "raw",
    [
        "2300-01-01T00:00:00Z",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "2024-01-01",
        "1700000000",
        "2024-01-01T00:00:00",
    ],
)
def test_times_are_rfc3339_within_the_documented_range(raw: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse(ListScansQuery, {"created_after": raw})
    assert refused.value.details["field"] == "created_after"


def test_echoed_values_are_short_and_always_encodable() -> None:
    class Body(BaseModel):
        ports: int

    with pytest.raises(ValidationError) as error:
        Body.model_validate({"ports": "80\ud800" * 100})
    details = validation_error(error.value).details
    assert len(details["value"]) <= 64
    orjson.dumps(details)  # a lone surrogate would make the error envelope itself fail
