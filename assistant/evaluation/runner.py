"""Run every question through Assistant.ask() and gather what the metrics need, question by question."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field

from ..errors import AssistantError
from . import metrics as m
from .questions import Question
from .support import judge

# A broken generator fails every question the same way; stop after this many in a row
# instead of grinding through the whole set.
_MAX_ERRORS_IN_A_ROW = 3


@dataclass
class QuestionResult:
    """What one question got: the answer, what was retrieved, and how each part scored."""

    id: str
    type: str
    question: str
    answerable: bool
    accepted: list[str]
    gold: list[str]
    answer: str = ""
    abstained: bool = False
    correct: bool = False
    query: str = ""
    retrieved: list[list[str]] = field(default_factory=list)  # source set per passage, best first
    hit: float = 0.0
    recall: float = 0.0
    rr: float = 0.0
    ndcg: float = 0.0
    statements: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    history: list[dict] = field(default_factory=list)  # the conversation a follow-up was asked in
    tier: str = ""
    split: str = ""  # dev or test

    @property
    def citations(self) -> tuple[int, int]:
        """(right, total) citations over all statements."""
        right = sum(len(s["right"]) for s in self.statements)
        return right, right + sum(len(s["wrong"]) for s in self.statements)


@dataclass
class EvalResult:
    """A scored run: headline metrics, breakdowns, failures and every question's record."""

    meta: dict
    metrics: dict[str, float]
    latency: dict[str, dict[str, float]]
    by_type: dict[str, dict]
    by_source: dict[str, dict]
    citation_errors: dict[str, int]
    verify: dict[str, int]
    failures: list[dict]
    results: list[QuestionResult]
    by_tier: dict[str, dict] = field(default_factory=dict)  # only when the questions name tiers
    by_split: dict[str, dict] = field(default_factory=dict)  # headline metrics per dev/test split

    def to_dict(self) -> dict:
        return asdict(self)


def ask_with_history(assistant, q: Question, generator=None, k=None):
    """Ask the earlier user turns first and feed their real answers back; returns (answer, history)."""
    history: list[dict] = []
    dated = {"as_of": q.as_of} if q.as_of else {}  # every turn is asked on the question's day
    for prior in q.history:
        previous = assistant.ask(prior, history=history or None, generator=generator, k=k, **dated)
        history += [{"role": "user", "content": prior},
                    {"role": "assistant", "content": previous.text}]
    return assistant.ask(q.question, history=history or None, generator=generator, k=k, **dated), history


def score_answer(q: Question, answer, k: int, embedder=None) -> QuestionResult:
    """Score one Answer against its question."""
    ranked = m.ranking(answer.passages)
    r = QuestionResult(q.id, q.type, q.question, q.answerable, q.answers, q.sources,
                       answer=answer.text, abstained=answer.abstained, query=answer.query,
                       retrieved=[sorted(s) for s in ranked], timings=dict(answer.timings),
                       notes=list(answer.notes), tier=q.tier, split=q.split)
    if q.answerable:
        r.correct = not answer.abstained and m.answer_matches(answer.text, q.answers)
    else:
        r.correct = answer.abstained
    if q.sources:
        r.hit, r.recall = m.hit_at_k(ranked, q.sources, k), m.recall_at_k(ranked, q.sources, k)
        r.rr, r.ndcg = m.reciprocal_rank(ranked, q.sources, k), m.ndcg_at_k(ranked, q.sources, k)
    # Citations are judged where there is something to cite: answerable and not refused.
    if q.answerable and not answer.abstained:
        r.statements = [asdict(s) for s in judge(answer, set(q.sources), embedder)]
    return r


