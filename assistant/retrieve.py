"""Hybrid retrieval: a store's dense and BM25 candidates, fused by reciprocal rank, near-duplicates collapsed."""

from __future__ import annotations

import datetime as dt

import numpy as np

from .chunk import embed_text
from .dates import DateScope
from .records import Chunk, Filters, Passage
from .stores import EMPTY, View
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
TERMS_KEPT = 20_000  # chunks whose terms the duplicate test keeps at once (about 20 MB)
# At news scale one long article's chunks crowded the k slots; past the head of the list, each
# chunk of an article after its best one (unless it overlaps it: then it widens that passage)
# counts this much, so other stories get the later slots when they are nearly as close.
ARTICLE_REPEAT = 0.5
# The article-level steps (ARTICLE_WEIGHT, ARTICLE_REPEAT) apply when the candidates come from
# more than this many articles per slot (docs/retrieval.md).
SPREAD_ARTICLES = 2
SPREAD_HEAD = 0.5  # the first half of the k slots rank by score alone: the answer reads them


class HybridRetriever:
    """Ranks the chunks of one index version for a query, whichever store found the candidates."""

    def __init__(self, snapshot, embedder, dedup_threshold: float = 0.92):
        self.snapshot, self.embedder = snapshot, embedder
        self.dedup_threshold = dedup_threshold
        self._searcher = None  # the store's candidate generation (assistant.stores), opened by prepare()
        self.vocabulary: set[str] = set()
        self.undated = 0

    def prepare(self) -> None:
        """Open what search needs from the snapshot (stored columns and BM25 index; no chunk parsed)."""
        self._searcher = self.snapshot.searcher()
        self.vocabulary, self.undated = self._searcher.vocabulary, self._searcher.undated

    def search(self, query: str, k: int, filters: Filters | None = None,
               query_vector: np.ndarray | None = None, scope: DateScope | None = None) -> list[Passage]:
        """Top-k passages for the query; filters and the date scope apply before ranking."""
        if self._searcher is None:
            self.prepare()
        filters, scope = filters or Filters(), scope or DateScope()
        allowed = self._searcher.admit(filters, scope)
        if allowed is EMPTY:
            return []
        pool = max(k * POOL_PER_SLOT, 40)
        qv = self.embedder.embed_cached([query])[0] if query_vector is None else query_vector
        # Each store ranks in its own rows; the view numbers both lists' rows and reads them.
        *rankings, view = self._searcher.view(self._dense(qv, pool, allowed), self._sparse(query, pool, allowed))
        fused = _rrf(rankings)
        stories = [_articles(view, r) for r in rankings]
        # In a small collection an article's other passages answer more than other stories do;
        # the article-level steps pay when the candidates come from many articles (news scale).
        many = len(set().union(*stories)) > SPREAD_ARTICLES * k
        if many:
            story = _rrf(stories)
            for row in fused:  # kept on the scale of one fusion: answers weigh it (agreement)
                fused[row] = (fused[row] + ARTICLE_WEIGHT * story[view.article[row]]) / (1 + ARTICLE_WEIGHT)
        if scope.active():
            _date_prior(view, fused, scope)
        if many:
            _spread(view, fused, k)
        order = sorted(fused, key=lambda r: -fused[r])
        return self._collapse(view, order, fused, k)

    def _dense(self, qv: np.ndarray, pool: int, allowed) -> list:
        return self._searcher.dense(qv, pool, allowed)  # its own method: the latency bench times it

    def _sparse(self, query: str, pool: int, allowed) -> list:
        return self._searcher.sparse(query, pool, allowed)

    def _collapse(self, view: View, order: list[int], fused: dict[int, float], k: int) -> list[Passage]:
        """Keep the best of each group of near-identical passages (one story, two outlets)."""
        kept: list[int] = []  # the position in `order` each passage started from, for the duplicate test
        passages: list[Passage] = []
        # One read of the candidates' vectors and articles, not one per pair tested (hundreds).
        rows = np.asarray(order, dtype=np.int64)
        vecs, arts = np.asarray(view.vectors[rows]), view.article[rows]
        for i, row in enumerate(order):
            if len(kept) >= k:  # slots full: only another outlet's copy of a kept passage matters
                dup = self._duplicate(view, i, kept, order, vecs, arts)
                if dup is not None:
                    _also(passages[dup], view.articles[arts[i]]["source"])
                continue
            c = view.chunk(row)
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
            dup = self._duplicate(view, i, kept, order, vecs, arts)
            if dup is not None:
                _also(passages[dup], c.source)
                continue
            kept.append(i)
            passages.append(Passage(
                chunk_id=c.id, article_id=c.article_id, source=c.source, title=c.title,
                date=c.date, url=c.url, heading=c.heading, text=c.text, start=c.start,
                end=c.end, score=round(fused[row], 6), sentences=list(c.sentences)))
        return passages

    def _duplicate(self, view: View, i: int, kept: list[int], order: list[int], vecs, arts) -> int | None:
        """Which kept passage candidate i retells (another article, near-identical), if any."""
        if not kept:
            return None
        close = (vecs[kept] @ vecs[i] >= self.dedup_threshold) & (arts[kept] != arts[i])
        for n in np.flatnonzero(close):
            ta, tb = _terms_of(view, order[i]), _terms_of(view, order[kept[n]])
            if len(ta & tb) / max(1, min(len(ta), len(tb))) >= DUP_TERM_OVERLAP:
                return int(n)
        return None


def _terms_of(view: View, row: int) -> set[str]:
    # Only near-identical vectors reach the term test: a few chunks per query, not all of them.
    found = view.terms.get(row)
    if found is None:
        found = set(terms(embed_text(view.chunk(row))) or ["__empty__"])
        if len(view.terms) >= TERMS_KEPT:  # a server's view lives as long as its index version
            view.terms.clear()
        view.terms[row] = found
    return found


def _articles(view: View, ranking: list[int]) -> list[int]:
    """The articles of a chunk ranking, each at the rank of its best chunk."""
    return list(dict.fromkeys(int(view.article[row]) for row in ranking))


def _spread(view: View, fused: dict[int, float], k: int) -> None:
    """Past the head of the list, lower an article's chunks after its best one (not overlapping it)."""
    spans, best = view.spans, {}
    for i, row in enumerate(sorted(fused, key=lambda r: -fused[r])):
        (start, end), top = spans[row], best.setdefault(int(view.article[row]), row)
        if i >= SPREAD_HEAD * k and (start >= spans[top][1] or spans[top][0] >= end):
            fused[row] *= ARTICLE_REPEAT


def _date_prior(view: View, fused: dict[int, float], scope: DateScope) -> None:
    """Raise chunks in the question's time window and those published shortly before as_of."""
    day = (scope.as_of or dt.date.today()).toordinal()
    recency = bool(scope.as_of or scope.recent)
    for row in fused:
        date = view.articles[view.article[row]]["date"]
        if not date:
            continue  # undated: neither raised nor dropped
        if recency:
            older = max(0.0, day - dt.date.fromisoformat(date).toordinal() - RECENCY_DAYS)
            fused[row] *= 1.0 + RECENCY_WEIGHT * 0.5 ** (older / RECENCY_DAYS)
        if scope.in_window(date):
            fused[row] *= WINDOW_BOOST


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
