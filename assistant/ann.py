"""FAISS index types: exact (flat) below a size threshold, approximate (HNSW or IVF-PQ) above it."""

from __future__ import annotations

import os

import numpy as np

KINDS = ("auto", "flat", "hnsw", "ivfpq")
# From `assistant bench --only scale` (docs/benchmarks.md), one query on 2 cores: flat takes
# 0.3 ms at 10k vectors and 7 ms at 100k, HNSW 0.8 and 3 ms; they cross near 30k. Below 50k a
# flat search stays under ~4 ms and exact; above, HNSW is faster and keeps recall@10 >= 0.95.
ANN_THRESHOLD = 50_000
# IVF-PQ is smaller (58-135 bytes/vector) but reached only 0.66-0.84 recall@10 on those vectors.
AUTO_KIND = "hnsw"
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 48
# efSearch for recall@10 >= 0.95 on the bench's synthetic vectors: 384 gave 0.985 at 100k but
# 0.85 at 1M, where 1536 gave 0.96 (docs/benchmarks.md). Larger graphs need a wider beam.
HNSW_EF_SEARCH = 384
HNSW_EF_SEARCH_LARGE = 1536
HNSW_LARGE = 200_000
IVF_NPROBE = 64
# IVF-PQ codes are lossy: fetch this many times more candidates and re-rank them exactly
# with the float vectors the snapshot holds anyway (for duplicate collapsing).
IVF_REFINE = 8
# PQ's 256 centroids per sub-quantizer want ~39 training points each; below that, flat.
IVF_MIN = 10_000
# A filter that admits at most this many rows is searched exactly over those rows: cheaper
# than a graph walk that must skip most nodes, and never short of results.
EXACT_FILTERED = 20_000


def choose(n: int, kind: str = "auto", threshold: int = ANN_THRESHOLD) -> str:
    """The concrete index type for `n` vectors."""
    if kind not in KINDS:
        from .errors import ConfigError

        raise ConfigError(f"Unknown index type {kind!r}; valid: {', '.join(KINDS)} "
                          "(ASSISTANT_INDEX_TYPE).")
    if kind == "auto":
        return AUTO_KIND if n >= threshold else "flat"
    return kind


def build(vectors: np.ndarray, kind: str, seed: int = 0):
    """(faiss index holding `vectors` as rows 0..n-1, manifest entry describing it)."""
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)  # builds use every core (see search())
    n, dim = vectors.shape
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        ef = hnsw_ef_search(n)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = ef
        info = {"type": "hnsw", "M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION,
                "efSearch": ef}
    elif kind == "ivfpq" and n >= IVF_MIN:
        nlist = ivf_lists(n)
        m = pq_subquantizers(dim)
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
        # k-means needs ~40 points per centroid (and 256 per PQ code); more only costs time.
        rng = np.random.default_rng(seed)
        sample = vectors[rng.choice(n, min(n, max(40 * nlist, 10_000)), replace=False)]
        index.train(np.ascontiguousarray(sample))
        index.nprobe = min(IVF_NPROBE, nlist)
        info = {"type": "ivfpq", "nlist": nlist, "pq_m": m, "nprobe": index.nprobe,
                "refine": IVF_REFINE}
    else:  # flat; also IVF-PQ on too few vectors to train its codebooks
        index = faiss.IndexFlatIP(dim)
        info = {"type": "flat"}
    if n:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    info["built_with"] = n  # extend() adds to it; at twice this many the index is rebuilt
    return index, info


def extend(index, info: dict, vectors: np.ndarray) -> dict:
    """Add `vectors` as the next rows of a built index; returns its updated manifest entry.

    A flat index stored as its vectors alone (`index` None) has nothing to add to.
    """
    import faiss

    if index is None:
        return info
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    if info.get("type") == "hnsw":  # a graph that grew past HNSW_LARGE needs the wider beam
        info["efSearch"] = index.hnsw.efSearch = hnsw_ef_search(index.ntotal)
    return info


def hnsw_ef_search(n: int) -> int:
    """The search beam for an HNSW graph of n vectors (recorded in the manifest)."""
    return HNSW_EF_SEARCH if n <= HNSW_LARGE else HNSW_EF_SEARCH_LARGE


def ivf_lists(n: int) -> int:
    """Inverted lists for n vectors: about 4*sqrt(n), a power of two, 16..1024 (training cost),
    and at most n/39 so k-means has the points per centroid it asks for."""
    lists = 2 ** round(np.log2(4 * np.sqrt(n)))
    return int(max(16, min(1024, lists, 2 ** int(np.log2(max(16, n // 39))))))


def pq_subquantizers(dim: int) -> int:
    """8 dimensions per sub-quantizer (48 bytes for 384 dims), or the largest divisor below."""
    for m in range(max(1, dim // 8), 0, -1):
        if dim % m == 0:
            return m
    return 1


def search(index, info: dict, vectors: np.ndarray, qv: np.ndarray, k: int,
           allowed: np.ndarray | None = None) -> list[int]:
    """Rows of the k best vectors for `qv`, best first; `allowed` is a per-row bool mask.

    `index` None is a flat index kept as `vectors` alone (format 2): searched exactly with numpy.
    """
    import faiss

    n = len(vectors) if index is None else index.ntotal
    if n == 0 or k <= 0:
        return []
    q = np.ascontiguousarray(qv.reshape(1, -1), dtype=np.float32)
    if index is None:
        return _exact(vectors, np.flatnonzero(allowed) if allowed is not None else None, q[0], k)
    # One query is too little work to share: on two busy cores OpenMP's thread wake-ups made a
    # flat search of 10k vectors 4x slower. The setting belongs to the calling thread (an
    # OpenMP ICV), so an index build in another thread still gets every core.
    faiss.omp_set_num_threads(1)
    kind = info.get("type", "flat")
    params = None
    if allowed is not None:
        rows = np.flatnonzero(allowed)
        if len(rows) <= EXACT_FILTERED:
            return _exact(vectors, rows, q[0], k)
        # faiss reads the bitmap through a raw pointer: keep `bitmap` alive until search returns.
        bitmap = np.packbits(allowed, bitorder="little")
        selector = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bitmap))
    fetch = min(n, k * int(info.get("refine", IVF_REFINE)) if kind == "ivfpq" else k)
    if kind == "hnsw":
        ef = max(int(info.get("efSearch", HNSW_EF_SEARCH)), fetch)
        params = faiss.SearchParametersHNSW(efSearch=ef)
    elif kind == "ivfpq":
        params = faiss.SearchParametersIVF(nprobe=int(info.get("nprobe", IVF_NPROBE)))
    if allowed is not None:
        params = params or faiss.SearchParameters()
        params.sel = selector
    _, ids = index.search(q, fetch, params=params) if params is not None else index.search(q, fetch)
    found = ids[0][ids[0] >= 0]
    if kind == "ivfpq" and len(found):
        return _exact(vectors, found, q[0], k)  # re-rank the PQ candidates with exact scores
    return [int(r) for r in found[:k]]


def _exact(vectors: np.ndarray, rows: np.ndarray | None, q: np.ndarray, k: int) -> list[int]:
    """The k best of `rows` (None: every row, scored in place without copying the vectors)."""
    scores = vectors @ q if rows is None else vectors[rows] @ q
    if not len(scores):
        return []
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    best = top[np.argsort(-scores[top], kind="stable")]
    return [int(r) for r in (best if rows is None else rows[best])]
