"""Full-text retrieval with SQLite FTS5 and its bm25() ranking.

``TextIndex`` holds documents (an id, a kind, a title, aliases, a body) in an in-memory FTS5
table with the porter stemmer; a query is reduced to its words (never passed as FTS syntax, so
scanned data or a question cannot inject query operators) and OR-ed, best bm25 first.
The knowledge base is indexed once per process; the caller's objects get their own small index
per request, so no two callers' objects ever share an index.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

WORD = re.compile(r"[a-z0-9][a-z0-9._-]*", re.IGNORECASE)
_STOP_WORDS = (
    "a an and are be can do does for from how i in is it me my of on or our the this to was we what "
)
STOP = frozenset((_STOP_WORDS + "when where which who why with you your").split())
# bm25 weights per column: doc_id, kind (unindexed), title, aliases, body
WEIGHTS = "0.0, 0.0, 8.0, 6.0, 1.0"


@dataclass(frozen=True)
class Document:
    doc_id: str
    kind: str
    title: str
    body: str
    aliases: str = ""


@dataclass(frozen=True)
class Hit:
    doc_id: str
    kind: str
    title: str
    score: float  # bm25 made positive: higher is better


def words(text: str) -> list[str]:
    """The query words of ``text``: lower-case, without stop words and FTS punctuation."""
    out = []
    for match in WORD.finditer(text):
        word = match.group(0).lower().strip("._-")
        if word and word not in STOP:
            out.append(word)
    return out


class TextIndex:
    """One in-memory FTS5 index."""

    def __init__(self, documents: Iterable[Document] = ()) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5("
            "doc_id UNINDEXED, kind UNINDEXED, title, aliases, body, tokenize='porter unicode61')"
        )
        self.add(documents)

    def add(self, documents: Iterable[Document]) -> None:
        rows = [(d.doc_id, d.kind, d.title, d.aliases, d.body) for d in documents]
        with self._db:
            self._db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?)", rows)

    def search(self, text: str, *, kinds: Iterable[str] = (), limit: int = 5) -> list[Hit]:
        terms = words(text)
        if not terms:
            return []
        expression = " OR ".join('"' + t.replace('"', "") + '"' for t in dict.fromkeys(terms))
        wanted = tuple(kinds)
        kind_filter = f" AND kind IN ({', '.join('?' * len(wanted))})" if wanted else ""
        rows = self._db.execute(
            f"SELECT doc_id, kind, title, bm25(docs, {WEIGHTS}) AS rank FROM docs "  # noqa: S608
            f"WHERE docs MATCH ?{kind_filter} ORDER BY rank LIMIT ?",
            (expression, *wanted, limit),
        ).fetchall()
        return [Hit(str(r[0]), str(r[1]), str(r[2]), -float(r[3])) for r in rows]

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM docs").fetchone()[0])

    def close(self) -> None:
        self._db.close()
