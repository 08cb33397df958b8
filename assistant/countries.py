"""Countries by their names, demonyms and capitals (countryinfo), for the refusal rule and answer checks."""

from __future__ import annotations

import functools
import re

from .records import Passage
from .terms import terms

# Words of one country's name that news uses for others too: "the Kingdom of Saudi Arabia" is not
# British, nor "the Central Bank" Central African.
_NOT_PLACES = {"Kingdom", "Democratic", "Central", "Arab"}
_CAPITALIZED = re.compile(r"[A-Z][\w’']*")
_WORD = re.compile(r"[A-Z][a-z]+(?:[’']s)?|[A-Za-z]+")


def country_named(demonym: str, passages: list[Passage]) -> bool:
    """Whether a passage names the demonym's country ("American": "the United States", "USA")."""
    # A question says "American restrictions" where the article says "the United States": the
    # demonym shares no stem with the name. Only the passages are read: every word of "United
    # Kingdom" is somewhere in most corpora, so the vocabulary cannot tell.
    names = _countries().get(demonym) if passages else None
    return bool(names) and any(re.search(rf"\b{re.escape(n)}\b", p.text) for n in names for p in passages)


@functools.lru_cache(maxsize=1)
def country_terms() -> dict[str, list[list[str]]]:
    """A demonym's or capital's stem -> its countries' names as stems ("american" -> [["unit", "state"], ...])."""
    found: dict[str, list[list[str]]] = {}
    for demonym, names in _countries().items():
        # A question's name is one word: "South" of "South Korean" is no demonym of its own.
        if len(stem := terms(demonym)) == 1:
            found.setdefault(stem[0], []).extend(n for name in names if (n := terms(name)))
    # News names a government by its capital ("Riyadh cut ties"); the story says "Saudi Arabia".
    from countryinfo import all_countries

    places = _places()
    for country in all_countries():
        capital = country.info().get("capital") or ""
        if isinstance(capital, str) and (demonym := places.get(capital)) \
                and len(stem := terms(capital)) == 1 and stem[0] not in found:
            found[stem[0]] = [n for name in _countries().get(demonym, ()) if (n := terms(name))]
    return found


def formal_words(stems: list[str]) -> set[str]:
    """The stems that only dress up a country the stems also name ("islam", "republ" of Iran's)."""
    # "the Islamic Republic of Iran", "the Kingdom of Saudi Arabia": the story may say "Iran".
    out: set[str] = set()
    for plain, formal in _formal_names():
        if plain <= set(stems):
            out |= {t for f in formal if f <= set(stems) for t in f - plain}
    return out


@functools.lru_cache(maxsize=1)
def _formal_names() -> list[tuple[set[str], list[set[str]]]]:
    """Each country's shortest name and its longer names that hold it, as stems."""
    found = []
    for names in _countries().values():
        stems = [set(t) for n in names if len(n) > 3 and (t := terms(n))]  # not codes ("IRN")
        if stems:
            plain = min(stems, key=len)
            found.append((plain, [s for s in stems if s > plain]))
    return found


def country_of(word: str) -> str | None:
    """The country (its demonym) a capitalized word names: "Kenya's", "Kenyan", "Nairobi", "Saudi"."""
    word = re.sub(r"[’']s$", "", word)
    return _places().get(word) if word[:1].isupper() else None


def countries_in(text: str) -> set[str]:
    """The countries (demonyms) a text names by a country's name, demonym or capital."""
    found = {c for w in _CAPITALIZED.findall(text) if (c := country_of(w))}
    # "the United Kingdom", "South Korea": no word of theirs names one country alone.
    pattern, owner = _long_names()
    return found | {owner[m.group()] for m in pattern.finditer(text)}


@functools.lru_cache(maxsize=1)
def _long_names() -> tuple[re.Pattern, dict[str, str]]:
    """Country names of two words or more, as one pattern, and each one's demonym."""
    owner = {n: d for d, names in _countries().items() for n in names if " " in n and n[:1].isupper()}
    alternatives = "|".join(re.escape(n) for n in sorted(owner, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b"), owner


@functools.lru_cache(maxsize=1)
def _places() -> dict[str, str]:
    """Each word that names exactly one country (name, demonym or capital) -> that country's demonym."""
    # Words of several countries' names ("United", "Republic", "South") say which country no
    # more than "the" does: only a word naming one country identifies it.
    from countryinfo import all_countries

    owners: dict[str, set[str]] = {}
    for country in all_countries():
        info = country.info()
        demonym = info.get("demonym") or ""
        if not demonym:
            continue
        capital = info.get("capital") or ""
        names = [info.get("name") or "", demonym] + ([capital] if isinstance(capital, str) else capital)
        for word in {w for n in names for w in re.findall(r"[A-Z][a-z]+", n)}:
            owners.setdefault(word, set()).add(demonym)
    return {w: next(iter(d)) for w, d in owners.items() if len(d) == 1 and w not in _NOT_PLACES}


@functools.lru_cache(maxsize=1)
def _countries() -> dict[str, list[str]]:
    """Demonym -> its countries' names ("American" -> "United States", "USA", ...), from countryinfo."""
    from countryinfo import all_countries

    found: dict[str, list[str]] = {}
    for country in all_countries():
        info = country.info()
        # Two-letter codes ("SA", "MP") are everyday words and abbreviations in news text.
        names = [info.get("name") or ""] + [a for a in info.get("altSpellings") or [] if len(a) > 2]
        found.setdefault(info.get("demonym") or "", []).extend(n for n in names if n)
    found.pop("", None)
    return found


def owned_roles(question: str, roles: set[str]) -> list[tuple[str, str]]:
    """(country, role) pairs a question asks about: "Kenya's ambassador", "the Omani foreign minister"."""
    words = _WORD.findall(question)
    out = []
    for i, w in enumerate(words):
        # The role right after the country word, or one word later ("Kenya's foreign minister").
        role = next((r.lower() for r in words[i + 1:i + 3] if r.lower() in roles), None)
        if role and (country := country_of(w)):
            out.append((country, role))
    return out


def role_owners(sentence: str, role: str) -> list[str | None]:
    """For each mention of a role in a sentence, the country named just before it (None: no country)."""
    words = _WORD.findall(sentence)
    found = []
    for i, w in enumerate(words):
        if w.lower().rstrip("s") == role.rstrip("s"):
            before = [c for b in words[max(0, i - 3):i] if (c := country_of(b))]
            found.append(before[-1] if before else None)
    return found
