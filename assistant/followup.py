"""Resolve follow-up questions from the conversation, without an LLM."""

from __future__ import annotations

import re

from .citations import strip_markers
from .sentences import split_sentences

CONTEXT_OPEN = "(context: "
_PERSONAL = re.compile(r"\b(he|she|him|his|her|hers)\b", re.I)
_PRONOUN = re.compile(
    r"\b(he|she|him|his|her|hers|they|them|their|theirs|it|its|this|that|these|those|there|"
    r"the two|both)\b", re.I)
_ELLIPTIC = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(.*?)\??\s*$|^\s*and\s+(.*?)\??\s*$", re.I)
# Proper-noun runs ("Sid Ali Zerrouki", "Saudi Arabia"); particles may sit inside a name.
_ENTITY = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:bin|al|of|the)?\s*[A-Z][\w'-]*)*")
_SKIP = {"What", "Who", "When", "Where", "Which", "Why", "How", "Did", "Does", "Do", "The", "In",
         "And", "Is", "Was", "Tell", "He", "She", "They", "It", "This", "That", "During", "For",
         "On", "At", "Of", "A", "An", "Minister", "Ministry", "Ambassador", "Secretary", "General",
         "Information", "Communication", "Communications", "Technology", "ICT", "Post", "Cabinet",
         "Telecommunications", "President", "Head", "Earlier", "Referring", "Holding", "According"}
# "the Kenyan one", "the second", "the latter": one of the people or things the last answer named.
_PICK = re.compile(r"\bthe\s+(?:(first|second|third|fourth|fifth|last|latter|former)(?:\s+one)?|"
                   r"([\w-]+)\s+one)\b", re.I)
_ORDINAL = {"first": 0, "former": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1,
            "latter": -1}
_BODY = re.compile(r"\b(Union|Organi[sz]ation|Conference|Forum|Council|Agency|Company|Park|"
                   r"Department|Association|Bank|University|Institute|Committee|Nations)\b")
_DEMONYM = re.compile(r"(?:an|ese|ish|[qn]i)$")  # Algerian, Kenyan, Chinese, Iraqi, Omani


def is_followup(question: str, history: list[dict] | None) -> bool:
    """A question that leans on earlier turns: pronouns, or 'and ...?' / 'what about ...?'."""
    if not history or not any(m.get("role") == "user" for m in history):
        return False
    return bool(_PRONOUN.search(question) or _ELLIPTIC.match(question) or _PICK.search(question))


def standalone(question: str, history: list[dict] | None) -> str:
    """The question rewritten to stand alone, using names from the last exchange."""
    if not is_followup(question, history):
        return question
    last_q = [m["content"] for m in history if m.get("role") == "user"][-1]
    elliptic = _ELLIPTIC.match(question)
    if elliptic and not _PRONOUN.search(question):
        return _substitute(last_q, (elliptic.group(1) or elliptic.group(2) or "").strip())
    last_a = strip_markers(last_answer(history))
    picked = _pick(question, last_a, last_q)
    if picked:
        name, phrase = picked
        # The surname reads as the article does after its first mention ("Gitau stressed").
        return f"{question.replace(phrase, name.split()[-1])} {CONTEXT_OPEN}{name})"
    asked = _entities(last_q)
    # "he"/"she" most likely points at the person the last answer introduced; first the one
    # the last question described ("the Kenyan official": the sentence naming a Kenyan).
    introduced = _described_first(_introduced(last_a, last_q), last_q)
    names = introduced + asked if _PERSONAL.search(question) else asked + introduced
    context = "; ".join(dict.fromkeys(names)) or last_q
    return f"{question} {CONTEXT_OPEN}{context})"


def last_answer(history: list[dict] | None) -> str:
    """The conversation's last answer, when it quoted the corpus (a refusal quotes nothing)."""
    text = next((m["content"] for m in reversed(history or []) if m.get("role") == "assistant"), "")
    return "" if text.startswith("The corpus does not say") else text


def split_context(query: str) -> tuple[str, str]:
    """(question, context) of a query made by standalone(); context is '' for plain questions."""
    head, sep, tail = query.rpartition(CONTEXT_OPEN)
    return (head.strip(), tail.rstrip(")")) if sep else (query, "")


def _pick(question: str, last_a: str, last_q: str) -> tuple[str, str] | None:
    """(the name picked out, the phrase that picked it) for "the Kenyan one" or "the second"."""
    m = _PICK.search(question)
    if not m or not last_a:
        return None
    named = _introduced(last_a, last_q)
    # People: full names, not bodies ("International Telecommunication Union") or demonyms.
    named = [(e, s) for e, s in named if not _BODY.search(e)
             and not (" " not in e and _DEMONYM.search(e))]
    if m.group(1):
        order = list(dict.fromkeys(e for e, _ in named))
        people = [e for e in order if " " in e] or order
        n = _ORDINAL[m.group(1).lower()]
        return (people[n], m.group()) if -len(people) <= n < len(people) else None
    word = m.group(2).lower()
    stem = word[:max(4, len(word) - 2)]  # "Kenyan" also finds "Kenya"
    found = list(dict.fromkeys(e for e, s in named if stem in s.lower() and stem not in e.lower()))
    # A person's full name over a single word (often another demonym: "his Algerian and Kenyan").
    found.sort(key=lambda e: " " not in e)
    return (found[0], m.group()) if found else None


def _introduced(last_a: str, last_q: str) -> list[tuple[str, str]]:
    """The people and things the answer introduced, each with the sentence that named it."""
    return [(e, last_a[a:b]) for a, b in split_sentences(last_a) for e in _entities(last_a[a:b])
            if not _mentioned(e, last_q)]


def _described_first(named: list[tuple[str, str]], last_q: str) -> list[str]:
    """Names in order, those whose sentence holds a demonym the last question used first."""
    stems = [w[:max(4, len(w) - 2)].lower() for w in re.findall(r"\b[A-Z][a-z]+\b", last_q)
             if _DEMONYM.search(w) and w not in _SKIP]
    order = list(dict.fromkeys(e for e, _ in named))
    hit = {e for e, s in named if any(st in s.lower() and st not in e.lower() for st in stems)}
    return sorted(order, key=lambda e: e not in hit)


def _substitute(last_q: str, subject: str) -> str:
    """'What about the Kenyan one?' after a question on 'the Algerian minister': swap the name."""
    subject = re.sub(r"^(the|a|an)\s+|\s+(one|ones)$", "", subject, flags=re.I).strip()
    new = [w for w in subject.split() if w[:1].isupper()]
    for word in new:
        kind = bool(_DEMONYM.search(word))
        old = [w for e in _entities(last_q) for w in e.split() if bool(_DEMONYM.search(w)) == kind]
        if old:
            return re.sub(rf"\b{re.escape(old[-1])}\b", word, last_q)
    return f"{last_q} {subject}".strip()


def _entities(text: str) -> list[str]:
    out = []
    for m in _ENTITY.finditer(text):
        words = [w for w in m.group().split() if w not in _SKIP and w.lower() not in ("of", "the", "bin", "al")]
        if words:
            out.append(" ".join(words))
    return out


def _mentioned(entity: str, text: str) -> bool:
    return any(re.search(rf"\b{re.escape(w)}\b", text) for w in entity.split())
