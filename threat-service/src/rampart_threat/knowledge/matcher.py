"""Given what a scan found, the CVEs that apply and why.

Decision order per CVE (docs/knowledge.md): NVD configurations when they name the product; otherwise
the CVE 5 CNA ``affected`` data; otherwise CISA/other ADP data; otherwise the description (never
confirmed); otherwise undetermined. Version-based verdicts on a distribution build are tentative.
"""

from __future__ import annotations

import gc
import re
from bisect import bisect_left
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
from rampart_threat.knowledge.model import Affected, CpeMatch, CveRecord, Origin
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
    """CVE records indexed by canonical vendor:product (NVD criteria, CVE 5 affected) and by keyword."""

    def __init__(self, records: Iterable[CveRecord], aliases: Aliases | None = None) -> None:
        self.aliases = aliases or load_aliases()
        self.records: dict[str, CveRecord] = {}
        self._structured: dict[str, set[str]] = defaultdict(set)
        self._mentioned: dict[str, set[str]] = defaultdict(set)
        self._affected: dict[tuple[str, str], list[Affected]] = {}
        # Per product: one row per vulnerable NVD entry, to skip CVEs whose configurations cannot match a
        # version without evaluating them (negation or odd versions put a CVE in _complex instead).
        self._ranges: dict[str, list[_Row]] = defaultdict(list)
        self._complex: dict[str, set[str]] = defaultdict(set)
        self._nvd_named: dict[str, set[str]] = defaultdict(set)
        # Per product: CVEs whose rows cannot decide alone (AND, running-on, wildcard or escaped versions).
        self._slow: dict[str, set[str]] = defaultdict(set)
        self._sorted: dict[str, _SortedRows] = {}  # built from _ranges on a product's first query
        # (CVE, product) -> the version spans a CNA marks affected, when they alone decide (else absent).
        self._cna_spans: dict[tuple[str, str], tuple[_Span, ...]] = {}
        for record in records:
            self.add(record)
        # The index lives as long as the service: leave its millions of objects out of later full
        # collections (each would otherwise walk the whole index, ~2 s at NVD scale, mid-scan).
        for key, rows in self._ranges.items():
            self._sorted[key] = _SortedRows(rows)
        gc.freeze()

    def __len__(self) -> int:
        return len(self.records)

    def add(self, record: CveRecord) -> None:
        self.records[record.id] = record
        canonical = self.aliases.by_key
        negated = any(c.negate or any(n.negate for n in c.nodes) for c in record.configurations)
        plain = _plain_or(record)
        for conf in record.configurations:
            for node in conf.nodes:
                for m in node.cpe_match:
                    try:
                        criteria = parse_cpe(m.criteria)
                    except InvalidCpe:
                        continue
                    key = canonical.get(criteria.key, criteria.key)
                    self._structured[key].add(record.id)
                    self._nvd_named[key].add(record.id)
                    if not m.vulnerable:
                        continue
                    row = None if negated else _row(record.id, m, criteria)
                    if row is None:
                        self._complex[key].add(record.id)
                    else:
                        self._ranges[key].append(row)
                        self._sorted.pop(key, None)
                        if not plain or _escaped(criteria.version):
                            self._slow[key].add(record.id)
        by_key: dict[str, list[Affected]] = defaultdict(list)
        for a in record.affected:
            cve5_key = self.aliases.for_cve5(a.vendor, a.product, a.package_name, _cpe_keys(a.cpes))
            if cve5_key:
                by_key[cve5_key].append(a)
        for cve5_key, entries in by_key.items():
            self._structured[cve5_key].add(record.id)
            self._affected[(record.id, cve5_key)] = entries
            spans = _cna_spans(entries)
            if spans is not None:
                self._cna_spans[(record.id, cve5_key)] = spans
        words = set(_WORD.findall(record.description().lower()))
        for ref in record.references:
            words.update(_WORD.findall(ref.url.lower()))
        for w in words & self.aliases.by_keyword.keys():
            self._mentioned[self.aliases.by_keyword[w]].add(record.id)

    def candidates(self, key: str) -> set[str]:
        return self._structured.get(key, set()) | self._mentioned.get(key, set())

    def likely(self, key: str, range_version: str, exact_version: str) -> set[str]:
        """Candidates that may be affected: every candidate except NVD-decided CVEs no entry can match."""
        named = self._nvd_named.get(key, set())
        rest = self.candidates(key) - named
        rk, ek = padded_key(range_version), padded_key(exact_version)
        if rk is None or ek is None:
            return self.candidates(key)
        hits = set(self.row_hits(key, rk, ek))
        return rest | hits | self._complex.get(key, set())

    def row_hits(
        self, key: str, rk: tuple[Segment, ...], ek: tuple[Segment, ...]
    ) -> dict[str, list[CpeMatch]]:
        """Per CVE, in configuration order, the vulnerable entries whose version bounds admit the version."""
        rows = self._ranges.get(key)
        if not rows:
            return {}
        sorted_rows = self._sorted.get(key)
        if sorted_rows is None:
            sorted_rows = self._sorted[key] = _SortedRows(rows)
        found: list[int] = list(sorted_rows.exact.get(ek, ()))
        his, by_hi = sorted_rows.his, sorted_rows.by_hi
        for i in range(bisect_left(his, rk), len(his)):
            lo, lo_in, hi, hi_in, _, _, _ = rows[by_hi[i]]
            if (hi_in or hi != rk) and (lo is None or lo < rk or (lo_in and lo == rk)):
                found.append(by_hi[i])
        for i in sorted_rows.open_hi:
            lo, lo_in = rows[i][0], rows[i][1]
            if lo is None or lo < rk or (lo_in and lo == rk):
                found.append(i)
        found.sort()
        out: dict[str, list[CpeMatch]] = {}
        for i in found:
            row = rows[i]
            hit = out.get(row[5])
            if hit is None:
                out[row[5]] = [row[6]]
            else:
                hit.append(row[6])
        return out

    def cna_rules_out(self, cve_id: str, key: str, rk: tuple[Segment, ...]) -> bool:
        """Whether simple CNA data alone make ``cve_id`` not affected at padded range version ``rk``."""
        spans = self._cna_spans.get((cve_id, key))
        if spans is None or cve_id in self._nvd_named.get(key, ()):
            return False  # NVD configurations that name the product decide before CVE 5
        return not any(
            (lo is None or lo <= rk) and (rk < hi or (hi_in and rk == hi)) for lo, hi, hi_in in spans
        )

    def fast(self, cve_id: str, key: str) -> bool:
        """Whether the row entries alone decide ``cve_id`` for ``key`` (a plain OR, no CVE 5 data for it)."""
        return (
            cve_id not in self._complex.get(key, ())
            and cve_id not in self._slow.get(key, ())
            and (cve_id, key) not in self._affected
        )

    def affected_for(self, cve_id: str, key: str) -> list[Affected]:
        return self._affected.get((cve_id, key), [])


