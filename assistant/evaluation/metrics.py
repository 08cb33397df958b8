"""The numbers: retrieval by source article, answer matching, refusals, latency percentiles.

Pure functions over plain values, so each can be checked by hand in tests/test_evaluation.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from ..citations import strip_markers

# Metrics where a smaller value is the better one; --compare and the floors read this.
LOWER_IS_BETTER = {"false_abstention_rate"}
_NON_WORD = re.compile(r"[\W_]+")
_VERIFY = re.compile(r"(\w+)=(\d+)")


# --- retrieval -------------------------------------------------------------------------------
# A ranking is a list of sets: the sources one passage stands for, best first. A passage
# stands for its own article and for every near-duplicate article collapsed into it
# (Passage.also_in): retrieving 001's copy of a story also retrieves 002's copy.

def ranking(passages) -> list[set[str]]:
    """The source sets of retrieved passages, best first."""
    return [{p.source, *p.also_in} for p in passages]


def hit_at_k(ranked: Sequence[set[str]], gold: Iterable[str], k: int) -> float:
    """1.0 when any gold source is among the top-k passages."""
    gold = set(gold)
    return float(any(s & gold for s in ranked[:k]))


def recall_at_k(ranked: Sequence[set[str]], gold: Iterable[str], k: int) -> float:
    """Share of the gold sources found in the top-k passages."""
    gold = set(gold)
    if not gold:
        return 0.0
    found = set().union(*ranked[:k]) if ranked[:k] else set()
    return len(found & gold) / len(gold)


def reciprocal_rank(ranked: Sequence[set[str]], gold: Iterable[str], k: int | None = None) -> float:
    """1/rank of the first passage from a gold source (0 when none)."""
    gold = set(gold)
    for rank, sources in enumerate(ranked[:k] if k else ranked, 1):
        if sources & gold:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[set[str]], relevance: dict[str, float] | Iterable[str], k: int) -> float:
    """nDCG@k by source article; `relevance` maps source -> grade, or lists sources (grade 1)."""
    # A passage gains the grades of gold sources not seen higher up: several passages of one
    # article count once, at the best rank, so the ideal ranking is one gold article per rank.
    grades = relevance if isinstance(relevance, dict) else {s: 1.0 for s in relevance}
    grades = {s: g for s, g in grades.items() if g > 0}
    if not grades:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for rank, sources in enumerate(ranked[:k], 1):
        new = (sources & grades.keys()) - seen
        seen |= new
        dcg += sum(grades[s] for s in new) / math.log2(rank + 1)
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, 1))
    # One passage may stand for two gold duplicates at once, which can beat the "ideal".
    return min(1.0, dcg / idcg)


# --- answers ---------------------------------------------------------------------------------

def normalize(text: str) -> str:
    """Lowercase, [n] markers dropped, every run of punctuation or space turned into one space."""
    return " ".join(_NON_WORD.sub(" ", strip_markers(text).lower()).split())


def answer_matches(text: str, accepted: Iterable[str]) -> bool:
    """True when any accepted answer occurs in the text, ignoring case and punctuation."""
    # The match must start at a word boundary, so "Iraq" matches "Iraqi" and "Al-Anzi" matches
    # "al-Anzi", but "13" does not match "2013" and "AI" does not match "said".
    haystack = " " + normalize(text)
    return any(norm and (" " + norm) in haystack for norm in (normalize(a) for a in accepted))


# --- refusals --------------------------------------------------------------------------------

def abstention_scores(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float]:
    """Abstention precision, recall and false-abstention rate from (abstained, answerable) pairs."""
    # Abstaining is the positive class: precision is the share of refusals that were right,
    # recall the share of unanswerable questions refused, the false-abstention rate the share
    # of answerable questions refused. A rate with nothing to count is None, not a misleading 0.
    pairs = list(pairs)
    refused = [answerable for abstained, answerable in pairs if abstained]
    unanswerable = sum(1 for _, answerable in pairs if not answerable)
    answerable = len(pairs) - unanswerable
    true_refusals = refused.count(False)
    return {
        "abstention_precision": true_refusals / len(refused) if refused else None,
        "abstention_recall": true_refusals / unanswerable if unanswerable else None,
        "false_abstention_rate": refused.count(True) / answerable if answerable else None,
    }


# --- latency and verification ------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between ranks."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency(timings: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """p50/p95 milliseconds per stage over all answers."""
    stages = list(dict.fromkeys(s for t in timings for s in t))
    out = {}
    for stage in stages:
        ms = [t[stage] * 1000 for t in timings if stage in t]
        out[stage] = {"p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1)}
    return out


def verify_repairs(notes: Iterable[str]) -> dict[str, int]:
    """Counts from "verify: repointed=1 removed=0 dropped=2" notes (LLM answer verification)."""
    counts: dict[str, int] = {}
    for note in notes:
        if note.startswith("verify:"):
            for key, value in _VERIFY.findall(note):
                counts[key] = counts.get(key, 0) + int(value)
    return counts


def mean(values: Iterable[float]) -> float | None:
    """The average, or None for no values (a metric that does not apply)."""
    values = list(values)
    return sum(values) / len(values) if values else None
