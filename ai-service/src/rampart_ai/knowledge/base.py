"""Loads the knowledge base: concept notes and service guidance (our TOML), CWE data (cwe2).

CWE names, descriptions and mitigations come from the MITRE data the ``cwe2`` package ships
(research view 1000); nothing is downloaded at run time.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from rampart_ai.domain import Level


@dataclass(frozen=True)
class Concept:
    id: str
    title: str
    aliases: tuple[str, ...]
    text: dict[Level, str]
    cwe: tuple[str, ...] = ()
    attack: tuple[str, ...] = ()
    example: str = ""


@dataclass(frozen=True)
class ServiceGuide:
    id: str
    title: str
    names: tuple[str, ...]
    ports: tuple[int, ...]
    risk: str
    steps: tuple[str, ...]
    cwe: tuple[str, ...] = ()


@dataclass(frozen=True)
class Weakness:
    id: str  # "CWE-319"
    name: str
    description: str
    mitigations: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnowledgeBase:
    concepts: tuple[Concept, ...]
    services: tuple[ServiceGuide, ...]
    weaknesses: dict[str, Weakness]
    techniques: dict[str, str]  # ATT&CK id -> name

    def concept(self, concept_id: str) -> Concept | None:
        return next((c for c in self.concepts if c.id == concept_id), None)

    def guide_for(self, service: str, port: int = 0) -> ServiceGuide | None:
        """The guide naming ``service``; by usual port only when the service is unknown."""
        name = service.lower().strip()
        if name:
            for guide in self.services:
                if name in guide.names or guide.id == name:
                    return guide
            for guide in self.services:
                if any(n in name for n in guide.names if len(n) > 2):
                    return guide
        if port and not name:
            return next((g for g in self.services if port in g.ports), None)
        return None

    def weakness(self, cwe_id: str) -> Weakness | None:
        return self.weaknesses.get(cwe_id.upper())


DATA = resources.files("rampart_ai.knowledge") / "data"
CWE_ID = re.compile(r"CWE-(\d+)")


def _concepts(document: dict[str, list[dict[str, object]]]) -> tuple[Concept, ...]:
    concepts = []
    for item in document["concept"]:
        concepts.append(
            Concept(
                id=str(item["id"]),
                title=str(item["title"]),
                aliases=tuple(str(a) for a in _list(item.get("aliases"))),
                text={level: str(item[level.value]).strip() for level in Level},
                cwe=tuple(str(c) for c in _list(item.get("cwe"))),
                attack=tuple(str(a) for a in _list(item.get("attack"))),
                example=str(item.get("example", "")),
            )
        )
    return tuple(concepts)


def _services(document: dict[str, list[dict[str, object]]]) -> tuple[ServiceGuide, ...]:
    return tuple(
        ServiceGuide(
            id=str(item["id"]),
            title=str(item["title"]),
            names=tuple(str(n) for n in _list(item.get("names"))),
            ports=tuple(int(str(p)) for p in _list(item.get("ports"))),
            risk=str(item["risk"]),
            steps=tuple(str(s) for s in _list(item.get("steps"))),
            cwe=tuple(str(c) for c in _list(item.get("cwe"))),
        )
        for item in document["service"]
    )


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def cwe_catalogue_path() -> Path:
    """The CSV of MITRE's research view (1000) shipped inside the cwe2 package."""
    from cwe2.mappings import navigate_cwe  # type: ignore[import-untyped]  # not cwe2.database (opens files)

    return Path(navigate_cwe["research_concepts"]["csv_file"])


def _mitigations(field: str) -> tuple[str, ...]:
    parts = [p for p in field.split("::") if "DESCRIPTION:" in p]
    return tuple(p.split("DESCRIPTION:", 1)[1].split(":", 1)[0].strip() for p in parts)[:3]


def read_weaknesses(path: Path, wanted: Iterable[str] | None = None) -> dict[str, Weakness]:
    """CWE entries by id ("CWE-79"); only ``wanted`` ids when given."""
    keep = {w.upper() for w in wanted} if wanted is not None else None
    found: dict[str, Weakness] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            cwe_id = f"CWE-{row['CWE-ID']}"
            if keep is not None and cwe_id not in keep:
                continue
            found[cwe_id] = Weakness(
                cwe_id,
                row["Name"],
                row["Description"],
                _mitigations(row.get("Potential Mitigations", "")),
            )
    return found


@cache
def load() -> KnowledgeBase:
    """The shipped knowledge base (read once per process)."""
    concepts = _concepts(tomllib.loads((DATA / "concepts.toml").read_text(encoding="utf-8")))
    services = _services(tomllib.loads((DATA / "remediation.toml").read_text(encoding="utf-8")))
    weaknesses = read_weaknesses(cwe_catalogue_path())
    attack = tomllib.loads((DATA / "attack.toml").read_text(encoding="utf-8"))["technique"]
    return KnowledgeBase(concepts, services, weaknesses, {str(k): str(v) for k, v in attack.items()})
