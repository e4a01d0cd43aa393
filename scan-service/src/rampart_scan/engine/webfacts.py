"""HTTP facts: headers that disclose or protect, directory listings, management APIs answering.

Read from the ``GET /`` detection already sent. Only when that answer is JSON (an API, not a
site) two more read-only requests follow: ``GET /version`` (Docker Engine) and ``GET /api``
(Kubernetes API discovery), each recognised by the shape of its JSON.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from rampart_scan.engine.services import ServiceInfo
from rampart_scan.engine.session import Endpoint, Unanswered, session

Facts = dict[str, str]
HEADERS = {
    "server": "http.server",
    "x-powered-by": "http.powered_by",
    "strict-transport-security": "http.hsts",
}
LISTING = re.compile(rb"(?i)<title>\s*(Index of /|Directory listing for /)")
STATUS = re.compile(rb"^HTTP/\d(?:\.\d)? (\d{3})")
VALUE_CHARS = 200
ROOT_PROBES = {"http", "http-app"}  # the detection probes that asked for "/"


def split(reply: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names, the first of each) and body of an HTTP/1 answer."""
    head, _, body = reply.partition(b"\r\n\r\n")
    status = STATUS.match(head)
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), value.strip())
    return (int(status.group(1)) if status else 0), headers, body


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError:
        return None


def _elasticsearch(document: Any) -> bool:
    version = document.get("version") if isinstance(document, dict) else None
    return isinstance(version, dict) and "cluster_name" in document and "lucene_version" in version


def _docker(document: Any) -> bool:
    return isinstance(document, dict) and {"ApiVersion", "Version", "Os"} <= document.keys()


def _kubernetes(document: Any) -> bool:
    return isinstance(document, dict) and document.get("kind") == "APIVersions" and "versions" in document


def _answered(data: bytes) -> bool:
    """Whole once the body its Content-Length announces is in (else the server's close ends it)."""
    head, found, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head) if found else None
    return length is not None and len(body) >= int(length.group(1))


async def _get(endpoint: Endpoint, path: str) -> tuple[int, Any]:
    request = f"GET {path} HTTP/1.0\r\nHost: {endpoint.host.label}\r\nUser-Agent: rampart-scan/0.1\r\n"
    async with session(endpoint) as conversation:
        await conversation.send(request.encode() + b"Accept: application/json\r\n\r\n")
        with contextlib.suppress(Unanswered):  # HTTP/1.0 without a length: the close ends it
            await conversation.read_until(_answered)
        status, _headers, body = split(conversation.received)
    return status, _json(body)


async def management_api(endpoint: Endpoint, document: Any) -> str:
    """Which unauthenticated management API answers, if any: "" when none."""
    if _elasticsearch(document):
        return "elasticsearch"
    for path, shape, name in (("/version", _docker, "docker"), ("/api", _kubernetes, "kubernetes")):
        status, answer = await _get(endpoint, path)
        if status == 200 and shape(answer):
            return name
    return ""


async def http_facts(endpoint: Endpoint, info: ServiceInfo, pentest: bool) -> Facts:
    status, headers, body = split(info.reply)
    if not status:
        return {}
    facts = {key: headers[name][:VALUE_CHARS] for name, key in HEADERS.items() if headers.get(name)}
    if info.probe in ROOT_PROBES:
        facts["http.directory_listing"] = "true" if status == 200 and LISTING.search(body) else "false"
    document = _json(body) if "json" in headers.get("content-type", "") else None
    if document is not None:
        try:
            api = await management_api(endpoint, document if status == 200 else None)
        except Unanswered:
            api = ""
        if api:
            facts["http.api"] = api
    return facts
