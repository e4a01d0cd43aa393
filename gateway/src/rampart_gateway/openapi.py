"""OpenAPI 3.1 document built from the operation table and the pydantic schemas."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from rampart.lib.catalogue import ERRORS
from rampart.lib.catalogue import SCOPES as CATALOGUE_SCOPES
from rampart_gateway.errors import STATUS_BY_CODE
from rampart_gateway.frontdoor import EXEMPT_PREFIXES
from rampart_gateway.operations import Operation

REF = "#/components/schemas/{model}"
SCOPES = {scope.name: scope.description for scope in CATALOGUE_SCOPES.values()}
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
            "code": {
                "type": "string",
                "enum": sorted(STATUS_BY_CODE),
                "description": "\n".join(
                    f"- `{name}` ({STATUS_BY_CODE[name]}): {ERRORS[name].description}"
                    for name in sorted(STATUS_BY_CODE)
                ),
            },
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


def _param_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """A property of a parameter model as a parameter schema: ``None`` means absent, not null."""
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    schema = dict(options[0]) if len(options) == 1 else {"anyOf": options}
    schema.pop("title", None)
    schema.pop("description", None)
    if prop.get("default") is not None:
        schema["default"] = prop["default"]
    return schema


def model_parameters(model: type[BaseModel] | None, where: str) -> list[dict[str, Any]]:
    """OpenAPI parameters generated from the model that also parses them (queries.py)."""
    if model is None:
        return []
    schema = model.model_json_schema(by_alias=True, mode="validation")
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        parameter = {"name": name, "in": where, "required": name in required, "schema": _param_schema(prop)}
        if "description" in prop:
            parameter["description"] = prop["description"]
        parameters.append(parameter)
    return parameters


def _raw_schema(media_type: str, model: type[BaseModel] | None) -> dict[str, Any]:
    if media_type == "application/json" and model is not None:
        return {"$ref": REF.format(model=model.__name__)}
    return {"type": "string"}


def error_codes(op: Operation) -> set[str]:
    """Every error code the operation can answer with, from what it takes and where it sits."""
    codes = {*op.errors, "INTERNAL_ERROR"}
    if not op.path.startswith(EXEMPT_PREFIXES):  # behind the front door: limits, credential checks
        codes |= {"RATE_LIMIT_EXCEEDED", "SERVICE_UNAVAILABLE", "UPSTREAM_TIMEOUT"}
    if op.auth:
        codes.add("INVALID_API_KEY")
    if op.scope:
        codes.add("INSUFFICIENT_PERMISSIONS")
    if op.body is not None or op.form or op.upload:
        codes |= {"BAD_REQUEST", "PAYLOAD_TOO_LARGE", "VALIDATION_ERROR"}
    if op.query is not None or op.headers is not None:
        codes.add("VALIDATION_ERROR")
    return codes


def _operation(op: Operation) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": op.endpoint.__name__,
        "summary": op.summary,
        "tags": [op.tag],
    }
    spec["security"] = [{"bearerAuth": []}, {"oauth2": [op.scope] if op.scope else []}] if op.auth else []
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 128}}
        for name in re.findall(r"{(\w+)}", op.path)
    ]
    parameters += model_parameters(op.query, "query") + model_parameters(op.headers, "header")
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
    if op.upload:
        spec["requestBody"] = {
            "required": True,
            "description": op.upload,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
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
        media = (op.raw_response,) if isinstance(op.raw_response, str) else op.raw_response
        content = {kind: {"schema": _raw_schema(kind, op.response)} for kind in media}
    else:
        content = {"application/json": {"schema": _envelope(op.response)}}
    responses: dict[str, Any] = {
        str(op.status): {"description": "success", "content": content, "headers": RATE_HEADERS}
    }
    for also, when in op.also.items():
        responses[str(also)] = {"description": when, "content": content, "headers": RATE_HEADERS}
    for code in sorted(error_codes(op)):
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
