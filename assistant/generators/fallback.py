"""When a verified LLM answer gives way to the extractive one: the LLM path is never worse."""

from __future__ import annotations

from ..citations import strip_markers
from ..followup import split_context
from ..records import Answer
from .extractive import _Checks


def set_aside(answer: Answer, base: Answer) -> str:
    """Why the extractive answer should stand instead of the generated one ('' to keep it)."""
    if base.abstained:  # the calibrated refusal holds for every generator; nothing to fall back to
        return ""
    if answer.abstained:
        return next((n.split(": ", 1)[1] for n in answer.notes if n.startswith("abstained: ")),
                    "it gave no supported answer")
    # The calibrated score picked the extractive answer's sentences; a generated answer that no
    # longer rests on any of them answers something nearby (a true but off-target sentence).
    if not any(_overlap(c, b) for c in answer.citations for b in base.citations):
        return "it rests on none of the sentences the calibrated score picked"
    # The kind of answer asked for (a date, a count, a place, a name), present in the extractive
    # answer and missing from the generated one: the model kept the sentence, not its answer.
    # (A share of the sentence's words was tried first: it set aside short right answers too.)
    checks = _Checks(split_context(base.question)[0], embedder=None)
    if checks.typed(strip_markers(base.text)) and not checks.typed(strip_markers(answer.text)):
        return "it leaves out the kind of answer asked for, which the best-supported sentences hold"
    return ""


def _overlap(a, b) -> bool:
    return a.source == b.source and a.start < b.end and b.start < a.end
