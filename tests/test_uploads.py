"""uploads: only readable articles get in, under safe names, and nothing is ever overwritten."""

import json

import pytest

from assistant.errors import CorpusError
from assistant.ingest import read_corpus
from assistant.uploads import check_bytes, safe_name, save_upload

ARTICLE = b"Zorblat Festival Opens\n\nThe Zorblat Festival opened in Tehran on Sunday.\n"


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "existing.txt").write_bytes(b"An article that was here first.\n")
    return folder


def _upload(tmp_path, data: bytes, name="incoming.bin"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("given, expected", [
    ("../../etc/passwd", "passwd"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\win.ini", "win.ini"),
    ("/abs/path/news.md", "news.md"),
    (".bashrc.txt", "bashrc.txt"),
    ("my report (final).TXT", "my_report_final.txt"),
    ("\u202egnp.txt", "gnp.txt"),  # a right-to-left override cannot disguise the extension
    ("репортаж.md", "репортаж.md"),
    ("...", "upload"),
    ("", "upload"),
    ("a/b/", "upload"),
])
def test_safe_name_is_a_plain_name(given, expected):
    assert safe_name(given) == expected


def test_safe_name_bounds_length():
    name = safe_name("é" * 400 + ".txt")
    assert name.endswith(".txt") and len(name.encode()) <= 130


def test_saves_a_valid_article_and_it_is_indexable(tmp_path, corpus):
    saved = save_upload(_upload(tmp_path, ARTICLE), "zorblat.txt", corpus, max_mb=1)
    assert (saved.name, saved.articles, saved.duplicate) == ("zorblat.txt", 1, False)
    assert (corpus / "zorblat.txt").read_bytes() == ARTICLE
    assert saved.describe() == "Added zorblat.txt: 1 article."
    assert "zorblat.txt" in {a.source for a in read_corpus(corpus).articles}


def test_path_traversal_lands_inside_the_corpus(tmp_path, corpus):
    saved = save_upload(_upload(tmp_path, ARTICLE), "../../etc/passwd.txt", corpus, max_mb=1)
    assert saved.name == "passwd.txt"
    assert (corpus / "passwd.txt").resolve().parent == corpus.resolve()
    assert not (tmp_path / "etc").exists()
    assert "uploaded as ../../etc/passwd.txt" in saved.describe()


def test_never_overwrites_a_different_file(tmp_path, corpus):
    saved = save_upload(_upload(tmp_path, ARTICLE), "existing.txt", corpus, max_mb=1)
    assert saved.name == "existing-2.txt"
    assert (corpus / "existing.txt").read_bytes() == b"An article that was here first.\n"
    again = save_upload(_upload(tmp_path, ARTICLE + b"More.\n"), "existing.txt", corpus, 1)
    assert again.name == "existing-3.txt"


def test_the_same_file_twice_is_not_duplicated(tmp_path, corpus):
    save_upload(_upload(tmp_path, ARTICLE), "zorblat.txt", corpus, max_mb=1)
    again = save_upload(_upload(tmp_path, ARTICLE), "zorblat.txt", corpus, max_mb=1)
    assert again.duplicate and again.name == "zorblat.txt"
    assert "already in the corpus" in again.describe()
    assert _files(corpus) == ["existing.txt", "zorblat.txt"]


@pytest.mark.parametrize("name, data, message", [
    ("slides.pptx", b"PK\x03\x04", "'.pptx' files are not supported"),
    ("report.pdf", b"%PDF-1.7 ...", "unreadable PDF"),
    ("passwd", ARTICLE, "files without an extension are not supported"),
    ("empty.txt", b"  \n\t ", "empty"),
    ("latin1.txt", "caf\u00e9 au lait".encode("latin-1"), "not valid UTF-8"),
    ("binary.txt", b"abc\x00def", "binary"),
    ("bad.jsonl", b'{"title": "no body"}\nnot json\n', "no article could be read"),
])
def test_rejects_unreadable_uploads_with_a_reason(tmp_path, corpus, name, data, message):
    with pytest.raises(CorpusError, match=message) as err:
        save_upload(_upload(tmp_path, data), name, corpus, max_mb=1)
    assert name in str(err.value)  # the message names the file the user picked
    assert _files(corpus) == ["existing.txt"]  # nothing written, no temp file left behind


def test_rejects_files_over_the_size_limit(tmp_path, corpus):
    big = _upload(tmp_path, b"word " * 3000)  # ~15 KB
    with pytest.raises(CorpusError, match="over the 0.01 MB upload limit"):
        save_upload(big, "big.txt", corpus, max_mb=0.01)
    with pytest.raises(CorpusError, match="over the 0.01 MB upload limit"):
        check_bytes(b"word " * 3000, "big.txt", max_mb=0.01)
    assert _files(corpus) == ["existing.txt"]


def test_jsonl_with_some_bad_lines_is_kept_and_the_rest_reported(tmp_path, corpus):
    lines = [json.dumps({"title": "One", "text": "First article body."}), "{broken",
             json.dumps({"title": "Two", "text": "Second article body.", "date": "2025-02-03"})]
    saved = save_upload(_upload(tmp_path, "\n".join(lines).encode()), "feed.jsonl", corpus, 1)
    assert saved.articles == 2 and len(saved.problems) == 1
    assert saved.problems[0].startswith("feed.jsonl:2")
    assert "skipped 1 unreadable part" in saved.describe()


def test_html_and_markdown_are_accepted(tmp_path, corpus):
    html = b"<html><head><title>T</title></head><body><p>Body text here.</p></body></html>"
    assert save_upload(_upload(tmp_path, html), "page.HTML", corpus, 1).name == "page.html"
    assert save_upload(_upload(tmp_path, b"# Title\n\nBody."), "note.md", corpus, 1).articles == 1


def test_needs_a_corpus_folder(tmp_path):
    with pytest.raises(CorpusError, match="need a corpus folder"):
        save_upload(_upload(tmp_path, ARTICLE), "a.txt", tmp_path / "missing", max_mb=1)
