"""OpenAPI 3.1 document built from the operation table and the pydantic schemas."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from rampart_gateway.errors import STATUS_BY_CODE
from rampart_gateway.operations import Operation

REF = "#/components/schemas/{model}"
SCOPES = {
    "*": "everything the account may do",
    "scans:read": "read scans",
    "scans:write": "start and cancel scans",
    "threats:read": "read findings",
    "threats:write": "triage findings and incidents",
    "reports:read": "read reports",
    "reports:write": "create reports and webhooks",
    "ai:use": "use the assistant",
    "keys:manage": "manage API keys",
}
ENVELOPE_SCHEMAS: dict[str, Any] = {
    "Metadata": {
        "type": "object",
        "required": ["timestamp", "request_id"],
        "properties": {
            "timestamp": {"type": "string", "format": "date-time"},
            "request_id": {"type": "string"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "string", "enum": sorted(STATUS_BY_CODE)},
            "message": {"type": "string"},
            "retry_after": {"type": "integer", "description": "on 429 only"},
            "details": {"type": "object", "additionalProperties": True},
        },
    },
    "ErrorEnvelope": {
        "type": "object",
        "required": ["success", "error", "metadata"],
        "properties": {
            "success": {"const": False},
            "error": {"$ref": REF.format(model="Error")},
            "metadata": {"$ref": REF.format(model="Metadata")},
        },
    },
}
RATE_HEADERS = {
    name: {"schema": {"type": "integer"}, "description": text}
    for name, text in (
        ("X-RateLimit-Limit", "requests allowed in the window"),
        ("X-RateLimit-Remaining", "requests left in the window"),
        ("X-RateLimit-Reset", "unix time when the window has room again"),
    )
}


def _envelope(model: type[BaseModel] | None) -> dict[str, Any]:
    data: dict[str, Any] = {"$ref": REF.format(model=model.__name__)} if model else {}
    return {
        "type": "object",
        "required": ["success", "data", "metadata"],
        "properties": {
            "success": {"const": True},
            "data": data,
            "metadata": {"$ref": REF.format(model="Metadata")},
        },
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}},
    }


def _operation(op: Operation) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": op.endpoint.__name__,
        "summary": op.summary,
        "tags": [op.tag],
    }
    spec["security"] = [{"bearerAuth": []}, {"oauth2": [op.scope] if op.scope else []}] if op.auth else []
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", op.path)
    ]
    parameters += [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": text,
        }
        for name, text in op.query.items()
    ]
    parameters.append(
        {
            "name": "X-Request-ID",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 128},
            "description": "echoed back; made when absent",
        }
    )
    spec["parameters"] = parameters
    if op.body is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}},
        }
    if op.form:
        spec["requestBody"] = {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["username", "password"],
                        "properties": {k: {"type": "string", "description": v} for k, v in op.form.items()},
                    }
                }
            },
        }
    if op.raw_response:
        content = {op.raw_response: {"schema": {"type": "string"}}}
    else:
        content = {"application/json": {"schema": _envelope(op.response)}}
    responses: dict[str, Any] = {
        str(op.status): {"description": "success", "content": content, "headers": RATE_HEADERS}
    }
    codes = (
        set(op.errors)
        | {"INTERNAL_ERROR"}
        | ({"INVALID_API_KEY", "RATE_LIMIT_EXCEEDED"} if op.auth else set())
    )
    if op.scope:
        codes.add("INSUFFICIENT_PERMISSIONS")
    for code in sorted(codes):
        status = str(STATUS_BY_CODE[code])
        existing = responses.get(status)
        responses[status] = _error(f"{existing['description']}, {code}" if existing else code)
    spec["responses"] = responses
    return spec


def build_openapi(operations: Iterable[Operation], version: str) -> dict[str, Any]:
    operations = list(operations)
    models = {m for op in operations for m in (op.body, op.response) if m is not None}
    _, defs = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF
    )
    paths: dict[str, Any] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rampart API",
            "version": version,
            "description": "Security scanning platform. Every JSON response uses the envelope "
            "{success, data | error, metadata}.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {**defs.get("$defs", {}), **ENVELOPE_SCHEMAS},
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API key (sk_live_…, sk_test_…) or a JWT from /api/v1/auth/token",
                },
                "oauth2": {
                    "type": "oauth2",
                    "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": SCOPES}},
                },
                "apiKeyQuery": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "api_key",
                    "description": "stream endpoints only (SSE, WebSocket); prefer ?ticket=",
                },
            },
        },
    }