_PAD = 8
# (lower, lower inclusive, upper, upper inclusive, exact version, CVE id, entry); keys are padded_key()s.
_Row = tuple[
    tuple[Segment, ...] | None,
    bool,
    tuple[Segment, ...] | None,
    bool,
    tuple[Segment, ...] | None,
    str,
    CpeMatch,
]


class _SortedRows:
    """Positions into one product's rows: exact versions by key, ranges by upper bound (for bisection)."""

    __slots__ = ("by_hi", "exact", "his", "open_hi")

    def __init__(self, rows: list[_Row]) -> None:
        self.exact: dict[tuple[Segment, ...], list[int]] = defaultdict(list)
        self.open_hi: list[int] = []
        bounded: list[tuple[tuple[Segment, ...], int]] = []
        for i, row in enumerate(rows):
            if row[4] is not None:
                self.exact[row[4]].append(i)
            elif row[2] is None:
                self.open_hi.append(i)
            else:
                bounded.append((row[2], i))
        bounded.sort()
        self.his = [hi for hi, _ in bounded]
        self.by_hi = [i for _, i in bounded]


@lru_cache(maxsize=262144)
def padded_key(version: str) -> tuple[Segment, ...] | None:
    """A version key that plain tuple comparison orders like versions.compare (None: too long to pad)."""
    key = version_key(version)
    if len(key) > _PAD:
        return None
    return key + (ZERO,) * (_PAD - len(key))


