"""Index format 2: columns and BM25 stored with each version, format 1 converted without embedding,
and a sync killed midway resumed from its checkpoints."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant, ann, checkpoints, index as index_module
from assistant.bench.lean import as_format1
from assistant.chunk import Chunker
from assistant.chunkstore import ChunkTable
from assistant.errors import IndexStoreError
from assistant.ingest import read_corpus
from tests.conftest import CORPUS
from tests.test_index import CountingEmbedder, fresh  # noqa: F401 - fresh is a fixture

BIN = [sys.executable, "-m", "assistant.cli"]
SEED = "Where was WTDC-25 held?"


def _reader(a: Assistant) -> Assistant:
    r = Assistant(corpus_dir=a.settings.corpus_dir, index_dir=a.settings.index_dir, auto_index=False)
    r.embedder = a.embedder
    return r


def test_a_version_stores_columns_bm25_and_vectors_once(fresh):
    fresh.index(progress=False)
    snap = fresh.snapshot
    names = {p.name for p in snap.path.iterdir()}
    assert names == {"manifest.json", "articles.json", "vectors.npy", "chunks"}  # flat: no FAISS copy of the vectors
    assert isinstance(snap.chunks, ChunkTable) and isinstance(snap.vectors, np.memmap)
    s = fresh.settings
    chunker = Chunker(s.chunk_tokens, s.chunk_overlap, s.tokenizer, fits=fresh.embedder.fits)
    expected = [c for art in read_corpus(s.corpus_dir).articles for c in chunker.chunk(art)]
    assert list(snap.chunks) == expected  # every field of every chunk survives the columns
    assert snap.chunks[-1] == expected[-1] and len(snap.chunks[2:5]) == 3


def test_a_cold_reader_rebuilds_nothing(fresh, monkeypatch):
    import bm25s

    fresh.index(progress=False)

    def no_build(*args, **kwargs):
        raise AssertionError("BM25 was rebuilt at load")

    monkeypatch.setattr(bm25s.BM25, "index", no_build)
    monkeypatch.setattr(index_module, "read_jsonl", no_build)
    answer = _reader(fresh).ask(SEED)
    assert "Baku" in answer.text and answer.index_version == fresh.store.current()


@pytest.mark.parametrize("threshold", [10**6, 10])  # flat, then an HNSW graph
def test_a_format1_index_is_converted_without_embedding_again(fresh, monkeypatch, threshold):
    fresh.store.ann_threshold = threshold
    fresh.index(progress=False)
    chunks = list(fresh.snapshot.chunks)
    as_format1(fresh.settings.index_dir)
    with pytest.raises(IndexStoreError, match="assistant index"):
        _reader(fresh).ask(SEED)  # a reader may not convert; it says what to run
    fresh.embedder.texts = 0
    with monkeypatch.context() as m:  # the HNSW graph is kept, not built again
        m.setattr(ann, "build", lambda *a, **k: pytest.fail("the FAISS index was rebuilt"))
        report = fresh.index(progress=False)
    assert report.converted and not report.rebuilt and "Converted" in report.summary()
    assert report.embedded == fresh.embedder.texts == 0
    snap = fresh.store.load()
    assert snap.manifest["format"] == index_module.FORMAT and list(snap.chunks) == chunks
    assert (snap.path / "index.faiss").exists() == (threshold == 10)
    assert "Baku" in _reader(fresh).ask(SEED).text


def test_a_truncated_hnsw_file_is_damage_not_a_crash(fresh):
    fresh.store.ann_threshold = 10
    fresh.index(progress=False)
    path = fresh.store.load().path / "index.faiss"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IndexStoreError, match="assistant index --rebuild"):
        fresh.store.load()


class FailingEmbedder(CountingEmbedder):
    """The real model, until the call after `calls` batches: then the process 'dies'."""

    def __init__(self, real, calls):
        super().__init__(real)
        self.calls = calls

    def embed(self, texts, progress=False):
        if self.calls == 0:
            raise KeyboardInterrupt("killed mid-sync")
        self.calls -= 1
        return super().embed(texts, progress)


def test_an_interrupted_sync_keeps_what_it_embedded(fresh, monkeypatch):
    monkeypatch.setattr(checkpoints, "CHECKPOINT", 4)
    real = fresh.embedder.real
    fresh.embedder = FailingEmbedder(real, calls=2)
    with pytest.raises(KeyboardInterrupt):
        fresh.index(progress=False)
    assert fresh.store.current() is None
    fresh.embedder = CountingEmbedder(real)
    report = fresh.index(progress=False)
    assert report.embedded == fresh.embedder.texts - report.sentences == report.chunks - 8
    assert not (fresh.settings.index_dir / checkpoints.CACHE).exists()  # spent once published
    assert "Baku" in fresh.ask(SEED).text


def _env(corpus, index):
    # Chunk checkpoints are under test; answer sentences (14k here) would only add minutes.
    return dict(os.environ, ASSISTANT_CORPUS_DIR=str(corpus), ASSISTANT_INDEX_DIR=str(index),
                HF_HUB_OFFLINE="1", ASSISTANT_SENTENCE_VECTORS="false")


def _cached(index: Path) -> int:
    """Chunks whose vectors a sync has checkpointed so far."""
    total = 0
    for part in (index / checkpoints.CACHE).glob("part-*.npz"):
        with np.load(part) as z:
            total += len(z["keys"])
    return total


@pytest.mark.slow
def test_kill_9_midway_then_the_next_sync_embeds_only_the_rest(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    for i in range(1200):
        (corpus / f"extra{i:04d}.txt").write_text(
            " ".join(f"Report {i} sentence {j} about fiber, satellites and e-government." for j in range(12)))
    proc = subprocess.Popen(BIN + ["index"], env=_env(corpus, index),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _cached(index) < checkpoints.CHECKPOINT:  # a third of the way or so, as in the issue
        assert proc.poll() is None and time.time() < deadline, "the sync ended before it could be killed"
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (index / "CURRENT").exists()
    cached = _cached(index)
    again = subprocess.run(BIN + ["index"], env=_env(corpus, index), capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    chunks, embedded = map(int, re.search(r"as (\d+) chunks .*; (\d+) chunks embedded", again.stdout).groups())
    assert embedded == chunks - cached and cached >= checkpoints.CHECKPOINT
    env = _env(corpus, index) | {"ASSISTANT_AUTO_INDEX": "false"}
    asked = subprocess.run(BIN + ["ask", SEED], env=env, capture_output=True, text=True, timeout=300)
    assert asked.returncode == 0 and "Baku" in asked.stdout


def test_the_lean_bench_writes_a_loadable_index_without_the_model(tmp_path):
    from assistant.bench import synth
    from assistant.bench.lean import synthetic_index
    from assistant.index import IndexStore

    pool = synth.sentence_pool(CORPUS)
    base = np.random.default_rng(0).standard_normal((50, 384)).astype(np.float32)
    synthetic_index(tmp_path / "index", 40, pool, base / np.linalg.norm(base, axis=1, keepdims=True))
    snap = IndexStore(tmp_path / "index").load()
    assert len(snap.chunks) == len(snap.vectors) == 40 and len(snap.chunks.articles) == 10
    c = snap.chunks[7]
    # The extractive answer slices sentences out of the chunk text by these offsets.
    assert all(c.text[a - c.start:b - c.start] in pool for a, b in c.sentences)
    assert snap.bm25 is not None and snap.manifest["index"]["type"] == "flat"
