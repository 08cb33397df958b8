"""Embedding backends side by side: torch, ONNX, ONNX int8 — speed, agreement, answer metrics."""

from __future__ import annotations

import time

import numpy as np

from ..embed import BACKENDS, get_embedder
from ..embed_light import onnx_available
from ..settings import Settings
from .common import Section, Timer, percentiles
from .workspace import QUESTIONS, REAL_CORPUS, Workspace, questions

METRICS = ("answer_accuracy", "accuracy", "hit@k", "mrr", "citation_precision")


def _chunk_texts(ws: Workspace, n: int) -> list[str]:
    from ..chunk import Chunker, embed_text
    from ..ingest import read_corpus
    from .synth import write_articles

    folder = ws.root / "backend-corpus"
    if not folder.exists():
        write_articles(folder, max(5, n // 6), ws.pool, seed=11)
    s = Settings.load()
    chunker = Chunker(s.chunk_tokens, s.chunk_overlap, s.tokenizer)
    return [embed_text(c) for a in read_corpus(folder).articles for c in chunker.chunk(a)][:n]


def _evaluate(ws: Workspace, embedder, limit: int | None) -> dict[str, float]:
    """Answer and retrieval metrics of eval/questions.jsonl over the real corpus with this embedder."""
    from ..api import Assistant
    from ..evaluation.questions import load_questions
    from ..evaluation.runner import run_questions

    a = Assistant(corpus_dir=REAL_CORPUS, index_dir=ws.root / f"index-eval-{embedder.backend}")
    a.embedder = embedder
    a.index(rebuild=True, progress=False)
    result = run_questions(a, load_questions(QUESTIONS, limit), progress=False)
    return {k: result.metrics.get(k) for k in METRICS}


def run(ws: Workspace, n_chunks: int = 600, n_queries: int = 100, evaluate: bool = True,
        eval_limit: int | None = None, rounds: int = 3, log=print) -> Section:
    """Each available backend on the same chunk texts and questions; torch is the reference.

    The timing runs in rounds, every backend once per round on a slice of the texts, and takes
    each backend's median round, so a burst of load elsewhere cannot favour one backend.
    """
    s = Section("backends", "Embedding backends")
    s.columns = ["backend", "chunks/s", "vs torch", "query p50 ms", "vs torch", "min cos vs torch",
                 "mean cos vs torch"] + ([f"{m}" for m in METRICS] if evaluate else [])
    texts = _chunk_texts(ws, n_chunks)
    qs = questions(n_queries)
    settings = Settings.load()
    embedders = {}
    for backend in (b for b in BACKENDS if b != "auto"):  # auto is one of the others
        if backend != "torch" and not onnx_available():
            s.notes.append(f"{backend}: onnxruntime not installed (pip install -e .); skipped.")
            continue
        embedders[backend] = get_embedder(settings.embedding_model, settings.embedding_batch_size,
                                          backend=backend)
        embedders[backend].embed(["warm-up"] * 4)  # load (and export once) before any timing
    rates: dict[str, list[float]] = {b: [] for b in embedders}
    query_times: dict[str, list[float]] = {b: [] for b in embedders}
    log(f"backends: {rounds} rounds of {len(texts)} chunks and {len(qs)} queries over "
        f"{', '.join(embedders)} ...")
    for r in range(rounds):
        part, qpart = texts[r::rounds], qs[r::rounds]
        for backend, emb in embedders.items():
            with Timer() as t:
                emb.embed(part)
            rates[backend].append(len(part) / t.wall)
            for q in qpart:
                t0 = time.perf_counter()
                emb.embed([q])
                query_times[backend].append(time.perf_counter() - t0)
    ref = None
    for backend, emb in embedders.items():
        both = np.vstack([emb.embed(texts), emb.embed(qs)])
        ref = both if ref is None else ref
        cos = (both * ref).sum(axis=1)
        rate, query = float(np.median(rates[backend])), percentiles(query_times[backend])["p50"]
        s.figures[f"{backend}_chunks_per_s"] = rate
        s.figures[f"{backend}_query_p50_ms"] = query
        s.figures[f"{backend}_min_cos"] = float(cos.min())
        base_rate, base_query = s.figures["torch_chunks_per_s"], s.figures["torch_query_p50_ms"]
        row = [backend, round(rate, 1), f"{rate / base_rate:.2f}x", round(query, 2),
               f"{query / base_query:.2f}x", round(float(cos.min()), 5), round(float(cos.mean()), 5)]
        if evaluate:
            log(f"backends: {backend}: answering eval/questions.jsonl ...")
            scores = _evaluate(ws, emb, eval_limit)
            row += [None if v is None else round(v, 3) for v in scores.values()]
            for k, v in scores.items():
                s.figures[f"{backend}_{k}"] = v if v is not None else float("nan")
        s.rows.append(row)
    s.notes += [
        f"{len(texts)} chunk texts (batch {settings.embedding_batch_size}) and {len(qs)} single "
        f"questions, split into {rounds} rounds; in each round every backend embeds its slice in "
        "turn. chunks/s is the median round; ratios are to torch in this run.",
        "Answer metrics: eval/questions.jsonl over corpus/, index built with that backend, "
        "extractive generator (the same runner as `assistant eval`).",
        "ONNX: the model's transformer exported once with torch.onnx (TorchScript exporter) and run "
        "by onnxruntime with the same tokenizer, mean pooling and normalisation; int8: onnxruntime "
        "dynamic quantization of that graph. sentence-transformers' own backend='onnx' needs "
        "optimum-onnx, which pins transformers<4.58 and huggingface-hub<1 (sentence-transformers 6 "
        "and gradio 6 need newer), so it cannot be installed beside them.",
        "int8 stays opt-in: on RealTime QA's dated questions its hit@1 and MRR fell by more than "
        "0.01 (docs/performance.md, 'int8 embedding stays opt-in').",
    ]
    return s
