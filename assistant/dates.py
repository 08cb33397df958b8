"""Dated questions: the day a question is asked on, and the window its time words ("last week") name."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from .errors import ConfigError

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "few": 3, "couple of": 2}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_N = r"(\d{1,3}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + ")"
_UNIT = r"(day|week|month|year)s?"
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"

# Words that ask for the latest news without naming a span: a recency prior, not a window.
_RECENT = re.compile(r"\b(recent(?:ly)?|latest|lately|newly)\b", re.I)


@dataclass(frozen=True)
class DateScope:
    """The dates a question is about: nothing after `as_of`; since..until and `recent` are preferences."""

    as_of: dt.date | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    phrase: str = ""  # the time words the window came from, as the question wrote them
    recent: bool = False  # "recently", "latest": prefer newer articles

    def active(self) -> bool:
        return bool(self.as_of or self.since or self.until or self.recent)

    def admits(self, date: str | None) -> bool:
        """False only for an article published after `as_of` (the news as it stood that day)."""
        # An undated article cannot be shown to be later: it stays searchable, and the
        # answer's note says how many such articles were searched.
        return not (self.as_of and date and dt.date.fromisoformat(date) > self.as_of)

    def in_window(self, date: str | None) -> bool:
        """Whether an article's date falls in the window the question's time words name."""
        if not date or not (self.since or self.until):
            return False
        d = dt.date.fromisoformat(date)
        return not ((self.since and d < self.since) or (self.until and d > self.until))

    def topic(self, question: str) -> str:
        """The question without its time words, which as search terms match any article saying them."""
        if not self.phrase or re.search(r"\d{4}", self.phrase):
            return question  # "in January 2025" is also how articles write it
        rest = re.sub(r"\s{2,}", " ", question.replace(self.phrase, " ")).strip()
        return rest if rest.strip(" ?.!") else question

    def describe(self, undated: int = 0) -> str:
        """The note a dated answer carries, e.g. 'Searched articles published up to 2022-06-16, ...'."""
        # A window ranks its articles first rather than hiding the rest: "in 2016" names when
        # something happened, and a story about it may have been published years later.
        text = f"Searched articles published up to {self.as_of}" if self.as_of else "Searched all articles"
        counted = "" if self.as_of or re.search(r"\d{4}", self.phrase) else ", counted from today"
        if self.since or self.until:
            text += f", those from {self.since} to {self.until} first (\u201c{self.phrase}\u201d{counted})"
        elif self.recent or self.as_of:
            text += ", recent ones preferred" + (f" (\u201c{self.phrase}\u201d{counted})" if self.phrase else "")
        if undated:
            text += f"; {undated} undated article{'s were' if undated != 1 else ' was'} included"
        return text + "."


def parse_as_of(value) -> dt.date | None:
    """A date from 'YYYY-MM-DD', 'today', a date or datetime; None for None or ''."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip().lower()
    if text == "today":
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ConfigError(f"Invalid as_of date {value!r}: use YYYY-MM-DD (e.g. 2022-06-16) or 'today'.") from None


def scope_for(question: str, as_of=None) -> DateScope:
    """The dates a question searches: its as_of cutoff and the window its time words name."""
    day = parse_as_of(as_of)
    since, until, phrase = time_window(question, day or dt.date.today())
    recent = _RECENT.search(question)
    return DateScope(as_of=day, since=since, until=until, phrase=phrase or (recent[0] if recent else ""),
                     recent=bool(recent))


def time_window(question: str, today: dt.date) -> tuple[dt.date | None, dt.date | None, str]:
    """(since, until, phrase) for the first time expression, relative ones counted back from `today`."""
    for pattern, window in _RULES:
        m = pattern.search(question)
        if m:
            since, until = window(m, today)
            return since, min(until, today) if until else None, m.group(0)
    return None, None, ""


def _days(n: int):
    return dt.timedelta(days=n)


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def _month_span(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _year(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _named_month(m, today):
    month = _MONTHS[m.group(1).lower()]
    year = int(m.group(2)) if m.group(2) else today.year - (month > today.month)
    return _month_span(year, month)


def _ago(m, today):
    n, unit = _number(m.group(1)), _UNIT_DAYS[m.group(2).lower()]
    center, slack = today - _days(n * unit), max(1, unit // 2)
    return center - _days(slack), center + _days(slack)


def _last_month(m, today):
    first = today.replace(day=1)
    return (first - _days(1)).replace(day=1), today


def _flags(pattern: str) -> re.Pattern:
    return re.compile(r"\b" + pattern + r"\b", re.I)


# Windows reach up to the as_of day: news about last week's event is still published this week.
# A rule per expression, most specific first; the first that matches wins.
_RULES = [
    (_flags(r"(?:in|during|of)\s+" + _MONTH + r"(?:,?\s+(\d{4}))?"), _named_month),
    (_flags(r"(?:in|during)\s+(\d{4})"), lambda m, t: _year(int(m.group(1)))),
    (_flags(_N + r"\s+" + _UNIT + r"\s+ago"), _ago),
    (_flags(r"(?:past|last|previous)\s+" + _N + r"\s+" + _UNIT),
     lambda m, t: (t - _days(_number(m.group(1)) * _UNIT_DAYS[m.group(2).lower()]), t)),
    (_flags(r"(?:today|tonight|this\s+(?:morning|afternoon|evening))"), lambda m, t: (t - _days(1), t)),
    (_flags(r"yesterday"), lambda m, t: (t - _days(2), t)),
    (_flags(r"(?:this|the\s+past|this\s+past)\s+weekend"), lambda m, t: (t - _days(4), t)),
    (_flags(r"last\s+weekend"), lambda m, t: (t - _days(10), t)),
    (_flags(r"(?:this|past|the\s+past|this\s+past)\s+week"), lambda m, t: (t - _days(7), t)),
    (_flags(r"(?:last|previous)\s+week"), lambda m, t: (t - _days(14), t)),
    (_flags(r"this\s+month"), lambda m, t: (min(t.replace(day=1), t - _days(7)), t)),
    (_flags(r"(?:last|previous|past)\s+month"), _last_month),
    (_flags(r"this\s+year"), lambda m, t: (dt.date(t.year, 1, 1), t)),
    (_flags(r"(?:last|previous)\s+year"), lambda m, t: _year(t.year - 1)),
]
