"""Version ranges written as text: CVE 5 ``">= 7.0.0, < 7.2.6"`` and the phrases descriptions use."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rampart_threat.knowledge.versions import compare, version_key

_COMPARATOR = re.compile(r"(?P<op><=|>=|<|>|==|=)\s*(?P<v>[0-9][\w.+~-]*)")
_VERSION = re.compile(
    r"(?<![\w.])(?P<v>[0-9]+(?:\.[0-9]+)*(?:[a-z][a-z0-9]*)?(?:[.-](?:rc|beta|alpha)\.?[0-9]*)?(?:\.\*|\.x)?)(?![\w])",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Bound:
    """One interval; ``upper_prefix`` makes ``10.11.*`` mean every 10.11.x."""

    lower: str | None = None
    lower_inclusive: bool = True
    upper: str | None = None
    upper_inclusive: bool = False
    upper_prefix: bool = False

    def contains(self, version: str) -> bool:
        if self.lower is not None:
            c = compare(version, self.lower)
            if c < 0 or (c == 0 and not self.lower_inclusive):
                return False
        if self.upper is None:
            return True
        if self.upper_prefix:
            prefix = version_key(self.upper)
            return version_key(version)[: len(prefix)] <= prefix
        c = compare(version, self.upper)
        return c < 0 or (c == 0 and self.upper_inclusive)

    def describe(self) -> str:
        parts = []
        if self.lower is not None:
            parts.append(f"{'>=' if self.lower_inclusive else '>'} {self.lower}")
        if self.upper is not None:
            upper = f"{self.upper}.*" if self.upper_prefix else self.upper
            parts.append(f"{'<=' if self.upper_inclusive or self.upper_prefix else '<'} {upper}")
        return ", ".join(parts) or "all versions"


def parse_comparators(text: str) -> Bound | None:
    """``">= 7.0.0, < 7.2.6"`` (GitHub-style) to a bound; None when the text has no comparator."""
    found = list(_COMPARATOR.finditer(text))
    if not found:
        return None
    lower: str | None = None
    upper: str | None = None
    lower_inc = True
    upper_inc = False
    for m in found:
        op, v = m["op"], m["v"].rstrip(",")
        if op in (">=", ">"):
            lower, lower_inc = v, op == ">="
        elif op in ("<=", "<"):
            upper, upper_inc = v, op == "<="
        else:
            lower, upper, lower_inc, upper_inc = v, v, True, True
    return Bound(lower, lower_inc, upper, upper_inc)


def _upper(v: str, inclusive: bool) -> tuple[str, bool, bool]:
    if v.endswith((".*", ".x")):
        return v[:-2], True, True
    return v, inclusive, False


_ITEM = re.compile(
    r"(?:(?P<lo>V)\s+(?:through|to|-)\s+(?P<hi>V))"
    r"|(?:(?:before|prior to|earlier than)\s+(?P<before>V))"
    r"|(?:(?:through|up to)\s+(?P<through>V))"
    r"|(?:(?P<andearlier>V)\s+and\s+(?:earlier|prior|below|before|older))"
    r"|(?P<exact>V)".replace("V", _VERSION.pattern.replace("(?P<v>", "(?:")),
    re.I,
)
_LEAD = re.compile(r"^[\s,:]*(?:(?:server|open source|versions?|v|from)\s+)*", re.I)
_SEP = re.compile(r"^\s*(?:,\s*(?:and\s+)?|and\s+|or\s+)", re.I)


def description_ranges(description: str, names: tuple[str, ...]) -> list[Bound]:
    """Version ranges a description states right after one of the product's ``names``.

    Understood: "X before 1.6.22", "X through 3.8.4", "X 2.4.59 and earlier", "X 1.3.9 through 1.4.0",
    lists ("10.4 through 10.5.*, 10.7 through 10.11.*") and a bare "X 3.0.3" (that version only).
    """
    out: list[Bound] = []
    text = description.replace("\u00a0", " ")
    for name in names:
        for hit in re.finditer(rf"\b{re.escape(name)}\b", text, re.I):
            rest = text[hit.end() :]
            rest = rest[_LEAD.match(rest).end() :]  # type: ignore[union-attr]
            while True:
                m = _ITEM.match(rest)
                if not m:
                    break
                out.append(_bound(m))
                rest = rest[m.end() :]
                sep = _SEP.match(rest)
                if not sep:
                    break
                rest = rest[sep.end() :]
        if out:
            return out
    return out


def _bound(m: re.Match[str]) -> Bound:
    if m["lo"]:
        hi, inc, prefix = _upper(m["hi"], True)
        return Bound(m["lo"], True, hi, inc, prefix)
    if m["before"]:
        return Bound(None, True, m["before"], False)
    if m["through"]:
        hi, inc, prefix = _upper(m["through"], True)
        return Bound(None, True, hi, inc, prefix)
    if m["andearlier"]:
        return Bound(None, True, m["andearlier"], True)
    v, _, prefix = _upper(m["exact"], True)
    return Bound(v, True, v, True, prefix)


def versions_in_text(text: str) -> list[str]:
    """Version-looking tokens in free text ("Affected 3.0.0,3.0.1"), leaving out "Fixed in X"."""
    text = re.sub(r"fixed in [^()]*", " ", text, flags=re.I)
    return [m["v"] for m in _VERSION.finditer(text)]
