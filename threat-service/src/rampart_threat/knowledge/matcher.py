"""Given what a scan found, the CVEs that apply and why.

Decision order per CVE (docs/knowledge.md): NVD configurations when they name the product; otherwise
the CVE 5 CNA ``affected`` data; otherwise CISA/other ADP data; otherwise the description (never
confirmed); otherwise undetermined. Version-based verdicts on a distribution build are tentative.
"""

from __future__ import annotations

import re
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from rampart_threat.knowledge.affected import _OPEN_START, Answer, Say, evaluate_affected
from rampart_threat.knowledge.aliases import Aliases, load_aliases
from rampart_threat.knowledge.configurations import (
    Found,
    Truth,
    _info,
    evaluate,
    names_product,
    product_matches,
)
from rampart_threat.knowledge.cpe import ANY, NA, Cpe, InvalidCpe, parse_cpe, quote, unquote
from rampart_threat.knowledge.model import Affected, Configuration, CpeMatch, CveRecord, Origin
from rampart_threat.knowledge.ranges import description_ranges
from rampart_threat.knowledge.versions import (
    ZERO,
    DetectedVersion,
    Segment,
    detect,
    dpkg_compare,
    is_version,
    version_key,
)

# Index builds parse ~10^6 criteria, most of them once: a small cache of their own (recent products'
# shared range criteria), leaving parse_cpe's for queries.
_parse_for_index = lru_cache(maxsize=8192)(parse_cpe.__wrapped__)
_WORD = re.compile(r"[a-z0-9][a-z0-9_-]*[a-z0-9]|[a-z0-9]")


class Verdict(StrEnum):
    AFFECTED = "affected"
    NOT_AFFECTED = "not_affected"
    CONDITIONAL = "conditional"  # affected only on a platform the scan did not identify
    UNDETERMINED = "undetermined"


class Basis(StrEnum):
    NVD = "nvd_configurations"
    CNA = "cve5_cna"
    ADP = "cve5_adp"
    DESCRIPTION = "description"
    DISTRIBUTION = "distribution_data"
    NOT_NAMED = "nvd_configurations_do_not_name_product"
    NO_DATA = "no_version_data"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class SourceView:
    """What one source says (kept even when another source decided)."""

    source: str  # "nvd" / "cna" / "adp" / "description"
    says: str  # affected / not_affected / not_listed / no_data / conditional
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    """One CVE's verdict for one found product, and why."""

    cve_id: str
    verdict: Verdict
    basis: Basis
    reason: str
    confidence: Confidence
    confirmed: bool  # structured data decided it (never for description-only)
    tentative: bool = False
    tentative_reason: str | None = None
    disagreement: bool = False
    cpe_match: CpeMatch | None = None
    sources: tuple[SourceView, ...] = ()
    record: CveRecord | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Query:
    """What the engine found about one service."""

    cpe: str | None = None
    product: str | None = None  # "vendor:product", or a product name/keyword ("openssh")
    version: str | None = None
    banner: str = ""
    platforms: tuple[str, ...] = ()  # CPEs of the host's OS/hardware when identified


# (distribution, canonical vendor:product, CVE) -> the first fixed package version, or None: not fixed yet.
DistroFixes = Mapping[tuple[str, str, str], str | None]


