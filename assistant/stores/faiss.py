"""The default store: versioned folders (assistant.index) searched with FAISS and bm25s in the process."""

from __future__ import annotations

import numpy as np

from .. import ann
from ..index import IndexStore, Snapshot
from ..terms import terms
from . import EMPTY, View


def open_store(settings) -> IndexStore:
    """The folder store of ASSISTANT_INDEX_DIR."""
    return IndexStore(settings.index_dir, settings.index_type, settings.ann_threshold)


class FaissSearcher:
    """Dense (FAISS or exact numpy) and BM25 (bm25s) rankings over one snapshot's global rows.

    A version with delta segments is searched segment by segment and the lists merged by score;
    deleted rows are filtered out like any other row a filter refuses.
    """

    def __init__(self, snapshot: Snapshot):
        table = snapshot.chunks
        self.snapshot = snapshot
        self.vocabulary = snapshot.vocabulary() - {""}
        article = np.asarray(table.article)
        # Filters look at an article's date and source only: test each pair once, not each chunk
        # (a Python call per chunk took 0.35 s per query at 1M chunks; per pair, 0.04 s).
        ids: dict[tuple[str | None, str], int] = {}
        pair_of_article = np.fromiter((ids.setdefault((a["date"], a["source"]), len(ids)) for a in table.articles),
                                      np.int64, len(table.articles))
        self._pair_of = pair_of_article[article]
        self._pairs = list(ids)
        self._live = getattr(table, "live", None)
        self._empty = not snapshot.live_chunks()
        # Named in dated answers' notes.
        self.undated = sum(1 for a, n in zip(table.articles, snapshot.chunks_per_article()) if n and not a["date"])
        # Rows are the snapshot's own: one View serves every query (and keeps its terms cache).
        self._view = View(table.__getitem__, article, table.articles, table.spans, snapshot.vectors)

    def admit(self, filters, scope):
        """A per-row bool mask, None when nothing is filtered, EMPTY when nothing passes."""
        if self._empty:
            return EMPTY
        if not (filters.active() or scope.as_of):
            return self._live
        admitted = np.fromiter((filters.admits(d, src) and scope.admits(d) for d, src in self._pairs),
                               bool, len(self._pairs))
        allowed = admitted[self._pair_of]
        if self._live is not None:
            allowed &= self._live
        return allowed if allowed.any() else EMPTY

    def dense(self, qv: np.ndarray, pool: int, allowed) -> list[int]:
        # Flat, HNSW or IVF-PQ as the manifest says; a filter goes into the search itself
        # (exactly over the admitted rows when few), so no admitted row is crowded out.
        snap = self.snapshot
        if len(snap.segments) == 1:
            return ann.search(snap.faiss_index, snap.index_info, snap.vectors, qv, pool, allowed)
        found = []  # each segment's best, merged by their exact scores (deltas are exact)
        for seg in snap.segments:
            part = None if allowed is None else allowed[seg.start:seg.start + len(seg.vectors)]
            if part is not None and not part.any():
                continue
            info = snap.index_info if seg.faiss_index is not None else {"type": "flat"}
            rows = np.array(ann.search(seg.faiss_index, info, seg.vectors, qv, pool, part), dtype=np.int64)
            if len(rows):
                found += zip((seg.vectors[rows] @ qv).tolist(), (rows + seg.start).tolist())
        return [row for _, row in sorted(found, key=lambda f: -f[0])[:pool]]

    def sparse(self, query: str, pool: int, allowed) -> list[int]:
        q = [t for t in terms(query) if t in self.vocabulary]
        if not q:
            return []
        scores = np.concatenate([_bm25_scores(seg, q) for seg in self.snapshot.segments])
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        n = min(pool, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        return [int(r) for r in top[np.argsort(-scores[top])] if scores[r] > 0]

    def view(self, dense: list[int], sparse: list[int]) -> tuple[list[int], list[int], View]:
        return dense, sparse, self._view


def _bm25_scores(seg, q: list[str]) -> np.ndarray:
    """BM25 scores of one segment's rows for the query terms it knows (zeros when none)."""
    known = [t for t in q if seg.bm25 is not None and t in seg.bm25.vocab_dict]
    return seg.bm25.get_scores(known) if known else np.zeros(len(seg.vectors), np.float32)
