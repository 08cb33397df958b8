"""Answer sentences and terms embedded at index time, so ask() looks their vectors up instead of running the model."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .sentences import answers, quoted

FOLDER = "sentences"  # in the index directory, beside the versions: shared by all of them
# Sentences per segment file: a sync killed midway loses at most this many (~40 s on 2 cores),
# and the next one embeds only the rest.
SEGMENT = 2048
MAX_SEGMENTS = 16  # more, or more dead rows than live ones, and they are merged into one


def key(text: str) -> int:
    """A 64-bit hash of a sentence's text (collisions: ~1e-9 at a million sentences)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def corpus_texts(snapshot) -> Iterator[str]:
    """What answers embed: every quotable sentence, and every indexed term (paraphrase checks)."""
    yield from corpus_sentences(snapshot.chunks)
    if snapshot.bm25 is not None:
        yield from (t for t in snapshot.bm25.vocab_dict if t)


def corpus_sentences(chunks) -> Iterator[str]:
    """Every sentence of the chunks that an extractive answer could quote, as it quotes it."""
    spans = getattr(chunks, "sentence_spans", None)
    if spans is None:  # a list of Chunk objects
        for c in chunks:
            yield from _quotable(c.text, c.start, c.sentences)
        return
    # A ChunkTable: read its columns, build no Chunk (80k chunks: ~2 s, not ~10).
    offsets, starts = chunks.sentence_offsets, chunks.spans[:, 0]
    for i in range(len(chunks)):
        s0, s1 = int(offsets[i]), int(offsets[i + 1])
        yield from _quotable(chunks.text(i), int(starts[i]), spans[s0:s1].tolist())


def _quotable(text: str, start: int, sentences: Iterable) -> Iterator[str]:
    for a, b in sentences:
        s = quoted(text[a - start:b - start])[1]
        if answers(s):
            yield s


class SentenceVectors:
    """One model's sentence vectors in append-only segments (fp16), found by the hash of their text."""

    def __init__(self, index_dir: Path, space: str):
        # One folder per model and vector space: another model's vectors are never mixed in.
        sig = hashlib.sha256(space.encode()).hexdigest()[:12]
        self.root = Path(index_dir) / FOLDER
        self.dir, self.space = self.root / sig, space
        self._keys = np.zeros(0, np.uint64)  # sorted, over every open segment
        self._where = np.zeros((0, 2), np.int64)  # (segment, row) of each key
        self._vectors: list[np.ndarray] = []
        self._opened = False

    def __len__(self) -> int:
        self._open()
        return len(self._keys)

    def lookup(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those texts that have one (float32)."""
        self._open()
        if not len(self._keys):
            return {}
        wanted = np.array([key(t) for t in texts], dtype=np.uint64)
        pos = np.minimum(np.searchsorted(self._keys, wanted), len(self._keys) - 1)
        out = {}
        for t, p, hit in zip(texts, pos, self._keys[pos] == wanted):
            if hit:
                seg, row = self._where[p]
                out[t] = self._vectors[seg][row].astype(np.float32)
        return out

    def fill(self, texts: Iterable[str], embedder, progress: bool = False) -> int:
        """Embed the texts not stored yet, a segment at a time; returns how many were embedded."""
        from filelock import FileLock

        live = {key(t): t for t in texts}
        self.dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.dir / ".lock")):  # two syncs at once: one writes, the other finds them
            self._opened = False
            self.drop_others()
            return self._fill(live, embedder, progress)

    def _fill(self, live: dict[int, str], embedder, progress: bool) -> int:
        self._open()
        stored = set(self._keys.tolist())
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
        self._opened = False
        self._compact(set(live))
        self._opened = False
        return len(todo)

    def _segments(self) -> list[str]:
        # A segment counts once its keys file exists: vectors are written first, keys last.
        return sorted(p.name[:-len(".keys.npy")] for p in self.dir.glob("seg-*.keys.npy"))

    def _open(self) -> None:
        if self._opened:
            return
        self._opened = True
        keys, where, self._vectors = [], [], []
        for n, name in enumerate(self._segments() if self.dir.is_dir() else []):
            try:
                k = np.load(self.dir / f"{name}.keys.npy")
                v = np.load(self.dir / f"{name}.vecs.npy", mmap_mode="r")
            except (OSError, ValueError):  # torn by a crash: those sentences are embedded again
                continue
            if len(k) != len(v):
                continue
            keys.append(k)
            where.append(np.stack([np.full(len(k), n), np.arange(len(k))], axis=1))
            self._vectors.append(v)
        if not keys:
            self._keys, self._where = np.zeros(0, np.uint64), np.zeros((0, 2), np.int64)
            return
        allkeys = np.concatenate(keys)
        order = np.argsort(allkeys, kind="stable")
        self._keys, self._where = allkeys[order], np.concatenate(where)[order]

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
        (self.dir / "space.json").write_text(json.dumps({"space": self.space}))

    def _compact(self, live: set[int]) -> None:
        """Merge the segments into one holding only live sentences, when many or mostly dead."""
        self._open()
        dead = sum(1 for k in self._keys.tolist() if k not in live)
        names = self._segments()
        if len(names) <= MAX_SEGMENTS and dead <= len(self._keys) - dead:
            return
        keep = np.array([k in live for k in self._keys.tolist()], dtype=bool)
        keys, first = np.unique(self._keys[keep], return_index=True)  # one copy of each
        if len(keys):
            where = self._where[keep][first]
            self._write(keys, np.stack([self._vectors[s][r] for s, r in where]))
        for name in names:  # open readers keep their mapped pages: Linux frees them on close
            for suffix in (".keys.npy", ".vecs.npy"):
                (self.dir / f"{name}{suffix}").unlink(missing_ok=True)

    def drop_others(self) -> None:
        """Remove the vectors of other models (left by a model change)."""
        for p in self.root.iterdir() if self.root.is_dir() else []:
            if p.is_dir() and p != self.dir:
                shutil.rmtree(p, ignore_errors=True)
