"""Evaluation of dated question sets: the as_of field reaches ask(), and tiers are reported apart."""

import json

import pytest

from assistant.errors import ConfigError
from assistant.evaluation import report as rp
from assistant.evaluation.questions import load_questions
from assistant.evaluation.runner import QuestionResult, ask_with_history, summarize


def _line(**extra):
    return json.dumps({"id": "d1", "question": "Who resigned this week?", "answers": ["the minister"],
                       "sources": ["a.txt"], "answerable": True, "type": "news-quiz", **extra})


def test_as_of_and_tier_are_read_and_checked(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(_line(as_of="2022-06-16", tier="upstream_gold") + "\n")
    q = load_questions(path)[0]
    assert (q.as_of, q.tier) == ("2022-06-16", "upstream_gold")
    path.write_text(_line() + "\n")
    assert load_questions(path)[0].as_of is None  # undated sets load as before
    path.write_text(_line(as_of="June 16") + "\n")
    with pytest.raises(ConfigError, match="q.jsonl:1: as_of 'June 16' is not a date"):
        load_questions(path)


def test_each_turn_is_asked_as_of_the_question_date(tmp_path):
    asked = []

    class Recorder:
        def ask(self, question, history=None, generator=None, k=None, as_of=None):
            asked.append((question, as_of))
            from assistant.records import Answer

            return Answer(question=question, text="x")

    path = tmp_path / "q.jsonl"
    path.write_text(_line(as_of="2022-06-16", history=["Who is the minister?"]) + "\n")
    ask_with_history(Recorder(), load_questions(path)[0])
    assert asked == [("Who is the minister?", "2022-06-16"), ("Who resigned this week?", "2022-06-16")]


def test_tiers_get_their_own_rows_with_hit_at_1():
    def result(id_, tier, retrieved):
        return QuestionResult(id_, "news-quiz", "q", True, ["x"], ["gold.txt"], retrieved=retrieved,
                              hit=float(any("gold.txt" in s for s in retrieved)), tier=tier)

    s = summarize([result("1", "hard", [["other.txt"], ["gold.txt"]]),
                   result("2", "hard", [["gold.txt"]]),
                   result("3", "easy", [["gold.txt"]])], {"k": 10})
    assert s.by_tier["hard"]["questions"] == 2
    assert s.by_tier["hard"]["hit@1"] == 0.5 and s.by_tier["hard"]["hit@k"] == 1.0
    assert s.by_tier["easy"]["hit@1"] == 1.0
    assert "| hard | 2 | 0.500 | 1.000 |" in rp.tier_table(s)
    assert "## By tier" in rp.markdown(s)
    untiered = summarize([result("4", "", [["gold.txt"]])], {"k": 10})
    assert untiered.by_tier == {} and "By tier" not in rp.markdown(untiered)
