"""The retrieved passages as quotable sentences: candidates, their stories, the cited answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..citations import MARKER, format_marker
from ..records import Answer, Citation, Passage
from ..sentences import read_on
from ..terms import terms
from .checks import Checks


@dataclass
class Candidate:
    """A sentence of a retrieved passage that may answer, with its support."""

    passage: int
    start: int  # article offsets
    end: int
    text: str
    score: float = 0.0
    dense: float = 0.0  # cosine with the question, before any check
    alone: float = 0.0  # support before its story's weight (refusal features read it)


# A name or number past a sentence's first word: what a second candidate answer must add.
FACT = re.compile(r"(?<!^)\b(?:[A-Z][\w’'&-]*|\d[\d,.]*)")


def same_names(cands: list[Candidate], passages: list[Passage], checks: Checks) -> list[Candidate]:
    """Drop the runners-up of other articles that name only part of what the best sentence names."""
    if not cands:
        return cands
    stories, names = contexts(passages), checks.anchors + checks.story

    def named(c: Candidate) -> set[str]:
        pool = set(terms(c.text)) | stories[c.passage]
        return {n for n in names if checks.names(n, pool)}

    # "With which Iranian entity had Algeria signed ...?": a runner-up about Iran and Iraq scored
    # near the Algerian sentence. One naming what the best does not ("one at the IGF and one in
    # Tehran") may answer another part of the question, and stays.
    best, article = named(cands[0]), passages[cands[0].passage].article_id
    return [c for c in cands if passages[c.passage].article_id == article or not named(c) < best]


def adds_fact(text: str, chosen: list[Candidate]) -> bool:
    """The sentence holds a name or number that none of the chosen sentences holds."""
    said = " ".join(c.text for c in chosen)
    return any(m.group() not in said for m in FACT.finditer(text))


def story(p: Passage) -> tuple:
    """A passage's story: its article and section."""
    return p.article_id, p.heading


def contexts(passages: list[Passage]) -> list[set[str]]:
    """Terms of each passage's story: every retrieved passage of its article and section."""
    found: dict[tuple, set[str]] = {}
    for p in passages:
        found.setdefault(story(p), set(terms(f"{p.title} {p.heading or ''}"))).update(terms(p.text))
    return [found[story(p)] for p in passages]


def story_texts(passages: list[Passage]) -> list[str]:
    """Text of each passage's story: the titles and text of its article's retrieved passages."""
    found: dict[tuple, list[str]] = {}
    for p in passages:
        found.setdefault(story(p), []).append(f"{p.title} {p.text}")
    return [" ".join(found[story(p)]) for p in passages]


def quoted_stories(passages: list[Passage], answer: str) -> set[tuple]:
    """The stories of the passages holding a sentence an earlier answer quoted."""
    # The split also yields the markers' numbers; no quote is that short.
    said = [q for q in map(str.strip, MARKER.split(answer)) if len(q) >= 30]
    return {story(p) for p in passages if any(q in p.text for q in said)}


def sentences(p: Passage):
    """(start, end, text) of each sentence of a passage, article offsets, opening quote marks off."""
    return read_on(p.text, p.start, p.sentences)


def compose(question: str, passages: list[Passage], chosen, generator: str) -> Answer:
    """Answer text with one [n] per sentence; markers number cited passages in order."""
    marker_of: dict[int, int] = {}
    citations, parts = [], []
    for c in chosen:
        if c.passage not in marker_of:
            marker_of[c.passage] = len(marker_of) + 1
        n = marker_of[c.passage]
        p = passages[c.passage]
        citations.append(Citation(marker=n, source=p.source, title=p.title, date=p.date,
                                  quote=p.text[c.start - p.start:c.end - p.start], start=c.start,
                                  end=c.end, url=p.url, passage=c.passage, score=round(c.score, 4)))
        parts.append(f"{c.text} {format_marker(n)}")
    return Answer(question=question, text=" ".join(parts), citations=citations,
                  passages=passages, generator=generator)
