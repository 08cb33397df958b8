"""Citation judging in the spirit of ALCE: is each cited quote from a gold article and does it back its sentence?

ALCE asks an NLI model whether the cited passages entail each answer sentence. Offline and
model-free, this module approximates entailment with two signals, and a citation counts as
right when all of these hold:

1. its marker names a Citation on the answer (a marker with none is a dangling citation);
2. its quote is verbatim from the cited passage (whitespace aside), so nothing was invented;
3. its article is a gold source, or a near-duplicate collapsed into the cited passage is;
4. the quote supports the sentence: at least MIN_COVERAGE of the sentence's content terms
   (stemmed, stopwords dropped) occur in the quote, or the embedder's cosine similarity of
   sentence and quote is at least MIN_COSINE (paraphrases share meaning, not words).

Citation precision = right citations / all citations; citation recall = sentences with at
least one right citation / all sentences, uncited ones included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..citations import MARKER, markers, strip_markers
from ..sentences import split_sentences
from ..terms import terms

MIN_COVERAGE = 0.6
MIN_COSINE = 0.75
_LEADING_PUNCT = re.compile(r"^[\s.,;:!?)\]]+")


@dataclass
class Statement:
    """One answer sentence, its [n] markers and, once judged, whether each citation holds."""

    text: str
    markers: list[int]
    right: list[int] = field(default_factory=list)  # markers judged right
    wrong: dict[int, str] = field(default_factory=dict)  # marker -> why it is wrong

    @property
    def supported(self) -> bool:
        return bool(self.right)


def statements(text: str) -> list[Statement]:
    """Split an answer into sentences, each holding the markers that close it."""
    # A run of markers ends the sentence it follows ("A. [1] B [2]." and "A [1]. B [2]." both
    # give A->[1], B->[2]); a sentence with no marker of its own is an uncited statement.
    cuts = [m.end() for m in MARKER.finditer(text)]
    pieces, start = [], 0
    for cut in cuts:
        if not MARKER.match(text, cut):  # only after the last marker of a run
            pieces.append(text[start:cut])
            start = cut
    pieces.append(text[start:])
    out: list[Statement] = []
    for piece in pieces:
        piece = _LEADING_PUNCT.sub("", piece)
        for a, b in split_sentences(piece):
            sentence = piece[a:b]
            claim = strip_markers(sentence)
            if not re.search(r"\w", claim):
                if out:  # a marker split off by the sentence splitter ("A. [1]")
                    out[-1].markers += markers(sentence)
                continue
            out.append(Statement(claim, markers(sentence)))
    for s in out:
        s.markers = list(dict.fromkeys(s.markers))
    return out


def coverage(claim: str, quote: str) -> float:
    """Share of the claim's content terms that the quote contains."""
    wanted = set(terms(claim))
    return len(wanted & set(terms(quote))) / len(wanted) if wanted else 0.0


def judge(answer, gold: set[str], embedder=None) -> list[Statement]:
    """The statements of an answer with every citation marked right or wrong (see module doc)."""
    found = statements(answer.text)
    by_marker: dict[int, list] = {}
    for c in answer.citations:
        by_marker.setdefault(c.marker, []).append(c)
    pairs = [(s, c) for s in found for n in s.markers for c in by_marker.get(n, [])]
    cosines = _cosines(pairs, embedder)
    for s in found:
        for n in s.markers:
            cands = by_marker.get(n, [])
            if not cands:
                s.wrong[n] = "dangling marker"
                continue
            reasons = [_check(s, c, answer.passages, gold, cosines) for c in cands]
            if None in reasons:
                s.right.append(n)
            else:
                s.wrong[n] = reasons[0]
    return found


def _check(s: Statement, c, passages, gold: set[str], cosines: dict) -> str | None:
    """None when the citation is right, else the first reason it is not."""
    passage = passages[c.passage] if 0 <= c.passage < len(passages) else None
    if passage is not None and " ".join(c.quote.split()) not in " ".join(passage.text.split()):
        return "quote not in passage"
    sources = {c.source, *(passage.also_in if passage is not None else [])}
    if not sources & gold:
        return "not a gold source"
    if coverage(s.text, c.quote) >= MIN_COVERAGE:
        return None
    if cosines.get((s.text, c.quote), 0.0) >= MIN_COSINE:
        return None
    return "quote does not support"


def _cosines(pairs, embedder) -> dict[tuple[str, str], float]:
    # Only pairs that lexical coverage cannot settle go through the model.
    todo = list(dict.fromkeys((s.text, c.quote) for s, c in pairs
                              if coverage(s.text, c.quote) < MIN_COVERAGE))
    if not todo or embedder is None:
        return {}
    texts = list(dict.fromkeys(t for pair in todo for t in pair))
    vectors = dict(zip(texts, embedder.embed_cached(texts)))
    return {(a, b): float(vectors[a] @ vectors[b]) for a, b in todo}
