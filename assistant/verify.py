"""Citation verification: every answer sentence is checked against the passages its [n] cite."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from .abstain import abstention
from .citations import MARKER, format_marker
from .records import Answer, Citation, Passage
from .sentences import split_sentences
from .terms import terms

# "The passages do not say." is an honest reply, not a claim to cite; it may even share words
# with a passage, so it is recognised by its wording rather than by support.
_REFUSAL = re.compile(
    r"\b(passages?|articles?|context|texts?|sources?|corpus)\b[^.]{0,40}?\b(do(es)?\s*n[o']?t|never)"
    r"\s+(say|contain|mention|answer|provide|include|state|specify)"
    r"|\bno (information|mention|answer)\b|\b(cannot|can't|unable to) (answer|find|determine)\b"
    r"|\bI (do not|don't) know\b", re.I)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass
class Support:
    """How well one passage backs one claim, and its best-supporting sentence."""

    passage: int
    lexical: float  # share of the claim's terms found in the passage
    dense: float  # cosine of the claim and the passage's closest sentence
    numbers_ok: bool  # every number in the claim appears in the passage
    start: int  # best sentence, article offsets
    end: int

    @property
    def score(self) -> float:
        return float(np.clip(0.5 * self.lexical + 0.5 * self.dense, 0.0, 1.0))


@dataclass
class Repairs:
    """How often each repair fired on one answer (reported in answer.notes)."""

    kept: int = 0  # sentences whose markers all held
    repointed: int = 0  # every cited passage failed; the marker now points at one that supports
    added: int = 0  # an uncited sentence got the marker of the passage that supports it
    removed: int = 0  # markers dropped from a sentence another of its markers supports
    dropped: int = 0  # sentences no passage supports
    flagged: int = 0  # same, kept visibly marked (verify_unsupported="flag")
    refusals: int = 0  # "the passages do not say" sentences

    def note(self) -> str:
        return "verify: " + " ".join(f"{k}={v}" for k, v in dataclasses.asdict(self).items())


def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """(sentence without markers, its marker numbers); a marker cites the sentence before it."""
    clean, marks, pos = "", [], 0
    for m in MARKER.finditer(text):
        clean += text[pos:m.start()]
        marks.append((len(clean), int(m.group(1))))
        pos = m.end()
    clean += text[pos:]
    spans = split_sentences(clean)
    claims = [(clean[a:b], []) for a, b in spans]
    for at, n in marks:
        # "Baku. [1]" and "Baku [1]." both cite the sentence that started before the marker.
        i = max((k for k, (a, _) in enumerate(spans) if a < at), default=0)
        if claims and n not in claims[i][1]:
            claims[i][1].append(n)
    return claims


class SupportChecker:
    """Scores claims against every passage: lexical coverage AND embedding similarity."""

    def __init__(self, passages: list[Passage], embedder, settings):
        self.passages, self.embedder, self.settings = passages, embedder, settings
        self.spans = [(i, a, b) for i, p in enumerate(passages)
                      for a, b in (p.sentences or [(p.start, p.end)])]
        texts = [" ".join(passages[i].text[a - passages[i].start:b - passages[i].start].split())
                 for i, a, b in self.spans]
        self.vectors = embedder.embed_cached(texts) if texts else np.zeros((0, 1), np.float32)
        self.span_terms = [set(terms(t)) for t in texts]
        self.passage_terms = [set(terms(f"{p.title or ''} {p.text}")) for p in passages]
        self.passage_numbers = [set(_NUMBER.findall(f"{p.title or ''} {p.text}")) for p in passages]

    def support(self, claim: str) -> list[Support]:
        """One Support per passage, in passage order."""
        claim_terms = set(terms(claim))
        numbers = set(_NUMBER.findall(claim))
        cosine = self.vectors @ self.embedder.embed_cached([claim])[0] if self.spans else []
        best: dict[int, tuple[float, int]] = {}
        for k, (i, _, _) in enumerate(self.spans):
            overlap = len(claim_terms & self.span_terms[k]) / max(len(claim_terms), 1)
            fit = 0.5 * float(cosine[k]) + 0.5 * overlap
            if i not in best or fit > best[i][0]:
                best[i] = (fit, k)
        out = []
        for i in range(len(self.passages)):
            if i not in best:
                out.append(Support(i, 0.0, 0.0, False, self.passages[i].start, self.passages[i].start))
                continue
            k = best[i][1]
            dense = max(float(cosine[j]) for j, (pi, _, _) in enumerate(self.spans) if pi == i)
            lexical = len(claim_terms & self.passage_terms[i]) / max(len(claim_terms), 1)
            out.append(Support(i, lexical, dense, numbers <= self.passage_numbers[i],
                               self.spans[k][1], self.spans[k][2]))
        return out

    def supports(self, s: Support) -> bool:
        return (s.numbers_ok and s.lexical >= self.settings.verify_lexical
                and s.dense >= self.settings.verify_dense)


def verify_answer(answer: Answer, passages: list[Passage] | None, embedder, settings) -> Answer:
    """The answer with checked, re-pointed or removed markers, unsupported sentences dropped."""
    if answer is None or answer.abstained:
        return answer
    passages = passages if passages is not None else answer.passages
    repairs = Repairs()
    checker = SupportChecker(passages, embedder, settings)
    # Markers usually number the prompt's passages; a generator may map its own via citations.
    target = {c.marker: c.passage for c in answer.citations}
    kept: list[tuple[str, list[Support]]] = []
    flagged, seen = [], set()
    for claim, cited in split_claims(answer.text):
        claim = " ".join(claim.split())
        key = " ".join(terms(claim))
        if not key or key in seen:  # no content words, or the model repeating itself
            repairs.dropped += bool(key)
            continue
        seen.add(key)
        if _REFUSAL.search(claim):
            repairs.refusals += 1
            continue
        support = checker.support(claim)
        idx = [target.get(n, n - 1) for n in cited]
        ok = [support[i] for i in dict.fromkeys(idx) if 0 <= i < len(passages)
              and checker.supports(support[i])]
        if ok:
            repairs.kept += len(ok) == len(set(idx))
            repairs.removed += len(set(idx)) - len(ok)
            kept.append((claim, ok))
            continue
        backing = [s for s in support if checker.supports(s)]
        if backing:
            if cited:
                repairs.repointed += 1
            else:
                repairs.added += 1
            kept.append((claim, [max(backing, key=lambda s: s.score)]))
        elif settings.verify_unsupported == "flag":
            repairs.flagged += 1
            kept.append((claim, []))
        else:
            repairs.dropped += 1
    notes = answer.notes + [repairs.note()]
    if not any(sup for _, sup in kept):
        reason = ("the generator said the passages do not answer" if repairs.refusals
                  else "no sentence of the generated answer is supported by the passages")
        refusal = abstention(answer.question, passages, reason, answer.generator)
        refusal.notes = notes + refusal.notes
        return refusal
    text, citations = _compose(kept, passages)
    return dataclasses.replace(answer, text=text, citations=citations, passages=passages,
                               notes=notes)


def _compose(kept: list[tuple[str, list[Support]]], passages: list[Passage]):
    """Markers renumbered by first use (as extractive answers do); one citation per pair."""
    marker_of: dict[int, int] = {}
    parts, citations = [], []
    for claim, support in kept:
        if not support:
            parts.append(f"{claim} (unsupported)")
            continue
        nums = []
        for s in support:
            n = marker_of.setdefault(s.passage, len(marker_of) + 1)
            p = passages[s.passage]
            nums.append(n)
            citations.append(Citation(marker=n, source=p.source, title=p.title, date=p.date,
                                      quote=p.text[s.start - p.start:s.end - p.start],
                                      start=s.start, end=s.end, url=p.url, passage=s.passage,
                                      score=round(s.score, 4)))
        parts.append(f"{claim} {''.join(format_marker(n) for n in nums)}")
    return " ".join(parts), citations
