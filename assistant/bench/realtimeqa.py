"""RealTime QA at news scale: retrieval per tier with and without each question's date, ask() latency, memory."""

from __future__ import annotations

import dataclasses
import sys

from .common import Section, Target, peak_rss_mb, percentiles
from ..settings import PROJECT_ROOT

# Evaluation use only (its README): read in place beside the project, never copied into it.
DATA = PROJECT_ROOT.parent / "shared" / "data" / "realtimeqa-dev"
TIER = "upstream_gold"
K = 10
# Issue 12's targets at k=10 over the whole corpus.
TARGETS = {"dated": (0.65, 0.97), "undated": (0.50, 0.90)}
ASK_TARGET_MS = 100.0
FAST_K, FAST_TARGET_MS = 5, 50.0  # issue 13: extractive ask() at k=5 over >= 50k chunks


def available(data=DATA) -> bool:
    return (data / "corpus").is_dir() and (data / "questions.jsonl").is_file()


def run(data=DATA, log=print, limit: int | None = None) -> Section:
    """Index the corpus once (reused by later runs), then ask every question dated and undated."""
    s = Section("realtimeqa", f"RealTime QA dev (news scale, k={K})")
    if not available(data):
        s.notes.append(f"{data} is absent; skipped (the data set is shared with the team, not shipped).")
        return s
    from ..evaluation.cli import _assistant
    from ..evaluation.questions import load_questions
    from ..evaluation.runner import run_questions

    qs = load_questions(data / "questions.jsonl", limit)
    a = _assistant(data / "corpus", None)
    log(f"realtimeqa: indexing {data / 'corpus'} into {a.settings.index_dir} (reused between runs) ...")
    report = a.index(progress=sys.stderr.isatty())
    s.columns = ["as_of", "tier", "questions", "hit@1", f"hit@{K}", "MRR", "answer accuracy"]
    asks: list[float] = []
    for mode in ("dated", "undated"):
        asked = [dataclasses.replace(q, as_of=None) for q in qs] if mode == "undated" else qs
        log(f"realtimeqa: {len(qs)} questions, {mode} ...")
        result = run_questions(a, asked, k=K, progress=False)
        asks += [r.timings["total"] for r in result.results if r.timings]
        for tier, row in result.by_tier.items():
            s.rows.append([mode, tier, row["questions"], _r(row["hit@1"]), _r(row["hit@k"]), _r(row["mrr"]),
                           _r(row["accuracy"])])
        gold = result.by_tier.get(TIER)
        if gold:
            s.figures.update({f"{mode}_hit1": gold["hit@1"], f"{mode}_hit10": gold["hit@k"],
                              f"{mode}_mrr": gold["mrr"]})
            hit1, hit10 = TARGETS[mode]
            s.targets += [Target(f"{mode} {TIER} hit@1", gold["hit@1"], hit1, "", at_least=True),
                          Target(f"{mode} {TIER} hit@{K}", gold["hit@k"], hit10, "", at_least=True)]
    p = percentiles(asks)
    # Issue 13's figure: k=5 with the embedder's cache emptied before each question, so no
    # sentence a question needs was embedded for an earlier one (a first visitor's cost).
    log(f"realtimeqa: {len(qs)} questions at k={FAST_K}, empty cache ...")
    fast = []
    for q in qs:
        a.embedder._cache.clear()
        fast.append(a.ask(q.question, k=FAST_K, as_of=q.as_of).timings["total"])
    f = percentiles(fast)
    peak_mb = peak_rss_mb()
    chunks = a.snapshot.counts()[1]
    s.figures.update({"ask_p50_ms": p["p50"], "ask_p95_ms": p["p95"], "chunks": chunks,
                      "articles": report.articles, "peak_rss_mb": peak_mb,
                      "peak_kb_per_chunk": peak_mb * 1024 / max(1, chunks)})
    s.figures.update({"ask_k5_empty_cache_p50_ms": f["p50"], "ask_k5_empty_cache_p95_ms": f["p95"],
                      "sentence_vectors": len(a._sentences() or [])})
    s.targets += [Target(f"ask() p50 at {chunks} chunks, k={K} (extractive)", p["p50"], ASK_TARGET_MS, "ms"),
                  Target(f"ask() p50 at {chunks} chunks, k={FAST_K}, empty cache (extractive)", f["p50"],
                         FAST_TARGET_MS, "ms")]
    s.notes += [
        f"{report.articles} articles, {chunks} chunks; index type {a.snapshot.index_info['type']}.",
        f"ask() p50 {p['p50']:.0f} ms, p95 {p['p95']:.0f} ms over both runs; peak memory of this "
        f"process {peak_mb:.0f} MB ({peak_mb * 1024 / max(1, chunks):.1f} KB per chunk, model included).",
        f"k={FAST_K}, each question with the embedder's cache emptied first: p50 {f['p50']:.0f} ms, p95 "
        f"{f['p95']:.0f} ms; {s.figures['sentence_vectors']} answer sentences and terms were embedded "
        "at index time (ASSISTANT_SENTENCE_VECTORS, docs/answers.md), so an answer looks them up.",
        "'dated' asks each question as of its quiz date (later articles unused, time words counted "
        "from it); 'undated' ignores the date. Data: ../shared/data/realtimeqa-dev (README there).",
    ]
    return s


def _r(value):
    return None if value is None else round(value, 3)
