"""Port specifications: ``"1-1000"``, ``"22,80,443,8000-8100"``, ``"-"``, ``"top-100"``."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from rampart.lib.errors import InvalidArgument

MAX_PORT = 65535
COMMON_PORTS_FILE = Path(__file__).with_name("data") / "common-ports.txt"
TOP = re.compile(r"^top-(\d{1,5})$")
RANGE = re.compile(r"^(\d{1,5})?-(\d{1,5})?$")


class InvalidPortSpec(InvalidArgument):
    """A port specification the engine cannot read; ``details.value`` names the bad part."""

    public_code = "VALIDATION_ERROR"


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


def _port(text: str, spec: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_PORT:
        raise InvalidPortSpec(f"port {value} is outside 1-{MAX_PORT}", field="ports", value=spec, part=text)
    return value


def parse_ports(spec: str) -> list[int]:
    """The ports a spec names, without duplicates, in scan order (ranked for ``top-N``)."""
    spec = spec.strip()
    if not spec:
        raise InvalidPortSpec("port specification is empty", field="ports", value=spec, part="")
    top = TOP.match(spec)
    if top:
        count = int(top.group(1))
        if not 1 <= count <= MAX_PORT:
            raise InvalidPortSpec(
                f"top-{count} is outside top-1..top-{MAX_PORT}", field="ports", value=spec, part=spec
            )
        return list(ranked_ports()[:count])
    ports: dict[int, None] = {}
    for part in spec.split(","):
        part = part.strip()
        bounds = RANGE.match(part)
        if part.isdigit():
            ports[_port(part, spec)] = None
        elif bounds:
            low = _port(bounds.group(1), spec) if bounds.group(1) else 1
            high = _port(bounds.group(2), spec) if bounds.group(2) else MAX_PORT
            if low > high:
                raise InvalidPortSpec(f"range {part} runs backwards", field="ports", value=spec, part=part)
            ports.update(dict.fromkeys(range(low, high + 1)))
        else:
            raise InvalidPortSpec(f"'{part}' is not a port or a range", field="ports", value=spec, part=part)
    return list(ports)
