"""Delta segments: a version is its base plus small appended segments and a mask of deleted rows.

An upload into a large index writes only its own chunks (a delta segment), the rows of the
articles it changes or removes (`deleted.npy`) and a new manifest; every other file of the
previous version is hard-linked, not copied. Rows are numbered across segments in order (base
first), and a deleted row is never returned. Compaction is the full rewrite of `assistant.index`;
docs/index-format.md has the layout and the rules.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from .chunkstore import ChunkTable, write_bm25, write_chunks

# Deltas are searched exactly and their BM25 statistics are approximate, so they stay small: at
# most this share of the base's rows (and deleted rows at most this share of all rows), beyond
# which the next sync compacts everything into a new base; and at most this many, beyond which
# they are merged into one (the base untouched).
MAX_DELTAS = 8
DELTA_SHARE = 0.10
ARTICLES = "articles.json"  # the base's article table; a delta version adds manifest["articles_diff"]


def articles(path: Path, manifest: dict) -> dict:
    """The version's article table: the base's file, then the deltas' diff (None: removed)."""
    table = json.loads((path / ARTICLES).read_text(encoding="utf-8"))
    for aid, entry in manifest.pop("articles_diff", {}).items():
        if entry is None:
            table.pop(aid, None)
        else:
            table[aid] = entry
    return table


def fits(old, added: int, deleted: int, kind: str, corpus: str) -> bool:
    """Whether a change to the live version `old` (a Snapshot) can be written as a delta."""
    if not old or not (added or deleted) or not old.segments or old.manifest.get("format") == 1:
        return False
    base = len(old.segments[0].vectors)
    in_deltas = len(old.chunks) - base + added
    dead = deleted + len(old.chunks) - old.live_chunks()
    return (old.index_info.get("type") == kind and old.manifest.get("corpus") == corpus
            and in_deltas <= DELTA_SHARE * base and dead <= DELTA_SHARE * (len(old.chunks) + added))


def write(tmp: Path, old, manifest: dict, chunks: list, vectors: np.ndarray | None, deleted: list[int]) -> None:
    """Fill `tmp` with a version: `old`'s files hard-linked, the new chunks as a delta, the mask."""
    names = list(old.manifest.get("segments", []))
    base = len(old.segments[0].vectors)
    live = old.chunks.live
    dead = np.union1d(np.flatnonzero(~live) if live is not None else [], deleted).astype(np.int64)
    merged = bool(chunks) and len(names) >= MAX_DELTAS
    if merged:
        # Too many deltas: merge them, live rows only, with the new chunks into one (the base
        # stays). Their rows are renumbered after the base, so only the base's dead rows remain.
        keep = np.setdiff1d(np.arange(base, len(old.chunks)), dead)
        chunks = [old.chunks[int(r)] for r in keep] + chunks
        vectors = np.concatenate([old.vectors[keep], vectors])
        names, dead = [], dead[dead < base]
    link_tree(old.path, tmp, skip={"manifest.json", "deleted.npy", *(old.manifest["segments"] if merged else ())})
    # The new table is written as its difference from the base's (linked, or written once here
    # for a version whose manifest still held it), so an upload does not rewrite every article.
    new = manifest["articles"]
    if (old.path / ARTICLES).exists():
        base_table = json.loads((old.path / ARTICLES).read_text(encoding="utf-8"))
    else:
        base_table = old.manifest["articles"]
        (tmp / ARTICLES).write_text(json.dumps(base_table, separators=(",", ":")), encoding="utf-8")
    diff = {aid: entry for aid, entry in new.items() if base_table.get(aid) != entry}
    diff |= {aid: None for aid in base_table.keys() - new.keys()}
    if chunks:
        names.append(f"delta-{uuid.uuid4().hex[:8]}")
        folder = tmp / names[-1]
        write_chunks(folder / "chunks", chunks)
        # The delta's BM25 statistics join those of the segments it is searched beside.
        write_bm25(folder / "chunks", ChunkTable(folder / "chunks"),
                   others=[s.bm25 for s in old.segments[:1 if merged else None] if s.bm25 is not None])
        np.save(folder / "vectors.npy", np.asarray(vectors, dtype=np.float32))
    if len(dead):
        np.save(tmp / "deleted.npy", dead)
    on_disk = {k: v for k, v in manifest.items() if k != "articles"}
    (tmp / "manifest.json").write_text(json.dumps(
        on_disk | {"index": old.index_info, "segments": names, "articles_diff": diff}, indent=1))


