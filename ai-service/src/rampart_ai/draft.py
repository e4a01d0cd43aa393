"""Building an answer's text with its citations: every marker [n] points at one source object."""

from __future__ import annotations

import re

from rampart_ai.domain import Answer, Citation, Intent

CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def quoted(value: str, limit: int = 80) -> str:
    """Scanned data (banners, titles, certificate fields) as an inert quotation, never as prose."""
    text = CONTROL.sub(" ", value).strip().replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("[", "(").replace("]", ")")  # a banner cannot forge a citation marker
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return f"\u201c{text}\u201d"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


class Draft:
    """Accumulates lines and the citations their markers refer to (deduplicated, in order)."""

    def __init__(self, intent: Intent) -> None:
        self.intent = intent
        self.lines: list[str] = []
        self.citations: list[Citation] = []
        self.gaps: list[str] = []

    def cite(self, *citations: Citation) -> str:
        """The markers for ``citations``, e.g. "[1][3]"."""
        marks = []
        for citation in citations:
            key = (citation.kind, citation.ref, citation.scan_id)
            index = next((i for i, c in enumerate(self.citations) if (c.kind, c.ref, c.scan_id) == key), None)
            if index is None:
                self.citations.append(citation)
                index = len(self.citations) - 1
            marks.append(f"[{index + 1}]")
        return "".join(marks)

    def say(self, line: str) -> None:
        self.lines.append(line)

    def gap(self, what: str) -> None:
        if what not in self.gaps:
            self.gaps.append(what)

    def answer(self) -> Answer:
        about_caller = any(c.about_caller for c in self.citations)
        confidence = 90 if about_caller else 60 if self.citations else 20
        if self.gaps:
            confidence -= 20
        return Answer(self.intent, "\n".join(self.lines), list(self.citations), list(self.gaps), confidence)
