"""Answer sentences and terms embedded at index time, so ask() looks their vectors up instead of running the model."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .sentences import answers, read_on

FOLDER = "sentences"  # in the index directory, beside the versions: shared by all of them
# Sentences per segment file: a sync killed midway loses at most this many (~40 s on 2 cores),
# and the next one embeds only the rest.
SEGMENT = 2048
# More segments than this, or more articles removed or changed since the last compaction than
# half of those live, and the segments are merged into one of live vectors only.
MAX_SEGMENTS = 16
STATE = "embedded.json"  # article id -> content hash of the versions whose sentences are stored


def key(text: str) -> int:
    """A 64-bit hash of a sentence's text (collisions: ~1e-9 at a million sentences)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def corpus_texts(snapshot) -> Iterator[str]:
    """What answers embed: every quotable sentence, and every indexed term (paraphrase checks)."""
    return itertools.chain(corpus_sentences(snapshot.chunks), vocabulary(snapshot))


def vocabulary(snapshot) -> Iterator[str]:
    """The version's BM25 terms: the words the paraphrase checks compare."""
    return (t for t in snapshot.vocabulary() if t)


def corpus_sentences(chunks, articles: Iterable[str] | None = None) -> Iterator[str]:
    """Every sentence an extractive answer could quote (of these articles only, if given), as quoted."""
    # Read from the ChunkTable's columns, building no Chunk (80k chunks: ~4 s, not ~10).
    if articles is None:
        rows: Iterable[int] = chunks.live_rows()
    else:
        by_article = chunks.rows_by_article()
        rows = [r for aid in articles for r in by_article.get(aid, ())]
    for i in rows:
        yield from _quotable(*chunks.sentences_of(i))


def _quotable(text: str, start: int, sentences: Iterable) -> Iterator[str]:
    for _, _, s in read_on(text, start, sentences):  # as answers read them (quotes.sentences)
        if answers(s):
            yield s


