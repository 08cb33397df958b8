"""Persisted index versions with a manifest: incremental, resumable sync, atomic replace, one writer."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from . import ann, checkpoints, segments
from .chunk import Chunker, embed_text
from .chunkstore import ChunkTable, load_bm25, read_jsonl, write_bm25, write_chunks
from .errors import IndexStoreError
from .ingest import Corpus, file_of
from .records import Chunk
from .snapshot import FORMAT, READS, IndexReport, Segment, Snapshot

# The corpus listing (file sizes and times) and settings the live version was synced from: a
# start that finds them unchanged opens the index without reading and cleaning every article.
SEEN = "synced-from.json"


class IndexStore:
    """A folder of versioned index builds; the CURRENT file names the live one."""

    def __init__(self, directory: Path, index_type: str | None = None,
                 ann_threshold: int | None = None):
        self.dir = Path(directory)
        # None: from Settings (ASSISTANT_INDEX_TYPE, ASSISTANT_ANN_THRESHOLD) when building.
        self.index_type, self.ann_threshold = index_type, ann_threshold

    def __str__(self) -> str:
        return str(self.dir)

    def current(self) -> str | None:
        """The live version's folder name; None before the first build."""
        try:
            return (self.dir / "CURRENT").read_bytes().decode("utf-8").strip() or None
        except FileNotFoundError:
            return None
        except UnicodeDecodeError:
            raise IndexStoreError(f"The CURRENT pointer in {self.dir} is damaged. Rebuild the "
                                  "index with: assistant index") from None

    def load(self) -> Snapshot:
        """The live version; IndexStoreError when missing or damaged."""
        import faiss

        version = self.current()
        if not version:
            raise IndexStoreError(f"No index in {self.dir}. Build one with: assistant index")
        path = self.dir / version
        bm25, deltas = None, []
        try:
            manifest = json.loads((path / "manifest.json").read_text())
            if not isinstance(manifest, dict):
                raise ValueError("manifest.json is not a JSON object")
            if (path / segments.ARTICLES).exists():  # format 3: the table beside, deltas as a diff
                manifest["articles"] = segments.articles(path, manifest)
            vectors = None
            if (path / "vectors.npy").exists():  # every version but an HNSW one of format 3
                vectors = np.load(path / "vectors.npy", mmap_mode="r")
            if manifest.get("format") == 1:  # only sync reads it, to convert it
                chunks = read_jsonl(path / "chunks.jsonl")
                index = faiss.read_index(str(path / "index.faiss"))
            else:
                chunks = ChunkTable(path / "chunks")
                kind = (manifest.get("index") or {}).get("type", "flat")
                # Mapped, not read: the OS shares its pages between processes and drops them
                # under pressure. A flat index has no file; its search reads `vectors`.
                index = None if kind == "flat" else faiss.read_index(
                    str(path / "index.faiss"), faiss.IO_FLAG_MMAP_IFC)
                bm25 = load_bm25(path / "chunks", len(chunks))
                deltas = [(t := ChunkTable(path / d / "chunks"), np.load(path / d / "vectors.npy", mmap_mode="r"),
                           load_bm25(path / d / "chunks", len(t))) for d in manifest.get("segments", [])]
            if vectors is None:
                vectors = _graph_vectors(index)
            deleted = np.load(path / "deleted.npy") if (path / "deleted.npy").exists() else None
            total = len(chunks) + sum(len(t) for t, _, _ in deltas)
            if deleted is not None and len(deleted) and not 0 <= deleted.min() <= deleted.max() < total:
                raise ValueError(f"deleted.npy names rows outside the {total} chunks")
        except Exception as exc:  # noqa: BLE001 - any damage means the same: rebuild
            raise IndexStoreError(
                f"The index in {path} is damaged ({type(exc).__name__}: {exc}). "
                "Rebuild it with: assistant index --rebuild"
            ) from None
        in_faiss = len(chunks) if index is None else index.ntotal
        if not (len(chunks) == vectors.shape[0] == in_faiss) or any(len(t) != len(v) for t, v, _ in deltas):
            raise IndexStoreError(
                f"The index in {path} is inconsistent ({len(chunks)} chunks, {vectors.shape[0]} "
                f"vectors, {in_faiss} in FAISS). Rebuild it with: assistant index --rebuild"
            )
        parts = [Segment(0, vectors, bm25, index)]
        for t, v, b in deltas:
            parts.append(Segment(parts[-1].start + len(parts[-1].vectors), v, b))
        if deltas or deleted is not None:
            chunks = segments.Segments([chunks] + [t for t, _, _ in deltas], deleted)
            vectors = segments.Vectors([p.vectors for p in parts], chunks.starts)
        return Snapshot(version, manifest, chunks, vectors, index, bm25, path, parts)

    def synced_from(self, key: dict) -> bool:
        """Whether the live version was last synced from exactly this corpus listing and settings."""
        return self._seen() == {**key, "version": self.current()}

    def synced_files(self, key: dict) -> dict | None:
        """The file listing the live version was synced from, when the corpus and settings match."""
        seen = self._seen() or {}
        files = seen.pop("files", None)
        return files if seen == {k: v for k, v in key.items() if k != "files"} | {"version": self.current()} else None

    def _seen(self) -> dict | None:
        try:
            return json.loads((self.dir / SEEN).read_text())
        except (OSError, ValueError):
            return None

    def remember(self, key: dict) -> None:
        """Record what the live version was synced from, for synced_from() at the next start."""
        tmp = self.dir / f".{SEEN}.{uuid.uuid4().hex[:8]}"
        tmp.write_text(json.dumps({**key, "version": self.current()}))
        os.replace(tmp, self.dir / SEEN)

    def sync(self, corpus: Corpus, embedder, chunker: Chunker, model: str, chunker_sig: dict,
             rebuild: bool = False, progress: bool = True) -> IndexReport:
        """Bring the index in line with the corpus, embedding only new or changed articles."""
        from filelock import FileLock, Timeout

        self.dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.dir / ".lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            print(f"Another process is indexing {self.dir}; waiting for it to finish...",
                  file=sys.stderr)
            try:
                lock.acquire(timeout=900)
            except Timeout:
                raise IndexStoreError(
                    f"{self.dir} stayed locked for 15 minutes by another indexer. "
                    f"If none is running, delete {self.dir / '.lock'} and retry."
                ) from None
        try:
            return self._sync_locked(corpus, embedder, chunker, model, chunker_sig, rebuild, progress)
        finally:
            lock.release()

    def _sync_locked(self, corpus, embedder, chunker, model, chunker_sig, rebuild, progress):
        t0 = time.perf_counter()
        space = getattr(embedder, "vector_space", "")
        if space:  # e.g. int8 vectors: an index of fp32 ones must be rebuilt, and back
            model = f"{model} [{space}]"
        old, reason = None, "requested" if rebuild else None
        if rebuild:  # a requested rebuild trusts nothing kept from before, checkpoints included
            shutil.rmtree(self.dir / checkpoints.CACHE, ignore_errors=True)
        elif (self.dir / "CURRENT").exists():
            try:
                old = self.load()
                reason = old.compatible(model, chunker_sig, formats=(1, *READS))
            except IndexStoreError as exc:
                reason = f"previous index unreadable ({exc})"
            if reason:
                old = None
        if corpus.kept and old is None:
            raise PartialCorpus("only changed files were read, but there is no version to keep the rest from")
        old_articles = old.manifest["articles"] if old else {}
        report = IndexReport(version="", rebuilt=reason, problems=[str(p) for p in corpus.problems])
        report.converted = bool(old) and old.manifest.get("format") not in READS
        rows: list[int | None] = []  # row in the old version, or None when it must be embedded
        new: dict[int, Chunk] = {}  # position in `rows` -> the chunk to embed there
        by_article = _rows_by_article(old.chunks) if old else {}
        articles = {}  # the new manifest's articles
        # Files not read because unchanged since the last sync (an upload): their articles stay.
        for aid, prev in old_articles.items() if corpus.kept else ():
            if file_of(prev["source"]) in corpus.kept:
                articles[aid] = prev
                rows += by_article.get(aid, [])
        report.unchanged = len(articles)
        gone = []  # articles whose old rows are deleted: changed or removed
        for art in corpus.articles:
            articles[art.id] = {"source": art.source, "hash": art.content_hash, "title": art.title,
                                "date": art.date}
            prev = old_articles.get(art.id)
            if prev and prev["hash"] == art.content_hash:
                report.unchanged += 1
                rows += by_article.get(art.id, [])
                continue
            if prev:
                report.changed += 1
                gone.append(art.id)
            else:
                report.added += 1
            for c in chunker.chunk(art):
                new[len(rows)] = c
                rows.append(None)
        removed = set(old_articles) - set(articles)
        report.removed, gone = len(removed), gone + sorted(removed)
        todo = list(new)
        kind = self._index_kind(len(rows))
        report.articles, report.chunks = len(articles), len(rows)
        if (old and not todo and not report.removed and not report.converted
                and len(rows) == old.live_chunks() and old.index_info.get("type") == kind
                and old.manifest.get("corpus") == str(corpus.root)):
            # Nothing changed: keep the live version instead of rewriting every file (and
            # rebuilding an HNSW graph) on each start; CURRENT stays where it is.
            report.version, report.seconds = old.version, time.perf_counter() - t0
            return report
        manifest = {
            "format": FORMAT, "model": model, "chunker": chunker_sig,
            "corpus": str(corpus.root), "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "articles": articles,
        }
        # Nothing to embed means no reason to load the model (fast restarts).
        fresh = None
        if todo:
            fresh, report.embedded = checkpoints.embed([embed_text(new[i]) for i in todo], embedder, model,
                                                       self.dir / checkpoints.CACHE, progress)
        dim = fresh.shape[1] if todo else (old.vectors.shape[1] if old else embedder.dimension)
        manifest["dimension"] = dim
        deleted = [r for aid in gone for r in by_article.get(aid, [])]
        if segments.fits(old, len(todo), len(deleted), kind, str(corpus.root)):
            tmp = self._stage()
            segments.write(tmp, old, manifest, [new[i] for i in todo], fresh, deleted)
            report.version, report.delta = self._publish(tmp), True
        else:
            built = None
            if (old and not report.changed and not report.removed and old.index_info.get("type") == kind
                    and old.live_chunks() == len(old.chunks)
                    and len(rows) <= 2 * old.index_info.get("built_with", len(old.chunks))):
                # Only new articles (or none: a format conversion) and no deleted row: extend the
                # base's FAISS index with the deltas' and the new vectors rather than rebuild it
                # (an HNSW graph of 100k chunks takes ~45 s to build). Old rows keep their numbers,
                # new ones follow; at twice the size it was built with, it is rebuilt so IVF
                # codebooks fit.
                index, info = (old.writable_faiss() if kind != "flat" else None), dict(old.index_info)
                added = [s.vectors for s in old.segments[1:]] + ([fresh] if todo else [])
                extra = np.concatenate(added) if added else None
                built = index, (ann.extend(index, info, extra) if extra is not None else info)
                chunks: Iterable[Chunk] = itertools.chain(old.chunks, (new[i] for i in todo))
                vectors = old.vectors if extra is None else np.concatenate([old.segments[0].vectors, extra])
                report.appended = extra is not None
            else:
                vectors = np.zeros((len(rows), dim), dtype=np.float32)
                kept = [i for i, r in enumerate(rows) if r is not None]
                if kept:
                    vectors[kept] = old.vectors[[rows[i] for i in kept]]
                if todo:
                    vectors[todo] = fresh
                chunks = (new[i] if r is None else old.chunks[r] for i, r in enumerate(rows))
            report.version = self._write(manifest, chunks, vectors, kind, built)
        shutil.rmtree(self.dir / checkpoints.CACHE, ignore_errors=True)  # published: the checkpoints are spent
        report.seconds = time.perf_counter() - t0
        return report

    def _index_kind(self, n: int) -> str:
        """flat, hnsw or ivfpq for n vectors (auto: flat below the ANN threshold)."""
        kind, threshold = self.index_type, self.ann_threshold
        if kind is None or threshold is None:
            from .settings import Settings

            settings = Settings.load()
            kind = kind or settings.index_type
            threshold = settings.ann_threshold if threshold is None else threshold
        return ann.choose(n, kind, threshold)

    def _write(self, manifest: dict, chunks: Iterable[Chunk], vectors: np.ndarray,
               kind: str | None = None, built: tuple | None = None) -> str:
        """Write a new version beside the live one, then switch CURRENT in one rename."""
        import faiss

        tmp = self._stage()
        kind = kind or self._index_kind(len(vectors))
        if built is None:
            # A flat index is the vectors themselves: searched from vectors.npy, never copied.
            # An HNSW graph holds the vectors too: they are read from it (_graph_vectors).
            built = (None, {"type": "flat", "built_with": len(vectors)}) if kind == "flat" \
                else ann.build(vectors, kind)
        index, manifest["index"] = built
        write_chunks(tmp / "chunks", chunks)
        write_bm25(tmp / "chunks", ChunkTable(tmp / "chunks"))
        if index is None or manifest["index"]["type"] != "hnsw":
            np.save(tmp / "vectors.npy", vectors)
        if index is not None:
            faiss.write_index(index, str(tmp / "index.faiss"))
        # The article table (8 MB at 50,000 articles) sits beside the manifest: a delta links it.
        (tmp / segments.ARTICLES).write_text(json.dumps(manifest["articles"], separators=(",", ":")))
        (tmp / "manifest.json").write_text(json.dumps(
            {k: v for k, v in manifest.items() if k != "articles"}, indent=1))
        return self._publish(tmp)

    def _stage(self) -> Path:
        """An empty `.tmp-*` folder to write a version into (earlier leftovers removed)."""
        self._cleanup_temp()
        tmp = self.dir / f".tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        return tmp

    def _publish(self, tmp: Path) -> str:
        """Sync a fully written `.tmp-*` folder to disk, rename it into a version, make it live."""
        # Files hard-linked from the previous version (a delta's) are on disk already.
        for path in sorted(tmp.rglob("*")):
            if path.is_dir() or path.stat().st_nlink == 1:
                _fsync(path)
        version = f"v-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        os.rename(tmp, self.dir / version)
        pointer = self.dir / f".CURRENT.{uuid.uuid4().hex[:8]}"
        pointer.write_text(version)
        _fsync(pointer)
        os.replace(pointer, self.dir / "CURRENT")  # the atomic switch
        _fsync(self.dir)
        self._prune(keep={version})
        return version

    def _cleanup_temp(self):
        for p in self.dir.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
        for p in self.dir.glob(".CURRENT.*"):
            p.unlink(missing_ok=True)

    def _prune(self, keep: set[str]):
        # Keep the newest previous version too: a reader that read CURRENT a moment ago
        # may still be opening its files.
        versions = sorted(p for p in self.dir.glob("v-*") if p.name not in keep)
        for p in versions[:-1]:
            shutil.rmtree(p, ignore_errors=True)


class PartialCorpus(IndexStoreError):
    """sync() was given only the changed files, but has no live version to take the rest from."""


def _rows_by_article(chunks: Sequence[Chunk]) -> dict[str, list[int]]:
    if hasattr(chunks, "rows_by_article"):  # a ChunkTable or Segments (live rows only)
        return chunks.rows_by_article()
    out: dict[str, list[int]] = {}
    for row, c in enumerate(chunks):
        out.setdefault(c.article_id, []).append(row)
    return out


def _graph_vectors(index) -> np.ndarray:
    """The float vectors an HNSW index stores, as a read-only view of its mapped file (no copy).

    Valid while `index` lives: the Snapshot holds both.
    """
    import faiss

    storage = faiss.downcast_index(index.storage) if getattr(index, "storage", None) is not None else None
    if not isinstance(storage, faiss.IndexFlat):
        raise ValueError("vectors.npy is missing and the FAISS index holds no float vectors")
    view = faiss.rev_swig_ptr(storage.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d)
    view.flags.writeable = False  # the file is mapped read-only
    return view


def _fsync(path: Path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
