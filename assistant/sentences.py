"""Rule-based sentence spans with char offsets (fast; no model, no download)."""

from __future__ import annotations

import re

from .citations import strip_markers

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, whitespace,
# then something that can open a sentence.
_BOUNDARY = re.compile(r"[.!?]+[\"”’'»)\]]*(?=\s+[\"“‘'«(\[]?[A-Z0-9])")
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "no", "gen", "col", "lt", "gov", "sen",
    "rep", "vs", "etc", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "e.g", "i.e", "u.s", "u.k", "u.n", "approx", "fig",
}


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence (start, end) spans inside text[start:end]; paragraphs always end a sentence."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text[start:end]):
        p0 = start + para.start()
        body = para.group()
        cursor = 0
        for m in _BOUNDARY.finditer(body):
            if _is_abbreviation(body, m.start()):
                continue
            spans.append(_trim(text, p0 + cursor, p0 + m.end()))
            cursor = m.end()
        if body[cursor:].strip():
            spans.append(_trim(text, p0 + cursor, p0 + len(body)))
    return [s for s in spans if s[1] > s[0]]


def _is_abbreviation(body: str, dot: int) -> bool:
    if body[dot] != ".":
        return False
    word = re.search(r"([A-Za-z.]+)$", body[:dot])
    if not word:
        return False
    token = word.group(1).lower().strip(".")
    # Single capital letters are initials ("J. Smith"), not sentence ends.
    return token in _ABBREVIATIONS or (len(token) == 1 and body[dot - 1].isupper())


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


# A dateline opens many wire stories ("TEHRAN –The ..."); it is not part of the answer.
_DATELINE = re.compile(r"^[A-Z][A-Z ]{2,}\s*[–—-]\s*|^[A-Z][a-z]+:\s+")
# A sentence that asks (a quiz's question, a headline) answers nothing.
_ASKS = re.compile(r"\?[\"”’')\]]*$")


def quoted(raw: str) -> tuple[int, str]:
    """A sentence as answers quote it (dateline dropped, the article's "[7]" markers removed), and
    how many leading characters were dropped."""
    m = _DATELINE.match(raw)
    skip = m.end() if m and len(raw) - m.end() > 20 else 0
    return skip, " ".join(strip_markers(raw[skip:]).split())


def answers(text: str) -> bool:
    """Whether a quoted sentence can answer: four words or more, not a question, not cut off."""
    # "During a meeting with Ahmed Almuaini in Tehran," then a blank line: the article broke
    # its sentence at a paragraph, and the half alone says nothing.
    return len(text.split()) >= 4 and not _ASKS.search(text) and not text.endswith(",")


def read_on(text: str, start: int, spans):
    """(start, end, sentence) of each span of text (which starts at offset start) as answers quote
    it: opening quote marks off, and one the article cut off at a paragraph break joined to the
    next ("During a meeting with Ahmed Almuaini in Tehran," then a blank line)."""
    held = None
    for a, b in spans:
        skip, said = quoted(text[a - start:b - start])
        a += skip
        if held:
            a, said = held[0], f"{held[1]} {said}"
        held = (a, said) if said.endswith(",") else None
        if not held:
            yield a, b, said