class KnowledgeIndex:
    """What the matcher needs about each CVE, indexed by canonical vendor:product and by keyword.

    Full records are not kept: per product, one compact row per vulnerable NVD entry (version bounds as
    shared padded keys, the entry's strings by number in one table), the configurations of the CVEs the
    rows cannot decide alone, CVE 5 ``affected`` entries by product, and descriptions only where one may
    decide (a CVE named by CVE 5 data or a keyword but not by NVD). The caller loads the full record of a
    CVE a match returns from the feed store.
    """

    def __init__(self, records: Iterable[CveRecord] = (), aliases: Aliases | None = None) -> None:
        self.aliases = aliases or load_aliases()
        self._ids: list[str] = []  # number -> CVE id
        self._num: dict[str, int] = {}  # CVE id -> number (rows hold numbers)
        self._cve5_named: dict[str, set[str]] = defaultdict(set)  # CVEs whose CVE 5 data name a product
        self._mentioned: dict[str, set[str]] = defaultdict(set)
        self._affected: dict[tuple[str, str], tuple[Affected, ...]] = {}
        # Per product: one row per vulnerable NVD entry, to skip CVEs whose configurations cannot match a
        # version without evaluating them (negation or odd versions put a CVE in _complex instead).
        self._rows: dict[str, _Rows] = {}
        self._complex: dict[str, set[str]] = defaultdict(set)
        self._nvd_named: dict[str, set[str]] = defaultdict(set)
        # Configurations of the CVEs the rows cannot decide alone (AND, negation, running-on, entries
        # without a row, wildcard or escaped versions); every other CVE's NVD verdict comes from its rows.
        self._configs: dict[str, tuple[Configuration, ...]] = {}
        # CVE -> (description, has NVD configurations), kept only where the description may decide.
        self._descriptions: dict[str, tuple[str, bool]] = {}
        # (CVE, product) -> the version spans a CNA marks affected, when they alone decide (else absent).
        self._cna_spans: dict[tuple[str, str], tuple[_Span, ...]] = {}
        self._strings: list[str] = []  # criteria and version strings of the rows, each once
        self._string_ids: dict[str, int] = {}
        self._keys: dict[tuple[Segment, ...], tuple[Segment, ...]] = {}  # padded keys, each once
        self._unnamed: dict[str, set[str]] = {}  # unnamed(key), computed on a product's first query
        for record in records:
            self.add(record)
        self.finish()

    def __len__(self) -> int:
        return len(self._num)

    def __contains__(self, cve_id: object) -> bool:
        return cve_id in self._num

    def _string(self, text: str) -> int:
        n = self._string_ids.get(text)
        if n is None:
            n = self._string_ids[text] = len(self._strings)
            self._strings.append(text)
        return n

    def _key(self, key: tuple[Segment, ...] | None) -> tuple[Segment, ...] | None:
        return None if key is None else self._keys.setdefault(key, key)

    def add(self, record: CveRecord) -> None:
        cve_id = sys.intern(record.id)
        self._unnamed.clear()
        number = self._num[cve_id] = len(self._ids)
        self._ids.append(cve_id)
        canonical = self.aliases.by_key
        negated = any(c.negate or any(n.negate for n in c.nodes) for c in record.configurations)
        keep = negated or not _plain_or(record)
        nvd_keys: set[str] = set()
        for conf in record.configurations:
            for node in conf.nodes:
                for m in node.cpe_match:
                    try:
                        criteria = _parse_for_index(m.criteria)
                    except InvalidCpe:
                        continue
                    key = sys.intern(canonical.get(criteria.key, criteria.key))
                    nvd_keys.add(key)
                    self._nvd_named[key].add(cve_id)
                    if not m.vulnerable:
                        continue
                    row = None if negated else _row(m, criteria)
                    if row is None:
                        self._complex[key].add(cve_id)
                        keep = True
                        continue
                    if _escaped(criteria.version):
                        keep = True
                    rows = self._rows.get(key)
                    if rows is None:
                        rows = self._rows[key] = _Rows()
                    lo, lo_in, hi, hi_in, exact = row
                    lo_text = m.version_start_including or m.version_start_excluding
                    hi_text = m.version_end_including or m.version_end_excluding
                    rows.append(
                        number,
                        self._key(lo),
                        lo_in,
                        self._key(hi),
                        hi_in,
                        self._key(exact),
                        _is_sure(criteria),
                        self._string(m.criteria),
                        -1 if lo_text is None else self._string(lo_text),
                        -1 if hi_text is None else self._string(hi_text),
                    )
        if keep:
            self._configs[cve_id] = record.configurations
        by_key: dict[str, list[Affected]] = defaultdict(list)
        for a in record.affected:
            cve5_key = self.aliases.for_cve5(a.vendor, a.product, a.package_name, _cpe_keys(a.cpes))
            if cve5_key:
                by_key[sys.intern(cve5_key)].append(a)
        for cve5_key, entries in by_key.items():
            self._cve5_named[cve5_key].add(cve_id)
            self._affected[(cve_id, cve5_key)] = tuple(entries)
            spans = _cna_spans(entries)
            if spans is not None:
                self._cna_spans[(cve_id, cve5_key)] = spans
        description = record.description()
        words = set(_WORD.findall(description.lower()))
        for ref in record.references:
            words.update(_WORD.findall(ref.url.lower()))
        mentioned = {self.aliases.by_keyword[w] for w in words & self.aliases.by_keyword.keys()}
        for key in mentioned:
            self._mentioned[key].add(cve_id)
        if (mentioned | by_key.keys()) - nvd_keys:
            self._descriptions[cve_id] = (description, bool(record.configurations))

    def finish(self) -> None:
        """Sort each product's rows for bisection (done once, after the last ``add``)."""
        for rows in self._rows.values():
            rows.finish()
        # The lookup tables only serve add(); a later add() repeats a string rather than finding it.
        self._string_ids = {}
        self._keys = {}

    def candidates(self, key: str) -> set[str]:
        """CVEs whose NVD entries or CVE 5 data name the product, or whose words do."""
        empty: set[str] = set()
        return (
            self._nvd_named.get(key, empty)
            | self._cve5_named.get(key, empty)
            | self._mentioned.get(key, empty)
        )

    def unnamed(self, key: str) -> set[str]:
        """Candidates no row can rule out: not named by NVD, or named by entries without a row."""
        found = self._unnamed.get(key)
        if found is None:
            found = self._unnamed[key] = (
                self.candidates(key) - self._nvd_named.get(key, set())
            ) | self._complex.get(key, set())
        return found

    def likely(self, key: str, range_version: str, exact_version: str) -> set[str]:
        """Candidates that may be affected: every candidate except NVD-decided CVEs no entry can match."""
        named = self._nvd_named.get(key, set())
        rest = self.candidates(key) - named
        rk, ek = padded_key(range_version), padded_key(exact_version)
        if rk is None or ek is None:
            return self.candidates(key)
        hits = set(self.row_hits(key, rk, ek))
        return rest | hits | self._complex.get(key, set())

    def row_hits(self, key: str, rk: tuple[Segment, ...], ek: tuple[Segment, ...]) -> dict[str, list[int]]:
        """Per CVE, in configuration order, the rows whose version bounds admit the version."""
        rows = self._rows.get(key)
        if rows is None:
            return {}
        if not rows.ready:
            rows.finish()
        found: list[int] = list(rows.ex_rows[bisect_left(rows.ex_keys, ek) : bisect_right(rows.ex_keys, ek)])
        lows, flags = rows.lo, rows.flags
        # Open at the start ("< 9.8"): every row whose upper bound is above the version is a hit.
        oh_his, oh_rows = rows.oh_his, rows.oh_rows
        first = bisect_left(oh_his, rk)
        past = bisect_right(oh_his, rk, first)
        found.extend(r for r in oh_rows[first:past] if flags[r] & _HI_IN)
        found.extend(oh_rows[past:])
        # Both bounds: rows by upper bound, in blocks whose smallest lower bound rules a whole block out.
        his, by_hi, b_lo, block_lo = rows.his, rows.by_hi, rows.b_lo, rows.block_lo
        i, n = bisect_left(his, rk), len(his)
        while i < n:
            block = i // _BLOCK
            end = min(block * _BLOCK + _BLOCK, n)
            if block_lo[block] <= rk:
                for k in range(i, end):
                    r = by_hi[k]
                    lo = b_lo[k]
                    if (lo < rk or (flags[r] & _LO_IN and lo == rk)) and (flags[r] & _HI_IN or his[k] != rk):
                        found.append(r)
            i = end
        for r in rows.open_hi:
            start = lows[r]
            if start is None or start < rk or (flags[r] & _LO_IN and start == rk):
                found.append(r)
        found.sort()
        out: dict[str, list[int]] = {}
        ids, cves = self._ids, rows.cve
        for r in found:
            cve_id = ids[cves[r]]
            hit = out.get(cve_id)
            if hit is None:
                out[cve_id] = [r]
            else:
                hit.append(r)
        return out

    def entry(self, key: str, row: int) -> CpeMatch:
        """The NVD entry one row of ``key`` stands for (without its matchCriteriaId)."""
        rows, strings = self._rows[key], self._strings
        flags, lo, hi = rows.flags[row], rows.lo_s[row], rows.hi_s[row]
        lo_text = None if lo < 0 else strings[lo]
        hi_text = None if hi < 0 else strings[hi]
        return CpeMatch(
            True,
            strings[rows.crit[row]],
            lo_text if flags & _LO_IN else None,
            None if flags & _LO_IN else lo_text,
            hi_text if flags & _HI_IN else None,
            None if flags & _HI_IN else hi_text,
        )

    def sure(self, key: str, row: int) -> bool:
        """Whether the row admitting a version means its entry matches (see _is_sure)."""
        return bool(self._rows[key].flags[row] & _SURE)

    def entries(self, key: str, cve_id: str) -> list[CpeMatch]:
        """Every vulnerable NVD entry of ``cve_id`` for ``key``, in configuration order."""
        rows, number = self._rows.get(key), self._num.get(cve_id)
        if rows is None or number is None:
            return []
        first = bisect_left(rows.cve, number)
        return [self.entry(key, r) for r in range(first, bisect_right(rows.cve, number, first))]

    def configurations(self, cve_id: str) -> tuple[Configuration, ...] | None:
        """The CVE's configurations when its rows cannot decide it alone, else None."""
        return self._configs.get(cve_id)

    def named(self, cve_id: str, key: str) -> bool:
        """Whether an NVD entry of the CVE names ``key`` (after aliases)."""
        return cve_id in self._nvd_named.get(key, ())

    def description(self, cve_id: str) -> tuple[str, bool]:
        """The description (where it may decide) and whether the CVE has NVD configurations."""
        return self._descriptions.get(cve_id, ("", False))

    def cna_decides(self, cve_id: str, key: str, rk: tuple[Segment, ...]) -> str | None:
        """When simple CNA data alone decide ``cve_id`` at padded range version ``rk``: the detail of the
        affected range covering it, or "" for not affected (not listed); else None."""
        spans = self._cna_spans.get((cve_id, key))
        if spans is None or cve_id in self._nvd_named.get(key, ()) or cve_id in self._configs:
            return None  # NVD configurations that name the product decide before CVE 5
        for lo, hi, hi_in, detail in spans:
            if (lo is None or lo <= rk) and (rk < hi or (hi_in and rk == hi)):
                return detail
        return ""

    def affected_for(self, cve_id: str, key: str) -> tuple[Affected, ...]:
        return self._affected.get((cve_id, key), ())


