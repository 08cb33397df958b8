"""Plain dataclasses passed across every seam: Article, Chunk, Passage, Citation, Answer."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field


@dataclass
class Article:
    """One cleaned article; `text` is what every char offset points into."""

    id: str
    source: str
    title: str
    text: str
    date: str | None = None
    url: str | None = None
    # (start, end, heading) spans of section headings inside `text`.
    headings: list[tuple[int, int, str]] = field(default_factory=list)
    content_hash: str = ""


@dataclass
class Chunk:
    """A token-bounded slice of an article, aligned to sentence boundaries."""

    id: str
    article_id: str
    source: str
    title: str
    date: str | None
    url: str | None
    heading: str | None
    text: str
    start: int
    end: int
    # Sentence spans relative to the article text, reused by the extractive generator.
    sentences: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Passage:
    """A retrieved chunk with its fused score and rank."""

    chunk_id: str
    article_id: str
    source: str
    title: str
    date: str | None
    url: str | None
    heading: str | None
    text: str
    start: int
    end: int
    score: float
    sentences: list[tuple[int, int]] = field(default_factory=list)
    also_in: list[str] = field(default_factory=list)  # sources of collapsed near-duplicates
    focus: tuple[int, int] | None = None  # the span that ranked, when neighbours widened it


@dataclass
class Citation:
    """A verbatim quote that supports one answer sentence, with offsets into its article."""

    marker: int
    source: str
    title: str
    date: str | None
    quote: str
    start: int
    end: int
    url: str | None = None
    passage: int = 0  # index into Answer.passages
    score: float = 0.0  # support score in [0, 1]


@dataclass
class Answer:
    """What ask() returns: text with [n] markers, citations, passages and timings."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    abstained: bool = False
    query: str = ""  # the standalone question used for retrieval
    generator: str = "extractive"
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    index_version: str = ""  # the index snapshot every passage came from

    def to_dict(self) -> dict:
        """JSON-ready dict (the CLI's --json and the HTTP API share it)."""
        return dataclasses.asdict(self)


@dataclass
class Filters:
    """Optional restrictions applied before ranking."""

    since: dt.date | None = None
    until: dt.date | None = None
    sources: list[str] | None = None

    @classmethod
    def coerce(cls, value: "Filters | dict | None") -> "Filters":
        """Accept a Filters, a dict with since/until/source(s), or None."""
        from .errors import ConfigError

        if value is None:
            return cls()
        if isinstance(value, Filters):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"filters must be a dict or Filters, got {type(value).__name__}")
        unknown = set(value) - {"since", "until", "sources", "source"}
        if unknown:
            raise ConfigError(
                f"Unknown filter(s) {sorted(unknown)}; use since, until and sources."
            )
        sources = value.get("sources", value.get("source"))
        if isinstance(sources, str):
            sources = [sources]
        return cls(_date(value.get("since")), _date(value.get("until")), sources or None)

    def active(self) -> bool:
        return bool(self.since or self.until or self.sources)

    def admits(self, date: str | None, source: str) -> bool:
        """True when an item with this date and source passes the filters."""
        if self.sources and not any(s == source or s in source for s in self.sources):
            return False
        if self.since or self.until:
            if not date:
                return False  # an undated article cannot be shown to fall in the range
            d = dt.date.fromisoformat(date)
            if self.since and d < self.since:
                return False
            if self.until and d > self.until:
                return False
        return True


def _date(value) -> dt.date | None:
    from .errors import ConfigError

    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"Invalid date {value!r}: use YYYY-MM-DD, e.g. 2025-01-31.") from None
