"""Cleaning: each quirk of the seed articles, plus HTML, Markdown and JSONL inputs."""

import json

import pytest

from assistant.clean import clean_text, parse_date
from assistant.ingest import read_corpus
from tests.conftest import CORPUS


@pytest.fixture(scope="module")
def articles():
    return {a.source[:3]: a for a in read_corpus(CORPUS).articles}


def test_hard_wrapped_lines_are_unwrapped(articles):
    text = articles["000"].text
    assert ("The Iranian Minister of Communications and Information Technology, Sattar Hashemi, "
            "in a meeting with Oman's Ambassador to Iran") in text
    assert "Information\nTechnology" not in text


def test_paragraphs_are_not_merged(articles):
    text = articles["000"].text
    assert "between the two countries.\n\nDuring a meeting" in text
    assert text.count("\n\n") >= 15


def test_real_hyphens_survive_unwrapping(articles):
    text = articles["000"].text
    assert "knowledge-based firms" in text
    assert "Multi-stakeholder Digital Future" in text  # split across lines at the hyphen
    assert "Mohammad-Mohsen Sadr" in text


def test_section_headings_are_kept_as_headings(articles):
    assert [h[2] for h in articles["000"].headings] == [
        "Cooperation Expantion between Iran and Saudi Arabia in the ICT Sector"]
    assert [h[2] for h in articles["003"].headings] == ["Tehran, Baghdad sign MOU", "Status of ICT in Iran"]
    for art in articles.values():
        for start, end, title in art.headings:
            assert art.text[start:end] == title


def test_navigation_list_and_signoffs_are_dropped(articles):
    assert "Latest News" not in articles["001"].text
    assert "Serbia" not in articles["001"].text
    for key in ("003", "004"):
        assert "MT/MG" not in articles[key].text
    assert articles["003"].text.rstrip().endswith("leading country in the region.")


@pytest.mark.parametrize("key,date", [("001", "2025-01-29"), ("003", "2025-01-31"),
                                      ("004", "2025-11-22"), ("000", None), ("002", None)])
def test_dates_are_found_and_removed_from_text(articles, key, date):
    assert articles[key].date == date
    assert "date 2025" not in articles[key].text
    assert "Publish Date" not in articles[key].text


def test_whitespace_is_normalized(articles):
    for art in articles.values():
        assert "  " not in art.text
        assert all(line == line.strip() for line in art.text.split("\n"))


def test_titles(articles):
    assert articles["001"].title == "ICT Minister Advocates for Strengthening Tehran-Riyadh Relations"
    assert articles["003"].title.startswith("The Information and Communication Technology (ICT) Minister")


def test_parse_date_forms():
    assert parse_date("2025/01/29") == "2025-01-29"
    assert parse_date("2025-11-22T10:00:00Z") == "2025-11-22"
    assert parse_date("January 29, 2025") == "2025-01-29"
    assert parse_date("not a date") is None


def test_html_article(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>Site | Page</title><meta property='og:title' content='Fiber deal signed'>"
        "<meta property='article:published_time' content='2025-03-04T08:00:00Z'>"
        "<script>var tracking = 1;</script></head><body><nav><a>Home</a><a>World</a></nav>"
        "<article><h1>Fiber deal signed</h1><p>Iran and Iraq signed a fiber deal.</p>"
        "<h2>What comes next</h2><p>Work starts in May.</p></article><footer>© Site</footer></body></html>"
    )
    (art,) = read_corpus(tmp_path).articles
    assert art.title == "Fiber deal signed"
    assert art.date == "2025-03-04"
    assert "tracking" not in art.text and "Home" not in art.text and "©" not in art.text
    assert [h[2] for h in art.headings] == ["What comes next"]
    assert "Work starts in May." in art.text


def test_markdown_and_jsonl(tmp_path):
    (tmp_path / "a.md").write_text("# A title\n\nSome [linked](http://x) text here.\n\n## Part two\n\nMore text.\n")
    rows = [{"title": "T1", "text": "Body one.", "published_at": "2025-02-01", "url": "http://e/1"},
            {"title": "T2", "body": "Body two.", "date": "2025/02/02"}]
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    corpus = read_corpus(tmp_path)
    by_title = {a.title: a for a in corpus.articles}
    assert by_title["A title"].text.startswith("A title\n\nSome linked text here.")
    assert by_title["T1"].date == "2025-02-01" and by_title["T1"].url == "http://e/1"
    assert by_title["T2"].date == "2025-02-02" and by_title["T2"].text == "Body two."
    assert [p.source for p in corpus.problems] == ["b.jsonl:3"]


def test_clean_text_is_idempotent_on_clean_input():
    once = clean_text("First paragraph here.\n\nSecond one.")
    assert clean_text(once.text).text == once.text


def test_a_leading_header_block_is_metadata_not_text():
    raw = ("Title: Harbour ferry saved\nSource: Test\nPublished: 2022-06-14\nURL: https://example.org/f\n"
           "Authors: A. Writer\n\nThe council reversed its vote on Monday.\n")
    c = clean_text(raw)
    assert (c.title, c.date) == ("Harbour ferry saved", "2022-06-14")
    assert c.text == "The council reversed its vote on Monday." and not c.headings
    # One "Source:" line is part of the text, as is a block with no blank line after it.
    assert clean_text("Source: the ministry said so.\n\nMore text here.").text.startswith("Source:")
    assert "Title: x" in clean_text("Title: x\nBy: y\nThe body starts at once.").text
