"""The question set: one JSON object per line, checked when loaded so a typo fails before any model runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..dates import parse_as_of
from ..errors import ConfigError

_REQUIRED = ("id", "question", "answers", "sources", "answerable", "type")


@dataclass
class Question:
    """One evaluation question with its accepted answers and the articles that hold them."""

    id: str
    question: str
    answers: list[str]
    sources: list[str]
    answerable: bool
    type: str
    history: list[str] = field(default_factory=list)  # earlier user turns, asked first
    as_of: str | None = None  # the day it was asked on (YYYY-MM-DD): later articles are not used
    tier: str = ""  # a subset to report on its own (e.g. RealTime QA's upstream_gold)
    split: str = ""  # "dev" (tune on it) or "test" (report it); see eval/split.py


SPLITS = ("dev", "test", "all")


def load_questions(path: str | Path, limit: int | None = None, split: str = "all") -> list[Question]:
    """Read and validate a JSONL question file: one split of it, first `limit` questions when given."""
    path = Path(path).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"Question file {path} does not exist. Pass one with --questions "
                          "(the default set is eval/questions.jsonl).") from None
    questions, seen = [], set()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        q = _parse(line, f"{path}:{lineno}")
        if q.id in seen:
            raise ConfigError(f"{path}:{lineno}: duplicate id {q.id!r}; give each question its own id.")
        seen.add(q.id)
        questions.append(q)
    if not questions:
        raise ConfigError(f"{path} holds no questions; add one JSON object per line.")
    if split not in SPLITS:
        raise ConfigError(f"split={split!r} is not one of {', '.join(SPLITS)}.")
    if split != "all":
        questions = [q for q in questions if q.split == split]
        if not questions:
            raise ConfigError(f"{path} has no {split} questions; give each a \"split\" field "
                              "with: python eval/split.py " + str(path))
    return questions[:limit] if limit else questions


def _parse(line: str, where: str) -> Question:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: invalid JSON ({exc.msg}); fix the line.") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a JSON object with keys {', '.join(_REQUIRED)}.")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}; every question needs "
                          f"{', '.join(_REQUIRED)}.")
    answers, sources = raw["answers"], raw["sources"]
    history = raw.get("history") or []
    if not _strings(answers) or not _strings(sources) or not _strings(history):
        raise ConfigError(f"{where}: answers, sources and history must be lists of strings.")
    if raw["answerable"] and not answers:
        raise ConfigError(f"{where}: an answerable question needs at least one accepted answer.")
    as_of = raw.get("as_of") or None
    if as_of is not None:
        try:
            parse_as_of(str(as_of))
        except ConfigError:
            raise ConfigError(f"{where}: as_of {as_of!r} is not a date; write YYYY-MM-DD.") from None
    return Question(id=str(raw["id"]), question=str(raw["question"]), answers=answers,
                    sources=sources, answerable=bool(raw["answerable"]), type=str(raw["type"]),
                    history=history, as_of=as_of and str(as_of), tier=str(raw.get("tier") or ""),
                    split=str(raw.get("split", "")))


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
