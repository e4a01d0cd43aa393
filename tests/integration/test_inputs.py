"""Hostile inputs through the real gateway: bounded bodies, strict numbers, dates, cursors, tickets."""

from __future__ import annotations

import base64
import json
import selectors
import socket
import time
from pathlib import Path
from urllib.parse import quote

import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from rampart_devtools.devstack import DevStack
from tests.integration.conftest import assert_refused, bearer, register

GIB = 1024**3
MIB = 1024**2


def peak_rss(pid: int) -> int:
    """The process's peak resident set size (VmHWM) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def chunked_upload(
    port: int, path: str, content_type: str, total: int, deadline: float = 60.0
) -> tuple[bytes, int]:
    """POST ``total`` bytes as a chunked body, made as it is sent; stop sending once answered.

    Returns the server's answer and how many body bytes were sent before it stopped us.
    """
    chunk = b"a" * (64 * 1024)
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    pending, sent, answer, sending = head, 0, b"", True
    give_up = time.monotonic() + deadline
    try:
        while time.monotonic() < give_up:
            for _, events in selector.select(timeout=1.0):
                if events & selectors.EVENT_READ:
                    try:
                        data = sock.recv(65536)
                    except ConnectionResetError:
                        data = b""
                    if not data:
                        return answer, sent
                    answer += data
                    sending = False  # answered: a client stops sending
                    selector.modify(sock, selectors.EVENT_READ)
                if sending and events & selectors.EVENT_WRITE:
                    if not pending:
                        if sent >= total:
                            pending, sending = b"0\r\n\r\n", False
                        else:
                            pending, sent = frame, sent + len(chunk)
                    try:
                        pending = pending[sock.send(pending) :]
                    except (BrokenPipeError, ConnectionResetError):
                        sending = False
                        selector.modify(sock, selectors.EVENT_READ)
        raise AssertionError(f"no end in {deadline}s; sent {sent} bytes, answer {answer[:200]!r}")
    finally:
        selector.close()
        sock.close()


def answer_json(answer: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/auth/register", "application/json"),
        ("/api/v1/auth/token", "application/x-www-form-urlencoded"),
    ],
)
def test_a_gigabyte_chunked_upload_is_cut_at_the_limit_and_memory_stays_flat(
    stack: DevStack, path: str, content_type: str
) -> None:
    """JSON and form bodies alike: 413 in the envelope long before the gigabyte is read."""
    gateway = stack.processes["gateway"].pid
    before = peak_rss(gateway)
    answer, sent = chunked_upload(stack.ports["gateway"], path, content_type, GIB)
    status, headers, body = answer_json(answer)
    assert status == 413, answer[:300]
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert body["error"]["details"]["max_bytes"] == 64 * 1024
    assert headers["connection"] == "close"
    assert sent < 64 * MIB, f"the gateway read {sent} bytes before refusing"
    assert peak_rss(gateway) - before < 50 * MIB


def test_a_declared_oversized_body_is_refused_unread(stack: DevStack) -> None:
    with socket.create_connection(("127.0.0.1", stack.ports["gateway"]), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % GIB
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    status, _, body = answer_json(answer)
    assert (status, body["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")


def test_deep_or_unencodable_json_is_a_clean_400(api: httpx.Client) -> None:
    deep = b"[" * 30_000 + b"]" * 30_000
    assert_refused(api.post("/api/v1/auth/register", content=deep), 400, "BAD_REQUEST")
    key = register(api)["api_key"]
    surrogate = b'{"target": "127.0.0.1", "ports": "80\\ud800"}'
    reply = api.post("/api/v1/scans", content=surrogate, headers=bearer(key))
    assert_refused(reply, 400, "BAD_REQUEST")


@pytest.fixture
def scan_owner(api: httpx.Client) -> tuple[str, str]:
    key = register(api)["api_key"]
    created = api.post("/api/v1/scans", json={"target": "127.0.0.1", "ports": "1"}, headers=bearer(key))
    assert created.status_code == 201, created.text
    return key, created.json()["data"]["scan_id"]


def test_numbers_are_ascii_digits_within_bounds(api: httpx.Client, scan_owner: tuple[str, str]) -> None:
    key, scan_id = scan_owner
    for query, field in (
        ("per_page=\u00b2", "per_page"),
        ("page=\u00b2", "page"),
        ("per_page=\u0661", "per_page"),
        ("page=\U0001d7da", "page"),
        ("page=0", "page"),
        ("page=99999999999999999999999", "page"),
        ("per_page=+5", "per_page"),
    ):
        reply = api.get(f"/api/v1/scans?{query}", headers=bearer(key))
        body = assert_refused(reply, 422, "VALIDATION_ERROR")
        assert body["error"]["details"]["field"] == field, query
    stream = f"/api/v1/scans/{scan_id}/stream"
    reply = api.get(f"{stream}?last_event_id=\u00b2", headers=bearer(key))
    body = assert_refused(reply, 422, "VALIDATION_ERROR")
    assert body["error"]["details"]["field"] == "last_event_id"
    header = {**bearer(key), "Last-Event-ID": b"\xb2"}
    body = assert_refused(api.get(stream, headers=header), 422, "VALIDATION_ERROR")  # type: ignore[arg-type]
    assert body["error"]["details"]["field"] == "Last-Event-ID"
    page = api.get("/api/v1/scans?page=1&per_page=100", headers=bearer(key)).json()["data"]
    assert (page["page"], page["per_page"], page["total"]) == (1, 100, 1)


def test_dates_outside_the_documented_range_are_refused(api: httpx.Client) -> None:
    key = register(api)["api_key"]
    for name, value in (
        ("created_after", "2300-01-01T00:00:00Z"),
        ("created_after", "9999-12-31T23:59:59-23:59"),
        ("created_before", "0001-01-01T00:00:00+23:59"),
        ("created_before", "1969-12-31T23:59:59Z"),
        ("created_after", "2024-13-01T00:00:00Z"),
    ):
        reply = api.get(f"/api/v1/scans?{name}={quote(value)}", headers=bearer(key))
        body = assert_refused(reply, 422, "VALIDATION_ERROR")
        assert body["error"]["details"]["field"] == name, value
    inside = "?created_after=1970-01-01T00:00:00Z&created_before=2099-12-31T23:59:59%2B23:59"
    assert api.get(f"/api/v1/scans{inside}", headers=bearer(key)).status_code == 200


def test_cursors_are_decoded_strictly(api: httpx.Client) -> None:
    key = register(api)["api_key"]
    for decoded in ({"k": 10**20}, {"k": True}, {"k": -1}, {"k": "1"}, [1]):
        cursor = base64.urlsafe_b64encode(json.dumps(decoded).encode()).decode().rstrip("=")
        body = assert_refused(
            api.get(f"/api/v1/scans?cursor={cursor}", headers=bearer(key)), 422, "VALIDATION_ERROR"
        )
        assert body["error"]["details"]["field"] == "cursor", decoded


async def test_websocket_inputs_close_with_documented_codes(
    stack: DevStack, scan_owner: tuple[str, str]
) -> None:
    key, scan_id = scan_owner
    base = f"ws://127.0.0.1:{stack.ports['gateway']}/ws/scans/{scan_id}"
    for query, code in ((f"?api_key={key}&last_event_id=\u00b2", 4400), ("?ticket=st_" + "x" * 3000, 4401)):
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            async with connect(base + query, open_timeout=10) as ws:
                await ws.recv()
        assert closed.value.rcvd is not None, query[:40]
        assert closed.value.rcvd.code == code, query[:40]
        assert time.monotonic() - started < 10


def test_a_websocket_upgrade_too_long_to_parse_is_answered_at_once(stack: DevStack) -> None:
    """A 9,000-character ticket used to hold the connection open with no answer at all."""
    request = (
        f"GET /ws/scans/scan_x?ticket=st_{'a' * 9000} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", stack.ports["gateway"]), timeout=10) as sock:
        sock.sendall(request.encode())
        answer = b""
        while data := sock.recv(65536):  # ends when the gateway closes; a hang times out
            answer += data
    assert answer.startswith(b"HTTP/1.1 414"), answer[:100]
