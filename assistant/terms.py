"""The one lexical analyzer (lowercase, stopwords, Snowball stems) shared by BM25 and scoring."""

from __future__ import annotations

import functools
import re

_WORD = re.compile(r"(?u)\b\w\w+\b")
# Words that shape a question but never carry its topic.
QUESTION_WORDS = {
    "what", "who", "whom", "whose", "when", "where", "which", "why", "how", "did", "does", "do",
    "say", "said", "tell", "according", "many", "much", "mention", "mentioned", "name", "named",
    "describe", "article", "corpus", "report", "reported", "also", "kind", "type", "else",
    "he", "she", "him", "his", "her", "hers", "they", "them", "their", "it", "its",
}


@functools.lru_cache(maxsize=1)
def _tools():
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    return Stemmer.Stemmer("english"), frozenset(STOPWORDS_EN)


# Irregular forms the Snowball stemmer leaves apart from their base word.
_IRREGULAR = {"met": "meet", "said": "say", "says": "say", "held": "hold", "led": "lead",
              "made": "make", "took": "take", "taken": "take", "gave": "give", "given": "give",
              "told": "tell", "went": "go", "gone": "go", "began": "begin", "begun": "begin",
              "brought": "bring", "sought": "seek", "thought": "think", "wrote": "write",
              "written": "write", "spoke": "speak", "spoken": "speak", "chose": "choose",
              "chosen": "choose", "signed": "sign", "inked": "sign", "became": "become"}


def terms(text: str, drop_question_words: bool = False) -> list[str]:
    """Stemmed content terms of a text, in order."""
    stemmer, stop = _tools()
    words = [_IRREGULAR.get(w, w) for w in _WORD.findall(text.lower()) if w not in stop]
    if drop_question_words:
        words = [w for w in words if w not in QUESTION_WORDS]
    return stemmer.stemWords(words)


def related(a: str, b: str) -> bool:
    """Two stems that are forms of one word ("oman"/"omani", "iran"/"iranian")."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n >= max(4, min(len(a), len(b)) - 1)


def covered(term: str, pool: set[str]) -> bool:
    """Whether a stem, or a form of it, occurs in a set of stems."""
    return term in pool or any(related(term, t) for t in pool)
