"""Read .txt/.md/.html/.jsonl/.pdf files or folders into cleaned Articles; report bad files by name."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .clean import clean_text, parse_date
from .errors import CorpusError
from .records import Article

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".pdf"}


@dataclass
class Problem:
    """A file (or JSONL line) that was skipped, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass
class Corpus:
    """The articles read from a path, plus the files that could not be read."""

    root: Path
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Files left unread because unchanged since the last sync (read_changed): their articles stay.
    kept: set[str] = field(default_factory=set)


# A .jsonl file holds many articles, so it may be this many times larger than one article;
# a PDF carries fonts and pictures besides its text.
JSONL_FACTOR = 200
PDF_FACTOR = 10


def file_limit_mb(name: str, max_file_mb: float) -> float:
    """The size limit for one file of this type, given the per-article limit."""
    suffix = Path(name).suffix.lower()
    return max_file_mb * {".jsonl": JSONL_FACTOR, ".pdf": PDF_FACTOR}.get(suffix, 1)


def read_corpus(path: str | Path, max_file_mb: float = 5.0) -> Corpus:
    """Read every supported file under `path` (a file or a folder tree); max_file_mb is per article."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CorpusError(f"Corpus path {path} does not exist. Create it or set ASSISTANT_CORPUS_DIR.")
    root = _root(path)
    corpus = Corpus(root=root)
    for file in _files(path, root, corpus.problems):
        _read_into(corpus, file, file.relative_to(root).as_posix(), max_file_mb)
    return corpus


def read_changed(path: str | Path, now: dict, before: dict, max_file_mb: float = 5.0) -> Corpus:
    """Read only the files whose size or time differ from `before` (listing()s); the rest are kept."""
    path = Path(path).expanduser()
    root = _root(path)
    corpus = Corpus(root=root, kept={f for f, st in now.items() if before.get(f) == st})
    for source in sorted(set(now) - corpus.kept):
        _read_into(corpus, root / source, source, max_file_mb)
    return corpus


def _read_into(corpus: Corpus, file: Path, source: str, max_file_mb: float) -> None:
    try:
        data = _read_bytes(file, file_limit_mb(file.name, max_file_mb))
        corpus.articles.extend(_parse(file, source, data, corpus.problems, max_file_mb))
    except CorpusError as exc:
        corpus.problems.append(Problem(source, str(exc)))
    except OSError as exc:  # removed or replaced since it was listed
        corpus.problems.append(Problem(source, f"could not be read ({exc.strerror}); skipped"))


def file_of(source: str) -> str:
    """The corpus file an article's source names (a JSONL article's source adds `:line`)."""
    name, _, line = source.rpartition(":")
    return name if line.isdigit() and name.lower().endswith(".jsonl") else source


def listing(path: str | Path) -> dict[str, list[int]]:
    """Each file read_corpus() would read, with its size and modification time (no file opened)."""
    path = Path(path).expanduser()
    if not path.exists():
        return {}
    root = _root(path)
    out = {}
    for file in _files(path, root, []):
        st = file.stat()
        out[file.relative_to(root).as_posix()] = [st.st_size, st.st_mtime_ns]
    return out


def _root(path: Path) -> Path:
    """The folder sources are named relative to: the corpus folder, or a lone file's folder."""
    return path if path.is_dir() else path.parent


def _files(path: Path, root: Path, problems: list[Problem]) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            file = Path(dirpath) / name
            if name.startswith(".") or file.suffix.lower() not in SUPPORTED:
                continue
            # A symlink may point anywhere; never read outside the corpus root.
            if not file.resolve().is_relative_to(real_root):
                problems.append(Problem(file.relative_to(root).as_posix(),
                                        "symlink points outside the corpus folder; skipped"))
                continue
            yield file


def _read_bytes(file: Path, max_file_mb: float) -> bytes:
    size = file.stat().st_size
    if size == 0:
        raise CorpusError("empty file; add text or remove it")
    if size > max_file_mb * 1024 * 1024:
        raise CorpusError(f"file is {size / 2**20:.1f} MB, over the {max_file_mb:g} MB limit; split it "
                          "into articles (one per file or per JSONL line) or raise ASSISTANT_MAX_FILE_MB")
    return file.read_bytes()


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise CorpusError("binary file (NUL bytes); only UTF-8 text is indexed")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8") from None
    if not text.strip():
        raise CorpusError("file holds only whitespace; add text or remove it")
    return text


def _parse(file: Path, source: str, data: bytes, problems: list[Problem],
           max_mb: float) -> list[Article]:
    suffix = file.suffix.lower()
    if suffix == ".pdf":
        from .pdf import extract_cached

        raw, title, created = extract_cached(data)
        # A PDF's creation date is when it was made, often later than the story: a date
        # printed in the text wins.
        return [_article(source, 0, raw, title, fallback_date=created)]
    text = _decode(data)
    if suffix == ".jsonl":
        return list(_jsonl(source, text, problems, max_mb))
    if suffix in (".html", ".htm"):
        from .html import extract

        raw, title, date, url = extract(text)
        return [_article(source, 0, raw, title, date, url)]
    return [_article(source, 0, text)]


def _jsonl(source: str, text: str, problems: list[Problem], max_mb: float) -> Iterator[Article]:
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{source}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(where, f"invalid JSON ({exc.msg}); fix or remove the line"))
            continue
        body = record.get("text") or record.get("body") or record.get("content") if isinstance(record, dict) else None
        if not isinstance(body, str) or not body.strip():
            problems.append(Problem(where, "no 'text' or 'body' field with content; skipped"))
            continue
        if len(body) > max_mb * 1024 * 1024:
            problems.append(Problem(where, f"article text over the {max_mb:g} MB limit; skipped"))
            continue
        raw_date = record.get("date") or record.get("published_at") or record.get("published")
        date = parse_date(str(raw_date)) if raw_date else None
        yield _article(where, lineno, body, record.get("title"), date, record.get("url"))


def _article(source, position, raw, title=None, date=None, url=None, fallback_date=None) -> Article:
    cleaned = clean_text(raw, title=title, date=date)
    cleaned.date = cleaned.date or fallback_date
    # The id names the article's place (file, line), so an edited article keeps its id and
    # only its content hash changes; that is what incremental re-indexing compares.
    art_id = hashlib.sha256(f"{source}\0{position}".encode()).hexdigest()[:16]
    digest = hashlib.sha256(
        "\0".join([cleaned.title, cleaned.date or "", url or "", cleaned.text]).encode()
    ).hexdigest()[:16]
    return Article(id=art_id, source=source, title=cleaned.title, text=cleaned.text,
                   date=cleaned.date, url=url, headings=cleaned.headings, content_hash=digest)
