"""Resolve follow-up questions from the conversation, without an LLM."""

from __future__ import annotations

import re

from .citations import strip_markers

_PRONOUN = re.compile(
    r"\b(he|she|him|his|her|hers|they|them|their|theirs|it|its|this|that|these|those|there|"
    r"the two|both)\b", re.I)
_ELLIPTIC = re.compile(r"^\s*(and|what about|how about|and what about|what of)\b\s*(.*?)\??\s*$", re.I)
# Proper-noun runs ("Sid Ali Zerrouki", "Saudi Arabia"), skipping sentence-initial question words.
_ENTITY = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:bin|al|of|the)?\s*[A-Z][\w'-]*)*")
CONTEXT_OPEN = "(context: "
_SKIP = {"What", "Who", "When", "Where", "Which", "Why", "How", "Did", "Does", "Do", "The", "In",
         "And", "Is", "Was", "Tell", "He", "She", "They", "It", "This", "That", "During", "For"}


def is_followup(question: str, history: list[dict] | None) -> bool:
    """A question that leans on earlier turns: pronouns, or 'and ...?' / 'what about ...?'."""
    if not history or not any(m.get("role") == "user" for m in history):
        return False
    return bool(_PRONOUN.search(question) or _ELLIPTIC.match(question))


def standalone(question: str, history: list[dict] | None) -> str:
    """The question rewritten to stand alone, using names from the last exchange."""
    if not is_followup(question, history):
        return question
    users = [m["content"] for m in history if m.get("role") == "user"]
    last_q = users[-1]
    elliptic = _ELLIPTIC.match(question)
    if elliptic and elliptic.group(2) and not _PRONOUN.search(question):
        # "What about Kenya?" -> the previous question, with the new subject added.
        return f"{last_q} {elliptic.group(2)}"
    last_a = next((strip_markers(m["content"]) for m in reversed(history)
                   if m.get("role") == "assistant"), "")
    if last_a.startswith("The corpus does not say"):
        last_a = ""
    names = _entities(last_q) + _entities(last_a.split(". ")[0])
    context = "; ".join(dict.fromkeys(names)) or last_q
    return f"{question} {CONTEXT_OPEN}{context})"


def split_context(query: str) -> tuple[str, str]:
    """(question, context) of a query made by standalone(); context is '' for plain questions."""
    head, sep, tail = query.rpartition(CONTEXT_OPEN)
    return (head.strip(), tail.rstrip(")")) if sep else (query, "")


def _entities(text: str) -> list[str]:
    out = []
    for m in _ENTITY.finditer(text):
        words = [w for w in m.group().split() if w not in _SKIP]
        if words:
            out.append(" ".join(words))
    return out
