"""Index faults the other suites leave out: each damaged file, a manifest or a whole index from
another model, a broken CURRENT pointer. Asking says what to run; the next index run recovers."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from assistant.chunk import Chunker
from assistant.errors import IndexStoreError
from assistant.index import IndexStore
from assistant.ingest import read_corpus
from tests.conftest import CORPUS

BIN = [sys.executable, "-m", "assistant.cli"]
SEED = "Where was WTDC-25 held?"
OTHER_MODEL = "other/encoder-768d"


class OtherModel:
    """A stand-in for a different embedding model: 768 dimensions, another name."""

    name, dimension = OTHER_MODEL, 768

    def embed(self, texts, progress=False):
        rng = np.random.default_rng(len(texts))
        v = rng.standard_normal((len(texts), 768)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


class Remembering:
    """The session's model with a memory: rebuilding the same corpus costs no model time."""

    def __init__(self, real):
        self.real, self.seen = real, {}

    def __getattr__(self, name):
        return getattr(self.real, name)

    def embed(self, texts, progress=False):
        missing = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if missing:
            self.seen.update(zip(missing, self.real.embed(missing)))
        return np.stack([self.seen[t] for t in texts]) if texts else self.real.embed([])


@pytest.fixture(scope="module")
def embedder(assistant):
    return Remembering(assistant.embedder)


@pytest.fixture
def built(tmp_path, embedder):
    """A corpus copy with a freshly built index."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    a = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index")
    a.embedder = embedder
    a.index(progress=False)
    return a


def _reader(a: Assistant) -> Assistant:
    """A new process's view of the same folders, without auto_index: it only reads."""
    r = Assistant(corpus_dir=a.settings.corpus_dir, index_dir=a.settings.index_dir,
                  auto_index=False)
    r.embedder = a.embedder
    return r


def _live(a: Assistant) -> Path:
    return a.settings.index_dir / a.store.current()


def _cut(path: Path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _other_model_index(a: Assistant, folder: Path) -> Path:
    """An index of the same corpus built by another model; returns its live version folder."""
    store = IndexStore(folder)
    s = a.settings
    chunker = Chunker(s.chunk_tokens, s.chunk_overlap, s.tokenizer, fits=a.embedder.fits)
    store.sync(read_corpus(s.corpus_dir), OtherModel(), chunker, OTHER_MODEL,
               s.chunker_signature(), progress=False)
    return folder / store.current()


FAULTS = {
    "vectors.npy cut in half": lambda a, tmp: _cut(_live(a) / "vectors.npy"),
    "chunk texts cut in half": lambda a, tmp: _cut(_live(a) / "chunks" / "texts.bin"),
    "a chunk column emptied": lambda a, tmp: (_live(a) / "chunks" / "article.npy").write_bytes(b""),
    "chunk tables cut in half": lambda a, tmp: _cut(_live(a) / "chunks" / "tables.json"),
    "BM25 index cut in half": lambda a, tmp: _cut(_live(a) / "chunks" / "bm25" / "data.csc.index.npy"),
    "manifest.json cut in half": lambda a, tmp: _cut(_live(a) / "manifest.json"),
    "articles.json cut in half": lambda a, tmp: _cut(_live(a) / "articles.json"),
    "manifest.json from another model": lambda a, tmp: shutil.copy(
        _other_model_index(a, tmp / "other") / "manifest.json", _live(a) / "manifest.json"),
    "a whole index from another model": lambda a, tmp: shutil.copytree(
        _other_model_index(a, tmp / "other"), _live(a), dirs_exist_ok=True),
    "CURRENT names a missing version": lambda a, tmp: (
        a.settings.index_dir / "CURRENT").write_text("v-19700101-000000-gone00"),
    "live version folder deleted": lambda a, tmp: shutil.rmtree(_live(a)),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_damaged_index_is_explained_then_recovered(built, tmp_path, fault):
    FAULTS[fault](built, tmp_path)
    # A reader that may not rebuild says what happened and the command that fixes it.
    with pytest.raises(IndexStoreError, match="assistant index") as err:
        _reader(built).ask(SEED)
    assert str(built.settings.index_dir) in str(err.value)
    # The next index run notices, rebuilds in full and leaves no half-written folder.
    report = built.index(progress=False)
    assert report.rebuilt and report.articles == 5 and report.embedded == report.chunks
    assert not list(built.settings.index_dir.glob(".tmp-*"))
    assert "Baku" in _reader(built).ask(SEED).text


def test_model_name_is_checked_even_when_the_vectors_would_fit(built, tmp_path):
    """Same dimension, other model: comparing its vectors with ours would give quiet nonsense."""
    manifest = _live(built) / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "model": "sentence-transformers/other-384d"}))
    with pytest.raises(IndexStoreError, match="other-384d"):
        _reader(built).ask(SEED)
    assert "model" in built.index(progress=False).rebuilt


