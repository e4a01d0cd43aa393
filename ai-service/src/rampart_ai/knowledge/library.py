"""The knowledge base behind one FTS5 index: concept notes, service guides and CWE entries."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rampart_ai.domain import Citation, Level, RelatedId
from rampart_ai.intent import CWE
from rampart_ai.knowledge.base import Concept, KnowledgeBase, ServiceGuide, Weakness
from rampart_ai.knowledge.index import Document, TextIndex

DEFINITION = re.compile(
    r"^\s*(?:what(?:'s|\s+is|\s+are)|define|explain)\s+(?:an?\s+|the\s+)?(?P<subject>.+?)[\s?.!]*$",
    re.IGNORECASE,
)
MIN_SCORE = 1e-6  # bm25 of a real match is above this; anything else matched nothing useful


@dataclass(frozen=True)
class Note:
    """One knowledge-base article at a level, with its related ids."""

    ref: str  # "concept/tls", "service/redis", "cwe/CWE-319"
    title: str
    text: str
    related: tuple[RelatedId, ...]
    concept: Concept | None = None
    guide: ServiceGuide | None = None

    def citation(self) -> Citation:
        kind = "cwe" if self.ref.startswith("cwe/") else "knowledge"
        return Citation(kind, self.ref, self.title)


class Library:
    """Finds the note a text is about; indexed once per process."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.index = TextIndex(self._documents())

    def _documents(self) -> list[Document]:
        docs = [
            Document(
                f"concept/{c.id}",
                "concept",
                c.title,
                " ".join(c.text.values()),
                " ".join((c.id.replace("-", " "), *c.aliases)),
            )
            for c in self.kb.concepts
        ]
        docs += [
            Document(
                f"service/{g.id}", "service", g.title, g.risk + " " + " ".join(g.steps), " ".join(g.names)
            )
            for g in self.kb.services
        ]
        # A CWE's name goes in the body, not the title: our notes outrank MITRE's 900 entries
        # for a general term ("sql injection"); a CWE id is found exactly anyway.
        docs += [
            Document(f"cwe/{w.id}", "cwe", "", f"{w.name}. {w.description}", w.id)
            for w in self.kb.weaknesses.values()
        ]
        return docs

    def related(self, cwe: tuple[str, ...], attack: tuple[str, ...] = ()) -> tuple[RelatedId, ...]:
        out = []
        for cwe_id in cwe:
            weakness = self.kb.weakness(cwe_id)
            out.append(RelatedId(cwe_id, "cwe", weakness.name if weakness else ""))
        for technique in attack:
            out.append(RelatedId(technique, "attack", self.kb.techniques.get(technique, "")))
        return tuple(out)

    def concept_note(self, concept: Concept, level: Level) -> Note:
        return Note(
            f"concept/{concept.id}",
            concept.title,
            concept.text[level],
            self.related(concept.cwe, concept.attack),
            concept=concept,
        )

    def guide_note(self, guide: ServiceGuide) -> Note:
        text = f"{guide.title}: {guide.risk}. " + " ".join(guide.steps)
        return Note(f"service/{guide.id}", guide.title, text, self.related(guide.cwe), guide=guide)

    def weakness_note(self, weakness: Weakness, level: Level) -> Note:
        text = f"{weakness.id} {weakness.name}: {weakness.description}"
        if level is not Level.BEGINNER and weakness.mitigations:
            text += " Mitigations (MITRE): " + " ".join(weakness.mitigations)
        return Note(f"cwe/{weakness.id}", f"{weakness.id} {weakness.name}", text, ())

    def exact(self, text: str, level: Level) -> Note | None:
        """The note ``text`` names outright: a CWE id, a concept id, title or alias."""
        match = CWE.search(text)
        if match:
            weakness = self.kb.weakness(match.group(0))
            if weakness is not None:
                return self.weakness_note(weakness, level)
        wanted = text.lower().strip(" ?.!")
        for concept in self.kb.concepts:
            names = {concept.id, concept.title.lower(), *(a.lower() for a in concept.aliases)}
            if wanted in names:
                return self.concept_note(concept, level)
        return None

    def definition(self, question: str, level: Level) -> Note | None:
        """The note a "what is X" / "define X" question names exactly, if any."""
        match = DEFINITION.match(question)
        return self.exact(match.group("subject"), level) if match else None

    def find(
        self, text: str, level: Level, kinds: tuple[str, ...] = ("concept", "service", "cwe")
    ) -> Note | None:
        """The best note for ``text``: an exact name first, then the best bm25 match."""
        note = self.exact(text, level)
        if note is not None:
            return note
        for hit in self.index.search(text, kinds=kinds, limit=1):
            if hit.score <= MIN_SCORE:
                return None
            return self.note(hit.doc_id, level)
        return None

    def note(self, ref: str, level: Level) -> Note | None:
        kind, _, key = ref.partition("/")
        if kind == "concept":
            concept = self.kb.concept(key)
            return self.concept_note(concept, level) if concept else None
        if kind == "service":
            guide = next((g for g in self.kb.services if g.id == key), None)
            return self.guide_note(guide) if guide else None
        weakness = self.kb.weakness(key)
        return self.weakness_note(weakness, level) if weakness else None
