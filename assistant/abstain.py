"""Deciding and wording "the corpus does not say", shared by every generator."""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from .countries import country_named
from .records import Answer, Passage
from .terms import terms

# Capitalized words and numbers are the question's anchors: if the corpus never mentions
# one, no passage can answer, however similar its other words are.
_ANCHOR = re.compile(r"\b(?:[A-Z][\w'-]*[A-Za-z]|\d+(?:st|nd|rd|th)|\d[\d.,]*\d|\d)\b")
_NOT_ANCHORS = {"What", "Who", "Whom", "Whose", "When", "Where", "Which", "Why", "How", "Did",
                "Does", "Do", "Is", "Are", "Was", "Were", "Has", "Have", "Had", "Can", "Could",
                "Will", "Would", "Should", "And", "The", "In", "On", "At", "Of", "For", "Tell",
                "Name", "List", "Give", "Describe", "According", "I", "A", "An", "If", "To", "By",
                "Besides", "Apart", "Beyond"}


def anchors(question: str, numbers: bool = True) -> list[str]:
    """Names (and numbers) the question is about, skipping words capitalized by grammar alone."""
    out = []
    for m in _ANCHOR.finditer(question):
        word = m.group()
        opens_sentence = not question[:m.start()].strip() or question[:m.start()].rstrip()[-1] in ".?!"
        if word in _NOT_ANCHORS or opens_sentence or (not numbers and word[0].isdigit()):
            continue
        out.append(word)
    return out


# Common nouns that news capitalizes inside names ("the Persian Gulf", "Western Europe"): absent
# from the corpus they are a paraphrase ("a Gulf state" for Oman), not a name it never mentions.
_COMMON = {"Gulf", "Sea", "Ocean", "River", "Lake", "Strait", "Bay", "Coast", "Island", "Islands",
           "Peninsula", "Mountains", "Valley", "Desert", "Region", "North", "South", "East", "West",
           "Northern", "Southern", "Eastern", "Western", "Central", "Middle", "Far", "State",
           "States", "Kingdom", "Republic", "Sultanate", "Emirate", "Emirates", "Principality",
           "Federation", "Commonwealth", "Union", "Government", "Ministry", "Minister",
           "President", "Ambassador", "Council", "Summit", "Forum", "Conference", "Agency",
           "Organization", "Cabinet", "Parliament", "Secretary", "General", "Internet", "Web",
           "New", "Old", "Great", "Grand", "Day", "Week"}


def unknown_anchors(question: str, vocabulary: set[str], names_only: bool = False,
                    passages: list[Passage] = ()) -> list[str]:
    """Names and numbers in the question that no indexed chunk contains."""
    return [w for w in anchors(question) if not (names_only and re.sub(r"'s$", "", w) in _COMMON)
            and (stems := terms(w)) and not any(_known(s, vocabulary) for s in stems)
            and not country_named(w, passages)]


def _known(stem: str, vocabulary: set[str]) -> bool:
    """In the vocabulary, or a near form of a word in it ("Omani" ~ "Oman", "Iran" ~ "Iranian")."""
    if stem in vocabulary or stem.isdigit():
        return stem in vocabulary
    prefixes = (stem[:n] for n in range(len(stem) - 1, 3, -1))
    return any(p in vocabulary for p in prefixes) or any(
        v.startswith(stem) for v in vocabulary if len(v) > len(stem))


# A quiz question copied without its choices or picture: no passage can say which is meant.
# "Which of these" after an answer is a follow-up, so only a first question is held to it.
_ELSEWHERE = re.compile(r"\b(?:which|what) of (?:the following|these|those)\b(?![^?]*(?::|\bor\b))|"
                        r"\b(?:pictured|shown|illustrated) (?:here|below|above)\b|"
                        r"\bin the (?:picture|image|photo|diagram)\b", re.I)
ELSEWHERE = "the question points to choices or a picture it does not include"


