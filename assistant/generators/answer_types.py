"""The kind of answer a question asks for: a date, a year, a day, a span, a count, a place, a cause."""

from __future__ import annotations

import re

from ..terms import covered, terms

_MONTHS = r"January|February|March|April|May|June|July|August|September|October|November|December"


class _Amount:
    """A count or amount; not an ordinal ("19th"), a year, a day of a month or a name ("WTDC-25").

    With `counted` ("how many satellites") the number must count that noun, and with `units`
    ("how long") it must carry such a unit: "the two countries" answers neither.
    """

    _NUMBER = re.compile(r"(?<![\w-])\d[\d,.]*(?!\w)")  # "3-day" counts; "WTDC-25", "19th" do not
    _WORDS = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|"
                        r"thousands?|millions?|billions?)\b", re.I)
    _AFTER_MONTH = re.compile(rf"\b({_MONTHS})\s*(\d+\s*(?:[–—-]|to)\s*)?$")

    def __init__(self, question: str, counted: str = "", units: re.Pattern | None = None):
        # "How much of the 20 billion dollars ...": a number the question gives answers nothing.
        self.given = {m.group().lower() for p in (self._NUMBER, self._WORDS) for m in p.finditer(question)}
        # Names qualify the noun ("Iranian pilgrims") and turn up near any number in their story;
        # a plural acronym is the noun ("how many MoUs").
        self.counted = terms(" ".join(w for w in counted.split()
                                      if not w[:1].isupper() or re.fullmatch(r"[A-Z]\w*[A-Z]\w*s", w)))
        self.units = units

    def search(self, text: str) -> bool:
        numbers = [m for m in self._NUMBER.finditer(text)
                   if not re.fullmatch(r"(19|20)\d\d", m.group())
                   and not self._AFTER_MONTH.search(text[:m.start()])]
        # Asked "how much", "the two countries" refers back to them; it measures nothing.
        words = [m for m in self._WORDS.finditer(text) if self.counted or self.units
                 or not text[:m.start()].lower().endswith("the ")]
        return any(self._counts(text[:m.start()], text[m.end():])
                   for m in numbers + words if m.group().lower() not in self.given)

    def _counts(self, before: str, after: str) -> bool:
        """Whether the words around a number are what the question asks to count or measure."""
        words = re.findall(r"[A-Za-z]+", after)[:3]
        if self.units:
            return any(self.units.fullmatch(w.lower()) for w in words)
        if self.counted:  # "13 universities", or the noun first: "the death toll rose to 12"
            near = set(terms(" ".join(re.findall(r"[A-Za-z]+", before)[-3:] + words)))
            return any(covered(t, near) for t in self.counted)
        return True


_ASKS = r"\b(?:what|who|whom|whose|which|where|when|why|how)\b"
# "When" asks only when no other question word comes first ("who found it and when" asks two):
# in "How does it rank Iran when it comes to ...?" or "What did he say when they met?" it is a
# conjunction, and so in a clause the question word follows ("When data travels ..., which").
WHEN = re.compile(rf"^(?:(?!{_ASKS}).)*\bwhen\b(?![^?]*,\s*{_ASKS})|"
                  r"\b((what|which) (exact |precise )?(year|date|month|day)|(since|and) when|"
                  r"dates?)\b", re.I)
# Any year from 1000 ("in 1597"), a decade ("the early 1900s") or a century answers "when"
# (19xx/20xx alone missed most history: ClapNQ refusal recall dev 0.397 -> 0.410, test 0.351 -> 0.364).
_CENTURY = (r"(\d{1,2}(st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|"
            r"eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|"
            r"nineteenth|twentieth|twenty-first)[ -]century")
