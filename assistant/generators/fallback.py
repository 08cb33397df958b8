"""When a verified LLM answer gives way to the extractive one: the LLM path is never worse."""

from __future__ import annotations

from ..citations import strip_markers
from ..records import Answer
from ..terms import covered, terms

# Share of the extractive answer's own words (those the question does not hold) that a generated
# answer must keep: below it, the model dropped what the answer says ("the main axis is the one
# related to ..." for "cooperation in communication infrastructure and the digital economy").
KEEP_SHARE = 0.5


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
    asked = set(terms(base.question))
    key = [t for t in dict.fromkeys(terms(strip_markers(base.text))) if not covered(t, asked)]
    said = set(terms(strip_markers(answer.text)))
    if key and sum(covered(t, said) for t in key) < KEEP_SHARE * len(key):
        return "it leaves out most of what the best-supported sentences say"
    return ""


def _overlap(a, b) -> bool:
    return a.source == b.source and a.start < b.end and b.start < a.end
