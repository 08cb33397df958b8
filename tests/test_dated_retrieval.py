"""Dated questions over the real default corpus: later articles unused, undated ones kept, time words rank."""

import json

from click.testing import CliRunner

from assistant.records import Filters

# The default corpus: 001 is dated 2025-01-29, 003 2025-01-31, 004 2025-11-22; 000 and 002 are undated.


def _sources(answer):
    return [p.source[:3] for p in answer.passages]


def test_as_of_leaves_out_later_articles_and_says_what_it_searched(assistant):
    plain = assistant.ask("Hashemi meeting", k=10)
    assert "004" in _sources(plain) and not plain.notes
    dated = assistant.ask("Hashemi meeting", k=10, as_of="2025-02-01")
    assert "004" not in _sources(dated)
    assert all(p.date is None or p.date <= "2025-02-01" for p in dated.passages)
    # Undated articles cannot be shown to be later: they stay, and the note says so.
    assert {"000", "002"} <= set(_sources(dated))
    assert dated.notes[0] == ("Searched articles published up to 2025-02-01, recent ones preferred; "
                              "2 undated articles were included.")


def test_as_of_before_every_dated_article_still_searches_the_undated_ones(assistant):
    answer = assistant.ask("Hashemi meeting", k=10, as_of="2024-06-01")
    assert answer.passages and set(_sources(answer)) <= {"000", "002"}


def test_time_words_rank_their_window_first_without_hiding_the_rest(assistant):
    question = "What did Hashemi discuss this week?"
    late = assistant.ask(question, k=10, as_of="2025-11-25")
    assert _sources(late)[0] == "004"
    assert "those from 2025-11-18 to 2025-11-25 first (\u201cthis week\u201d)" in late.notes[0]
    early = assistant.ask(question, k=10, as_of="2025-02-01")
    assert _sources(early)[0] in {"001", "003"}
    assert {"000", "002"} & set(_sources(early))  # outside any window, yet still searched


def test_without_as_of_or_time_words_nothing_changes(assistant):
    state = assistant._current()
    question = "Which transit corridor did Hashemi call very important for the region?"
    undated = state.retriever.search(question, 5, Filters())
    assert [p.chunk_id for p in assistant.retrieve(question, k=5)] == [p.chunk_id for p in undated]
    assert not any(n.startswith("Searched") for n in assistant.ask(question).notes)


def test_cli_ask_as_of(assistant, monkeypatch):
    from assistant import api, cli

    monkeypatch.setattr(api, "_default", assistant)
    result = CliRunner().invoke(cli.main, ["ask", "Hashemi meeting", "--k", "10", "--as-of", "2025-02-01",
                                           "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert all(p["date"] is None or p["date"] <= "2025-02-01" for p in answer["passages"])
    bad = CliRunner().invoke(cli.main, ["ask", "Hashemi meeting", "--as-of", "last tuesday"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output
