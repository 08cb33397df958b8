"""When a verified LLM answer gives way to the extractive one: the LLM path is never worse."""

from __future__ import annotations

import re

from ..citations import strip_markers
from ..followup import split_context
from ..records import Answer
from ..sentences import answers
from ..terms import covered, terms
from ..verify import Repairs
from .checks import INSTITUTIONAL, Checks

_NUMBER = re.compile(r"(?<![\w-])\d[\d,.]*\w*")  # "19th", "1,200", "2024"
_CAPITAL = re.compile(r"\b[A-Z][a-z]{2,}\b")


def set_aside(answer: Answer, base: Answer) -> str:
    """Why the extractive answer should stand instead of the generated one ('' to keep it)."""
    if base.abstained:  # the calibrated refusal holds for every generator; nothing to fall back to
        return ""
    if answer.abstained:
        return next((n.split(": ", 1)[1] for n in answer.notes if n.startswith("abstained: ")),
                    "it gave no supported answer")
    # The extractive pass never quotes a sentence that asks; a model repeating the question asked
    # (seen with the bundled SmolLM2) answers nothing either.
    if not answers(strip_markers(answer.text).strip()):
        return "it answers with a question"
    # Verification found a source for each sentence, but none of the model's own markers held:
    # the text overlaps the passages without resting on them. On the three dev sets such
    # answers of the bundled model were right only where the extractive answer was right too
    # (ClapNQ 0 of 5, RealTime QA 10 of 14, default 4 of 4), so keeping them never gained.
    repairs = Repairs.of(answer)
    if repairs and not repairs.grounded:
        return "none of its own citations supports it; verification found every source itself"
    # The calibrated score picked the extractive answer's sentences; a generated answer that no
    # longer rests on any of them answers something nearby (a true but off-target sentence).
    if not any(_overlap(c, b) for c in answer.citations for b in base.citations):
        return "it rests on none of the sentences the calibrated score picked"
    # The kind of answer asked for (a date, a count, a place, a name), present in the extractive
    # answer and missing from the generated one: the model kept the sentence, not its answer.
    # (A share of the sentence's words was tried first: it set aside short right answers too.)
    asked = split_context(base.question)[0]
    checks = Checks(asked, embedder=None)
    if checks.typed(strip_markers(base.text)) and not checks.typed(strip_markers(answer.text)):
        return "it leaves out the kind of answer asked for, which the best-supported sentences hold"
    # The numbers and names the best-supported sentence gives that the question did not: a
    # generated answer keeping none of them kept the sentence's topic, not what it says.
    best = base.citations[0].quote if base.citations else ""
    said = strip_markers(answer.text).lower()
    given = _facts(best, checks, asked)
    if given and not any(f in said for f in given):
        return "it keeps none of the names and numbers the best-supported sentence gives"
    # Without such names or numbers, the sentence's other words beyond the question stand in
    # ("transferring expertise" is one of the main axes): an answer keeping none of them says
    # something else about the same topic.
    added = {t for t in terms(best) if not covered(t, checks.q_terms)}
    if not given and added and not added & set(terms(said)):
        return "it keeps none of the words the best-supported sentence adds to the question"
    return ""


def instead(base: Answer, generator: str, why: str, notes=()) -> Answer:
    """The extractive answer standing in for another generator's, with a note saying why."""
    base.notes = [n for n in notes if not n.startswith("abstained: ")] + base.notes + [
        f"Answered with the extractive answer: the {generator} answer was set aside ({why})."]
    return base


def _facts(text: str, checks: Checks, question: str) -> set[str]:
    """Numbers ("19th", "1,200") and capitalized words (names, places) the question does not hold."""
    numbers = {m.group().rstrip(".,").lower() for m in _NUMBER.finditer(text)}
    names = {w.lower() for w in _CAPITAL.findall(text)[1:] if w.lower() not in INSTITUTIONAL}
    return {f for f in numbers | names if f not in question.lower()
            and not any(covered(t, checks.q_terms) for t in terms(f))}


def _overlap(a, b) -> bool:
    return a.source == b.source and a.start < b.end and b.start < a.end
