"""render: answers and sources become escaped HTML; corpus text never becomes markup."""

import re
import subprocess
import sys
from html import escape

import pytest

from assistant import render
from assistant.records import Answer, Citation, Passage

HOSTILE = "Glimmer <script>alert(1)</script> & <img src=x onerror=alert(2)> *bold* #tag"


def _passage(text, start=100, title="Festival <b>news</b>", source="fest.txt", url=None, **kw):
    return Passage(chunk_id="c1", article_id="a1", source=source, title=title, date="2025-03-02",
                   url=url, heading=kw.pop("heading", None), text=text, start=start,
                   end=start + len(text), score=0.5, **kw)


def _answer(passages, citations, text="Glimmer is the mascot. [1]", **kw):
    return Answer(question=kw.pop("question", "Who is <the> mascot?"), text=text,
                  citations=citations, passages=passages,
                  timings={"embed": 0.012, "retrieve": 0.003, "generate": 1.5, "total": 1.515},
                  **kw)


def _cited(passage, quote, marker=1, index=0, offset=None):
    start = passage.start + (passage.text.index(quote) if offset is None else offset)
    return Citation(marker=marker, source=passage.source, title=passage.title, date=passage.date,
                    quote=quote, start=start, end=start + len(quote), passage=index)


def test_markers_become_footnote_links_to_the_turns_sources():
    p = _passage("Glimmer is the mascot. It is purple.")
    html = render.answer_html(_answer([p], [_cited(p, "Glimmer is the mascot.")]), turn=3)
    assert '<a href="#ca-src-3-1" title="Festival &lt;b&gt;news&lt;/b&gt;">[1]</a>' in html
    assert "[1]" not in html.replace(">[1]<", "")  # the marker itself is gone from the text
    assert render.anchor(3, 1) == "ca-src-3-1"


def test_answer_text_is_escaped_and_stays_one_markdown_block():
    answer = _answer([], [], text=f"{HOSTILE}\n\nSecond paragraph. [2]")
    html = render.answer_html(answer, turn=1)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&amp;" in html
    # No newline at all: a blank line would end the HTML block and let Markdown in.
    assert "\n" not in html and html.startswith("<div")


def test_abstention_is_plain_and_labelled():
    answer = _answer([], [], text="The corpus does not say. None of the indexed articles "
                     "mentions \"Zorblat\".", abstained=True, notes=["abstained: no anchor"])
    html = render.answer_html(answer, turn=1)
    assert "ca-abstained" in html and "Not in the corpus" in html
    assert "The corpus does not say." in html
    assert 'title="abstained: no anchor"' in html  # a developer's note: tooltip only
    assert "ca-note" not in html


def test_user_notes_and_timings_are_shown():
    answer = _answer([], [], notes=["The question was longer than 2000 characters."])
    html = render.answer_html(answer, turn=1)
    assert "longer than 2000 characters" in html
    assert "extractive · 1.51 s" in html and "embed 12 ms" in html and "generate 1.50 s" in html


def test_diagnostic_notes_go_into_the_timings_tooltip():
    answer = _answer([], [], notes=["llm: 5 passages <in> the prompt", "verify: kept=1\nok",
                                    "Only the first 2000 characters were used."])
    html = render.answer_html(answer, turn=1)
    assert 'title="llm: 5 passages &lt;in&gt; the prompt&#10;verify: kept=1 ok"' in html
    assert html.count("ca-note") == 1 and "\n" not in html


def test_partial_text_is_escaped_while_streaming():
    html = render.partial_html("A <script>x</script> [1]")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<sup class="ca-fn">[1]</sup>' in html and "ca-streaming" in html


def test_sources_panel_highlights_the_quote_inside_its_passage():
    p = _passage("Before. Glimmer is the mascot. After.")
    html = render.sources_html(_answer([p], [_cited(p, "Glimmer is the mascot.")]), turn=2)
    assert 'id="ca-src-2-1"' in html and " open>" in html.split('id="ca-src-2-1"')[1][:10]
    assert "Before. <mark>Glimmer is the mascot.</mark> After." in html
    assert "2025-03-02" in html and "<code>fest.txt</code>" in html
    assert "Festival &lt;b&gt;news&lt;/b&gt;" in html