# (start or None when open, upper, upper inclusive): an "affected" CVE 5 range as padded keys.
_Span = tuple[tuple[Segment, ...] | None, tuple[Segment, ...], bool]


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
            spans.append((lo, hi, item.less_than is None))
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
                    parse_cpe(m.criteria)
                except InvalidCpe:
                    return False
    return True


def _row(cve_id: str, m: CpeMatch, criteria: Cpe) -> _Row | None:
    if criteria.version not in (ANY, NA) and (m.has_range or not is_version(criteria.version)):
        return None
    if criteria.version == NA:
        return None
    if criteria.version != ANY:
        exact = padded_key(unquote(criteria.version))
        return None if exact is None else (None, True, None, True, exact, cve_id, m)
    bounds: list[tuple[Segment, ...] | None] = []
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
        cve_id,
        m,
    )


def _admits(m: CpeMatch, found: Found) -> bool:
    """product_matches() for an entry whose row admitted the found version (plain, unescaped versions)."""
    if _sure(m.criteria):
        return True
    criteria, _, generic = _info(m.criteria)
    return product_matches(m, criteria, found, generic)


@lru_cache(maxsize=262144)
def _sure(text: str) -> bool:
    """Whether a row hit alone means the entry matches: every attribute after the version ANY, version plain.

    Then product_matches() skips the other attributes, the update cannot be disjoint, and the version test is
    the row's (in_range for ANY, else an exact compare the padded keys decide).
    """
    criteria, _, generic = _info(text)
    return generic and criteria.update == ANY and not _escaped(criteria.version)


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
        """Each candidate CVE's verdict; not-affected ones only with ``include_negative``."""
        resolved = self.resolve(query)
        if resolved is None:
            return []
        found, detected = resolved
        out: list[Match] = []
        if include_negative:
            candidates = self.index.candidates(found.key)
        else:
            rows = self._row_hits(found)
            if rows is not None:
                return self._match_fast(found, detected, rows)
            candidates = self.index.likely(found.key, found.range_version, unquote(found.cpe.version))
        for cve_id in sorted(candidates):
            m = self.judge(self.index.records[cve_id], found, detected)
            if include_negative or m.verdict is not Verdict.NOT_AFFECTED:
                out.append(m)
        return out

    def _row_hits(self, found: Found) -> dict[str, list[CpeMatch]] | None:
        """The row scan for ``found``, or None when the rows cannot stand in for the configurations."""
        version = found.cpe.version
        if version in (ANY, NA) or _escaped(version):
            return None
        rk, ek = padded_key(found.range_version), padded_key(unquote(version))
        if rk is None or ek is None:
            return None
        return self.index.row_hits(found.key, rk, ek)

    def _match_fast(
        self, found: Found, detected: DetectedVersion | None, rows: dict[str, list[CpeMatch]]
    ) -> list[Match]:
        """likely() + judge() without walking plain-OR configurations: only the entries the rows admit."""
        index = self.index
        key = found.key
        candidates = (index.candidates(key) - index._nvd_named.get(key, set())) | index._complex.get(
            key, set()
        )
        candidates.update(rows)
        rk = padded_key(found.range_version)
        assert rk is not None  # _row_hits checked
        out: list[Match] = []
        for cve_id in sorted(candidates):
            entries = rows.get(cve_id)
            if entries is None and index.cna_rules_out(cve_id, key, rk):
                continue  # the CNA ranges say not affected (or not listed): never returned
            record = index.records[cve_id]
            if entries is not None and index.fast(cve_id, key):
                entry = next((m for m in entries if _admits(m, found)), None)
                if entry is not None:
                    views = [SourceView("nvd", "affected", entry.criteria)]
                    reason = f"NVD: {_entry_text(entry)}"
                    out.append(
                        self._finish(
                            record,
                            found,
                            detected,
                            Verdict.AFFECTED,
                            Basis.NVD,
                            reason,
                            Confidence.HIGH,
                            True,
                            False,
                            entry,
                            views,
                        )
                    )
                continue
            m = self.judge(record, found, detected)
            if m.verdict is not Verdict.NOT_AFFECTED:
                out.append(m)
        return out

    def judge(self, record: CveRecord, found: Found, detected: DetectedVersion | None) -> Match:
        """The decision order for one record."""
        canonical = self.aliases.by_key
        views: list[SourceView] = []
        nvd: Truth | None = None
        nvd_entry: CpeMatch | None = None
        if record.configurations and names_product(record.configurations, found.key, canonical):
            nvd, nvd_entry = evaluate(record.configurations, found, canonical)
            views.append(SourceView("nvd", _truth_says(nvd), nvd_entry.criteria if nvd_entry else ""))
        version = found.range_version
        affected = self.index.affected_for(record.id, found.key)
        cna = (
            evaluate_affected([a for a in affected if a.origin is Origin.CNA], version) if affected else None
        )
        adp = (
            evaluate_affected([a for a in affected if a.origin is Origin.ADP], version) if affected else None
        )
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
                record,
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
                    record,
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
                    record,
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
        bounds = description_ranges(record.description(), names)
        if bounds:
            hit = next((b for b in bounds if b.contains(version)), None)
            verdict = Verdict.AFFECTED if hit else Verdict.NOT_AFFECTED
            text = hit.describe() if hit else "; ".join(b.describe() for b in bounds)
            views.append(SourceView("description", verdict.value, text))
            return self._finish(
                record,
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
        basis = Basis.NOT_NAMED if record.configurations else Basis.NO_DATA
        reason = "NVD configurations do not name this product" if record.configurations else "no version data"
        return Match(
            record.id,
            Verdict.UNDETERMINED,
            basis,
            reason,
            Confidence.LOW,
            False,
            sources=tuple(views),
            record=record,
        )

    def _finish(
        self,
        record: CveRecord,
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
            fix_key = (detected.distro or "", found.key, record.id)
            if fix_key in self.distro_fixes and detected.distro_revision not in (None, "unknown"):
                fixed = self.distro_fixes[fix_key]
                package = f"{detected.upstream}-{detected.distro_revision}"
                if fixed is not None and dpkg_compare(package, fixed.split(":", 1)[-1]) >= 0:
                    return Match(
                        record.id,
                        Verdict.NOT_AFFECTED,
                        Basis.DISTRIBUTION,
                        f"{detected.distro} fixed it in {fixed}; this host runs {package}",
                        Confidence.HIGH,
                        True,
                        sources=tuple(views),
                        record=record,
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
            record.id,
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
            record,
        )


def _truth_says(t: Truth) -> str:
    return {Truth.TRUE: "affected", Truth.FALSE: "not_affected"}.get(t, "conditional")


def _cve5_view(cna: Answer | None, adp: Answer | None, affected: list[Affected]) -> Answer | None:
    if cna is not None and any(a.origin is Origin.CNA for a in affected) and cna.say is not Say.NO_DATA:
        return cna
    if adp is not None and any(a.origin is Origin.ADP for a in affected):
        return adp
    return None


def _entry_text(m: CpeMatch) -> str:
    bounds = [
        f">={m.version_start_including}" if m.version_start_including else "",
        f">{m.version_start_excluding}" if m.version_start_excluding else "",
        f"<={m.version_end_including}" if m.version_end_including else "",
        f"<{m.version_end_excluding}" if m.version_end_excluding else "",
    ]
    text = " ".join(b for b in bounds if b)
    return f"{m.criteria} {text}".strip()


def match_many(matcher: Matcher, queries: Iterable[Query]) -> list[list[Match]]:
    """Match a scan's services; identical services (same CPE, version, banner, platforms) are judged once."""
    memo: dict[Query, list[Match]] = {}
    out: list[list[Match]] = []
    for q in queries:
        if q not in memo:
            memo[q] = matcher.match(q)
        out.append(memo[q])
    return out
