"""The RealTime QA bench part: skips without its data, and reports tiers dated and undated with it."""

import json

from assistant.bench import realtimeqa

# Made-up articles in the data set's layout (a "Key: value" header, then the text).
ARTICLES = {
    "2022-06-02-ferry.md": ("Harbour ferry line to close", "2022-06-02",
                            "The city council voted to close the old harbour ferry line after ninety years. "
                            "Commuters will take a new bus route from July."),
    "2022-06-14-ferry.md": ("Harbour ferry line saved by last-minute vote", "2022-06-14",
                            "The harbour ferry line will keep running: the council reversed its vote on Monday "
                            "after a petition signed by twelve thousand commuters."),
    "2022-06-15-zoo.md": ("Zoo welcomes twin red pandas", "2022-06-15",
                          "The city zoo announced the birth of twin red pandas, the first born there in a decade."),
}
QUESTIONS = [
    {"id": "f1", "question": "What happened to the harbour ferry line this week?", "answers": ["keep running"],
     "sources": ["2022-06-14-ferry.md"], "answerable": True, "type": "news-quiz", "as_of": "2022-06-16",
     "tier": "upstream_gold"},
    {"id": "z1", "question": "Which animals were recently born at the city zoo?", "answers": ["red pandas"],
     "sources": ["2022-06-15-zoo.md"], "answerable": True, "type": "news-quiz", "as_of": "2022-06-16",
     "tier": "quiz_link_in_stored_search"},
]


def test_skips_cleanly_without_the_data(tmp_path):
    section = realtimeqa.run(data=tmp_path / "absent", log=lambda m: None)
    assert not section.rows and not section.targets
    assert "absent; skipped" in section.notes[0]


def test_reports_each_tier_dated_and_undated(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the eval's private index lands here
    data = tmp_path / "realtimeqa-dev"
    (data / "corpus").mkdir(parents=True)
    for name, (title, date, text) in ARTICLES.items():
        (data / "corpus" / name).write_text(f"Title: {title}\nSource: Test\nPublished: {date}\n"
                                            f"URL: https://example.org/{name}\nAuthors: A. Writer\n\n{text}\n")
    (data / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n")
    section = realtimeqa.run(data=data, log=lambda m: None)
    rows = {(r[0], r[1]): r for r in section.rows}
    assert set(rows) == {(mode, tier) for mode in ("dated", "undated")
                         for tier in ("upstream_gold", "quiz_link_in_stored_search")}
    # As of 2022-06-16 "this week" finds the reversal, not the older closing story.
    assert rows[("dated", "upstream_gold")][3] == 1.0
    assert section.figures["chunks"] >= 3 and section.figures["ask_p50_ms"] > 0
    assert any(t.label.startswith("dated upstream_gold hit@1") and t.met for t in section.targets)
