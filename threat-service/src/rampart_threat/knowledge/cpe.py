"""CPE 2.3 formatted strings and the CPE name-matching rules (NISTIR 7695 binding, NISTIR 7696 matching).

Written here rather than taken from PyPI: the ``cpe`` package (1.3.1) parses every binding through
regular-expression classes per object, has no type hints, and matching 10^5 criteria per scan needs a
small, cached, typed parser. This one follows the specifications' rules: ``*`` is ANY, ``-`` is NA,
``\\`` quotes the next character, and an unquoted ``*`` (``?``) at either end of a value is a
multi- (single-) character wildcard. Comparison ignores case, as the specification requires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

ANY = "*"
NA = "-"
ATTRIBUTES = (
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
)


class InvalidCpe(ValueError):
    """Not a CPE 2.3 formatted string."""


class Relation(Enum):
    """The set relation between a source and a target attribute value (NISTIR 7696 table 6-2)."""

    EQUAL = "equal"
    SUPERSET = "superset"
    SUBSET = "subset"
    DISJOINT = "disjoint"
    UNDEFINED = "undefined"


@dataclass(frozen=True, slots=True)
class Cpe:
    """A parsed CPE 2.3 name; values keep their quoting, lowercased; ANY is ``*`` and NA is ``-``."""

    part: str
    vendor: str
    product: str
    version: str = ANY
    update: str = ANY
    edition: str = ANY
    language: str = ANY
    sw_edition: str = ANY
    target_sw: str = ANY
    target_hw: str = ANY
    other: str = ANY

    def values(self) -> tuple[str, ...]:
        return (
            self.part,
            self.vendor,
            self.product,
            self.version,
            self.update,
            self.edition,
            self.language,
            self.sw_edition,
            self.target_sw,
            self.target_hw,
            self.other,
        )

    @property
    def key(self) -> str:
        """``vendor:product`` without quoting: the index key."""
        return f"{unquote(self.vendor)}:{unquote(self.product)}"

    def __str__(self) -> str:
        return "cpe:2.3:" + ":".join(self.values())


def _split(text: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if c == ":":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


@lru_cache(maxsize=16384)
def parse_cpe(text: str) -> Cpe:
    """Parse ``cpe:2.3:part:vendor:product:...``; missing trailing attributes are ANY."""
    if not text.lower().startswith("cpe:2.3:"):
        raise InvalidCpe(f"not a CPE 2.3 formatted string: {text[:80]!r}")
    values = _split(text[8:])
    if len(values) > 11 or len(values) < 3:
        raise InvalidCpe(f"a CPE 2.3 name has 11 attributes: {text[:80]!r}")
    values += [ANY] * (11 - len(values))
    out: list[str] = []
    for v in values:
        if v == "":
            raise InvalidCpe(f"empty attribute in {text[:80]!r}")
        _check_value(v, text)
        out.append(v.lower())
    if out[0] not in ("a", "o", "h", ANY):
        raise InvalidCpe(f"part must be a, o or h: {text[:80]!r}")
    return Cpe(*out)


def _check_value(v: str, text: str) -> None:
    if v in (ANY, NA):
        return
    body = v
    if body.startswith("*"):
        body = body[1:]
    elif body.startswith("?"):
        body = body.lstrip("?")
    if body.endswith("*") and not body.endswith("\\*"):
        body = body[:-1]
    while body.endswith("?") and not body.endswith("\\?"):
        body = body[:-1]
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            i += 2
            continue
        if c in "*?":
            raise InvalidCpe(f"an unquoted {c} may only stand at either end of a value: {text[:80]!r}")
        i += 1


def unquote(value: str) -> str:
    """The value with quoting removed (``ver\\.1`` -> ``ver.1``); ANY/NA unchanged."""
    return re.sub(r"\\(.)", r"\1", value) if "\\" in value else value


def quote(value: str) -> str:
    """Quote a literal for a formatted string (``.``, ``-``, ``_`` stay as they are)."""
    return re.sub(r"([^A-Za-z0-9._\-])", r"\\\1", value)


def _has_wildcard(v: str) -> bool:
    if v in (ANY, NA):
        return False
    return v[0] in "*?" or (v[-1] in "*?" and (len(v) < 2 or v[-2] != "\\"))


@lru_cache(maxsize=65536)
def _wildcard_regex(v: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            out.append(re.escape(v[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.S)


def compare_values(source: str, target: str) -> Relation:
    """How the set of names ``source`` denotes relates to ``target``'s (values already lowercased)."""
    if source == ANY:
        return Relation.EQUAL if target == ANY else Relation.SUPERSET
    if target == ANY:
        return Relation.SUBSET
    if source == NA or target == NA:
        return Relation.EQUAL if source == target else Relation.DISJOINT
    if _has_wildcard(target):
        return Relation.UNDEFINED
    if source == target:
        return Relation.EQUAL
    if _has_wildcard(source) and _wildcard_regex(source).match(unquote(target)):
        return Relation.SUPERSET
    return Relation.DISJOINT


def is_superset(source: Cpe, target: Cpe) -> bool:
    """NISTIR 7696 CPE_SUPERSET-or-EQUAL: every name ``target`` denotes is one that ``source`` denotes."""
    return all(
        compare_values(s, t) in (Relation.SUPERSET, Relation.EQUAL)
        for s, t in zip(source.values(), target.values(), strict=True)
    )


def is_disjoint(source: Cpe, target: Cpe) -> bool:
    """NISTIR 7696 CPE_DISJOINT: some attribute rules out every common name."""
    return any(
        compare_values(s, t) is Relation.DISJOINT
        for s, t in zip(source.values(), target.values(), strict=True)
    )


def may_match(criteria: Cpe, found: Cpe, skip_version: bool = False) -> bool:
    """Whether ``found`` (what a scan saw, ANY meaning "not known") can be a name ``criteria`` covers.

    A scanner's ANY means unknown, not "every value": an unknown edition does not rule out a criteria
    that names one (NVD's virtual match string semantics). Only a DISJOINT attribute rules it out.
    With ``skip_version`` the version and update attributes are left to the caller's range check.
    """
    for name, s, t in zip(ATTRIBUTES, criteria.values(), found.values(), strict=True):
        if skip_version and name in ("version", "update"):
            continue
        if compare_values(s, t) is Relation.DISJOINT:
            return False
    return True