_PAD = 8
# Row flags: lower bound inclusive, upper bound inclusive, exact version, and "sure": every attribute after
# the version ANY and the version plain, so a row that admits the version is an entry that matches.
_LO_IN, _HI_IN, _EXACT, _SURE = 1, 2, 4, 8
_Key = tuple[Segment, ...]
_SHOWN = 32768  # rows whose shown entry, reason and view a Matcher keeps (then it starts over)
_Shown = tuple[CpeMatch, str, "SourceView"]
_BLOCK = 32  # rows per block of a product's bounded ranges (see _Rows.block_lo)


class _Rows:
    """One product's rows as parallel arrays, and positions for bisection (exact keys, upper bounds).

    A row: the CVE's number, the lower bound (padded key or None), flags, the upper bound or the exact
    version, and the entry's criteria and bound strings by number. Rows of one CVE are consecutive, in
    configuration order, and CVE numbers grow with ``add``, so ``cve`` is sorted.
    """

    __slots__ = (
        "b_lo",
        "block_lo",
        "bound",
        "by_hi",
        "crit",
        "cve",
        "ex_keys",
        "ex_rows",
        "flags",
        "hi_s",
        "his",
        "lo",
        "lo_s",
        "oh_his",
        "oh_rows",
        "open_hi",
        "ready",
    )

    def __init__(self) -> None:
        self.cve = array("i")
        self.lo: list[_Key | None] = []
        self.flags = bytearray()
        self.bound: list[_Key | None] = []
        self.crit = array("i")
        self.lo_s = array("i")
        self.hi_s = array("i")
        self.ready = False
        self.his: list[_Key] = []
        self.by_hi = array("i")
        self.open_hi = array("i")
        self.ex_keys: list[_Key] = []
        self.ex_rows = array("i")
        self.oh_his: list[_Key] = []
        self.oh_rows = array("i")
        self.block_lo: list[_Key] = []
        self.b_lo: list[_Key] = []

    def append(
        self,
        cve: int,
        lo: _Key | None,
        lo_in: bool,
        hi: _Key | None,
        hi_in: bool,
        exact: _Key | None,
        sure: bool,
        crit: int,
        lo_s: int,
        hi_s: int,
    ) -> None:
        self.cve.append(cve)
        self.lo.append(lo)
        self.flags.append(
            (_LO_IN if lo_in else 0)
            | (_HI_IN if hi_in else 0)
            | (_EXACT if exact else 0)
            | (_SURE if sure else 0)
        )
        self.bound.append(exact if exact is not None else hi)
        self.crit.append(crit)
        self.lo_s.append(lo_s)
        self.hi_s.append(hi_s)
        self.ready = False

    def finish(self) -> None:
        exact: list[tuple[_Key, int]] = []
        bounded: list[tuple[_Key, int]] = []
        open_lo: list[tuple[_Key, int]] = []
        open_hi: list[int] = []
        for i, bound in enumerate(self.bound):
            if bound is None:
                open_hi.append(i)
            elif self.flags[i] & _EXACT:
                exact.append((bound, i))
            elif self.lo[i] is None:
                open_lo.append((bound, i))
            else:
                bounded.append((bound, i))
        exact.sort()
        bounded.sort()
        open_lo.sort()
        self.ex_keys = [k for k, _ in exact]
        self.ex_rows = array("i", (i for _, i in exact))
        self.oh_his = [k for k, _ in open_lo]
        self.oh_rows = array("i", (i for _, i in open_lo))
        self.his = [k for k, _ in bounded]
        self.by_hi = array("i", (i for _, i in bounded))
        lows = [lo for _, i in bounded if (lo := self.lo[i]) is not None]
        self.b_lo = lows  # lower bounds in the order of his
        self.block_lo = [min(lows[b : b + _BLOCK]) for b in range(0, len(lows), _BLOCK)]
        self.open_hi = array("i", open_hi)
        self.ready = True