def test_corpus_html_in_passages_and_titles_renders_as_text():
    p = _passage(f"{HOSTILE} Glimmer is the mascot.", title="<script>alert(3)</script>",
                 heading="<i>Section</i>", also_in=["<b>dup</b>.txt"])
    uncited = _passage("<iframe src=evil></iframe>", start=900, source="<x>.txt")
    answer = _answer([p, uncited], [_cited(p, "Glimmer is the mascot.")],
                     question="<svg onload=alert(4)>")
    html = render.sources_html(answer, turn=1)
    for tag in ("<script", "<img", "<iframe", "<svg", "<i>", "<b>", "<x>"):
        assert tag not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;iframe" in html


def test_uncited_passages_are_folded_away():
    p, q = _passage("Glimmer is the mascot."), _passage("Unrelated text.", start=500)
    html = render.sources_html(_answer([p, q], [_cited(p, "Glimmer is the mascot.")]), turn=1)
    folded = re.search(r'<details class="ca-uncited">(.*?)</details>', html).group(0)
    assert "Retrieved but not cited (1)" in folded and "Unrelated text." in folded
    assert " open" not in folded.split(">")[0]  # collapsed until the reader opens it


def test_abstention_lists_the_closest_passages_without_citing():
    p = _passage("Unrelated text.")
    answer = _answer([p], [], text="The corpus does not say.", abstained=True)
    html = render.sources_html(answer, turn=1)
    assert "nothing is cited" in html and "Closest passages (1)" in html
    assert "ca-source\"" not in html


def test_quote_found_by_text_when_offsets_do_not_match():
    p = _passage("Intro. Glimmer is the mascot.")
    cite = _cited(p, "Glimmer is the mascot.", offset=0)  # offsets point at the wrong words
    assert render.quote_span(p, cite) == (7, 29)
    assert "<mark>Glimmer is the mascot.</mark>" in render.sources_html(_answer([p], [cite]), 1)


def test_quote_missing_from_passage_is_still_shown_marked():
    p = _passage("Something else entirely.")
    cite = Citation(marker=1, source="fest.txt", title="T", date=None, quote="A <b>quote</b>.",
                    start=0, end=14, passage=0)
    html = render.sources_html(_answer([p], [cite]), 1)
    assert "<mark>A &lt;b&gt;quote&lt;/b&gt;.</mark>" in html


def test_two_quotes_for_one_marker_share_one_card():
    p = _passage("One. Two. Three.")
    html = render.sources_html(_answer([p], [_cited(p, "Three."), _cited(p, "One.")]), 1)
    assert html.count('class="ca-source"') == 1
    assert "<mark>One.</mark> Two. <mark>Three.</mark>" in html


def test_highlight_merges_overlaps_and_clamps():
    assert render.highlight("abcdef", [(1, 3), (2, 4), (5, 99), (4, 4)]) == \
        "a<mark>bcd</mark>e<mark>f</mark>"
    assert render.highlight("<a>", []) == "&lt;a&gt;"


@pytest.mark.parametrize("url, linked", [
    ("https://example.org/a?b=1&c=\"2\"", True),
    ("javascript:alert(1)", False),
    ("data:text/html,<script>", False),
])
def test_only_web_urls_become_links(url, linked):
    p = _passage("Glimmer is the mascot.", url=url)
    html = render.sources_html(_answer([p], [_cited(p, "Glimmer is the mascot.")]), 1)
    assert ("href=" in html) is linked
    if linked:
        assert 'href="https://example.org/a?b=1&amp;c=&quot;2&quot;"' in html


def test_errors_and_notices_are_escaped():
    assert "&lt;b&gt;" in render.error_html("bad <b>file</b>")
    assert render.notice_html(["Added <x>.txt"]) == \
        '<div class="ca-notice"><ul><li>Added &lt;x&gt;.txt</li></ul></div>'
    assert "&lt;q&gt;" in render.question_html("<q>")


def test_render_and_uploads_do_not_import_gradio():
    code = ("import sys, assistant.render, assistant.uploads; "
            "sys.exit(1 if 'gradio' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.slow
def test_a_real_answer_highlights_its_quote(assistant):
    answer = assistant.ask("Where was WTDC-25 held?")
    html = render.sources_html(answer, turn=1)
    quote = answer.citations[0].quote
    assert f"<mark>{escape(quote)}</mark>" in html
    assert "Baku" in quote and answer.citations[0].source in html
