"""Finding rules as data: ``data/rules/<family>.toml``, loaded and checked strictly, evaluated on fact maps.

A rule file is a list of ``[[rule]]`` tables (docs/findings.md gives the format). Anything the loader
does not understand is an error naming the file and the rule: an unknown key, a severity or type that
does not exist, a duplicate id, a condition of an unknown kind, a fact key no part of Rampart records,
a regular expression that does not compile. A typo in a rule must fail the build, not disable a check.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rampart_threat.findings.facts import KNOWN_FACTS, items
from rampart_threat.findings.model import FindingType, Severity

RULES_DIR = Path(__file__).with_name("data") / "rules"
PROFILES = frozenset({"standard", "compliance", "pentest"})  # scan-service's scan profiles
RULE_ID = re.compile(r"^RMP-[A-Z]+-\d{3}$")
CWE_ID = re.compile(r"^CWE-\d+$")
RULE_KEYS = frozenset(
    {"id", "title", "severity", "type", "cwe", "description", "remediation", "references", "evidence"}
)
OPTIONAL_KEYS = frozenset({"profiles", "when"})
OPERATORS = frozenset({"equals", "in", "contains_any", "less_than", "greater_than", "present", "matches"})
RULE_TYPES = {t.value: t for t in (FindingType.MISCONFIGURATION, FindingType.EXPOSURE)}


class RuleFileError(ValueError):
    """A rule file that cannot be used as written."""


@dataclass(frozen=True)
class Condition:
    """One test of one fact; a missing fact fails every test except ``present = false``."""

    fact: str
    operator: str
    operand: Any  # str, tuple[str, ...], float, bool or a compiled pattern, by operator

    def holds(self, facts: Mapping[str, str]) -> bool:
        value = facts.get(self.fact)
        if self.operator == "present":
            return (value is not None and value != "") is self.operand
        if value is None:
            return False
        match self.operator:
            case "equals":
                return bool(value == self.operand)
            case "in":
                return bool(value in self.operand)
            case "contains_any":
                return not set(items(value)).isdisjoint(self.operand)
            case "matches":
                return self.operand.search(value) is not None
        number = _number(value)
        if number is None:
            return False
        bound = float(self.operand)
        return number < bound if self.operator == "less_than" else number > bound


@dataclass(frozen=True)
class Rule:
    """One check: when its conditions hold on a port's facts, the port has this finding."""

    id: str
    title: str
    severity: Severity
    type: FindingType
    cwe: tuple[str, ...]
    description: str
    remediation: str
    references: tuple[str, ...]
    evidence: tuple[str, ...]
    conditions: tuple[Condition, ...]
    require_all: bool  # ``when = { all = [...] }``; False for ``{ any = [...] }``
    profiles: frozenset[str] = frozenset()  # empty: every profile
    family: str = ""

    def applies_to(self, profile: str) -> bool:
        return not self.profiles or profile in self.profiles

    def matches(self, facts: Mapping[str, str]) -> bool:
        results = (c.holds(facts) for c in self.conditions)
        return all(results) if self.require_all else any(results)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


