"""Scale: build time, bytes per chunk, search p50 and recall@10 of flat, HNSW and IVF-PQ at 1k..1M."""

from __future__ import annotations

import numpy as np

from .. import ann
from .common import Section, Timer, percentiles
from .synth import scaled_vectors

SIZES = (1_000, 10_000, 100_000, 1_000_000)
KINDS = ("flat", "hnsw", "ivfpq")
RECALL_FLOOR = 0.95


def _search_all(index, info, vectors, queries, k=10):
    times, found = [], []
    for q in queries:
        with Timer() as t:
            found.append(ann.search(index, info, vectors, q, k))
        times.append(t.wall)
    return found, times


def recall_at(found: list[list[int]], truth: np.ndarray, k: int = 10) -> float:
    """Mean share of the exact top-k that the approximate top-k holds."""
    return float(np.mean([len(set(f[:k]) & set(t[:k].tolist())) / k for f, t in zip(found, truth)]))


def run(base: np.ndarray, queries: np.ndarray, sizes=SIZES, kinds=KINDS, log=print) -> Section:
    """Every index type at every size over the same vectors; flat gives the exact top-10."""
    import faiss

    s = Section("scale", "Scale: index types by size")
    s.columns = ["chunks", "index", "build s", "index bytes/chunk", "search p50 ms", "search p95 ms",
                 "recall@10 vs flat", "parameters"]
    for n in sizes:
        vectors = scaled_vectors(base, n)
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        _, truth = exact.search(np.ascontiguousarray(queries), 10)  # batched: the reference top-10
        for kind in kinds:
            log(f"scale: {kind} at {n:,} vectors ...")
            with Timer() as t:
                index, info = ann.build(vectors, kind)
            size = faiss.serialize_index(index).nbytes
            found, times = _search_all(index, info, vectors, queries)
            p = percentiles(times)
            rec = recall_at(found, truth)
            params = ", ".join(f"{k}={v}" for k, v in info.items() if k != "type")
            label = kind if info["type"] == kind else f"{kind} (too few vectors: {info['type']})"
            s.rows.append([f"{n:,}", label, round(t.wall, 2), round(size / n), round(p["p50"], 3),
                           round(p["p95"], 3), round(rec, 4), params or "-"])
            s.figures[f"{kind}_{n}_search_p50_ms"] = p["p50"]
            s.figures[f"{kind}_{n}_recall"] = rec
            s.figures[f"{kind}_{n}_build_s"] = t.wall
            del index
        del exact, vectors
    s.notes += [
        f"Vectors: the first {len(base):,} are real MiniLM embeddings of chunks of synthetic articles "
        "(sentences of the real corpus with names, numbers and words swapped); larger sizes add "
        "draws from a Gaussian with the mean and covariance of those real vectors, renormalised. "
        "That keeps the real spread and anisotropy but has less cluster structure than real text, "
        "so approximate indexes find it harder: recall here is a conservative estimate.",
        f"Queries: {len(queries)} real question embeddings (eval/questions.jsonl and rewordings), "
        "searched one at a time (k=10) through assistant.ann.search, the path retrieval uses.",
        "Index bytes/chunk is the serialized FAISS index; every snapshot also keeps vectors.npy "
        f"({base.shape[1] * 4} bytes/chunk, for duplicate collapsing and IVF-PQ re-ranking).",
        f"IVF-PQ re-ranks {ann.IVF_REFINE}x k PQ candidates with the exact vectors.",
        f"Auto switch: flat below {ann.ANN_THRESHOLD:,} vectors, {ann.AUTO_KIND} above "
        "(ASSISTANT_INDEX_TYPE, ASSISTANT_ANN_THRESHOLD).",
    ]
    return s