@lru_cache(maxsize=65536)
def padded_key(version: str) -> tuple[Segment, ...] | None:
    """A version key that plain tuple comparison orders like versions.compare (None: too long to pad)."""
    key = version_key(version)
    if len(key) > _PAD:
        return None
    return key + (ZERO,) * (_PAD - len(key))


# (start or None when open, upper, upper inclusive): an "affected" CVE 5 range as padded keys.
_Span = tuple[tuple[Segment, ...] | None, tuple[Segment, ...], bool, str]  # ..., evaluate_affected's detail


def _cna_spans(entries: list[Affected]) -> tuple[_Span, ...] | None:
    """The affected spans when only CNA ranges with plain versions decide (no defaults, changes, ADP)."""
    spans: list[_Span] = []
    items = 0
    for entry in entries:
        if entry.origin is not Origin.CNA or entry.default_status == "affected":
            return None
        for item in entry.versions:
            items += 1
            upper = item.less_than or item.less_than_or_equal
            if upper is None or item.changes or not is_version(upper):
                return None
            start = item.version.strip()
            open_start = start.lower() in _OPEN_START
            if not open_start and not is_version(start):
                return None
            hi = padded_key(upper)
            lo = None if open_start else padded_key(start)
            if hi is None or (lo is None and not open_start):
                return None
            if item.status != "affected" or (lo is not None and lo > hi):
                continue
            # The detail evaluate_affected() gives when this item decides.
            name = f"{entry.vendor or entry.package_name or ''} {entry.product}".strip()
            op = "<" if item.less_than is not None else "<="
            detail = f"{entry.provider} {entry.origin.value.upper()}: {name} {start or '0'} <= v {op} {upper}"
            spans.append((lo, hi, item.less_than is None, detail))
    return tuple(spans) if items else None


