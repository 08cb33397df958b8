"""Questions about several things: their parts, and the people a "who did X meet" asks for."""

from __future__ import annotations

import re

from ..followup import CONTEXT_OPEN
from ..terms import covered, terms

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

# "Besides data transit, what other fields ...?": what the question sets aside is not what it
# asks for. "Beyond" only opens a question, since inside one it most often means "further than".
_ASIDE = re.compile(r"(?:\b(?:besides|apart from|aside from|other than|in addition to|except(?: for)?)"
                    r"|^beyond)\s+(?P<thing>[^,?]+?)(?:,|(?=\s+(?:what|which|who|whom|where|when|"
                    r"how|did|does|do|is|are|was|were|has|have|had)\b))", re.I | re.M)
_ADDITIVE = re.compile(r"\b(also|other|additional|further|furthermore|moreover|besides|as well)\b",
                       re.I)


def parts(question: str) -> list[str]:
    """The sub-questions of a joined or paired question (the question itself when it is one)."""
    if paired(question):
        m = _PAIRED.search(question)
        return [f"{question[:m.start()]}{m.group(1)} {thing}{question[m.end():]}"
                for thing in m.group(2, 3)]
    pieces = [p.strip(" ,?") for p in _JOIN.split(question)]
    return [p + "?" for p in pieces if len(p.split()) >= 2] or [question]


def aside(question: str) -> str:
    """What the question sets aside ("data transit"), or nothing."""
    m = _ASIDE.search(question)
    return m.group("thing") if m else ""


def going_on(cands, sent_terms: list[set[str]], aside: str) -> dict[int, int]:
    """Sentences that go on from the one telling what the question set aside, each to that one."""
    # "..., adding the two countries could prioritise cooperation in data transit. He also
    # stressed other potential areas ...": the second answers "besides data transit". One set
    # aside in a list ("start-ups and knowledge-based firms") is answered in its own sentence.
    gone, out = set(terms(aside)), {}
    for i in range(1, len(cands)):
        before = cands[i - 1]
        if cands[i].passage == before.passage and _ADDITIVE.search(cands[i].text) \
                and any(covered(t, sent_terms[i - 1]) for t in gone) and not _listed(before.text, aside):
            out[i] = i - 1
    return out


def _listed(text: str, thing: str) -> bool:
    """The set-aside thing is an item of a list: a comma, "and" or "or" right before or after it."""
    # Right next to it, not anywhere near: "data transit from Iran to Saudi Arabia, as well as
    # ..." tells data transit alone, in a sentence full of commas.
    words = re.findall(r"[a-z]+", thing.lower())
    if not words:
        return False
    sep = r"(?:,|\band\b|\bor\b)"
    first, last = re.escape(words[0][:5]), re.escape(words[-1][:5])
    return bool(re.search(rf"{sep}\s+(?:the\s+|a\s+|an\s+)?{first}|\b{last}\w*\s*{sep}", text.lower()))


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
