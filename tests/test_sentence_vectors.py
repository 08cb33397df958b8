"""Answer sentences embedded at index time: answers run the model on the question only, and read the same."""

import shutil

import numpy as np
import pytest

from assistant import Assistant, sentvecs
from assistant.embed import get_embedder
from tests.conftest import CORPUS

QUESTIONS = ["Who did Hashemi meet at WTDC-25?",
             "What did the Kenyan Cabinet Secretary call for?",
             "When will the fair take place?"]


def recording(embedder):
    """The real embedder, recording every text it runs the model on (cached ones are not)."""
    embedder.texts, real = [], embedder.embed

    def embed(texts, progress=False):
        embedder.texts += list(texts)
        return real(texts, progress)

    embedder.embed = embed
    return embedder


@pytest.fixture
def fresh(tmp_path):
    """An Assistant over a private corpus copy and index, with its own model and caches."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    a = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index")
    a.embedder = recording(get_embedder(a.settings.embedding_model, backend=a.settings.embedding_backend))
    return a


def test_an_answer_runs_the_model_on_the_question_only_and_reads_as_without_them(fresh):
    report = fresh.index(progress=False)
    assert report.sentences > 0 and "sentences" in report.summary()
    plain = Assistant(corpus_dir=fresh.settings.corpus_dir, index_dir=fresh.settings.index_dir,
                      sentence_vectors=False)
    for q in QUESTIONS:
        fresh.embedder.texts = []
        fast, slow = fresh.ask(q), plain.ask(q)
        # The question is embedded (and its words, when a check compares them by meaning):
        # no sentence of any passage goes through the model.
        quoted = {c.quote for c in slow.citations}
        assert not quoted & set(fresh.embedder.texts)
        # A question naming an office is searched again with its holder's family name added.
        assert all(len(t.split()) <= len(q.split()) or t.startswith(q) for t in fresh.embedder.texts), \
            fresh.embedder.texts
        assert fast.text == slow.text
        assert [c.score for c in fast.citations] == pytest.approx([c.score for c in slow.citations], abs=2e-3)


def test_only_new_sentences_are_embedded_and_removed_ones_are_dropped(fresh, monkeypatch):
    first = fresh.index(progress=False)
    assert fresh.index(progress=False).sentences == 0  # nothing changed, nothing embedded
    (fresh.settings.corpus_dir / "new.txt").write_text(
        "Kazakhstan and Iran opened a data center in Astana. The center holds regional archives.")
    read, real = [], sentvecs._quotable
    monkeypatch.setattr(sentvecs, "_quotable", lambda text, *rest: read.append(text) or real(text, *rest))
    added = fresh.index(progress=False)
    assert 0 < added.sentences <= 10  # its two sentences and a few new terms
    assert read and all("Astana" in t for t in read)  # an upload reads its own chunks, not the index
    monkeypatch.undo()
    # Most of the corpus removed: the dead vectors outnumber the live ones and are compacted away.
    for f in sorted(fresh.settings.corpus_dir.glob("00[0-3]*")):
        f.unlink()
    fresh.index(progress=False)
    store = fresh._sentences()
    live = set(sentvecs.corpus_texts(fresh.snapshot))
    assert len(store) == len(live) < first.sentences
    assert len(list(store.dir.glob("seg-*.keys.npy"))) == 1


def test_a_sync_killed_while_embedding_sentences_resumes_where_it_stopped(fresh, monkeypatch):
    monkeypatch.setattr(sentvecs, "SEGMENT", 32)
    real = fresh.embedder.embed
    calls = []

    def dies_on_the_third_segment(texts, progress=False):
        calls.append(len(texts))
        if len(calls) == 3 + 1:  # the chunks' call, then two segments of sentences
            raise KeyboardInterrupt
        return real(texts, progress)

    fresh.embedder.embed = dies_on_the_third_segment
    with pytest.raises(KeyboardInterrupt):
        fresh.index(progress=False)
    fresh.embedder.embed = real
    # The version was published before the sentences: it answers, and the next sync embeds the rest.
    assert fresh.store.current()
    again = fresh.index(progress=False)
    total = len(set(sentvecs.corpus_texts(fresh.snapshot)))
    assert again.embedded == 0 and again.sentences == total - 2 * 32
    assert len(fresh._sentences()) == total


def test_a_torn_segment_is_ignored_and_embedded_again(fresh):
    fresh.index(progress=False)
    store = fresh._sentences()
    n = len(store)
    keys = next(store.dir.glob("seg-*.keys.npy"))
    keys.write_bytes(keys.read_bytes()[:50])  # a power cut mid-write
    assert len(fresh._sentences()) == 0
    assert fresh.index(progress=False).sentences == n


def test_switched_off_nothing_is_stored_and_answers_still_work(tmp_path, assistant):
    a = Assistant(corpus_dir=assistant.settings.corpus_dir, index_dir=tmp_path / "index",
                  sentence_vectors=False)
    a.embedder = assistant.embedder
    assert a.index(progress=False).sentences == 0
    assert not (tmp_path / "index" / sentvecs.FOLDER).exists()
    assert "Zerrouki" in a.ask(QUESTIONS[0]).text


def test_lookup_finds_exactly_the_stored_texts(tmp_path, assistant):
    store = sentvecs.SentenceVectors(tmp_path, "m [x]")
    texts = ["The minister met his Kenyan counterpart.", "Iran launched three satellites."]
    assert store.add(texts, assistant.embedder) == 2
    found = store.lookup(texts + ["A sentence nobody stored."])
    assert set(found) == set(texts)
    for t in texts:
        assert float(found[t] @ assistant.embedder.embed([t])[0]) > 0.999
    # Another model's vectors live apart, and a fill for it removes these.
    other = sentvecs.SentenceVectors(tmp_path, "m [y]")
    assert other.lookup(texts) == {}
    other.add(texts[:1], assistant.embedder)
    assert not store.dir.exists()
    assert np.asarray(other.lookup(texts[:1])[texts[0]]).dtype == np.float32


def test_a_store_that_cannot_be_written_leaves_the_index_answering(fresh, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sentvecs.SentenceVectors, "_write", full_disk)
    report = fresh.index(progress=False)
    assert report.sentences == 0 and any("answer sentences not stored" in p and "assistant index" in p
                                         for p in report.problems)
    assert "Zerrouki" in fresh.ask(QUESTIONS[0]).text
