"""Hybrid retrieval: dense (FAISS) + BM25 (bm25s), fused by reciprocal rank, near-duplicates collapsed."""

from __future__ import annotations

import datetime as dt

import numpy as np

from . import ann
from .chunk import embed_text
from .dates import DateScope
from .index import Snapshot
from .records import Chunk, Filters, Passage
from .terms import terms

RRF_K = 60  # the usual reciprocal-rank constant: dampens the head so both lists matter
# Each list is cut at POOL_PER_SLOT x k before fusion: at 80k chunks a gold article's best chunk
# sat at rank 80-200 of one list for one question in ten (docs/retrieval.md).
POOL_PER_SLOT = 20
# A chunk also scores its article's fused rank (articles ranked by their best chunk in each list):
# a story both lists put near the top wins over one chunk that only one list liked.
ARTICLE_WEIGHT = 1.0
# A question asked on a day is mostly about that week's news: chunks published in the
# RECENCY_DAYS before as_of score (1 + RECENCY_WEIGHT) times more, and the raise halves with
# every further RECENCY_DAYS (a week; a plateau, since quiz articles are 0-6 days old).
RECENCY_DAYS, RECENCY_WEIGHT = 7.0, 1.0
# Chunks dated inside the window a question's time words name ("last week") score this many
# times more: they rank first, and the rest still fill the slots they leave.
WINDOW_BOOST = 3.0
# Two outlets retelling one event share most of their names and terms; topical neighbours
# (same ministry, another meeting) are as close in embedding space but share far fewer.
DUP_TERM_OVERLAP = 0.4
# At news scale one long article's chunks crowded the k slots; past the head of the list, each
# chunk of an article after its best one (unless it overlaps it: then it widens that passage)
# counts this much, so other stories get the later slots when they are nearly as close.
ARTICLE_REPEAT = 0.5
# The article-level steps (ARTICLE_WEIGHT, ARTICLE_REPEAT) apply when the candidates come from
# more than this many articles per slot (docs/retrieval.md).
SPREAD_ARTICLES = 2
SPREAD_HEAD = 0.5  # the first half of the k slots rank by score alone: the answer reads them