DATE = re.compile(rf"\b({_MONTHS}|1\d\d\d|20\d\d|1\d\d0s|20\d0s|{_CENTURY}|"
                  r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
# "When did the forum start?" is answered by "which took place from December 15— 19": a span's
# first or last day answers a question about its start or end, and the span one about when it
# was held. ("last" and "run" are left out: "last year", "run for office".)
SPAN_ASK = re.compile(r"\b(start|starts|started|begin|begins|began|open|opens|opened|commence\w*|"
                      r"kick\w* off|end|ends|ended|finish\w*|close|closes|closed|conclude\w*|"
                      r"wrap\w* up|held|take place|takes place|took place|taking place)\b", re.I)
_TO = r"\s*(?:[-\u2013\u2014]|to|until|till|through|and)\s*"
SPAN = re.compile(rf"\b(?:(?:{_MONTHS})\s+\d{{1,2}}{_TO}(?:(?:{_MONTHS})\s+)?\d{{1,2}}|"
                  rf"\d{{1,2}}{_TO}\d{{1,2}}\s+(?:{_MONTHS})|(?:19|20)\d\d{_TO}(?:19|20)?\d\d)\b")
# "In what year": a year, decade or century, not "in January".
_WHAT_YEAR = re.compile(r"\b(?:what|which)\s+year\b", re.I)
_YEAR = re.compile(rf"\b(1\d\d\d|20\d\d|1\d\d0s|20\d0s|{_CENTURY})\b")
# "On what exact date", "which day": a day, not "in January" or "in 2023".
_WHAT_DAY = re.compile(r"\b(?:what|which)\s+(?:exact\s+|precise\s+)?(?:date|day)\b", re.I)
_DAY = re.compile(rf"\b(?:(?:{_MONTHS})\s+\d{{1,2}}|\d{{1,2}}\s+(?:{_MONTHS})|(?:19|20)\d\d[/-]\d\d?[/-]\d\d?|"
                  r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today)\b")
# "how many new satellites has ...": the words up to the auxiliary (else the next two) name
# what is counted; any of them near a number will do.
_HOW_MANY = re.compile(r"\bhow many\b((?:\s+[\w-]+){1,3}?)(?=\s+(?:did|does|do|has|have|had|is|are|"
                       r"was|were|will|would|can|could|should|may|might)\b)|\bhow many\b((?:\s+[\w-]+){0,4})",
                       re.I)
_HOW_LONG = re.compile(r"\bhow long\b", re.I)
_LENGTHS = re.compile(r"(km|kilomet(er|re)s?|miles?|met(er|re)s?|years?|months?|weeks?|days?|"
                      r"hours?|minutes?|decades?)")
_HOW_MUCH = re.compile(r"\b(how (much|large|big)|what (percent|percentage|share|number|amount|level))\b", re.I)
# "What was the budget of ...", "population of Oman": an amount, though no "how much" asks it.
_QUANTITY = re.compile(r"\b(?:budget|cost|price|population|salary|revenue|funding)\s+(?:of|for)\b|"
                       r"^(?:what|how)\b[\w\s]{0,20}?\b(?:budget|cost|price|population|salary|"
                       r"revenue|funding)\b", re.I)
# "What prompted Riyadh to sever ties?" asks for a cause: the answer says what it followed
# or responded to ("in response to attacks"), not how the ties are now.
_CAUSE_ASK = re.compile(r"^(?:and\s+)?(?:what\s+(?:[\w-]+\s+){0,3}?(?:prompted|caused|led to|"
                        r"triggered|sparked|provoked|motivated)\b|(?:what (?:was|is|were) the|"
                        r"for what) (?:main\s+)?(?:reasons?|causes?|trigger)\b)", re.I)
_CAUSE = re.compile(r"\b(because|due to|owing to|in response to|in reaction to|in retaliation|"
                    r"in protest|after|following|followed|amid|prompt\w*|caus\w*|led to|leading to|"
                    r"trigger\w*|spark\w*|result\w*|reasons?|over concerns?)\b", re.I)
# "Where" asks first, or as a second question ("and where"); after another question word it
# starts a clause ("which fields ... where Iran can collaborate") and asks no place.
_WHERE = (re.compile(rf"^(?:(?!{_ASKS}).)*\bwhere\b|(?:\band|,)\s+where\b", re.I),
          re.compile(r"\b(in|at|from|to) [A-Z][a-z]+"))


def _noun(words: str) -> str:
    """Two words past the leading names: "Iranian and Iraqi pilgrims travel" counts pilgrims."""
    words = words.split()
    while words and (words[0][:1].isupper() or not terms(words[0])):
        words.pop(0)
    return " ".join(words[:2])


def answer_types(question: str) -> list:
    """Evidence the answering sentence should hold: a date, a count of the asked noun, a place."""
    when = _DAY if _WHAT_DAY.search(question) else _YEAR if _WHAT_YEAR.search(question) else DATE
    wanted = [when] if WHEN.search(question) else []
    if m := _HOW_MANY.search(question):
        wanted.append(_Amount(question, counted=m.group(1) or _noun(m.group(2) or "")))
    elif _HOW_LONG.search(question):
        wanted.append(_Amount(question, units=_LENGTHS))
    elif _HOW_MUCH.search(question) or _QUANTITY.search(question):
        wanted.append(_Amount(question))
    if _CAUSE_ASK.search(question):
        wanted.append(_CAUSE)
    if _WHERE[0].search(question):
        wanted.append(_WHERE[1])
    return wanted
