"""Reading a corpus: bad files are reported by name and skipped, the rest still index."""

import os

import pytest

from assistant.errors import CorpusError
from assistant.ingest import read_corpus


def test_bad_files_are_reported_and_skipped(tmp_path):
    (tmp_path / "good.txt").write_text("Iran and Oman agreed to cooperate on fiber links.")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.md").write_text("   \n\n ")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PNG")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "ignored.docx").write_bytes(b"PK\x03\x04")  # not a type the indexer reads
    corpus = read_corpus(tmp_path)
    assert [a.source for a in corpus.articles] == ["good.txt"]
    reasons = {p.source: p.reason for p in corpus.problems}
    assert set(reasons) == {"empty.txt", "blank.md", "binary.txt", "latin1.txt"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.txt"]


def test_nested_folders_and_single_file(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.txt").write_text("A deep article about satellites.")
    (tmp_path / "top.txt").write_text("A top article about fiber.")
    assert sorted(a.source for a in read_corpus(tmp_path).articles) == ["a/b/deep.txt", "top.txt"]
    assert [a.source for a in read_corpus(tmp_path / "top.txt").articles] == ["top.txt"]


def test_symlink_outside_corpus_is_not_read(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("TOP SECRET content that must never be indexed.")
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "ok.txt").write_text("A normal article.")
    os.symlink(outside, root / "link.txt")
    corpus = read_corpus(root)
    assert [a.source for a in corpus.articles] == ["ok.txt"]
    assert "outside" in corpus.problems[0].reason


def test_oversized_file_is_reported(tmp_path):
    (tmp_path / "big.txt").write_text("word " * 300_000)
    corpus = read_corpus(tmp_path, max_file_mb=1)
    assert not corpus.articles and "limit" in corpus.problems[0].reason


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(tmp_path / "nope")


def test_ids_are_stable_and_hashes_follow_content(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("First version of the story.")
    (first,) = read_corpus(tmp_path).articles
    f.write_text("Second version of the story.")
    (second,) = read_corpus(tmp_path).articles
    assert first.id == second.id
    assert first.content_hash != second.content_hash
