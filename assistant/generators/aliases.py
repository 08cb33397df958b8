"""Who a family name stands for: the office and country its story gives the person ("Gitau, the Kenyan Cabinet Secretary")."""

from __future__ import annotations

import functools
import re

from ..countries import countries_in, country_of, owned_roles
from ..terms import terms
from .checks import INSTITUTIONAL, ROLES
from .quotes import story_texts

_TOKEN = re.compile(r"[A-Za-z][\w’'&-]*|[^\w\s]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")
_PARTICLES = {"bin", "bint", "ibn", "al", "el", "de", "van", "von", "da"}
_CALENDAR = {"January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December", "Monday", "Tuesday", "Wednesday",
             "Thursday", "Friday", "Saturday", "Sunday"}
BEFORE = 12  # words read back from a name for its office ("the Algerian Minister of Post and ...")
_JOINERS = {"of", "the", "to", "for", "and", "&", ",", "a", "an"}
_OPENERS = {"the", "his", "her", "their", "a", "an"}  # an apposition: "Gitau, the Kenyan ..."


def described(own: set[str], people: dict[str, str]) -> str:
    """The offices of the people a sentence names by family name (`own`: the sentence's terms)."""
    return " ".join(people[t] for t in sorted(own) if t in people)


def by_office(question: str, passages, search=None) -> list[str]:
    """The one family name the passages' articles give an office the question asks about, if one."""
    # The office is most often written once, with the full name, in a chunk the question's
    # words did not reach: `search(text, n)` finds it, and only the same articles count.
    owned = owned_roles(question, ROLES)
    if not owned:
        return []
    if search:
        same = {p.article_id for p in passages}
        told = search(" ".join(f"{country} {role}" for country, role in owned), 3)
        passages = passages + [p for p in told if p.article_id in same]
    asked, found = set(terms(question)), set()
    for text in dict.fromkeys(story_texts(passages)):
        for name, office in people(text).items():
            words = {w.lower().rstrip("s") for w in office.split()}
            if name not in asked and any(role.rstrip("s") in words and country in countries_in(office)
                                         for country, role in owned):
                found.add(name)
    return sorted(found) if len(found) == 1 else []


@functools.lru_cache(maxsize=256)
def people(story: str) -> dict[str, str]:
    """Family name (a stem) -> the words its story says the person is, offices and countries only."""
    # News names a person in full once, with the office ("the Kenyan Cabinet Secretary ...,
    # William Kabogo Gitau"), then by family name alone: "Gitau stressed the need ..." answers a
    # question about the Kenyan cabinet secretary only when it counts as naming that office.
    found: dict[str, list[str]] = {}
    lower = set(re.findall(r"\b[a-z][\w’'-]*", story))
    for sentence in _SENTENCE.split(story):
        words = _TOKEN.findall(sentence)
        if sum(w[:1].islower() for w in words) < 0.3 * len(words):
            continue  # a headline or a list of them: every word capitalized
        runs = _runs(words)
        for n, (a, b) in enumerate(runs):
            family = words[b - 1].split("-")[-1]
            key = terms(family)
            if b - a < 2 or not key or family.lower() in lower:
                continue  # one word names no one in full; a word also written lower case is no name
            office = _before(words, runs[n - 1][1] if n else 0, a)
            if b + 1 < len(words) and words[b] == "," and (words[b + 1].lower() in _OPENERS
                                                          or _office(words[b + 1])):
                office += _clause(words[b + 1:])
            kept = [w for w in office if _office(w) and w not in _CALENDAR]
            if kept:
                found.setdefault(key[-1], []).extend(kept)
    return {k: " ".join(dict.fromkeys(v)) for k, v in found.items()}


def _before(words: list[str], floor: int, a: int) -> list[str]:
    """The office written just before a name: capitalized words, offices and their joiners."""
    i = a - 1 if a > floor and words[a - 1] == "," else a
    while i > max(floor, a - BEFORE) and (_office(words[i - 1]) or words[i - 1][:1].isupper()
                                          or words[i - 1].lower() in _JOINERS):
        i -= 1
    return words[i:a]


def _runs(words: list[str]) -> list[tuple[int, int]]:
    """Spans of words that may be a person's name: capitalized, neither an office nor a place."""
    runs, start = [], None
    for i, w in enumerate(words + [""]):
        particle = w.lower().split("-")[0] in _PARTICLES
        name = (i > 0 and w[:1].isupper() and not w.isupper() and not _office(w)
                and w not in _CALENDAR) or (start is not None and particle)
        if name and start is None:
            start = i
        elif not name and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _office(word: str) -> bool:
    """A word of an office or a place: "Minister", "Cabinet", "Kenyan", "ICT"."""
    low = word.lower()
    return (any(p in ROLES or p.rstrip("s") in ROLES for p in low.split("-")) or low in INSTITUTIONAL
            or word.isupper() and len(word) > 1 or bool(country_of(word)))


def _clause(words: list[str]) -> list[str]:
    """The words up to the next comma or sentence end (an apposition)."""
    out = []
    for w in words:
        if w in {",", ".", ";", ":", "(", ")"}:
            break
        out.append(w)
    return out