class HybridRetriever:
    """Ranks the chunks of one index snapshot for a query."""

    def __init__(self, snapshot: Snapshot, embedder, dedup_threshold: float = 0.92):
        self.snapshot, self.embedder = snapshot, embedder
        self.dedup_threshold = dedup_threshold
        self._bm25 = None
        self._terms: dict[int, set[str]] = {}  # a chunk's terms, stemmed when a duplicate test needs them
        self._article = np.zeros(0, dtype=np.int32)  # chunk row -> article row
        self.vocabulary: set[str] = set()
        self.undated = 0
        # Filters look at an article's date and source only: test each pair once, not each chunk
        # (a Python call per chunk took 0.35 s per query at 1M chunks; per pair, 0.04 s).
        self._pairs: list[tuple[str | None, str]] = []
        self._pair_of = np.zeros(0, dtype=np.int64)

    def prepare(self) -> None:
        """Open what search needs from the snapshot's stored columns and BM25 index (no chunk parsed)."""
        table = self.snapshot.chunks
        self._bm25 = self.snapshot.bm25
        self.vocabulary = set(self._bm25.vocab_dict) - {""} if self._bm25 is not None else set()
        self._article = np.asarray(table.article)
        ids: dict[tuple[str | None, str], int] = {}
        pair_of_article = np.fromiter((ids.setdefault((a["date"], a["source"]), len(ids)) for a in table.articles),
                                      np.int64, len(table.articles))
        self._pair_of = pair_of_article[self._article]
        self._pairs = list(ids)
        self.undated = sum(1 for a in table.articles if not a["date"])  # named in dated answers' notes

    def search(self, query: str, k: int, filters: Filters | None = None,
               query_vector: np.ndarray | None = None, scope: DateScope | None = None) -> list[Passage]:
        """Top-k passages for the query; filters and the date scope apply before ranking."""
        if self._bm25 is None:
            self.prepare()
        chunks = self.snapshot.chunks
        if not chunks:
            return []
        filters, scope = filters or Filters(), scope or DateScope()
        allowed = None
        if filters.active() or scope.as_of:
            admitted = np.fromiter((filters.admits(d, src) and scope.admits(d) for d, src in self._pairs),
                                   bool, len(self._pairs))
            allowed = admitted[self._pair_of]
            if not allowed.any():
                return []
        pool = max(k * POOL_PER_SLOT, 40)
        qv = self.embedder.embed_cached([query])[0] if query_vector is None else query_vector
        rankings = (self._dense(qv, pool, allowed), self._sparse(query, pool, allowed))
        fused = _rrf(rankings)
        stories = [self._articles(r) for r in rankings]
        # In a small collection an article's other passages answer more than other stories do;
        # the article-level steps pay when the candidates come from many articles (news scale).
        many = len(set().union(*stories)) > SPREAD_ARTICLES * k
        if many:
            story = _rrf(stories)
            for row in fused:  # kept on the scale of one fusion: answers weigh it (agreement)
                fused[row] = (fused[row] + ARTICLE_WEIGHT * story[self._article[row]]) / (1 + ARTICLE_WEIGHT)
        if scope.active():
            self._date_prior(fused, scope)
        if many:
            self._spread(fused, k)
        order = sorted(fused, key=lambda r: -fused[r])
        return self._collapse(order, fused, k)

    def _articles(self, ranking: list[int]) -> list[int]:
        """The articles of a chunk ranking, each at the rank of its best chunk."""
        return list(dict.fromkeys(int(self._article[row]) for row in ranking))

    def _spread(self, fused: dict[int, float], k: int) -> None:
        """Past the head of the list, lower an article's chunks after its best one (not overlapping it)."""
        spans, best = self.snapshot.chunks.spans, {}
        for i, row in enumerate(sorted(fused, key=lambda r: -fused[r])):
            (start, end), top = spans[row], best.setdefault(int(self._article[row]), row)
            if i >= SPREAD_HEAD * k and (start >= spans[top][1] or spans[top][0] >= end):
                fused[row] *= ARTICLE_REPEAT

    def _date_prior(self, fused: dict[int, float], scope: DateScope) -> None:
        """Raise chunks in the question's time window and those published shortly before as_of."""
        day = (scope.as_of or dt.date.today()).toordinal()
        recency = bool(scope.as_of or scope.recent)
        articles = self.snapshot.chunks.articles
        for row in fused:
            date = articles[self._article[row]]["date"]
            if not date:
                continue  # undated: neither raised nor dropped
            if recency:
                older = max(0.0, day - dt.date.fromisoformat(date).toordinal() - RECENCY_DAYS)
                fused[row] *= 1.0 + RECENCY_WEIGHT * 0.5 ** (older / RECENCY_DAYS)
            if scope.in_window(date):
                fused[row] *= WINDOW_BOOST

    def _dense(self, qv: np.ndarray, pool: int, allowed) -> list[int]:
        # Flat, HNSW or IVF-PQ as the manifest says; a filter goes into the search itself
        # (exactly over the admitted rows when few), so no admitted row is crowded out.
        snap = self.snapshot
        return ann.search(snap.faiss_index, snap.index_info, snap.vectors, qv, pool, allowed)

    def _sparse(self, query: str, pool: int, allowed) -> list[int]:
        q = [t for t in terms(query) if t in self.vocabulary]
        if not q:
            return []
        scores = self._bm25.get_scores(q)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        n = min(pool, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        return [int(r) for r in top[np.argsort(-scores[top])] if scores[r] > 0]

    def _collapse(self, order: list[int], fused: dict[int, float], k: int) -> list[Passage]:
        """Keep the best of each group of near-identical passages (one story, two outlets)."""
        table = self.snapshot.chunks
        kept: list[int] = []  # the position in `order` each passage started from, for the duplicate test
        passages: list[Passage] = []
        # One read of the candidates' vectors and articles, not one per pair tested (hundreds).
        rows = np.asarray(order, dtype=np.int64)
        vecs, arts = np.asarray(self.snapshot.vectors[rows]), self._article[rows]
        for i, row in enumerate(order):
            if len(kept) >= k:  # slots full: only another outlet's copy of a kept passage matters
                dup = self._duplicate(i, kept, order, vecs, arts)
                if dup is not None:
                    _also(passages[dup], table.articles[arts[i]]["source"])
                continue
            c = table[row]
            # Neighbouring chunks overlap; when both rank within the k slots, one wider passage
            # says it once and leaves the slot to another part of the corpus.
            wide = next((p for p in passages if _overlap(p, c)), None)
            if wide is not None and _widen(wide, c):
                # Wider, it may now overlap another passage of its article: one passage again.
                for n in reversed(range(len(passages))):
                    if passages[n] is not wide and _overlap(wide, passages[n]) and _widen(wide, passages[n]):
                        wide.also_in += [s for s in passages[n].also_in if s not in wide.also_in]
                        del passages[n], kept[n]
                continue
            dup = self._duplicate(i, kept, order, vecs, arts)
            if dup is not None:
                _also(passages[dup], c.source)
                continue
            kept.append(i)
            passages.append(Passage(
                chunk_id=c.id, article_id=c.article_id, source=c.source, title=c.title,
                date=c.date, url=c.url, heading=c.heading, text=c.text, start=c.start,
                end=c.end, score=round(fused[row], 6), sentences=list(c.sentences)))
        return passages

    def _duplicate(self, i: int, kept: list[int], order: list[int], vecs, arts) -> int | None:
        """Which kept passage candidate i retells (another article, near-identical), if any."""
        if not kept:
            return None
        close = (vecs[kept] @ vecs[i] >= self.dedup_threshold) & (arts[kept] != arts[i])
        for n in np.flatnonzero(close):
            ta, tb = self._terms_of(order[i]), self._terms_of(order[kept[n]])
            if len(ta & tb) / max(1, min(len(ta), len(tb))) >= DUP_TERM_OVERLAP:
                return int(n)
        return None

    def _terms_of(self, row: int) -> set[str]:
        # Only near-identical vectors reach the term test: a few chunks per query, not all of them.
        if row not in self._terms:
            self._terms[row] = set(terms(embed_text(self.snapshot.chunks[row])) or ["__empty__"])
        return self._terms[row]


def _also(p: Passage, source: str) -> None:
    """Name another outlet that carries passage p's story."""
    if source != p.source and source not in p.also_in:
        p.also_in.append(source)


def _rrf(rankings) -> dict:
    """Reciprocal-rank fusion: each item scores 1/(RRF_K + rank) in every list it is in."""
    fused: dict = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + 1.0 / (RRF_K + rank + 1)
    return fused


def _overlap(p: Passage, c: Chunk | Passage) -> bool:
    """Whether two spans share text of one article section."""
    return c.article_id == p.article_id and c.heading == p.heading and c.start < p.end and p.start < c.end


def _widen(p: Passage, c: Chunk | Passage) -> bool:
    """Grow passage `p` to cover the overlapping span `c` too; False if their shared text differs."""
    lo, hi = max(p.start, c.start), min(p.end, c.end)
    if p.text[lo - p.start:hi - p.start] != c.text[lo - c.start:hi - c.start]:
        return False  # offsets that do not describe one text: keep the two apart
    p.focus = p.focus or (p.start, p.end)
    before = c.text[:p.start - c.start] if c.start < p.start else ""
    after = c.text[p.end - c.start:] if c.end > p.end else ""
    p.text, p.start, p.end = before + p.text + after, min(p.start, c.start), max(p.end, c.end)
    p.sentences = sorted(set(p.sentences) | {tuple(s) for s in c.sentences})
    return True
