"""Port specifications: ``"1-1000"``, ``"22,80,443,8000-8100"``, ``"-"``, ``"top-100"``."""

from __future__ import annotations

import functools
from pathlib import Path

from rampart.lib.errors import InvalidArgument

MAX_PORT = 65535
COMMON_PORTS_FILE = Path(__file__).with_name("data") / "common-ports.txt"
# Bounds that keep parsing cheap on the event loop; the gateway caps the field at 4096 too.
MAX_SPEC_CHARS = 4096
MAX_SPEC_PARTS = 1024


class InvalidPortSpec(InvalidArgument):
    """A port specification the engine cannot read; ``details.value`` names the bad part."""

    public_code = "INVALID_PORT_SPEC"


@functools.cache
def ranked_ports() -> tuple[int, ...]:
    """Every TCP port once, most likely open first: the curated list, then the rest ascending."""
    curated: list[int] = []
    for line in COMMON_PORTS_FILE.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            curated.append(int(line))
    seen = set()
    ordered = []
    for port in [*curated, *range(1, MAX_PORT + 1)]:
        if port not in seen:
            seen.add(port)
            ordered.append(port)
    return tuple(ordered)


def _refuse(message: str, spec: str, part: str, **details: object) -> InvalidPortSpec:
    return InvalidPortSpec(message, field="ports", value=spec[:64], part=part[:64], **details)


def _number(text: str, spec: str, part: str) -> int:
    if not 1 <= len(text) <= 5 or not all("0" <= c <= "9" for c in text):  # ASCII digits only
        raise _refuse(f"'{part[:64]}' is not a port or a range", spec, part)
    value = int(text)
    if not 1 <= value <= MAX_PORT:
        raise _refuse(f"port {value} is outside 1-{MAX_PORT}", spec, text)
    return value


def _bounds(part: str, spec: str) -> tuple[int, int]:
    low, dash, high = part.partition("-")
    if not dash:
        port = _number(part, spec, part)
        return port, port
    first = _number(low.strip(), spec, part) if low.strip() else 1
    last = _number(high.strip(), spec, part) if high.strip() else MAX_PORT
    if first > last:
        raise _refuse(f"range {part} runs backwards", spec, part)
    return first, last


def parse_ports(spec: str) -> list[int]:
    """The ports a spec names, without duplicates, in scan order (ranked for ``top-N``).

    Bounded and linear: at most MAX_SPEC_CHARS characters and MAX_SPEC_PARTS parts, and each
    port is emitted once however the ranges overlap (a "next port not yet taken" table with
    path compression skips what earlier parts already covered).
    """
    if len(spec) > MAX_SPEC_CHARS:
        raise _refuse(
            f"port specification is longer than {MAX_SPEC_CHARS} characters", spec, spec, limit=MAX_SPEC_CHARS
        )
    spec = spec.strip()
    if not spec:
        raise _refuse("port specification is empty", spec, "")
    if spec.startswith("top-"):
        count = spec[4:]
        if not 1 <= len(count) <= 5 or not all("0" <= c <= "9" for c in count):
            raise _refuse(f"'{spec[:64]}' is not a port or a range", spec, spec)
        if not 1 <= int(count) <= MAX_PORT:
            raise _refuse(f"top-{int(count)} is outside top-1..top-{MAX_PORT}", spec, spec)
        return list(ranked_ports()[: int(count)])
    parts = spec.split(",", MAX_SPEC_PARTS)
    if len(parts) > MAX_SPEC_PARTS:
        raise _refuse(
            f"port specification has more than {MAX_SPEC_PARTS} parts", spec, parts[-1], limit=MAX_SPEC_PARTS
        )
    ranges = [_bounds(part.strip(), spec) for part in parts]
    if len(ranges) == 1:
        first, last = ranges[0]
        return list(range(first, last + 1))
    following = list(range(MAX_PORT + 2))  # following[p]: the smallest port >= p not yet taken

    def untaken(port: int) -> int:
        root = port
        while following[root] != root:
            root = following[root]
        while following[port] != root:
            following[port], port = root, following[port]
        return root

    ports: list[int] = []
    for first, last in ranges:
        port = untaken(first)
        while port <= last:
            ports.append(port)
            following[port] = port + 1
            port = untaken(port + 1)
    return ports


def port_ranges(ports: list[int]) -> str:
    """Ports as ascending ranges, e.g. ``[80, 22, 23, 443]`` -> ``"22-23,80,443"``."""
    parts: list[str] = []
    ordered = sorted(set(ports))
    start = 0
    for index, port in enumerate(ordered):
        if index + 1 < len(ordered) and ordered[index + 1] == port + 1:
            continue
        first = ordered[start]
        parts.append(str(first) if first == port else f"{first}-{port}")
        start = index + 1
    return ",".join(parts)
