"""The frameworks and their control mapping, loaded from data files and checked against the rule files.

One TOML file per framework (``data/frameworks/<framework>.toml``). Each ``[[control]]`` says which
technical checks evidence it: finding rule ids (``rules``), CWE classes of any finding (``cwes``),
finding types (``types``, with ``min_severity``), scan freshness (``freshness_days``: every asset
scanned within N days) and whether it needs manual evidence (``manual``). A control with no check
and no ``manual`` is refused; so is a rule id the rule files do not define.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rampart.lib.errors import NotFound

DATA = Path(__file__).parent / "data" / "frameworks"
FINDING_TYPES = ("vulnerable_service", "misconfiguration", "exposure")
SEVERITIES = ("info", "low", "medium", "high", "critical")
CWE = re.compile(r"^CWE-\d{1,5}$")
FRAMEWORK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")
_CONTROL_KEYS = {
    "id",
    "name",
    "description",
    "rules",
    "cwes",
    "types",
    "min_severity",
    "freshness_days",
    "manual",
}


class MappingError(ValueError):
    """A framework file is malformed or names a check that does not exist (the message says where)."""


class FrameworkNotFound(NotFound):
    """Asked for a framework the catalogue does not have."""

    public_code = "FRAMEWORK_NOT_FOUND"


def default_rules_dir() -> Path:
    """threat-service's finding rules in this repository (read as data, never imported)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "threat-service" / "src" / "rampart_threat" / "findings" / "data" / "rules"
        if candidate.is_dir():
            return candidate
    raise MappingError("threat-service's finding rules were not found: set COMPLIANCE_RULES_DIR")


@dataclass(frozen=True)
class Control:
    """One control of one framework and the checks that evidence it."""

    framework: str
    ref: str  # the framework's own id, e.g. "6.3.3"
    name: str
    description: str
    rules: tuple[str, ...] = ()
    cwes: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    min_severity: str = "info"
    freshness_days: int = 0
    manual: bool = False

    @property
    def control_id(self) -> str:
        """Unique across frameworks: ``<framework>:<ref>``."""
        return f"{self.framework}:{self.ref}"

    @property
    def automated(self) -> bool:
        return bool(self.rules or self.cwes or self.types or self.freshness_days)


@dataclass(frozen=True)
class Framework:
    key: str  # soc2, iso27001, hipaa, gdpr, pci-dss
    name: str
    version: str
    controls: tuple[Control, ...]


@dataclass(frozen=True)
class Catalogue:
    frameworks: tuple[Framework, ...]

    def framework(self, key: str) -> Framework:
        for framework in self.frameworks:
            if framework.key == key:
                return framework
        raise FrameworkNotFound(f"no framework {key!r}", framework=key)

    def controls(self) -> Iterable[Control]:
        for framework in self.frameworks:
            yield from framework.controls

    def control(self, control_id: str) -> Control | None:
        return self._by_id.get(control_id)

    @property
    def _by_id(self) -> Mapping[str, Control]:
        cached: dict[str, Control] | None = getattr(self, "_index", None)
        if cached is None:
            cached = {control.control_id: control for control in self.controls()}
            object.__setattr__(self, "_index", cached)
        return cached


def known_rule_ids(rules_dir: Path) -> frozenset[str]:
    """Every rule id the rule files define (``[[rule]] id = ...``)."""
    ids: set[str] = set()
    files = sorted(rules_dir.glob("*.toml"))
    if not files:
        raise MappingError(f"no rule files in {rules_dir}")
    for path in files:
        with path.open("rb") as handle:
            for rule in tomllib.load(handle).get("rule", []):
                ids.add(str(rule["id"]))
    return frozenset(ids)


def load_catalogue(directory: Path = DATA, rules_dir: Path | None = None) -> Catalogue:
    """Every ``*.toml`` framework in ``directory``, validated; raises ``MappingError`` naming the problem."""
    rule_ids = known_rule_ids(rules_dir or default_rules_dir())
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise MappingError(f"no framework files in {directory}")
    frameworks = [_framework(path, rule_ids) for path in files]
    keys = [framework.key for framework in frameworks]
    if len(set(keys)) != len(keys):
        raise MappingError(f"a framework is defined twice: {sorted(keys)}")
    return Catalogue(tuple(frameworks))


def _framework(path: Path, rule_ids: frozenset[str]) -> Framework:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"{path.name}: not valid TOML: {error}") from error
    key = data.get("framework")
    if not isinstance(key, str) or not FRAMEWORK_ID.match(key):
        raise MappingError(f"{path.name}: 'framework' must be a short lower-case id")
    raw_controls = data.get("control")
    if not isinstance(raw_controls, list) or not raw_controls:
        raise MappingError(f"{path.name}: no [[control]] entries")
    controls = [_control(path.name, key, raw, rule_ids) for raw in raw_controls]
    refs = [control.ref for control in controls]
    duplicates = sorted({ref for ref in refs if refs.count(ref) > 1})
    if duplicates:
        raise MappingError(f"{path.name}: control ids defined twice: {duplicates}")
    return Framework(key, str(data.get("name", key)), str(data.get("version", "")), tuple(controls))


def _control(file: str, framework: str, raw: object, rule_ids: frozenset[str]) -> Control:
    if not isinstance(raw, dict):
        raise MappingError(f"{file}: a [[control]] is not a table")
    ref = raw.get("id")
    where = f"{file}: control {ref!r}"
    if not isinstance(ref, str) or not ref:
        raise MappingError(f"{file}: a control has no id")
    unknown_keys = sorted(set(raw) - _CONTROL_KEYS)
    if unknown_keys:
        raise MappingError(f"{where}: unknown keys {unknown_keys}")
    for text in ("name", "description"):
        if not isinstance(raw.get(text), str) or not raw[text].strip():
            raise MappingError(f"{where}: '{text}' is required")
    rules = _strings(raw, "rules", where)
    unknown = sorted(set(rules) - rule_ids)
    if unknown:
        raise MappingError(f"{where}: unknown finding rule ids {unknown} (not in the rule files)")
    cwes = _strings(raw, "cwes", where)
    bad = [cwe for cwe in cwes if not CWE.match(cwe)]
    if bad:
        raise MappingError(f"{where}: not CWE ids {bad} (expected CWE-<number>)")
    types = _strings(raw, "types", where)
    bad = [kind for kind in types if kind not in FINDING_TYPES]
    if bad:
        raise MappingError(f"{where}: unknown finding types {bad} (one of {list(FINDING_TYPES)})")
    min_severity = raw.get("min_severity", "info")
    if min_severity not in SEVERITIES:
        raise MappingError(f"{where}: min_severity must be one of {list(SEVERITIES)}")
    freshness = raw.get("freshness_days", 0)
    if not isinstance(freshness, int) or isinstance(freshness, bool) or not 0 <= freshness <= 3650:
        raise MappingError(f"{where}: freshness_days must be a whole number of days (0-3650)")
    manual = raw.get("manual", False)
    if not isinstance(manual, bool):
        raise MappingError(f"{where}: manual must be true or false")
    control = Control(
        framework,
        ref,
        raw["name"].strip(),
        raw["description"].strip(),
        rules,
        cwes,
        types,
        str(min_severity),
        freshness,
        manual,
    )
    if not control.automated and not manual:
        raise MappingError(f"{where}: no check (rules, cwes, types, freshness_days) and not manual")
    return control


def _strings(raw: dict[str, object], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MappingError(f"{where}: '{key}' must be a list of strings")
    return tuple(str(item) for item in value)
