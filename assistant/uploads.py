"""Check an uploaded article and save it into the corpus folder under a safe, unused name."""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AssistantError, CorpusError
from .ingest import SUPPORTED, file_limit_mb, read_corpus

# Letters and digits of any script, dot, dash, underscore; everything else (slashes, control
# and bidi-override characters, spaces, quotes) becomes "_".
_UNSAFE = re.compile(r"[^\w.-]+")
_MAX_STEM_BYTES = 120  # well under the usual 255-byte limit, leaving room for "-NN.ext"


@dataclass
class Saved:
    """One accepted upload and what became of it."""

    name: str  # file name inside the corpus folder
    original: str  # the name the browser sent
    articles: int  # articles read from it
    duplicate: bool = False  # the same bytes were already there under `name`; nothing written
    problems: list[str] = field(default_factory=list)  # e.g. skipped JSONL lines

    def describe(self) -> str:
        """One line for the chat."""
        if self.duplicate:
            return f"{self.original} is already in the corpus as {self.name}; nothing changed."
        count = f"{self.articles} article{'s' if self.articles != 1 else ''}"
        renamed = "" if self.name == self.original else f" (uploaded as {self.original})"
        skipped = f"; skipped {len(self.problems)} unreadable part(s)" if self.problems else ""
        return f"Added {self.name}{renamed}: {count}{skipped}."


def safe_name(filename: str) -> str:
    """A plain file name with no folder part: '../../etc/passwd' -> 'passwd'."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", filename or ""))[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._-") or "upload"
    ext = _UNSAFE.sub("", ext).lower()
    while len(stem.encode()) > _MAX_STEM_BYTES:
        stem = stem[:-1]
    return f"{stem}.{ext}" if ext else stem


def check_name(filename: str) -> str:
    """The safe name for `filename`; CorpusError if its type is not one the indexer reads."""
    name = safe_name(filename)
    suffix = Path(name).suffix
    if suffix not in SUPPORTED:
        kinds = ", ".join(sorted(SUPPORTED))
        shown = f"'{suffix}' files are" if suffix else "files without an extension are"
        raise CorpusError(f"{filename}: {shown} not supported. Upload UTF-8 text as {kinds} "
                          "(or a PDF with a text layer).")
    return name


def upload_limit_mb(filename: str, max_mb: float) -> float:
    """The indexer's limit for a PDF; one article's for the rest (collections go in as files)."""
    return file_limit_mb(filename, max_mb) if filename.lower().endswith(".pdf") else max_mb


def check_bytes(data: bytes, filename: str, max_mb: float) -> None:
    """Raise CorpusError unless `data` is non-empty UTF-8 text (or a PDF) within the size limit."""
    limit = upload_limit_mb(filename, max_mb)
    if len(data) > limit * 1024 * 1024:
        raise _too_big(filename, len(data), limit)
    if not data.strip():
        raise CorpusError(f"{filename}: the file is empty.")
    if filename.lower().endswith(".pdf"):
        if b"%PDF-" not in data[:1024]:  # readers (and pypdf) allow some bytes before the header
            raise CorpusError(f"{filename}: this is not a PDF (no %PDF- header). "
                              "Upload the real PDF, or the text as .txt.")
        return  # whether it holds readable text is checked by reading it, next
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{filename}: this is a binary file; only UTF-8 text can be added.")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{filename}: not valid UTF-8 (byte {exc.start}). "
                          "Re-save it as UTF-8 and upload it again.") from None


def save_upload(source: str | Path, filename: str, corpus_dir: str | Path,
                max_mb: float) -> Saved:
    """Validate the upload at `source` and copy it into `corpus_dir` under a safe, unused name."""
    corpus_dir, source = Path(corpus_dir), Path(source)
    if not corpus_dir.is_dir():
        raise CorpusError(f"Uploads need a corpus folder, and {corpus_dir} is not one. "
                          "Set ASSISTANT_CORPUS_DIR to a folder.")
    name = check_name(filename)
    size, limit = source.stat().st_size, upload_limit_mb(name, max_mb)
    if size > limit * 1024 * 1024:  # refuse before reading it into memory
        raise _too_big(filename, size, limit)
    data = source.read_bytes()
    check_bytes(data, filename, max_mb)
    # A hidden name: the indexer skips dot-files, so a half-checked upload is never indexed.
    tmp = corpus_dir / f".upload-{uuid.uuid4().hex[:12]}{Path(name).suffix}"
    tmp.write_bytes(data)
    try:
        parsed = read_corpus(tmp, max_mb)
        problems = [str(p).replace(tmp.name, name) for p in parsed.problems]
        if not parsed.articles:
            detail = "; ".join(problems) or "no text found"
            raise CorpusError(f"{filename}: no article could be read ({detail}).")
        for candidate in _candidates(name):
            target = corpus_dir / candidate
            if target.is_file() and target.read_bytes() == data:
                return Saved(candidate, filename, len(parsed.articles), duplicate=True)
            if _place(tmp, target, data):
                return Saved(candidate, filename, len(parsed.articles), problems=problems)
        raise CorpusError(f"{filename}: too many files named like {name}; rename it and retry.")
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class Added:
    """One batch of uploads, in the order sent: each file saved or refused, and the index sync."""

    outcomes: list[tuple[str, Saved | AssistantError]] = field(default_factory=list)  # (name sent, ...)
    report: object = None  # the IndexReport, when something new was saved

    @property
    def saved(self) -> list[Saved]:
        return [o for _, o in self.outcomes if isinstance(o, Saved)]

    @property
    def refused(self) -> list[AssistantError]:
        return [o for _, o in self.outcomes if not isinstance(o, Saved)]


def add_files(files: list[tuple[str | Path, str]], corpus_dir: str | Path, max_mb: float,
              index) -> Added:
    """Save each (path, name sent) with the upload rules, then call `index()` once if any is new."""
    out = Added()
    for path, original in files:
        try:
            out.outcomes.append((original, save_upload(path, original, corpus_dir, max_mb)))
        except AssistantError as exc:
            out.outcomes.append((original, exc))
    if any(not s.duplicate for s in out.saved):
        out.report = index()
    return out


def _candidates(name: str):
    stem, suffix = Path(name).stem, Path(name).suffix
    yield name
    for i in range(2, 1000):
        yield f"{stem}-{i}{suffix}"


def _place(tmp: Path, target: Path, data: bytes) -> bool:
    """Create `target` only if nothing is there (True), atomically; never replace a file."""
    try:
        os.link(tmp, target)  # fails on an existing name, so a racing upload cannot clobber it
        return True
    except FileExistsError:
        return False
    except OSError:  # a filesystem without hard links: exclusive create instead
        try:
            with open(target, "xb") as fh:
                fh.write(data)
            return True
        except FileExistsError:
            return False


def _too_big(filename: str, size: int, max_mb: float) -> CorpusError:
    return CorpusError(f"{filename}: {size / 2**20:.1f} MB is over the {max_mb:g} MB upload "
                       "limit (ASSISTANT_MAX_FILE_MB). Split it, or copy it into the corpus "
                       "folder and run: assistant index")