def test_manifest_that_is_not_an_object_is_rebuilt(built):
    (_live(built) / "manifest.json").write_text("[]")
    with pytest.raises(IndexStoreError):
        _reader(built).ask(SEED)
    assert built.index(progress=False).rebuilt


def test_current_pointer_with_binary_garbage_is_rebuilt(built):
    (built.settings.index_dir / "CURRENT").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(IndexStoreError):
        _reader(built).ask(SEED)
    assert built.index(progress=False).rebuilt


def test_rebuild_flag_recovers_from_anything(built):
    """The documented way out when all else fails."""
    (_live(built) / "manifest.json").write_text("[]")
    (built.settings.index_dir / "CURRENT").write_bytes(b"\xff\xfe")
    report = built.index(rebuild=True, progress=False)
    assert report.rebuilt == "requested" and "Baku" in _reader(built).ask(SEED).text


# -- the same through the CLI, as a user meets it ----------------------------------------------

def _env(a: Assistant, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return env | {"ASSISTANT_CORPUS_DIR": str(a.settings.corpus_dir),
                  "ASSISTANT_INDEX_DIR": str(a.settings.index_dir), "HF_HUB_OFFLINE": "1"} | extra


def _run(env, *args):
    done = subprocess.run(BIN + list(args), env=env, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    return done


@pytest.mark.slow
def test_cli_truncated_chunk_texts(built):
    _cut(_live(built) / "chunks" / "texts.bin")
    asked = _run(_env(built, ASSISTANT_AUTO_INDEX="false"), "ask", SEED)
    assert asked.returncode == 4
    assert asked.stderr.startswith("Error: The index in ") and "is damaged" in asked.stderr
    assert "assistant index --rebuild" in asked.stderr
    indexed = _run(_env(built), "index")
    assert indexed.returncode == 0 and "Full rebuild: previous index unreadable" in indexed.stdout
    again = _run(_env(built, ASSISTANT_AUTO_INDEX="false"), "ask", SEED)
    assert again.returncode == 0 and "Baku" in again.stdout


@pytest.mark.slow
def test_cli_manifest_from_another_model(built, tmp_path):
    FAULTS["manifest.json from another model"](built, tmp_path)
    asked = _run(_env(built, ASSISTANT_AUTO_INDEX="false"), "ask", SEED)
    assert asked.returncode == 4 and OTHER_MODEL in asked.stderr
    assert asked.stderr.strip().endswith("Rebuild it with: assistant index")
    indexed = _run(_env(built), "index")
    assert indexed.returncode == 0
    assert f"Full rebuild: index was built with model '{OTHER_MODEL}'" in indexed.stdout
    assert "Baku" in _reader(built).ask(SEED).text


def test_cli_unusable_index_folder_is_one_line(tmp_path, built):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder should be")
    done = _run(_env(built, ASSISTANT_INDEX_DIR=str(blocker)), "index")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"Error: File exists: {blocker}. Check that path and its permissions "
        "(ASSISTANT_CORPUS_DIR, ASSISTANT_INDEX_DIR)."]