@dataclass(frozen=True)
class _Opened:
    """The segments readable when opened: built whole, then swapped in, so a reader never sees half."""

    keys: np.ndarray  # uint64, sorted, over every segment
    where: np.ndarray  # (segment, row) of each key
    names: list[str]
    files: list[tuple]  # (file, data offset, dimension) of each segment, for pread
    vectors: list[np.ndarray]  # memory maps of each segment, for compaction

    def find(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions in `keys` of the wanted keys, and which of them are stored."""
        if not len(self.keys):
            return np.zeros(len(wanted), np.int64), np.zeros(len(wanted), bool)
        pos = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        return pos, self.keys[pos] == wanted


class SentenceVectors:
    """One model's sentence vectors in append-only segments (fp16), found by the hash of their text."""

    def __init__(self, index_dir: Path, space: str):
        # One folder per model and vector space: another model's vectors are never mixed in.
        sig = hashlib.sha256(space.encode()).hexdigest()[:12]
        self.root = Path(index_dir) / FOLDER
        self.dir, self.space = self.root / sig, space
        self._opened: _Opened | None = None  # None: read the segments again at the next use

    def __len__(self) -> int:
        return len(self._open().keys)

    def lookup(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those texts that have one (float32)."""
        seg = self._open()
        pos, hit = seg.find(np.array([key(t) for t in texts], dtype=np.uint64))
        out = {}
        for t, p in zip(np.asarray(texts, dtype=object)[hit], pos[hit]):
            n, row = seg.where[p]
            fh, offset, dim = seg.files[n]
            raw = os.pread(fh.fileno(), 2 * dim, offset + int(row) * 2 * dim)
            out[t] = np.frombuffer(raw, np.float16).astype(np.float32)
        return out

    def fill(self, snapshot, embedder, progress: bool = False) -> int:
        """Embed what a synced version adds: sentences of new or changed articles, new terms."""
        articles = {aid: a["hash"] for aid, a in snapshot.manifest["articles"].items()}
        with self._locked():
            state = self._state()
            # A segment lost since (torn by a crash, deleted): check every article again.
            done = state["articles"] if set(state["segments"]) <= set(self._open().names) else {}
            fresh = [aid for aid, h in articles.items() if done.get(aid) != h]
            # Only the new articles are read: an upload into a large index costs its own size.
            texts = itertools.chain(corpus_sentences(snapshot.chunks, fresh), vocabulary(snapshot))
            n = self._add({key(t): t for t in texts}, embedder, progress)
            dead = state["dead"] + sum(1 for aid, h in done.items() if articles.get(aid) != h)
            if len(self._segments()) > MAX_SEGMENTS or dead > len(articles) / 2:
                self._compact(key(t) for t in corpus_texts(snapshot))
                dead = 0
            _replace(self.dir / STATE, json.dumps({"articles": articles, "dead": dead,
                                                   "segments": self._open().names}))
        return n

    def add(self, texts: Iterable[str], embedder) -> int:
        """Embed and store the texts not stored yet; returns how many were embedded."""
        with self._locked():
            return self._add({key(t): t for t in texts}, embedder, False)

    @contextlib.contextmanager
    def _locked(self):
        from filelock import FileLock

        self.dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.dir / ".lock")):  # two syncs at once: one writes, the other finds them
            self._opened = None
            self.drop_others()
            yield

    def _state(self) -> dict:
        """Which article versions are embedded, and how many articles died since the last compaction."""
        try:
            return json.loads((self.dir / STATE).read_text())
        except (OSError, ValueError):  # none yet, or torn: every article is checked again
            return {"articles": {}, "dead": 0, "segments": []}

    def _add(self, live: dict[int, str], embedder, progress: bool) -> int:
        stored = set(self._open().keys.tolist())
        todo = [t for k, t in live.items() if k not in stored]
        bar = None
        if progress and todo:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc="Embedding sentences", unit="sentence")
        for lo in range(0, len(todo), SEGMENT):
            part = todo[lo:lo + SEGMENT]
            vecs = np.asarray(embedder.embed(part, progress=False), dtype=np.float16)
            self._write(np.array([key(t) for t in part], dtype=np.uint64), vecs)
            if bar:
                bar.update(len(part))
        if bar:
            bar.close()
        self._opened = None
        return len(todo)

    def _segments(self) -> list[str]:
        # A segment counts once its keys file exists: vectors are written first, keys last.
        return sorted(p.name[:-len(".keys.npy")] for p in self.dir.glob("seg-*.keys.npy"))

    def _open(self) -> _Opened:
        if self._opened is not None:
            return self._opened
        keys, where, names, files, vectors = [], [], [], [], []
        for name in self._segments() if self.dir.is_dir() else []:
            try:
                k = np.load(self.dir / f"{name}.keys.npy")
                v = np.load(self.dir / f"{name}.vecs.npy", mmap_mode="r")
            except (OSError, ValueError):  # torn by a crash: those sentences are embedded again
                continue
            if len(k) != len(v):
                continue
            # Lookups read their rows with pread: a few scattered rows per answer, where a fault
            # on the mapping would map 64 KB of cached neighbours into the process each time.
            files.append((open(self.dir / f"{name}.vecs.npy", "rb"), v.offset, v.shape[1]))
            where.append(np.stack([np.full(len(k), len(keys)), np.arange(len(k))], axis=1))
            keys.append(k)
            vectors.append(v)
            names.append(name)
        allkeys = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
        order = np.argsort(allkeys, kind="stable")
        where = np.concatenate(where)[order] if keys else np.zeros((0, 2), np.int64)
        # One assignment: answers looking texts up in other threads see the old view or this one.
        self._opened = _Opened(allkeys[order], where, names, files, vectors)
        return self._opened

    def _write(self, keys: np.ndarray, vecs: np.ndarray) -> None:
        """One new segment: vectors, then keys, each written whole and renamed into place."""
        name = f"seg-{len(self._segments()):06d}-{uuid.uuid4().hex[:8]}"
        for suffix, arr in ((".vecs.npy", vecs), (".keys.npy", keys)):
            tmp = self.dir / f".{name}{suffix}"
            with open(tmp, "wb") as fh:
                np.save(fh, arr)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.dir / f"{name}{suffix}")
        _replace(self.dir / "space.json", json.dumps({"space": self.space}))

    def _compact(self, live: Iterable[int]) -> None:
        """Merge the segments into one holding only live texts, in corpus order (removed articles' leave)."""
        self._opened = None
        seg, names = self._open(), self._segments()
        wanted = np.fromiter(dict.fromkeys(live), np.uint64)
        pos, hit = seg.find(wanted)
        if hit.any():
            # Corpus order keeps a passage's sentences on a page or two (key order: a page each).
            self._write(wanted[hit], np.stack([seg.vectors[n][r] for n, r in seg.where[pos[hit]]]))
        for name in names:  # open readers keep their mapped pages: Linux frees them on close
            for suffix in (".keys.npy", ".vecs.npy"):
                (self.dir / f"{name}{suffix}").unlink(missing_ok=True)
        self._opened = None

    def drop_others(self) -> None:
        """Remove the vectors of other models (left by a model change)."""
        for p in self.root.iterdir() if self.root.is_dir() else []:
            if p.is_dir() and p != self.dir:
                shutil.rmtree(p, ignore_errors=True)


def _replace(path: Path, text: str) -> None:
    """Write a small file whole, or not at all."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(text)
    os.replace(tmp, path)