class Segments(Sequence):
    """Several ChunkTables read as one: global rows, base first; `live` masks deleted rows."""

    def __init__(self, parts: list[ChunkTable], deleted: np.ndarray | None = None):
        self.parts = parts
        self.starts = np.cumsum([0] + [len(p) for p in parts])
        self._art_starts = np.cumsum([0] + [len(p.articles) for p in parts])
        self.live = None
        if deleted is not None and len(deleted):
            self.live = np.ones(int(self.starts[-1]), bool)
            self.live[deleted] = False

    def __len__(self) -> int:
        return int(self.starts[-1])

    def _locate(self, i: int) -> tuple[ChunkTable, int]:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        seg = int(np.searchsorted(self.starts, i, side="right")) - 1
        return self.parts[seg], i - int(self.starts[seg])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        part, row = self._locate(int(i))
        return part[row]

    def text(self, i: int) -> str:
        part, row = self._locate(int(i))
        return part.text(row)

    def sentences_of(self, i: int) -> tuple[str, int, list]:
        part, row = self._locate(int(i))
        return part.sentences_of(row)

    @cached_property
    def article(self) -> np.ndarray:
        """Row -> row of `articles` (each part's article rows shifted past the earlier parts')."""
        return np.concatenate([np.asarray(p.article) + int(s) for p, s in zip(self.parts, self._art_starts)])

    @cached_property
    def spans(self) -> np.ndarray:
        return np.concatenate([np.asarray(p.spans) for p in self.parts])

    @cached_property
    def articles(self) -> list[dict]:
        return [a for p in self.parts for a in p.articles]

    def live_rows(self) -> Iterator[int]:
        """Every row not deleted, in order."""
        return iter(range(len(self))) if self.live is None else (int(r) for r in np.flatnonzero(self.live))

    def rows_by_article(self) -> dict[str, list[int]]:
        """Article id -> its live rows, in row order."""
        rows = np.arange(len(self)) if self.live is None else np.flatnonzero(self.live)
        article = self.article[rows]
        order = np.argsort(article, kind="stable")
        bounds = np.searchsorted(article[order], np.arange(len(self.articles) + 1))
        return {a["id"]: rows[order[bounds[j]:bounds[j + 1]]].tolist()
                for j, a in enumerate(self.articles) if bounds[j + 1] > bounds[j]}


class Vectors:
    """The parts' memory-mapped vectors as one (rows, dimension) array for row lookups."""

    def __init__(self, parts: list[np.ndarray], starts: np.ndarray):
        self.parts, self.starts = parts, starts
        self.shape = (int(starts[-1]), parts[0].shape[1])
        self.dtype = parts[0].dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows):
        rows = np.asarray(rows)
        if rows.ndim == 0:
            seg = int(np.searchsorted(self.starts, rows, side="right")) - 1
            return self.parts[seg][int(rows) - int(self.starts[seg])]
        out = np.empty((len(rows), self.shape[1]), self.dtype)
        seg = np.searchsorted(self.starts, rows, side="right") - 1
        for s in np.unique(seg):
            pick = seg == s
            out[pick] = self.parts[s][rows[pick] - self.starts[s]]
        return out


def delta_bm25(texts: list[list[str]], others: list) -> object:
    """A bm25s index of a delta's chunk terms, its IDF taken over every segment, not the delta alone.

    bm25s stores idf x term-frequency per (term, chunk); each term's column is rescaled from the
    delta's own IDF to the IDF over all segments' chunks (Lucene's formula, bm25s's default), so
    a delta's scores rank against the base's. Length normalisation keeps the delta's mean length.
    """
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(texts, show_progress=False)
    n_own = len(texts)
    n_all = n_own + sum(int(o.scores["num_docs"]) for o in others)
    data, indptr = bm25.scores["data"], bm25.scores["indptr"]
    for term, j in bm25.vocab_dict.items():
        df_own = _df(bm25, term)
        if not df_own:
            continue
        df_all = df_own + sum(_df(o, term) for o in others)
        scale = _idf(df_all, n_all) / _idf(df_own, n_own)
        data[indptr[j]:indptr[j + 1]] *= scale
    return bm25


def _df(bm25, term: str) -> int:
    j = bm25.vocab_dict.get(term)
    if j is None or j + 1 >= len(bm25.scores["indptr"]):  # bm25s's "" token has no column
        return 0
    indptr = bm25.scores["indptr"]
    return int(indptr[j + 1] - indptr[j])


def _idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def link_tree(src: Path, dst: Path, skip: set[str]) -> None:
    """Hard-link every file under src into dst (a copy where links are refused), except `skip`."""
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if rel.parts[0] in skip:
            continue
        target = dst / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:  # a file system without hard links: pay the copy
            shutil.copy2(path, target)
