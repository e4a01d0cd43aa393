"""Evidence files: the size limit, the type sniffed from the content (never the name), the digest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from rampart_report.compliance.domain import EvidenceTooLarge, EvidenceTypeNotAllowed

# threat-service's payload analysis takes at most 1 MiB of text; a binary file travels base64-encoded
# (4/3 larger), so 512 KiB is the largest file that is always analysed whole.
MAX_EVIDENCE_BYTES = 512 * 1024

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),  # also .docx / .xlsx / .odt
)
_REFUSED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java class file"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"#!", "a script"),
)
ALLOWED_TYPES = tuple(sorted({kind for _, kind in _MAGIC} | {"application/json", "text/plain"}))


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    sha256: str
    size: int
    text: bool  # valid UTF-8 text (sent to the payload analysis as is; binary goes base64)


def sniff(content: bytes, limit: int = MAX_EVIDENCE_BYTES) -> Sniffed:
    """The file's size, digest and type judged by its bytes; refused when too large or not accepted."""
    if len(content) > limit:
        raise EvidenceTooLarge(
            f"the evidence file is {len(content)} bytes; the limit is {limit}",
            size=len(content),
            max_bytes=limit,
        )
    if not content:
        raise EvidenceTypeNotAllowed("the evidence file is empty", allowed=list(ALLOWED_TYPES))
    digest = hashlib.sha256(content).hexdigest()
    for magic, what in _REFUSED_MAGIC:
        if content.startswith(magic):
            raise EvidenceTypeNotAllowed(
                f"the evidence file is {what}; accepted: {', '.join(ALLOWED_TYPES)}",
                allowed=list(ALLOWED_TYPES),
            )
    for magic, kind in _MAGIC:
        if content.startswith(magic):
            return Sniffed(kind, digest, len(content), False)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise EvidenceTypeNotAllowed(
            f"the evidence file's content is not an accepted type ({', '.join(ALLOWED_TYPES)})",
            allowed=list(ALLOWED_TYPES),
        ) from None
    if "\x00" in text:
        raise EvidenceTypeNotAllowed(
            "the evidence file is binary data of no accepted type", allowed=list(ALLOWED_TYPES)
        )
    try:
        json.loads(text)
        kind = "application/json"
    except ValueError:
        kind = "text/plain"
    return Sniffed(kind, digest, len(content), True)