def run_questions(assistant, questions: list[Question], generator: str | None = None,
                  k: int | None = None, progress: bool | None = None) -> EvalResult:
    """Ask every question (with a progress bar) and score the run."""
    from tqdm import tqdm

    k = k or assistant.settings.k
    t0 = time.perf_counter()
    results, errors_in_a_row = [], 0
    for q in tqdm(questions, desc="eval", unit="q", disable=None if progress is None else not progress):
        try:
            answer, history = ask_with_history(assistant, q, generator, k)
        except AssistantError as exc:
            errors_in_a_row += 1
            if errors_in_a_row >= _MAX_ERRORS_IN_A_ROW:
                raise
            results.append(QuestionResult(q.id, q.type, q.question, q.answerable, q.answers,
                                          q.sources, error=f"{type(exc).__name__}: {exc}",
                                          tier=q.tier, split=q.split))
            continue
        errors_in_a_row = 0
        results.append(score_answer(q, answer, k, assistant.embedder))
        results[-1].history = history
    meta = {"questions": len(results), "k": k,
            "generator": generator or assistant.settings.generator,
            "corpus": str(assistant.settings.corpus_dir), "index_dir": str(assistant.settings.index_dir),
            "embedding_model": assistant.settings.embedding_model,
            "seconds": round(time.perf_counter() - t0, 1),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
    return summarize(results, meta)


def summarize(results: list[QuestionResult], meta: dict) -> EvalResult:
    """Aggregate per-question records into the report's numbers."""
    answerable = [r for r in results if r.answerable]
    with_gold = [r for r in answerable if r.gold]
    metrics = {**_headline(results, with_gold, answerable), "questions": len(results),
               "answerable": len(answerable), "unanswerable": len(results) - len(answerable)}
    by_split = {}
    for split, rs in sorted(_group([r for r in results if r.split], lambda r: r.split).items()):
        ans = [r for r in rs if r.answerable]
        by_split[split] = {**_headline(rs, [r for r in ans if r.gold], ans), "questions": len(rs)}
    by_type = {t: _type_row(rs) for t, rs in _group(results, lambda r: r.type).items()}
    by_source = {}
    for source in sorted({s for r in with_gold for s in r.gold}):
        rs = [r for r in with_gold if source in r.gold]
        found = [any(source in s for s in r.retrieved[:meta["k"]]) for r in rs]
        by_source[source] = {"questions": len(rs), "retrieved": m.mean(found)}
    errors = Counter(why for r in results for s in r.statements for why in s["wrong"].values())
    by_tier = {t: _tier_row(rs) for t, rs in sorted(_group(results, lambda r: r.tier).items()) if t}
    return EvalResult(meta=meta, metrics=metrics,
                      latency=m.latency([r.timings for r in results if r.timings]),
                      by_type=by_type, by_source=by_source, citation_errors=dict(errors),
                      verify=m.verify_repairs(n for r in results for n in r.notes),
                      failures=[_failure(r) for r in results if not r.correct], results=results,
                      by_tier=by_tier, by_split=by_split)


def _headline(results, with_gold, answerable) -> dict[str, float]:
    right = sum(r.citations[0] for r in answerable)
    total = sum(r.citations[1] for r in answerable)
    sentences = [s for r in answerable for s in r.statements]
    return {
        "hit@k": m.mean(r.hit for r in with_gold),
        "recall@k": m.mean(r.recall for r in with_gold),
        "mrr": m.mean(r.rr for r in with_gold),
        "ndcg@k": m.mean(r.ndcg for r in with_gold),
        "answer_accuracy": m.mean(r.correct for r in answerable),
        "accuracy": m.mean(r.correct for r in results),
        "citation_precision": right / total if total else None,
        "citation_recall": m.mean(bool(s["right"]) for s in sentences),
        **m.abstention_scores((r.abstained, r.answerable) for r in results),
    }


def _type_row(rs: list[QuestionResult]) -> dict:
    """One row of the per-type table; None where a metric does not apply (no gold, no answer)."""
    gold = [r for r in rs if r.answerable and r.gold]
    answerable = [r for r in rs if r.answerable]
    total = sum(r.citations[1] for r in answerable)
    sentences = [s for r in answerable for s in r.statements]

    return {"questions": len(rs), "accuracy": m.mean(r.correct for r in rs),
            "abstained": m.mean(r.abstained for r in rs),
            "hit@k": m.mean(r.hit for r in gold), "mrr": m.mean(r.rr for r in gold),
            "citation_precision": sum(r.citations[0] for r in answerable) / total if total else None,
            "citation_recall": m.mean(bool(s["right"]) for s in sentences)}


def _tier_row(rs: list[QuestionResult]) -> dict:
    """One row of the per-tier table: retrieval at rank 1 and at k, and answers."""
    gold = [r for r in rs if r.answerable and r.gold]
    return {"questions": len(rs),
            "hit@1": m.mean(m.hit_at_k([set(s) for s in r.retrieved], r.gold, 1) for r in gold),
            "hit@k": m.mean(r.hit for r in gold), "mrr": m.mean(r.rr for r in gold),
            "accuracy": m.mean(r.correct for r in rs)}


def _group(results, key) -> dict[str, list[QuestionResult]]:
    groups: dict[str, list[QuestionResult]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    return groups


def _failure(r: QuestionResult) -> dict:
    if r.error:
        kind = "error"
    elif not r.answerable:
        kind = "answered an unanswerable question"
    elif r.abstained:
        kind = "false abstention"
    else:
        kind = "wrong answer"
    if r.answerable and r.gold and not r.error:
        kind += "; gold article retrieved" if r.hit else "; gold article not retrieved"
    return {"id": r.id, "split": r.split, "type": r.type, "kind": kind, "question": r.question,
            "expected": r.accepted, "answer": r.error or r.answer, "gold": r.gold,
            "retrieved": r.retrieved, "query": r.query, "history": r.history,
            "notes": [n for n in r.notes if not n.startswith("verify:")]}
