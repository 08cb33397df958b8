"""The default generator: picks the retrieved sentences that answer the question; no model needed."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..abstain import abstention
from ..citations import format_marker
from ..records import Answer, Citation, Passage
from ..terms import terms

_MONTHS = r"January|February|March|April|May|June|July|August|September|October|November|December"
_ANSWER_TYPES = [  # (question pattern, evidence the answering sentence should hold)
    (re.compile(r"\b(when|what (year|date|month|day)|which (year|month|day)|since when)\b", re.I),
     re.compile(rf"\b({_MONTHS}|(19|20)\d\d|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")),
    (re.compile(r"\b(how (many|much|large|big|long)|what (percent|percentage|share|number|amount|level))\b", re.I),
     re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion)\b", re.I)),
    (re.compile(r"\b(who|whom|whose)\b", re.I),
     re.compile(r"(?<!^)\b[A-Z][a-z]+(?:[ -](?:bin |al-|Al-)?[A-Z][a-z]+)+")),
    (re.compile(r"\bwhere\b", re.I),
     re.compile(r"\b(in|at|from|to) [A-Z][a-z]+")),
]
# A dateline opens many wire stories ("TEHRAN –The ..."); it is not part of the answer.
_DATELINE = re.compile(r"^[A-Z][A-Z ]{2,}\s*[–—-]\s*|^[A-Z][a-z]+:\s+")
MAX_SENTENCES = 3


@dataclass
class _Candidate:
    passage: int
    start: int  # article offsets
    end: int
    text: str
    score: float = 0.0


class ExtractiveGenerator:
    """Ranks sentences by meaning, shared terms and expected answer type, and cites each one."""

    name = "extractive"

    def __init__(self, settings, embedder):
        self.settings, self.embedder = settings, embedder

    def generate(self, question: str, passages: list[Passage],
                 history: list[dict] | None = None) -> Answer:
        candidates = self.rank(question, passages)
        best = candidates[0].score if candidates else 0.0
        if best < self.settings.abstain_threshold:
            return abstention(question, passages, reason=f"best support {best:.2f} is below "
                              f"{self.settings.abstain_threshold}", generator=self.name)
        chosen = self._select(candidates, best)
        return compose(question, passages, chosen, self.name)

    def rank(self, question: str, passages: list[Passage]) -> list[_Candidate]:
        """Every sentence of the passages, best first, with its support score in [0, 1]."""
        cands = [_Candidate(i, *span) for i, p in enumerate(passages) for span in _sentences(p)]
        cands = [c for c in cands if len(c.text.split()) >= 4]
        if not cands:
            return []
        qv = self.embedder.embed_cached([question])[0]
        sv = self.embedder.embed_cached([c.text for c in cands])
        dense = sv @ qv
        q_terms = set(terms(question, drop_question_words=True))
        sent_terms = [set(terms(c.text)) for c in cands]
        # Local IDF over the candidate sentences: a query term found everywhere says little.
        weight = {t: math.log(1 + len(cands) / (1 + sum(t in s for s in sent_terms))) for t in q_terms}
        total = sum(weight.values()) or 1.0
        wanted = [ev for pattern, ev in _ANSWER_TYPES if pattern.search(question)]
        for c, d, st in zip(cands, dense, sent_terms):
            lexical = sum(w for t, w in weight.items() if t in st) / total
            typed = 0.08 if wanted and any(ev.search(c.text) for ev in wanted) else 0.0
            c.score = float(np.clip(0.6 * d + 0.4 * lexical + typed + 0.04 / (1 + c.passage), 0, 1))
        return sorted(cands, key=lambda c: -c.score)

    def _select(self, cands: list[_Candidate], best: float) -> list[_Candidate]:
        chosen = [cands[0]]
        vecs = {id(c): v for c, v in zip(cands, self.embedder.embed_cached([c.text for c in cands]))}
        for c in cands[1:]:
            if len(chosen) == MAX_SENTENCES or c.score < 0.85 * best:
                break
            # Skip restatements: two outlets often carry the same sentence reworded.
            if max(float(vecs[id(c)] @ vecs[id(o)]) for o in chosen) < 0.8:
                chosen.append(c)
        return chosen


def _sentences(p: Passage):
    for a, b in p.sentences:
        text = p.text[a - p.start:b - p.start]
        m = _DATELINE.match(text)
        if m and len(text) - m.end() > 20:
            a, text = a + m.end(), text[m.end():]
        yield a, b, " ".join(text.split())


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