# "Which of the following cities saw the biggest increase": a measured superlative picks one
# out, and a passage can say which ("Miami, where rents were up 26.2%, saw the biggest ...").
_SUPERLATIVE = re.compile(r"\b(?:most|least|biggest|largest|smallest|highest|lowest|greatest|"
                          r"fastest|slowest|oldest|newest|youngest|longest|shortest|first|last)\b",
                          re.I)


def points_elsewhere(question: str) -> bool:
    """The question asks about choices or a picture that are not in it."""
    picked = bool(_SUPERLATIVE.search(question))
    return any(not (picked and m.group().lower().startswith(("which", "what")))
               for m in _ELSEWHERE.finditer(question))


def near_names(missing: list[str], vocabulary: set[str]) -> dict[str, str]:
    """For each name the corpus lacks, the stem of one it holds spelled nearly alike ("Hashmi")."""
    found = {}
    for name in missing:
        stem = "".join(terms(name))
        if len(stem) < 5 or stem.isdigit():
            continue  # "Iraq" and "Iran" differ by a letter: short names are not typos of each other
        # Same first letter and nearly the same length: a few hundred stems to compare, not all.
        near = [v for v in vocabulary if v[:1] == stem[:1] and abs(len(v) - len(stem)) <= 1]
        if close := difflib.get_close_matches(stem, near, n=1, cutoff=0.85):
            found[name] = close[0]
    return found


def written_as(near: dict[str, str], passages: list[Passage]) -> dict[str, str]:
    """The near names as the passages write them ("Hashemi"): a stem is no spelling to suggest."""
    words = {w for p in passages for w in _CAPITALIZED.findall(p.text)}
    found = {name: [w for w in words if terms(w) == [stem]] for name, stem in near.items()}
    return {name: min(forms, key=lambda w: (len(w), w)) for name, forms in found.items() if forms}


_CAPITALIZED = re.compile(r"\b[A-Z][\w'-]+")


def abstention(question: str, passages: list[Passage], reason: str, generator: str,
               missing: list[str] | None = None, spelled: dict[str, str] | None = None) -> Answer:
    """The plain refusal: the corpus does not hold the answer."""
    if missing:
        names = ", ".join(f'"{m}"' for m in missing)
        text = f"The corpus does not say. None of the indexed articles mentions {names}."
        if spelled:  # a typo should not read as "the corpus knows nothing of him"
            text += " Did you mean " + " or ".join(f'"{w}"' for w in spelled.values()) + "?"
    elif reason == ELSEWHERE:
        text = ("The question points to choices or a picture it does not include, so no passage "
                "can say which is meant. Ask it again with the choices written out.")
    else:
        text = (f"The corpus does not say. The closest passages do not answer "
                f"\u201c{question.strip()}\u201d.")
    return Answer(question=question, text=text, passages=passages, abstained=True,
                  generator=generator, notes=[f"abstained: {reason}"])


# --- the calibrated decision ---------------------------------------------------------------------

CALIBRATION = Path(__file__).with_name("refusal.json")


@dataclass(frozen=True)
class Calibration:
    """A logistic model of "the passages answer", fitted on the dev splits (assistant calibrate)."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float  # answer when the probability reaches it; chosen on dev for few false refusals
    # Web queries ("which method of forecasting uses averages") have their own operating point:
    # on dev they tolerate a higher one than written questions, whose answers it would refuse.
    query_threshold: float | None = None

    def threshold_for(self, values: dict[str, float]) -> float:
        """The operating point for this question's style (the `written` feature)."""
        if self.query_threshold is not None and not values.get("written", 1.0):
            return self.query_threshold
        return self.threshold

    def probability(self, values: dict[str, float]) -> float:
        z = self.bias + sum(w * float(values.get(f, 0.0)) for f, w in zip(self.features, self.weights))
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    @classmethod
    def load(cls, path: Path = CALIBRATION) -> "Calibration":
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(tuple(raw["features"]), tuple(raw["weights"]), raw["bias"], raw["threshold"],
                   raw.get("query_threshold"))


@functools.lru_cache(maxsize=1)
def calibration() -> Calibration:
    """The shipped model (assistant/refusal.json), read once."""
    return Calibration.load()
