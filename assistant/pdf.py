"""Pull the text and metadata out of a PDF (pypdf); scanned or locked files are named, not guessed."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
from collections import Counter

from .errors import CorpusError, MissingDependency
from .settings import cache_home

# Running headers and footers ("Page 3 of 9", the paper's name) repeat on most pages; lines
# seen at a page's edge on at least this share of the pages (3 pages or more) are dropped.
_RUNNING_SHARE = 0.5
_EDGE_LINES = 2
_VERSION = b"pdf-text-1\0"  # part of the cache key: bump it when extract() changes its output


def extract_cached(data: bytes) -> tuple[str, str | None, str | None]:
    """extract(), remembered by the file's bytes: every sync reads the corpus, PDFs included."""
    key = hashlib.sha256(_VERSION + data).hexdigest()[:32]
    path = cache_home() / "pdf" / f"{key}.json"
    try:
        text, title, date = json.loads(path.read_text(encoding="utf-8"))
        return text, title, date
    except (OSError, ValueError, TypeError):
        pass
    result = extract(data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(result), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written costs time on the next sync, nothing else
    return result


def extract(data: bytes) -> tuple[str, str | None, str | None]:
    """(text, title, ISO date) of a PDF; CorpusError when it holds no text that can be read."""
    try:
        from pypdf import PdfReader
    except ImportError:
        raise MissingDependency("pypdf", "core") from None
    # pypdf logs what it repairs ("EOF marker not found"); the problem list says what matters.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        # Many "protected" PDFs only restrict printing and open with the empty password.
        if reader.is_encrypted and not reader.decrypt(""):
            raise CorpusError("the PDF is password-protected; save an unprotected copy and add that")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
    except CorpusError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types for a damaged file
        raise CorpusError(f"unreadable PDF ({type(exc).__name__}: {exc}); re-export it as PDF "
                          "or save its text as .txt") from None
    text = "\n\n".join(p for p in _drop_running_lines(pages) if p.strip())
    if not text.strip():
        raise CorpusError("the PDF holds no text, only images (a scan?); run OCR on it first "
                          "(e.g. ocrmypdf) or save its text as .txt")
    title = (meta.title or "").strip() if meta else ""
    return text, title or None, _date(meta)


def _date(meta) -> str | None:
    try:
        created = meta.creation_date if meta else None
    except Exception:  # noqa: BLE001 - a malformed /CreationDate is common and harmless
        return None
    return created.date().isoformat() if created else None


def _drop_running_lines(pages: list[str]) -> list[str]:
    """The pages without the header and footer lines that repeat across them."""
    if len(pages) < 3:
        return pages
    key = lambda line: re.sub(r"\d+", "#", line.strip().lower())  # noqa: E731 - page numbers vary
    seen = Counter()
    for page in pages:
        lines = [ln for ln in page.splitlines() if ln.strip()]
        seen.update({key(ln) for ln in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]})
    running = {k for k, n in seen.items() if n >= max(3, _RUNNING_SHARE * len(pages))}
    out = []
    for page in pages:
        lines = page.splitlines()
        filled = [i for i, ln in enumerate(lines) if ln.strip()]
        edges = set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:])
        out.append("\n".join(ln for i, ln in enumerate(lines) if i not in edges or key(ln) not in running))
    return out
