"""One loaded index version (Snapshot, its Segments) and the report of a sync (IndexReport)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .records import Chunk

# 3: a base of chunk columns + saved BM25 + vectors once, and delta segments with a deletion
# mask (docs/index-format.md); 2 is 3 without deltas, read as it is. 1: chunks.jsonl, BM25
# rebuilt by every process; `assistant index` converts it without embedding again.
FORMAT = 3
READS = (2, FORMAT)

@dataclass
class IndexReport:
    """What one sync did; `embedded` counts chunks that went through the model."""

    version: str
    articles: int = 0
    chunks: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0
    sentences: int = 0  # answer sentences embedded (sentvecs), beside the chunks
    seconds: float = 0.0
    rebuilt: str | None = None  # why a full rebuild happened, if it did
    appended: bool = False  # new vectors went into a copy of the old FAISS index (no rebuild)
    delta: bool = False  # only the changes were written (a delta segment and deleted rows)
    converted: bool = False  # an older format's version was rewritten as this one, not re-embedded
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        s = (f"Indexed {self.articles} articles as {self.chunks} chunks "
             f"({self.added} added, {self.changed} changed, {self.removed} removed, "
             f"{self.unchanged} unchanged; {self.embedded} chunks embedded) in {self.seconds:.1f}s.")
        if self.sentences:
            s += f" Embedded {self.sentences} new answer sentences and terms for fast answers."
        if self.rebuilt:
            s += f" Full rebuild: {self.rebuilt}."
        elif self.delta:
            s += " Only the changes were written; the rest of the index is shared with the previous version."
        elif self.appended:
            s += " New chunks were added to the existing search index."
        if self.converted:
            s += f" Converted the index to format {FORMAT} (no chunk embedded again)."
        return s


@dataclass
class Segment:
    """One searchable part of a version: its rows start at `start` in the version's numbering."""

    start: int
    vectors: np.ndarray  # memory-mapped
    bm25: object  # bm25s.BM25, memory-mapped; None when empty or format 1
    faiss_index: object = None  # the base's ANN index; deltas are searched exactly


@dataclass
class Snapshot:
    """One immutable index version as loaded from disk; readers never see a half-written one."""

    version: str
    manifest: dict
    chunks: Sequence[Chunk]  # a ChunkTable (format 2); a list only while sync converts format 1
    vectors: np.ndarray  # memory-mapped
    faiss_index: object  # None for a flat index: the search reads `vectors` itself
    bm25: object = None  # the base's bm25s.BM25, memory-mapped; None when empty or format 1
    path: Path | None = None
    segments: list[Segment] = field(default_factory=list)  # base first, then deltas (searcher)

    @property
    def index_info(self) -> dict:
        """The FAISS index type and its search parameters, as the manifest records them."""
        return self.manifest.get("index") or {"type": "flat"}

    def compatible(self, model: str, chunker: dict, formats: tuple = READS) -> str | None:
        """None when usable with these settings, else the reason it is not."""
        if self.manifest.get("format") not in formats:
            return (f"index format {self.manifest.get('format')} is not {FORMAT} (`assistant index` "
                    "converts a format 1 index without embedding again)")
        if self.manifest.get("model") != model:
            return f"index was built with model {self.manifest.get('model')!r}, settings say {model!r}"
        if self.manifest.get("chunker") != chunker:
            return f"chunker settings changed ({self.manifest.get('chunker')} -> {chunker})"
        return None

    def searcher(self):
        """Candidate generation over this version (assistant.stores.faiss)."""
        from .stores.faiss import FaissSearcher

        return FaissSearcher(self)

    def counts(self) -> tuple[int, int]:
        """(articles with chunks, chunks), deleted rows left out."""
        per_article = self.chunks_per_article()
        return int(np.count_nonzero(per_article)), int(per_article.sum())

    def article_rows(self) -> list[dict]:
        """One entry per indexed article (id, source, title, date, url) with its chunk count."""
        return [{**a, "chunks": int(n)} for a, n in zip(self.chunks.articles, self.chunks_per_article()) if n]

    def chunks_per_article(self) -> np.ndarray:
        """Live chunks of each row of the article table (0: all its chunks deleted)."""
        table = self.chunks  # the article table and each chunk's article row: no Chunk built
        article = np.asarray(table.article)
        live = getattr(table, "live", None)
        return np.bincount(article if live is None else article[live], minlength=len(table.articles))

    def live_chunks(self) -> int:
        """Chunks not deleted."""
        live = getattr(self.chunks, "live", None)
        return len(self.chunks) if live is None else int(live.sum())

    def vocabulary(self) -> set[str]:
        """Every BM25 term of every segment."""
        return {t for s in self.segments if s.bm25 is not None for t in s.bm25.vocab_dict}

    def writable_faiss(self):
        """A private, in-memory copy of the FAISS index to add rows to (the loaded one is mapped)."""
        import faiss

        return faiss.read_index(str(self.path / "index.faiss")) if self.faiss_index is not None else None
