"""NVD configurations evaluated against what a scan found, in three-valued logic.

A ``cpeMatch`` entry is TRUE, FALSE or UNKNOWN for a host: UNKNOWN when it names a platform (a
``vulnerable: false`` entry, the "running on" half of an AND configuration) and the scan did not identify
the host's platform. AND/OR and ``negate`` follow Kleene logic, so an application node AND an unknown
platform node comes out UNKNOWN: the match is conditional, not confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from rampart_threat.knowledge.cpe import ANY, NA, Cpe, Relation, compare_values, may_match, parse_cpe
from rampart_threat.knowledge.model import ConfigNode, Configuration, CpeMatch
from rampart_threat.knowledge.versions import compare, in_range


class Truth(Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"

    def negate(self) -> Truth:
        return {Truth.TRUE: Truth.FALSE, Truth.FALSE: Truth.TRUE}.get(self, Truth.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Found:
    """What the scan saw: the product's CPE (canonical vendor:product), versions, and known platforms."""

    cpe: Cpe
    key: str  # canonical vendor:product
    range_version: str  # compared with versionStart/End: OpenSSH "9.2", others the upstream version
    platforms: tuple[Cpe, ...] = ()


def evaluate(
    configurations: tuple[Configuration, ...], found: Found, canonical: dict[str, str]
) -> tuple[Truth, CpeMatch | None]:
    """The record's verdict for ``found`` and the vulnerable entry that decided it (if any)."""
    best = Truth.FALSE
    decisive: CpeMatch | None = None
    for conf in configurations:
        hits: list[CpeMatch] = []
        results = [_node(n, found, canonical, hits) for n in conf.nodes]
        truth = _and(results) if (conf.operator or "OR").upper() == "AND" else _or(results)
        if conf.negate:
            truth = truth.negate()
        if truth is Truth.TRUE:
            return truth, hits[0] if hits else None
        if truth is Truth.UNKNOWN and best is Truth.FALSE:
            best, decisive = truth, hits[0] if hits else None
    return best, decisive


def names_product(configurations: tuple[Configuration, ...], key: str, canonical: dict[str, str]) -> bool:
    """Whether any entry is about ``key`` (after aliases): only then do the configurations decide."""
    for conf in configurations:
        for node in conf.nodes:
            for m in node.cpe_match:
                c = parse_cpe(m.criteria)
                if canonical.get(c.key, c.key) == key:
                    return True
    return False


def _node(node: ConfigNode, found: Found, canonical: dict[str, str], hits: list[CpeMatch]) -> Truth:
    results: list[Truth] = []
    is_or = node.operator.upper() != "AND"
    for m in node.cpe_match:
        t = entry_truth(m, found, canonical)
        if t is not Truth.FALSE and m.vulnerable:
            hits.append(m)
        results.append(t)
        if is_or and t is Truth.TRUE:
            break  # one TRUE decides an OR node
    truth = _and(results) if node.operator.upper() == "AND" else _or(results)
    return truth.negate() if node.negate else truth


def _or(results: list[Truth]) -> Truth:
    if any(r is Truth.TRUE for r in results):
        return Truth.TRUE
    return Truth.UNKNOWN if any(r is Truth.UNKNOWN for r in results) else Truth.FALSE


def _and(results: list[Truth]) -> Truth:
    if not results or any(r is Truth.FALSE for r in results):
        return Truth.FALSE
    return Truth.UNKNOWN if any(r is Truth.UNKNOWN for r in results) else Truth.TRUE


def entry_truth(m: CpeMatch, found: Found, canonical: dict[str, str]) -> Truth:
    """One ``cpeMatch`` entry against the found product, or against the host's platforms."""
    criteria, key, generic = _info(m.criteria)
    if canonical.get(key, key) == found.key:
        return Truth.TRUE if product_matches(m, criteria, found, generic) else Truth.FALSE
    if m.vulnerable:
        return Truth.FALSE  # another product: this scan result is not it
    same_part = [p for p in found.platforms if p.part == criteria.part]
    if not same_part:
        return Truth.UNKNOWN  # a platform the scan did not identify
    return Truth.TRUE if any(_platform_matches(m, criteria, p) for p in same_part) else Truth.FALSE


@lru_cache(maxsize=16384)
def _info(criteria: str) -> tuple[Cpe, str, bool]:
    """The parsed criteria, its vendor:product, and whether it leaves every attribute after update ANY."""
    c = parse_cpe(criteria)
    return c, c.key, all(v == ANY for v in c.values()[5:])


def product_matches(m: CpeMatch, criteria: Cpe, found: Found, generic: bool = False) -> bool:
    """Version and other attributes of one entry against the found product's CPE."""
    if not generic and not may_match(criteria, found.cpe, skip_version=True):
        return False
    if found.cpe.version in (ANY, NA):
        return criteria.version == found.cpe.version or (criteria.version == ANY and not m.has_range)
    if m.has_range or criteria.version == ANY:
        if criteria.version not in (ANY, NA) and compare(criteria.version, found.range_version) != 0:
            return False
        if not in_range(
            found.range_version,
            m.version_start_including,
            m.version_start_excluding,
            m.version_end_including,
            m.version_end_excluding,
        ):
            return False
        return _update_ok(criteria, found)
    if criteria.version == NA:
        return False
    if compare_values(criteria.version, found.cpe.version) is Relation.SUPERSET:
        return _update_ok(criteria, found)
    if compare(criteria.version, found.cpe.version) != 0:
        return False
    return _update_ok(criteria, found)


def _update_ok(criteria: Cpe, found: Found) -> bool:
    # An exact entry needs the update too (openssh:9.3:p1 is not 9.3p2); an unknown update never rules out.
    return compare_values(criteria.update, found.cpe.update) is not Relation.DISJOINT


def _platform_matches(m: CpeMatch, criteria: Cpe, platform: Cpe) -> bool:
    if not may_match(criteria, platform, skip_version=m.has_range):
        return False
    if m.has_range and platform.version not in (ANY, NA):
        return in_range(
            platform.version,
            m.version_start_including,
            m.version_start_excluding,
            m.version_end_including,
            m.version_end_excluding,
        )
    return True
