"""Questions about several things: their parts, and the people a "who did X meet" asks for."""

from __future__ import annotations

import re

from ..followup import CONTEXT_OPEN

MAX_PARTS = 5  # sentences per part of a question, and parts per question

# Two questions in one: "Who did X meet, and what did they discuss?", "Where ...? When ...?"
_JOIN = re.compile(r",?\s+and\s+(?=(?:what|who|whom|which|when|where|how|why)\b)|\?\s+(?=[A-Za-z])",
                   re.I)
# "Who did X meet / talk to / visit": every person is a part of the answer.
_WHO_MET = re.compile(r"\b(who|whom)\b.*\b(meet|met|talk|talked|spoke|speak|visit|visited|hosted|"
                      r"received)\b", re.I)
_MEETING = re.compile(r"\b(met|meet|meets|meeting|meetings|talks|hosted|received|visited|visit)\b",
                      re.I)
# "which countries", "what agreements": several items, each perhaps in its own sentence.
_SEVERAL = re.compile(r"\b(which|what) (countries|nations|people|officials|leaders|companies|"
                      r"organi[sz]ations|areas|fields|topics|issues|agreements|steps|projects|"
                      r"sectors|ministers|universities)\b|\bwhat did (they|the two|both)\b", re.I)


# "in Riyadh and in Baku", "with the Omani ambassador and with the Saudi ambassador": one
# question about two things, most often answered by a sentence of each one's story.
_PAIRED = re.compile(r"\b(in|at|with|from|to|for|by)\s+([^,?]+?)\s+and\s+\1\s+([^,?]+?)(?=\s*[,?]|$)",
                     re.I)


def parts(question: str) -> list[str]:
    """The sub-questions of a joined or paired question (the question itself when it is one)."""
    if paired(question):
        m = _PAIRED.search(question)
        return [f"{question[:m.start()]}{m.group(1)} {thing}{question[m.end():]}"
                for thing in m.group(2, 3)]
    pieces = [p.strip(" ,?") for p in _JOIN.split(question)]
    return [p + "?" for p in pieces if len(p.split()) >= 2] or [question]


def paired(question: str) -> bool:
    """One question about two things ("in Riyadh and in Baku"), not two questions joined."""
    return len(_JOIN.split(question)) == 1 and bool(_PAIRED.search(question))


def several(question: str) -> bool:
    """A question whose answer names several people, items or parts."""
    return len(parts(question)) > 1 or bool(_SEVERAL.search(question) or _WHO_MET.search(question))


def asks_who_met(part: str) -> bool:
    return bool(_WHO_MET.search(part))


def tells_a_meeting(sentence: str) -> bool:
    return bool(_MEETING.search(sentence))


def with_context(part: str, names: list[str]) -> str:
    """A later part ("what did they discuss") keeps the names the whole question is about."""
    return f"{part} {CONTEXT_OPEN}{'; '.join(names)})" if names else part
