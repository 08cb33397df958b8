"""The persisted index: incremental sync, atomic replace, rebuild on model or chunker change."""

import shutil

import numpy as np
import pytest

from assistant import Assistant
from assistant.errors import ConfigError, IndexStoreError
from tests.conftest import CORPUS


class CountingEmbedder:
    """Wraps the real embedder and counts the texts it is asked to embed."""

    def __init__(self, real):
        self.real, self.texts = real, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def embed(self, texts, progress=False):
        self.texts += len(texts)
        return self.real.embed(texts, progress)


@pytest.fixture
def fresh(tmp_path, assistant):
    """An Assistant over a private corpus copy, sharing the loaded model, with an embed counter."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    a = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index")
    a.embedder = CountingEmbedder(assistant.embedder)
    return a


def test_reindex_embeds_only_the_changed_article(fresh):
    first = fresh.index(progress=False)
    # The model also embeds the answer sentences and terms, once (tests/test_sentence_vectors.py).
    assert first.added == 5 and first.embedded == first.chunks == fresh.embedder.texts - first.sentences
    again = fresh.index(progress=False)
    assert (again.unchanged, again.embedded) == (5, 0)

    path = fresh.settings.corpus_dir / "002_7cbda00c25f46a63.txt"
    path.write_text(path.read_text() + "\n\nThe two ministers also agreed on a fiber project in Jeddah.\n")
    fresh.embedder.texts = 0
    changed = fresh.index(progress=False)
    n_002 = sum(c.source.startswith("002") for c in fresh.snapshot.chunks)
    assert (changed.changed, changed.unchanged) == (1, 4)
    assert changed.embedded == fresh.embedder.texts - changed.sentences == n_002
    answer = fresh.ask("In which city did the ministers agree on a fiber project?")
    assert "Jeddah" in answer.text


def test_removed_and_added_articles(fresh):
    fresh.index(progress=False)
    (fresh.settings.corpus_dir / "000_2a89f7724b3994e4.txt").unlink()
    (fresh.settings.corpus_dir / "new.txt").write_text("Kazakhstan and Iran opened a data center in Astana.")
    report = fresh.index(progress=False)
    assert (report.removed, report.added, report.unchanged) == (1, 1, 4)
    sources = {c.source for c in fresh.snapshot.chunks}
    assert "000_2a89f7724b3994e4.txt" not in sources and "new.txt" in sources
    assert "Astana" in fresh.ask("Where did Kazakhstan and Iran open a data center?").text
    assert fresh.ask("Who is Oman's ambassador to Iran?").abstained


def test_an_added_article_is_written_as_a_delta_and_keeps_every_old_row(fresh):
    fresh.index(progress=False)
    before = fresh.snapshot
    (fresh.settings.corpus_dir / "000_new.txt").write_text(
        "Kazakhstan and Iran opened a data center in Astana on Monday.")
    fresh.embedder.texts = 0
    report = fresh.index(progress=False)
    assert report.delta and (report.added, report.embedded) == (1, 1) == (1, fresh.embedder.texts - report.sentences)
    after = fresh.snapshot
    assert after.chunks[:len(before.chunks)] == before.chunks[:] and after.chunks[-1].source == "000_new.txt"
    assert "Astana" in fresh.ask("Where did Kazakhstan and Iran open a data center?").text
    assert "Baku" in fresh.ask("Where was WTDC-25 held?").text


def test_a_variant_shares_the_live_index_and_follows_its_updates(fresh):
    fresh.index(progress=False)
    strict = fresh.variant(abstain_threshold=0.99, openai_model="tiny")
    assert strict.embedder is fresh.embedder and strict.snapshot is fresh.snapshot
    assert strict.settings.openai_model == "tiny" and fresh.settings.openai_model != "tiny"
    question = "Where did Kazakhstan and Iran open a data center?"
    (fresh.settings.corpus_dir / "000_new.txt").write_text(
        "Kazakhstan and Iran opened a data center in Astana on Monday.")
    fresh.index(progress=False)  # an upload in the chat re-indexes through the shared assistant
    assert strict.snapshot is fresh.snapshot and "Astana" in fresh.ask(question).text
    assert strict.last_report is fresh.last_report and fresh.last_report.added == 1
    assert strict.ask(question).abstained  # its own generator settings, the same passages
    assert strict.retrieve(question)[0].source == "000_new.txt"
    with pytest.raises(ConfigError, match="build a new Assistant"):
        fresh.variant(index_dir="/elsewhere")


def test_crash_while_writing_keeps_the_previous_index(fresh, monkeypatch):
    fresh.index(progress=False)
    before = fresh.store.current()
    (fresh.settings.corpus_dir / "new.txt").write_text("A new article about Turkmenistan.")

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated crash mid-write)")

    monkeypatch.setattr(np, "save", crash)
    with pytest.raises(OSError):
        fresh.index(progress=False)
    monkeypatch.undo()
    assert fresh.store.current() == before
    reloaded = Assistant(corpus_dir=fresh.settings.corpus_dir, index_dir=fresh.settings.index_dir,
                         auto_index=False)
    reloaded.embedder = fresh.embedder
    assert "Baku" in reloaded.ask("Where was WTDC-25 held?").text
    assert {c.source for c in reloaded.snapshot.chunks}.isdisjoint({"new.txt"})
    # The next run recovers: it cleans the half-written folder and indexes the new file.
    report = fresh.index(progress=False)
    assert report.added == 1 and not list(fresh.settings.index_dir.glob(".tmp-*"))


def test_model_or_chunker_change_forces_a_rebuild(fresh):
    fresh.index(progress=False)
    other = Assistant(corpus_dir=fresh.settings.corpus_dir, index_dir=fresh.settings.index_dir,
                      chunk_tokens=96, chunk_overlap=16)
    other.embedder = fresh.embedder
    report = other.index(progress=False)
    assert report.rebuilt and "chunker" in report.rebuilt and report.embedded == report.chunks

    renamed = Assistant(corpus_dir=fresh.settings.corpus_dir, index_dir=fresh.settings.index_dir,
                        chunk_tokens=96, chunk_overlap=16, embedding_model="another-model")
    renamed.embedder = fresh.embedder  # same weights, different declared model name
    assert "model" in renamed.index(progress=False).rebuilt


def test_corrupt_index_is_reported_then_rebuilt(fresh):
    fresh.index(progress=False)
    version = fresh.settings.index_dir / fresh.store.current()
    (version / "chunks" / "spans.npy").write_bytes(b"garbage")
    with pytest.raises(IndexStoreError, match="assistant index --rebuild"):
        fresh.store.load()
    report = fresh.index(progress=False)
    assert report.rebuilt and "unreadable" in report.rebuilt
    assert "Baku" in fresh.ask("Where was WTDC-25 held?").text


def test_missing_index_without_auto_index_says_what_to_run(tmp_path):
    a = Assistant(index_dir=tmp_path / "none", auto_index=False)
    with pytest.raises(IndexStoreError, match="assistant index"):
        a.ask("Where was WTDC-25 held?")


def test_manifest_records_model_dimension_chunker_and_hashes(assistant):
    m = assistant.snapshot.manifest
    assert m["dimension"] == 384 and m["model"] == assistant.settings.embedding_model
    assert m["chunker"] == assistant.settings.chunker_signature()
    assert len(m["articles"]) == 5 and all(len(v["hash"]) == 16 for v in m["articles"].values())


def test_a_start_reads_no_article_when_no_file_changed(fresh, monkeypatch):
    from assistant import api as api_module

    fresh.index(progress=False)

    def start():
        a = Assistant(corpus_dir=fresh.settings.corpus_dir, index_dir=fresh.store.dir)
        a.embedder = fresh.embedder
        return a

    real_read = api_module.read_corpus
    monkeypatch.setattr(api_module, "read_corpus", lambda *a, **k: pytest.fail("the corpus was read"))
    assert "Baku" in start().ask("Where was WTDC-25 held?").text
    # An edited file (its size or time changes) is read again at the next start, and only it embedded.
    monkeypatch.setattr(api_module, "read_corpus", real_read)
    path = fresh.settings.corpus_dir / "002_7cbda00c25f46a63.txt"
    path.write_text(path.read_text() + "\n\nThe two ministers also agreed on a fiber project in Jeddah.\n")
    fresh.embedder.texts = 0
    later = start()
    assert "Jeddah" in later.ask("In which city did the ministers agree on a fiber project?").text
    assert later.last_report.changed == 1 and 0 < fresh.embedder.texts < later.last_report.chunks


def test_a_start_with_another_vector_space_syncs_instead_of_opening_the_old_index(fresh):
    fresh.index(progress=False)
    later = Assistant(corpus_dir=fresh.settings.corpus_dir, index_dir=fresh.store.dir)
    later.embedder = CountingEmbedder(fresh.embedder.real)
    later.embedder.vector_space = "int8"  # as the onnx-int8 backend says: its vectors differ
    later.ask("Where was WTDC-25 held?")
    assert later.last_report.rebuilt and "int8" in later.last_report.rebuilt
