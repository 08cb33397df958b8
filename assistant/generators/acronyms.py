"""What an acronym stands for: spelled out in its story's names, or defined in brackets."""

from __future__ import annotations

import re

from ..terms import terms

ACRONYM = re.compile(r"[A-Z]{2,6}")  # a whole word that may be one ("CDC")
_IN_TEXT = re.compile(r"\b[A-Z]{2,6}\b")  # an acronym inside running text
_JOINER_WORDS = ("for", "of", "and", "the", "on", "in", "&")  # inside a name, not its initials
_JOINERS = rf"\s+(?:(?:{'|'.join(_JOINER_WORDS)})\s+)*"


def spelled_out(acronym: str, text: str) -> bool:
    """The text names an acronym's bearer: "U.S.", "United States", "Centers for Disease Control"."""
    dotted = r"\.".join(acronym) + r"\."
    return bool(re.search(rf"\b(?:{dotted}|{_words(acronym)})", text))


def acronym_terms(sentence: str, own: set[str], story: str, defined: dict[str, set[str]]) -> set[str]:
    """Terms of the names a sentence's acronyms stand for, and the acronyms its words spell out.

    `own` is the sentence's terms; `defined` what the retrieved text spells out in brackets
    (`expansions`).
    """
    # "lauded Iran's active participation in ... programs of ITU" answers a question about "the
    # union": the story says "International Telecommunication Union (ITU)".
    out: set[str] = set()
    for acronym in set(_IN_TEXT.findall(sentence)):
        if m := re.search(rf"\b{_words(acronym)}\b", story):
            out.update(terms(m.group()))
        out.update(defined.get(acronym.lower(), ()))
    # The other way: "Zerrouki called for joint efforts in artificial intelligence" is about "AI"
    # where another passage writes "artificial intelligence (AI)".
    out.update(t for acronym, words in defined.items() if words <= own for t in terms(acronym))
    return out


# "artificial intelligence (AI)", "memorandum of understanding (MoUs)": a text spelling out an
# acronym, whatever the case of its words.
_DEFINED = re.compile(r"((?:[\w’'-]+\s+){1,8})\(([A-Z][A-Za-z]{1,5}?)s?\)")


def expansions(text: str) -> dict[str, set[str]]:
    """Each acronym a text defines in brackets (lower case), with the terms of the words it stands for."""
    found: dict[str, set[str]] = {}
    for m in _DEFINED.finditer(text):
        acronym, words = m.group(2).lower(), m.group(1).split()
        for n in range(len(acronym), len(words) + 1):  # the fewest words whose initials spell it
            tail = words[-n:]
            core = [w for w in tail if w.lower() not in _JOINER_WORDS]
            if any("".join(w[0] for w in ws).lower() == acronym for ws in (tail, core)):
                if tail[0].lower() not in _JOINER_WORDS and (spelled := set(terms(" ".join(tail)))):
                    found.setdefault(acronym, spelled)
                break
    return found


def _words(acronym: str) -> str:
    """A pattern for the words an acronym's letters begin: "ITU", International ... Union."""
    return _JOINERS.join(f"{ch}[a-z]+" for ch in acronym)