def _escaped(version: str) -> bool:
    """Whether a CPE version uses wildcards or escapes (then the padded keys may not decide it)."""
    return any(c in version for c in "*?\\") and version not in (ANY, NA)


def _plain_or(record: CveRecord) -> bool:
    """Whether the configurations are a plain OR of vulnerable entries (no AND, negation or running-on)."""
    for conf in record.configurations:
        if conf.negate or (conf.operator or "OR").upper() != "OR":
            return False
        for node in conf.nodes:
            if node.negate or node.operator.upper() == "AND":
                return False
            for m in node.cpe_match:
                if not m.vulnerable:
                    return False
                try:
                    _parse_for_index(m.criteria)
                except InvalidCpe:
                    return False
    return True


def _row(m: CpeMatch, criteria: Cpe) -> tuple[_Key | None, bool, _Key | None, bool, _Key | None] | None:
    """(lower, lower inclusive, upper, upper inclusive, exact version) as padded keys, or None: no row."""
    if criteria.version not in (ANY, NA) and (m.has_range or not is_version(criteria.version)):
        return None
    if criteria.version == NA:
        return None
    if criteria.version != ANY:
        exact = padded_key(unquote(criteria.version))
        return None if exact is None else (None, True, None, True, exact)
    bounds: list[_Key | None] = []
    for v in (
        m.version_start_including or m.version_start_excluding,
        m.version_end_including or m.version_end_excluding,
    ):
        k = padded_key(v) if v is not None else None
        if v is not None and k is None:
            return None
        bounds.append(k)
    return (
        bounds[0],
        m.version_start_excluding is None,
        bounds[1],
        m.version_end_including is not None,
        None,
    )


def _matches(m: CpeMatch, found: Found) -> bool:
    """product_matches() for an entry of the found product."""
    criteria, _, generic = _info(m.criteria)
    return product_matches(m, criteria, found, generic)


def _is_sure(criteria: Cpe) -> bool:
    """Whether a row hit alone means the entry matches: every attribute after the version ANY, version plain.

    Then product_matches() skips the other attributes, the update cannot be disjoint, and the version test is
    the row's (in_range for ANY, else an exact compare the padded keys decide).
    """
    return (
        criteria.update == ANY
        and all(v == ANY for v in criteria.values()[5:])
        and not _escaped(criteria.version)
    )