class _Checker:
    """Reads one rule table, raising RuleFileError that names the file and the rule."""

    def __init__(self, path: Path, index: int, table: Any) -> None:
        self.path = path
        self.table = table
        ident = table.get("id") if isinstance(table, dict) else None
        self.where = f"{path.name}: rule " + (repr(ident) if isinstance(ident, str) else f"#{index}")

    def fail(self, problem: str) -> RuleFileError:
        return RuleFileError(f"{self.where}: {problem}")

    def text(self, key: str) -> str:
        value = self.table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key!r} must be a non-empty string")
        return " ".join(value.split()) if key == "title" else value.strip()

    def strings(
        self, key: str, pattern: re.Pattern[str] | None = None, required: bool = True
    ) -> tuple[str, ...]:
        value = self.table.get(key, [] if not required else None)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"{key!r} must be a list of non-empty strings")
        if required and not value:
            raise self.fail(f"{key!r} must not be empty")
        for v in value:
            if pattern is not None and not pattern.match(v):
                raise self.fail(f"{key!r}: {v!r} is not of the form {pattern.pattern}")
        return tuple(v.strip() for v in value)

    def rule(self, family: str) -> Rule:
        if not isinstance(self.table, dict):
            raise self.fail("each [[rule]] must be a table")
        unknown = set(self.table) - RULE_KEYS - OPTIONAL_KEYS
        if unknown:
            raise self.fail(f"unknown key(s) {', '.join(sorted(unknown))}")
        missing = RULE_KEYS - set(self.table)
        if missing:
            raise self.fail(f"missing key(s) {', '.join(sorted(missing))}")
        rule_id = self.text("id")
        if not RULE_ID.match(rule_id):
            raise self.fail("id must look like RMP-<FAMILY>-<3 digits>")
        severity = self.table["severity"]
        if severity not in {s.value for s in Severity}:
            raise self.fail(f"severity {severity!r} is not one of {', '.join(s.value for s in Severity)}")
        kind = self.table["type"]
        if kind not in RULE_TYPES:
            raise self.fail(f"type {kind!r} is not one of {', '.join(RULE_TYPES)}")
        references = self.strings("references")
        bad = [r for r in references if not r.startswith("https://")]
        if bad:
            raise self.fail(f"references must be https URLs: {bad[0]!r}")
        evidence = self.strings("evidence")
        self._known(evidence, "evidence")
        profiles = frozenset(self.strings("profiles", required=False))
        if profiles - PROFILES:
            raise self.fail(f"unknown profile(s) {', '.join(sorted(profiles - PROFILES))}")
        conditions, require_all = self._when()
        return Rule(
            id=rule_id,
            title=self.text("title"),
            severity=Severity(severity),
            type=RULE_TYPES[kind],
            cwe=self.strings("cwe", CWE_ID),
            description=self.text("description"),
            remediation=self.text("remediation"),
            references=references,
            evidence=evidence,
            conditions=conditions,
            require_all=require_all,
            profiles=profiles,
            family=family,
        )

    def _known(self, keys: Iterable[str], where: str) -> None:
        for key in keys:
            if key not in KNOWN_FACTS:
                raise self.fail(f"{where}: {key!r} is not a fact any part of Rampart records")

    def _when(self) -> tuple[tuple[Condition, ...], bool]:
        when = self.table.get("when")
        if not isinstance(when, dict) or len(when) != 1 or next(iter(when)) not in ("all", "any"):
            raise self.fail("'when' must be { all = [conditions] } or { any = [conditions] }")
        mode, conds = next(iter(when.items()))
        if not isinstance(conds, list) or not conds:
            raise self.fail(f"'when.{mode}' must be a non-empty list of conditions")
        return tuple(self._condition(c) for c in conds), mode == "all"

    def _condition(self, cond: Any) -> Condition:
        if not isinstance(cond, dict) or not isinstance(cond.get("fact"), str):
            raise self.fail(f"a condition must be a table with a 'fact' string: {cond!r}")
        fact = cond["fact"]
        self._known((fact,), "when")
        ops = set(cond) - {"fact"}
        if len(ops) != 1:
            raise self.fail(f"condition on {fact!r} must have exactly one of {', '.join(sorted(OPERATORS))}")
        op = ops.pop()
        if op not in OPERATORS:
            raise self.fail(f"condition on {fact!r}: unknown kind {op!r}")
        return Condition(fact, op, self._operand(fact, op, cond[op]))

    def _operand(self, fact: str, op: str, value: Any) -> Any:
        where = f"condition on {fact!r}: {op!r}"
        if op == "equals" and isinstance(value, str):
            return value
        strings = isinstance(value, list) and value and all(isinstance(v, str) for v in value)
        if op in ("in", "contains_any") and strings:
            return frozenset(value) if op == "contains_any" else tuple(value)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if op in ("less_than", "greater_than") and number:
            return float(value)
        if op == "present" and isinstance(value, bool):
            return value
        if op == "matches" and isinstance(value, str):
            try:
                return re.compile(value)
            except re.error as exc:
                raise self.fail(f"{where} is not a regular expression: {exc}") from exc
        expected = {
            "equals": "a string",
            "in": "a non-empty list of strings",
            "contains_any": "a non-empty list of strings",
            "less_than": "a number",
            "greater_than": "a number",
            "present": "true or false",
            "matches": "a regular expression string",
        }[op]
        raise self.fail(f"{where} must be {expected}, not {value!r}")


def parse_rules(path: Path, text: str) -> list[Rule]:
    """The rules of one file's text (``path`` names the file in errors and gives the family)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(f"{path.name}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"rule"}
    if unknown:
        raise RuleFileError(f"{path.name}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    tables = data.get("rule")
    if not isinstance(tables, list) or not tables:
        raise RuleFileError(f"{path.name}: no [[rule]] tables")
    return [_Checker(path, i, table).rule(path.stem) for i, table in enumerate(tables, 1)]


def load_rules(directory: Path = RULES_DIR) -> tuple[Rule, ...]:
    """Every rule of every ``*.toml`` file in ``directory``, ids unique across files."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise RuleFileError(f"no rule files in {directory}")
    seen: dict[str, str] = {}
    out: list[Rule] = []
    for path in files:
        for rule in parse_rules(path, path.read_text("utf-8")):
            if rule.id in seen:
                raise RuleFileError(f"{path.name}: rule {rule.id!r}: duplicate id (also in {seen[rule.id]})")
            seen[rule.id] = path.name
            out.append(rule)
    return tuple(out)


def matching(rules: Sequence[Rule], facts: Mapping[str, str], profile: str) -> list[Rule]:
    """The rules that fire on ``facts`` under the scan's profile."""
    return [r for r in rules if r.applies_to(profile) and r.matches(facts)]
