"""Citation verification: every answer sentence is checked against the passages its [n] cite."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from .abstain import abstention, unknown_anchors
from .citations import MARKER, format_marker
from .records import Answer, Citation, Passage
from .sentences import split_sentences
from .terms import covered, terms

# "The passages do not say." is an honest reply, not a claim to cite; it may even share words
# with a passage, so it is recognised by its wording rather than by support.
_REFUSAL = re.compile(
    r"\b(passages?|articles?|context|texts?|sources?|corpus)\b[^.]{0,40}?"
    r"\b(do(es)?\s*n[o']?t|never)\s+(say|contain|mention|answer|provide|include|state|specify)"
    r"|\bno (information|mention|answer)\b|\b(cannot|can't|unable to) (answer|find|determine)\b"
    r"|\bI (do not|don't) know\b", re.I)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass
class Support:
    """How well one passage backs one claim, through its best-supporting sentence(s)."""

    passage: int
    lexical: float  # share of the claim's terms found in the quote
    dense: float  # cosine of the claim and the quote (0 when a cheaper check failed first)
    anchors_ok: bool  # every name and number in the claim appears in the quote
    start: int  # the quote: one sentence or two adjacent ones, article offsets
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
    dropped: int = 0  # sentences no passage supports, and repeats
    flagged: int = 0  # same, kept visibly marked (verify_unsupported="flag")
    refusals: int = 0  # "the passages do not say" sentences
    grounded: int = 0  # sentences one of the generator's own markers supports

    def note(self) -> str:
        return "verify: " + " ".join(f"{k}={v}" for k, v in dataclasses.asdict(self).items())

    @classmethod
    def of(cls, answer: Answer) -> "Repairs | None":
        """The repairs verification noted on an answer; None when it was not verified."""
        note = next((n for n in answer.notes if n.startswith("verify: ")), None)
        return cls(**{k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", note)}) if note else None


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
        # Evidence windows: every sentence, and every two adjacent sentences (a claim often
        # joins a name from one sentence to the fact in the next). Checking a claim against
        # the window it will quote, not the whole passage, keeps the quote honest evidence.
        self.windows: list[tuple[int, int, int, int]] = []  # (passage, start, end, sentences)
        for i, p in enumerate(passages):
            spans = p.sentences or [(p.start, p.end)]
            for j, (a, b) in enumerate(spans):
                self.windows.append((i, a, b, 1))
                if j + 1 < len(spans):
                    self.windows.append((i, a, spans[j + 1][1], 2))
        self.texts = [" ".join(passages[i].text[a - passages[i].start:b - passages[i].start]
                               .split()) for i, a, b, _ in self.windows]
        self.terms = [set(terms(t)) for t in self.texts]
        self.numbers = [set(_NUMBER.findall(t)) for t in self.texts]

    def support(self, claim: str) -> list[Support]:
        """One Support per passage, in passage order, from its best evidence window."""
        claim_terms = set(terms(claim))
        numbers = set(_NUMBER.findall(claim))
        found = []
        for k, (i, a, b, _) in enumerate(self.windows):
            # Shared words are not enough: "WTDC-25 was held in Paris" shares most of its words
            # with the sentence that says Baku. Names and numbers must all be there.
            anchors = numbers <= self.numbers[k] and not unknown_anchors(claim, self.terms[k])
            found.append(Support(i, _coverage(claim_terms, self.terms[k]), 0.0, anchors, a, b))
        # Embeddings only for windows that passed the cheap checks (dense stays 0 elsewhere):
        # embedding every window of five passages costs seconds on a busy 2-core CPU.
        near = [k for k, s in enumerate(found)
                if s.anchors_ok and s.lexical >= self.settings.verify_lexical]
        if near:
            vectors = self.embedder.embed_cached([self.texts[k] for k in near])
            for k, cos in zip(near, vectors @ self.embedder.embed_cached([claim])[0]):
                found[k].dense = float(cos)
        best: dict[int, tuple[tuple, Support]] = {}
        for s, (_, _, _, size) in zip(found, self.windows):
            # A window that supports beats one that does not, one sentence beats two.
            key = (self.supports(s), -size, s.score)
            if s.passage not in best or key > best[s.passage][0]:
                best[s.passage] = (key, s)
        return [best[i][1] if i in best else Support(i, 0.0, 0.0, False, p.start, p.start)
                for i, p in enumerate(self.passages)]

    def supports(self, s: Support) -> bool:
        return (s.anchors_ok and s.lexical >= self.settings.verify_lexical
                and s.dense >= self.settings.verify_dense)


def _coverage(claim_terms: set[str], pool: set[str]) -> float:
    """Share of the claim's terms found in the pool, near forms included ("Iranian" ~ "Iran")."""
    return sum(covered(t, pool) for t in claim_terms) / max(len(claim_terms), 1)


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
    seen: set[str] = set()
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
            repairs.grounded += 1
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
