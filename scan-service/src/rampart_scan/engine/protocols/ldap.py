"""LDAP (RFC 4511): the root DSE entry and result codes from a base-object search of ""."""

from __future__ import annotations

from rampart_scan.engine.protocols import ber

SEQUENCE = 0x30
BIND_RESPONSE, SEARCH_ENTRY, SEARCH_DONE, EXTENDED_RESPONSE = 0x61, 0x64, 0x65, 0x78
OPS = {BIND_RESPONSE: "bind", SEARCH_DONE: "search", EXTENDED_RESPONSE: "extended"}
MAX_VALUES = 8


def _entry(contents: bytes) -> list[str]:
    lines = []
    fields = list(ber.items(contents))
    for _, attribute in ber.items(fields[1][1]) if len(fields) > 1 else ():
        parts = list(ber.items(attribute))
        if len(parts) < 2:
            continue
        name = parts[0][1].decode("utf-8", "replace")
        for _, value in list(ber.items(parts[1][1]))[:MAX_VALUES]:
            lines.append(f"{name}={value.decode('utf-8', 'replace')[:200]}")
    return lines


def parse(data: bytes) -> str | None:
    """``ldap`` then ``attribute=value`` lines of the root DSE and ``<op> result=<code>`` lines."""
    lines = ["ldap"]
    offset = 0
    try:
        while offset < len(data):
            tag, message, offset = ber.read(data, offset)
            if tag != SEQUENCE:
                break
            parts = list(ber.items(message))
            if len(parts) < 2 or parts[0][0] != 0x02:  # messageID INTEGER, then the operation
                break
            op, contents = parts[1]
            if op == SEARCH_ENTRY:
                lines += sorted(_entry(contents), key=lambda line: line.split("=", 1)[0])
            elif op in OPS:
                code = int.from_bytes(next(ber.items(contents))[1], "big")
                lines.append(f"{OPS[op]} result={code}")
    except (ValueError, StopIteration, IndexError):
        pass
    return "\n".join(lines) if len(lines) > 1 else None
