"""Dated questions: time words become windows counted from the day the question is asked on."""

import datetime as dt

import pytest

from assistant.dates import DateScope, parse_as_of, scope_for, time_window
from assistant.errors import ConfigError

D = dt.date(2022, 6, 16)  # a Thursday


@pytest.mark.parametrize("question, since, until", [
    ("Which show was green lit this week?", "2022-06-09", "2022-06-16"),
    ("Who resigned last week?", "2022-06-02", "2022-06-16"),
    ("What happened yesterday in Congress?", "2022-06-14", "2022-06-16"),
    ("What did the court rule today?", "2022-06-15", "2022-06-16"),
    ("Which company reported losses last month?", "2022-05-01", "2022-06-16"),
    ("What did the minister sign in March?", "2022-03-01", "2022-03-31"),
    ("What happened in September?", "2021-09-01", "2021-09-30"),  # the last September before it
    ("What happened in March 2020?", "2020-03-01", "2020-03-31"),
    ("How many storms so far this year?", "2022-01-01", "2022-06-16"),
    ("Who won the cup last year?", "2021-01-01", "2021-12-31"),
    ("What was announced two weeks ago?", "2022-05-30", "2022-06-05"),
    ("What changed in the past 3 days?", "2022-06-13", "2022-06-16"),
])
def test_time_words_become_a_window(question, since, until):
    got = time_window(question, D)
    assert (str(got[0]), str(got[1])) == (since, until)
    assert got[2] and got[2].lower() in question.lower()


@pytest.mark.parametrize("question", [
    "Who met the Omani ambassador?",
    "Protesters march to the capitol: what did they demand?",  # a verb, not the month
    "What may the court decide about the weekly report?",
])
def test_no_time_words_no_window(question):
    assert time_window(question, D) == (None, None, "")
    assert not scope_for(question).active()  # without as_of nothing changes


def test_as_of_cuts_later_articles_and_keeps_undated_ones():
    scope = scope_for("Who won the election?", "2022-06-16")
    assert scope.admits("2022-06-16") and scope.admits("2021-01-01")
    assert not scope.admits("2022-06-17")
    assert scope.admits(None)  # undated: cannot be shown to be later, so it stays searchable
    assert scope.describe(undated=2) == ("Searched articles published up to 2022-06-16, recent ones "
                                         "preferred; 2 undated articles were included.")


def test_a_window_ranks_rather_than_filters_and_is_described():
    scope = scope_for("Which show was recently green lit for a new season this week?", "2022-06-16")
    assert scope.recent and (str(scope.since), str(scope.until)) == ("2022-06-09", "2022-06-16")
    assert scope.in_window("2022-06-10") and not scope.in_window("2022-06-08")
    assert scope.admits("2022-06-08")  # "in 2016" may be told years later: ranked after, not hidden
    assert not scope.in_window(None) and scope.admits(None)
    assert scope.describe() == ("Searched articles published up to 2022-06-16, those from 2022-06-09 "
                                "to 2022-06-16 first (\u201cthis week\u201d).")
    undated = scope_for("Who resigned last week?")
    assert undated.describe().endswith("first (\u201clast week\u201d, counted from today).")


def test_time_words_without_as_of_count_from_today():
    scope = scope_for("What happened yesterday?")
    assert scope.as_of is None and scope.until == dt.date.today()
    assert scope.since == dt.date.today() - dt.timedelta(days=2)


def test_as_of_forms():
    assert parse_as_of("2022-06-16") == D
    assert parse_as_of(dt.datetime(2022, 6, 16, 9)) == D
    assert parse_as_of("today") == dt.date.today()
    assert parse_as_of(None) is None and parse_as_of("") is None
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        parse_as_of("June 16th")


def test_inactive_scope_admits_everything():
    assert not DateScope().active() and DateScope().admits("1999-01-01")
    assert scope_for("Which is the latest model?").describe() == ("Searched all articles, recent ones "
                                                                   "preferred (\u201clatest\u201d, counted from today).")


def test_topic_drops_the_time_words_only():
    scope = scope_for("Which show was green lit this week?", "2022-06-16")
    assert scope.topic("Which show was green lit this week?") == "Which show was green lit ?"
    assert scope_for("Who won?").topic("Who won?") == "Who won?"
    assert scope_for("What happened yesterday?").topic("What happened yesterday?") == "What happened ?"