def _cpe_keys(cpes: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for c in cpes:
        if c.startswith("cpe:2.3:"):
            try:
                out.append(parse_cpe(c).key)
            except InvalidCpe:
                continue
        elif c.startswith("cpe:/"):
            parts = c[5:].split(":")
            if len(parts) >= 3:
                out.append(f"{parts[1]}:{parts[2]}".lower())
    return tuple(out)


class Matcher:
    """Matches queries against a :class:`KnowledgeIndex`."""

    def __init__(self, index: KnowledgeIndex, distro_fixes: DistroFixes | None = None) -> None:
        self.index = index
        self._shown: dict[tuple[str, int], _Shown] = {}  # see _shown_row
        self.aliases = index.aliases
        self.distro_fixes = distro_fixes or {}

    def resolve(self, query: Query) -> tuple[Found, DetectedVersion | None] | None:
        """The found product as the matcher sees it (canonical key, CPE, version split)."""
        base: Cpe | None = None
        if query.cpe:
            base = parse_cpe(query.cpe)
        elif query.product:
            product = query.product.lower()
            if ":" in product:
                vendor, _, name = product.partition(":")
                base = Cpe("a", quote(vendor), quote(name))
            elif product in self.aliases.by_keyword:
                vendor, _, name = self.aliases.by_keyword[product].partition(":")
                base = Cpe("a", vendor, name)
            else:
                return None
        if base is None:
            return None
        key = self.aliases.canonical(base.key)
        vendor, _, name = key.partition(":")
        raw_version = query.version or (base.version if base.version not in (ANY, "-") else None)
        detected: DetectedVersion | None = None
        version, update, range_version = base.version, base.update, base.version
        if raw_version:
            detected = detect(name, raw_version, query.banner)
            if query.version or detected.update is not None:
                version = quote(detected.version).lower()
                if detected.update is not None:
                    update = detected.update if base.update == ANY else base.update
            range_version = detected.version if detected.update is not None else detected.upstream
        cpe = Cpe(
            base.part if base.part != ANY else "a",
            quote(vendor),
            quote(name),
            version,
            update,
            *base.values()[5:],
        )
        platforms = tuple(parse_cpe(p) for p in query.platforms)
        return Found(cpe=cpe, key=key, range_version=range_version, platforms=platforms), detected

    def match(self, query: Query, include_negative: bool = False) -> list[Match]:
        """Each candidate CVE's verdict; not-affected ones only with ``include_negative``.

        Matches carry no record (``Match.record`` is None): the caller loads the records it shows.
        """
        resolved = self.resolve(query)
        if resolved is None:
            return []
        found, detected = resolved
        if include_negative:
            return [self.judge(c, found, detected) for c in sorted(self.index.candidates(found.key))]
        rows = self._row_hits(found)
        if rows is not None:
            return self._match_fast(found, detected, rows)
        out: list[Match] = []
        for cve_id in sorted(self.index.likely(found.key, found.range_version, unquote(found.cpe.version))):
            m = self.judge(cve_id, found, detected)
            if m.verdict is not Verdict.NOT_AFFECTED:
                out.append(m)
        return out

    def _row_hits(self, found: Found) -> dict[str, list[int]] | None:
        """The row scan for ``found``, or None when the rows cannot stand in for the configurations."""
        version = found.cpe.version
        if version in (ANY, NA) or _escaped(version):
            return None
        rk, ek = padded_key(found.range_version), padded_key(unquote(version))
        if rk is None or ek is None:
            return None
        return self.index.row_hits(found.key, rk, ek)

    def _match_fast(
        self, found: Found, detected: DetectedVersion | None, rows: dict[str, list[int]]
    ) -> list[Match]:
        """likely() + judge() without walking plain-OR configurations: only the entries the rows admit."""
        index = self.index
        key = found.key
        rk = padded_key(found.range_version)
        assert rk is not None  # _row_hits checked
        out: list[Match] = []
        # Without a distribution build, _finish() adds nothing to an NVD match: build it directly.
        direct = detected is None or not detected.from_distribution
        configs, affected, spans = index._configs, index._affected, index._cna_spans
        for cve_id in sorted(index.unnamed(key).union(rows)):
            hits = rows.get(cve_id)
            if hits is None:
                detail = index.cna_decides(cve_id, key, rk) if (cve_id, key) in spans else None
                if detail == "":
                    continue  # the CNA ranges say not affected (or not listed): never returned
                if detail is not None:  # what judge() says from these ranges, without evaluating them again
                    view = SourceView("cna", "affected", detail)
                    out.append(
                        self._finish(
                            cve_id,
                            found,
                            detected,
                            Verdict.AFFECTED,
                            Basis.CNA,
                            detail,
                            Confidence.MEDIUM,
                            True,
                            False,
                            None,
                            [view],
                        )
                    )
                    continue
            elif cve_id not in configs and (cve_id, key) not in affected:
                shown = self._shown_row(key, hits, found)
                if shown is None:
                    continue
                entry, reason, view = shown
                if direct:
                    out.append(
                        Match(
                            cve_id,
                            Verdict.AFFECTED,
                            Basis.NVD,
                            reason,
                            Confidence.HIGH,
                            True,
                            cpe_match=entry,
                            sources=(view,),
                        )
                    )
                else:
                    out.append(
                        self._finish(
                            cve_id,
                            found,
                            detected,
                            Verdict.AFFECTED,
                            Basis.NVD,
                            reason,
                            Confidence.HIGH,
                            True,
                            False,
                            entry,
                            [view],
                        )
                    )
                continue
            m = self.judge(cve_id, found, detected, hits)
            if m.verdict is not Verdict.NOT_AFFECTED:
                out.append(m)
        return out

    def _admitted(self, key: str, hits: list[int], found: Found) -> CpeMatch | None:
        """The first entry among rows that admitted the version which matches ``found`` (else None)."""
        shown = self._shown_row(key, hits, found)
        return None if shown is None else shown[0]

    def _shown_row(self, key: str, hits: list[int], found: Found) -> _Shown | None:
        """For the first admitted row that matches ``found``: its entry, the reason and the NVD view.

        Cached per row (bounded): the hosts of a scan running one product at different versions hit the
        same entries, and each would otherwise rebuild the same objects.
        """
        index, cache = self.index, self._shown
        for r in hits:
            shown = cache.get((key, r))
            if shown is None:
                entry = index.entry(key, r)
                shown = (entry, f"NVD: {_entry_text(entry)}", SourceView("nvd", "affected", entry.criteria))
                if len(cache) >= _SHOWN:
                    cache.clear()
                cache[(key, r)] = shown
            if index.sure(key, r):
                return shown
            entry = shown[0]
            criteria, _, generic = _info(entry.criteria)
            if product_matches(entry, criteria, found, generic):
                return shown
        return None

    def _nvd(self, cve_id: str, found: Found, hits: list[int] | None) -> tuple[Truth, CpeMatch | None] | None:
        """NVD's answer for ``found``: None when the configurations do not name the product.

        A CVE whose rows decide alone is a plain OR of vulnerable entries: TRUE with the first entry that
        matches, else FALSE. ``hits`` are its rows that admitted the version when the caller has them.
        """
        index, canonical = self.index, self.aliases.by_key
        configurations = index.configurations(cve_id)
        if configurations is not None:
            if names_product(configurations, found.key, canonical):
                return evaluate(configurations, found, canonical)
            return None
        if not index.named(cve_id, found.key):
            return None
        if hits is not None:
            entry = self._admitted(found.key, hits, found)
        else:
            entry = next((m for m in index.entries(found.key, cve_id) if _matches(m, found)), None)
        return (Truth.TRUE, entry) if entry is not None else (Truth.FALSE, None)

    def judge(
        self, cve_id: str, found: Found, detected: DetectedVersion | None, hits: list[int] | None = None
    ) -> Match:
        """The decision order for one CVE."""
        views: list[SourceView] = []
        nvd: Truth | None = None
        nvd_entry: CpeMatch | None = None
        decided = self._nvd(cve_id, found, hits)
        if decided is not None:
            nvd, nvd_entry = decided
            views.append(SourceView("nvd", _truth_says(nvd), nvd_entry.criteria if nvd_entry else ""))
        version = found.range_version
        affected = self.index.affected_for(cve_id, found.key)
        by_cna = [a for a in affected if a.origin is Origin.CNA]
        by_adp = [a for a in affected if a.origin is Origin.ADP]
        cna = evaluate_affected(by_cna, version) if by_cna else None
        adp = evaluate_affected(by_adp, version) if by_adp else None
        for name, answer in (("cna", cna), ("adp", adp)):
            if answer is not None and any(a.origin.value == name for a in affected):
                views.append(SourceView(name, answer.say.value, answer.detail))
        cve5_view = _cve5_view(cna, adp, affected)

        if nvd is not None:
            verdict = {Truth.TRUE: Verdict.AFFECTED, Truth.FALSE: Verdict.NOT_AFFECTED}.get(
                nvd, Verdict.CONDITIONAL
            )
            polarity = None if verdict is Verdict.CONDITIONAL else verdict is Verdict.AFFECTED
            disagree = cve5_view is not None and cve5_view.say.polarity not in (None, polarity)
            reason = (
                f"NVD: {_entry_text(nvd_entry)}" if nvd_entry else "NVD: no configuration covers this version"
            )
            if verdict is Verdict.CONDITIONAL:
                reason += " when running on a platform the scan did not identify"
            return self._finish(
                cve_id,
                found,
                detected,
                verdict,
                Basis.NVD,
                reason,
                Confidence.HIGH,
                True,
                disagree,
                nvd_entry,
                views,
            )
        for basis, answer, other in ((Basis.CNA, cna, None), (Basis.ADP, adp, cna)):
            if answer is not None and answer.say in (Say.AFFECTED, Say.NOT_AFFECTED):
                verdict = Verdict.AFFECTED if answer.say is Say.AFFECTED else Verdict.NOT_AFFECTED
                disagree = other is not None and other.say.polarity not in (None, answer.say.polarity)
                return self._finish(
                    cve_id,
                    found,
                    detected,
                    verdict,
                    basis,
                    answer.detail,
                    Confidence.MEDIUM,
                    True,
                    disagree,
                    None,
                    views,
                )
        for basis, answer in ((Basis.CNA, cna), (Basis.ADP, adp)):
            if answer is not None and answer.say is Say.NOT_LISTED:
                return self._finish(
                    cve_id,
                    found,
                    detected,
                    Verdict.NOT_AFFECTED,
                    basis,
                    answer.detail,
                    Confidence.LOW,
                    True,
                    False,
                    None,
                    views,
                )
        names = self.aliases.keywords_of.get(found.key, ()) or (
            found.key.partition(":")[2].replace("_", " "),
        )
        description, configured = self.index.description(cve_id)
        bounds = description_ranges(description, names) if description else []
        if bounds:
            hit = next((b for b in bounds if b.contains(version)), None)
            verdict = Verdict.AFFECTED if hit else Verdict.NOT_AFFECTED
            text = hit.describe() if hit else "; ".join(b.describe() for b in bounds)
            views.append(SourceView("description", verdict.value, text))
            return self._finish(
                cve_id,
                found,
                detected,
                verdict,
                Basis.DESCRIPTION,
                f"description: {text}",
                Confidence.LOW,
                False,
                False,
                None,
                views,
            )
        basis = Basis.NOT_NAMED if configured else Basis.NO_DATA
        reason = "NVD configurations do not name this product" if configured else "no version data"
        return Match(cve_id, Verdict.UNDETERMINED, basis, reason, Confidence.LOW, False, sources=tuple(views))

    def _finish(
        self,
        cve_id: str,
        found: Found,
        detected: DetectedVersion | None,
        verdict: Verdict,
        basis: Basis,
        reason: str,
        confidence: Confidence,
        confirmed: bool,
        disagreement: bool,
        entry: CpeMatch | None,
        views: list[SourceView],
    ) -> Match:
        tentative = False
        why: str | None = None
        if (
            detected is not None
            and detected.from_distribution
            and verdict in (Verdict.AFFECTED, Verdict.CONDITIONAL)
        ):
            fix_key = (detected.distro or "", found.key, cve_id)
            if fix_key in self.distro_fixes and detected.distro_revision not in (None, "unknown"):
                fixed = self.distro_fixes[fix_key]
                package = f"{detected.upstream}-{detected.distro_revision}"
                if fixed is not None and dpkg_compare(package, fixed.split(":", 1)[-1]) >= 0:
                    return Match(
                        cve_id,
                        Verdict.NOT_AFFECTED,
                        Basis.DISTRIBUTION,
                        f"{detected.distro} fixed it in {fixed}; this host runs {package}",
                        Confidence.HIGH,
                        True,
                        sources=tuple(views),
                    )
                reason += f"; {detected.distro} data: " + (
                    f"fixed in {fixed}, not in {package}" if fixed else "no fix yet"
                )
            else:
                tentative = True
                why = (
                    f"distribution may have backported the fix ({detected.distro} {detected.distro_revision})"
                )
        if basis is Basis.DESCRIPTION:
            tentative, why = True, why or "only the description names versions"
        return Match(
            cve_id,
            verdict,
            basis,
            reason,
            confidence,
            confirmed and not tentative if basis is Basis.DESCRIPTION else confirmed,
            tentative,
            why,
            disagreement,
            entry,
            tuple(views),
        )


def _truth_says(t: Truth) -> str:
    return {Truth.TRUE: "affected", Truth.FALSE: "not_affected"}.get(t, "conditional")


def _cve5_view(cna: Answer | None, adp: Answer | None, affected: tuple[Affected, ...]) -> Answer | None:
    if cna is not None and any(a.origin is Origin.CNA for a in affected) and cna.say is not Say.NO_DATA:
        return cna
    if adp is not None and any(a.origin is Origin.ADP for a in affected):
        return adp
    return None


def _entry_text(m: CpeMatch) -> str:
    text = m.criteria.strip()
    if m.version_start_including:
        text += f" >={m.version_start_including}"
    if m.version_start_excluding:
        text += f" >{m.version_start_excluding}"
    if m.version_end_including:
        text += f" <={m.version_end_including}"
    if m.version_end_excluding:
        text += f" <{m.version_end_excluding}"
    return text


def match_many(matcher: Matcher, queries: Iterable[Query]) -> list[list[Match]]:
    """Match a scan's services; identical services (same CPE, version, banner, platforms) are judged once."""
    memo: dict[Query, list[Match]] = {}
    out: list[list[Match]] = []
    for q in queries:
        if q not in memo:
            memo[q] = matcher.match(q)
        out.append(memo[q])
    return out
