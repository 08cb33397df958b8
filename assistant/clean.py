"""Turn messy article text into clean paragraphs: unwrap, headings, dates, boilerplate removed."""

from __future__ import annotations

import datetime as dt
import re
import statistics
import unicodedata
from dataclasses import dataclass, field

_DATE_PREFIX = re.compile(r"^date\s+(\d{4}-\d{1,2}-\d{1,2})\s*", re.I)
_DATE_LINE = re.compile(
    r"^(?:publish(?:ed)?(?:\s+date)?|date(?:\s+published)?|posted(?:\s+on)?)\s*:?\s*(.+?)\s*$", re.I
)
_NAV_HEADER = re.compile(
    r"^(?:latest|related|recent|more|top|popular|most\s+read|read\s+more|see\s+also|trending)"
    r"(?:\s+(?:news|stories|articles|posts|headlines))?\s*:?\s*$",
    re.I,
)
_BULLET = re.compile(r"^\s*(?:[-*•·▪]|\d+[.)])\s+\S")
_SIGNOFF = re.compile(r"^[A-Z]{1,4}(?:/[A-Z]{1,4})+\.?$")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_TERMINAL = tuple('.!?:;,"”’»')
# A leading "Title: ... / Source: ... / URL: ..." block is metadata, not text: left in, its
# lines became headings, and every chunk was embedded under "Authors: <names>".
_HEADER_LINE = re.compile(r"^(title|source|published|date|url|link|authors?|by|byline)\s*:\s*(.*)$", re.I)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y")


@dataclass
class Cleaned:
    """Clean text plus what the cleaner learned about the article."""

    text: str
    title: str
    date: str | None = None
    headings: list[tuple[int, int, str]] = field(default_factory=list)


def parse_date(value: str) -> str | None:
    """ISO date (YYYY-MM-DD) from the common written forms, or None."""
    value = value.strip().rstrip(".")
    m = re.match(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", value)  # also ISO datetimes
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def clean_text(raw: str, title: str | None = None, date: str | None = None) -> Cleaned:
    """Clean one article's raw text; given title/date (from metadata) take precedence."""
    lines = _normalize(raw).split("\n")
    lines, header = _header(lines)
    title = title or header.get("title")
    date = date or parse_date(header.get("published") or header.get("date") or "")
    lines, found_date = _strip_boilerplate(lines)
    paragraphs = _paragraphs(lines)
    text, headings = _assemble(paragraphs)
    if not title:
        title = _title(text, headings)
    return Cleaned(text=text, title=title, date=date or found_date, headings=headings)


# Unicode category Cc (C0, DEL and C1), all but the newline.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _normalize(raw: str) -> str:
    raw = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    raw = raw.replace("\ufeff", "").replace("\u00a0", " ").replace("\t", " ")
    # Control characters are never content; they would confuse tokenizers and the UI. One regex
    # pass, not a unicodedata call per character (4 of the 5 s reading RealTime QA's 3,544 files).
    return _CONTROL.sub("", raw)


def _header(lines: list[str]) -> tuple[list[str], dict[str, str]]:
    """Split off a leading block of two or more 'Key: value' metadata lines."""
    fields, i = {}, 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    while i < len(lines) and (m := _HEADER_LINE.match(lines[i].strip())):
        fields.setdefault(m[1].lower(), m[2].strip())
        i += 1
    if len(fields) < 2 or (i < len(lines) and lines[i].strip()):
        return lines, {}  # one "Source:" line, or no blank line after: part of the text
    return lines[i:], fields


def _strip_boilerplate(lines: list[str]) -> tuple[list[str], str | None]:
    """Drop date lines, navigation lists and sign-offs; return kept lines and the date found."""
    out, found, i = [], None, 0
    while i < len(lines):
        line = lines[i].strip()
        m = _DATE_PREFIX.match(line)
        if m and parse_date(m[1]):
            found = found or parse_date(m[1])
            line = line[m.end():]
        m = _DATE_LINE.match(line)
        if m and parse_date(m[1]):
            found = found or parse_date(m[1])
            i += 1
            continue
        if _NAV_HEADER.match(line) and _next_is_bullet(lines, i + 1):
            i += 1
            while i < len(lines) and (not lines[i].strip() or _BULLET.match(lines[i])):
                i += 1
            continue
        if _SIGNOFF.match(line):
            i += 1
            continue
        out.append(line)
        i += 1
    return out, found


def _next_is_bullet(lines: list[str], i: int) -> bool:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i < len(lines) and bool(_BULLET.match(lines[i]))


def _paragraphs(lines: list[str]) -> list[tuple[str, bool]]:
    """Group lines into (paragraph, is_heading) pairs, unwrapping hard-wrapped text."""
    wrapped = _is_hard_wrapped(lines)
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    out: list[tuple[str, bool]] = []
    for block in blocks:
        if not block:
            continue
        # Without hard wrapping, every line is a paragraph of its own (one-line-per-paragraph files).
        groups = [block] if wrapped else [[line] for line in block]
        for group in groups:
            md = _MD_HEADING.match(group[0]) if len(group) == 1 else None
            if md:
                out.append((md[1], True))
                continue
            para = _MD_LINK.sub(r"\1", _unwrap(group))
            out.append((para, len(group) == 1 and _looks_like_heading(para)))
    # A heading must introduce something; a trailing short line is just a short paragraph.
    if out and out[-1][1]:
        out[-1] = (out[-1][0], False)
    return out


def _is_hard_wrapped(lines: list[str]) -> bool:
    """True when lines break at a fixed width, mid-sentence (e.g. 000 wraps at ~60 chars)."""
    lengths = [len(line) for line in lines if line]
    if len(lengths) < 4:
        return False
    continued = sum(
        1 for a, b in zip(lines, lines[1:]) if a and b and not a.endswith(_TERMINAL[:3])
    )
    return statistics.median(lengths) <= 100 and continued >= len(lengths) / 4


def _unwrap(group: list[str]) -> str:
    text = group[0]
    for line in group[1:]:
        # A line ending in a hyphen or dash is a compound split by the wrap: keep the
        # hyphen and join without a space ("knowledge-" + "based" -> "knowledge-based").
        joiner = "" if text.endswith(("-", "—", "–")) and text[-2:-1].isalpha() else " "
        text += joiner + line
    return re.sub(r" {2,}", " ", text)


def _looks_like_heading(para: str) -> bool:
    words = para.split()
    return (
        0 < len(words) <= 14
        and len(para) <= 100
        and not para.endswith(_TERMINAL)
        and para[0].isupper()
    )


def _assemble(paragraphs: list[tuple[str, bool]]) -> tuple[str, list[tuple[int, int, str]]]:
    parts, headings, pos = [], [], 0
    for para, is_heading in paragraphs:
        if parts:
            pos += 2  # the "\n\n" separator
        if is_heading:
            headings.append((pos, pos + len(para), para))
        parts.append(para)
        pos += len(para)
    return "\n\n".join(parts), headings


def _title(text: str, headings: list[tuple[int, int, str]]) -> str:
    if headings and headings[0][0] == 0:
        return headings[0][2]
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    # Datelines ("TEHRAN –The ...", "Tehran: Iran has ...") are not part of a title.
    first = re.sub(r"^[A-Z][A-Za-z]+\s*(?:[–—-]|:)\s*", "", first)
    if len(first) > 90:
        first = first[:90].rsplit(" ", 1)[0].rstrip(",;") + "…"
    return first or "Untitled"
