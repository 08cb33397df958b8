"""Warm query latency per stage (embed, dense, BM25, fusion, answer), p50/p95 over many questions."""

from __future__ import annotations

import time

from .common import Section, Target, percentiles
from .workspace import REAL_CORPUS, Workspace, questions

RETRIEVAL_TARGET_MS = 15.0
ASK_TARGET_MS = 40.0
ASK_LARGE_TARGET_MS = 50.0  # issue 13: extractive ask() at k=5 over >= 50k chunks
STAGES = ["query embedding", "dense search", "BM25", "fusion + collapse", "retrieval (dense+BM25+fusion)",
          "embedding + retrieval", "answer (extractive)", "ask() total"]


def _instrument(retriever, sink: dict[str, list[float]]) -> None:
    """Time the retriever's dense and BM25 steps on this instance only."""
    for name, label in (("_dense", "dense search"), ("_sparse", "BM25")):
        inner = getattr(retriever, name)

        def timed(*args, _inner=inner, _label=label):
            t0 = time.perf_counter()
            try:
                return _inner(*args)
            finally:
                sink[_label].append(time.perf_counter() - t0)

        setattr(retriever, name, timed)


def measure(assistant, qs: list[str], warmup: int = 5, clear_cache: bool = False) -> dict:
    """Per-stage timings (seconds lists) of `qs` asked one at a time after a warm-up."""
    from ..errors import AssistantError

    for q in qs[:warmup]:
        assistant.ask(q)
    state = assistant._current()
    sink: dict[str, list[float]] = {s: [] for s in STAGES}
    _instrument(state.retriever, sink)
    k = assistant.settings.k
    for q in qs:
        if clear_cache:
            assistant.embedder._cache.clear()
        t0 = time.perf_counter()
        qv = assistant.embedder.embed([q])[0]
        t1 = time.perf_counter()
        state.retriever.search(q, k, query_vector=qv)
        t2 = time.perf_counter()
        sink["query embedding"].append(t1 - t0)
        sink["retrieval (dense+BM25+fusion)"].append(t2 - t1)
        sink["embedding + retrieval"].append(t2 - t0)
        sink["fusion + collapse"].append((t2 - t1) - sink["dense search"][-1] - sink["BM25"][-1])
        if clear_cache:
            assistant.embedder._cache.clear()
        try:
            answer = assistant.ask(q)
        except AssistantError:
            continue
        sink["answer (extractive)"].append(answer.timings.get("generate", 0.0))
        sink["ask() total"].append(answer.timings.get("total", 0.0))
    return sink


def run(ws: Workspace, n_questions: int = 200, large_chunks: int = 10_000, log=print,
        embedder=None) -> Section:
    """ask() over the real corpus, and retrieval over a large_chunks index, warm."""
    from ..api import Assistant

    qs = questions(n_questions)
    small = Assistant(corpus_dir=REAL_CORPUS, index_dir=ws.root / "index-real")
    if embedder is not None:
        small.embedder = embedder
    small.index(progress=False)
    log(f"latency: {len(qs)} questions over the real corpus ({small.snapshot.counts()[1]} chunks) ...")
    real = measure(small, qs)
    real_cold = measure(small, qs[:60], clear_cache=True)
    corpus, index = ws.large_index(small.embedder, large_chunks)
    big = Assistant(corpus_dir=corpus, index_dir=index, auto_index=False)
    big.embedder = small.embedder
    if (sentences := big._sentences()) is not None:  # what `assistant index` embeds after a sync
        sentences.fill(big.snapshot, small.embedder)
    log(f"latency: {len(qs)} questions over {big.snapshot.counts()[1]} chunks ...")
    large = measure(big, qs)
    large_cold = measure(big, qs[:60], clear_cache=True)
    n_large = big.snapshot.counts()[1]
    s = Section("latency", "Query latency per stage (warm)")
    s.columns = ["stage", "real corpus p50 ms", "p95 ms", f"{n_large} chunks p50 ms", "p95 ms",
                 "real corpus, empty cache p50 ms", f"{n_large} chunks, empty cache p50 ms", "p95 ms"]
    for stage in STAGES:
        a, b, c = percentiles(real[stage]), percentiles(large[stage]), percentiles(real_cold[stage])
        d = percentiles(large_cold[stage])
        s.rows.append([stage, round(a["p50"], 2), round(a["p95"], 2), round(b["p50"], 2),
                       round(b["p95"], 2), round(c["p50"], 2), round(d["p50"], 2), round(d["p95"], 2)])
    retrieval = percentiles(large["retrieval (dense+BM25+fusion)"])["p50"]
    with_embed = percentiles(large["embedding + retrieval"])["p50"]
    ask = percentiles(real["ask() total"])["p50"]
    s.figures = {"chunks_large": n_large, "chunks_real": small.snapshot.counts()[1],
                 "retrieval_p50_ms": retrieval, "embed_retrieval_p50_ms": with_embed,
                 "ask_p50_ms": ask, "ask_p95_ms": percentiles(real["ask() total"])["p95"],
                 "ask_large_p50_ms": percentiles(large["ask() total"])["p50"],
                 "ask_empty_cache_p50_ms": percentiles(real_cold["ask() total"])["p50"],
                 "ask_large_empty_cache_p50_ms": percentiles(large_cold["ask() total"])["p50"],
                 "ask_large_empty_cache_p95_ms": percentiles(large_cold["ask() total"])["p95"],
                 "questions": len(qs)}
    s.targets += [Target(f"retrieval p50 at {n_large} chunks (after query embedding)", retrieval,
                         RETRIEVAL_TARGET_MS, "ms"),
                  Target("extractive ask() p50 (real corpus)", ask, ASK_TARGET_MS, "ms"),
                  Target(f"extractive ask() p50 at {n_large} chunks, k={big.settings.k}",
                         s.figures["ask_large_p50_ms"], ASK_LARGE_TARGET_MS, "ms"),
                  Target(f"extractive ask() p50 at {n_large} chunks, k={big.settings.k}, empty cache",
                         s.figures["ask_large_empty_cache_p50_ms"], ASK_LARGE_TARGET_MS, "ms")]
    s.notes += [
        f"{len(qs)} questions: the {min(len(qs), 118)} of eval/questions.jsonl, then reworded copies "
        "(so no query repeats and the query-embedding cache never hits); 5 warm-up asks first.",
        f"Embedding backend: {getattr(small.embedder, 'backend', 'torch')}; index type at "
        f"{n_large} chunks: {big.snapshot.index_info['type']}.",
        "'Empty cache' clears the embedder's LRU cache before each of 60 questions, so the answer "
        "step finds no sentence it embedded for an earlier question (a first visitor's cost); the "
        "warm columns keep it, as a running service does. Answer sentences and terms are embedded "
        "at index time (ASSISTANT_SENTENCE_VECTORS, docs/answers.md): the answer step looks them "
        "up and runs the model on the question alone.",
        f"The {n_large}-chunk index: the real articles, the ingestion benchmark's articles (real "
        "vectors) and filler articles whose vectors are Gaussian draws (same BM25 work, same "
        "vector count; dense hits among filler are meaningless, latency is not).",
        f"Retrieval with the query embedding included: p50 {with_embed:.1f} ms.",
    ]
    return s
