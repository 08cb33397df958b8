"""What a question pins down (a name, a date, a count, a place) and the checks a sentence must pass."""

from __future__ import annotations

import re

from ..abstain import anchors
from ..countries import (country_of, country_terms, countries_in, formal_words, owned_roles,
                         role_owners)
from ..terms import covered, terms
from .acronyms import ACRONYM
from .answer_types import DATE, SPAN, SPAN_ASK, WHEN, answer_types

# Not after an initial ("U.S.") or a title ("Dr."): those dots end no sentence.
_SENTENCE_END = re.compile(r"(?<=[a-z0-9\"”)][.!?])(?<!\bMr\.)(?<!\bMrs\.)(?<!\bMs\.)(?<!\bDr\.)"
                           r"(?<!\bSt\.)(?<!\bvs\.)\s+(?=[\"“A-Z])")


def asking(question: str) -> tuple[str, str]:
    """A question's lead-in statements, and what it asks from its first question on."""
    sentences = _SENTENCE_END.split(question.strip())
    # From the first sentence that asks: "Who did she meet? What did they discuss?" is one ask.
    first = min((i for i, s in enumerate(sentences) if "?" in s), default=len(sentences) - 1)
    return " ".join(sentences[:first]), " ".join(sentences[first:])


ROLES = {"official", "officials", "minister", "ministers", "ambassador", "envoy", "secretary",
          "president", "head", "chief", "counterpart", "person", "leader", "diplomat",
          "spokesman", "representative", "mp", "lawmaker", "senator", "governor", "mayor",
          "judge", "ceo", "executive", "founder", "candidate", "politician", "player", "athlete",
          "coach", "actor", "actress", "author"}
_WHO = re.compile(rf"\b(who|whom|whose)\b|\bname of\b|^what is the name\b|"
                  rf"\b(which|what) (\w+ )?({'|'.join(ROLES)})\b|"
                  rf"^(?:please\s+)?(?:name|identify)\s+(?:\S+\s+){{0,3}}?({'|'.join(ROLES)})\b", re.I)
# Capitalized words of offices and bodies: a "who" answer needs a person, not these.
INSTITUTIONAL = {"information", "communication", "communications", "technology", "ministry",
                  "minister", "organization", "union", "conference", "forum", "department",
                  "development", "commission", "secretary", "general", "cabinet", "ambassador",
                  "international", "national", "world", "telecommunication", "telecommunications",
                  "public", "relations", "republic", "islamic", "kingdom", "internet", "governance",
                  "post", "digital", "economy", "justice", "science", "research", "space"}
_NAME = re.compile(r"(?<!^)\b[A-Z][a-z]+(?:[ -](?:bin |al-|Al-)?[A-Z][a-z]+)+")
# "Which country", "what show": the answer is a name, of one word or more ("Japan", "NASA").
_NAMED_KINDS = ("country|countries|nation|state|province|city|town|island|continent|region|park|"
                "company|companies|firm|automaker|airline|retailer|chain|brand|platform|app|"
                "network|agency|organi[sz]ation|university|team|club|league|party|show|series|"
                "movie|film|band|singer|rapper|musician|artist|star|holiday|festival")
# "What type of companies" asks for a kind ("knowledge-based firms"), not a name.
_WHICH_NAMED = re.compile(rf"\b(?:which|what)\s+(?:(?!(?:is|was|are|were|did|does|do|the|a|an|"
                          rf"types?|kinds?|sorts?)\b)"
                          rf"[\w’'-]+\s+){{0,2}}?(?:{_NAMED_KINDS})\b", re.I)
_WHICH_COUNTRY = re.compile(r"\b(?:which|what)\s+(?:\w+\s+)?(?:country|countries|nation|nations)\b", re.I)
_WORD_NAME = re.compile(r"(?<!^)(?<![.!?:] )\b[A-Z](?:[\w’'&-]|\.(?=\w))*")
# Words that narrow a question to a fact the corpus may lack ("the next forum", "the
# current share"): a sentence without them answers a different question.
_QUALIFIERS = {"next", "current", "currently", "last", "previous", "before", "after", "first",
               "future", "upcoming", "total", "exact", "budget", "cost", "population", "founded"}
# The words a story says a qualifier with: "former cooperation" tells what they did "before".
# ("Earlier in January" does not: "earlier", "past" and "already" date other things as well.)
_EARLIER = {"before", "previous", "previously", "former", "formerly"}
_SAME_QUALIFIER = {"before": _EARLIER, "previous": _EARLIER, "next": {"upcoming", "coming"},
                   "upcoming": {"next", "coming"}, "current": {"currently", "existing", "present"},
                   "currently": {"current", "existing", "present"}}
# "What is the current trade volume?" is not answered by what trade "should reach": a plan or
# target answers a question about now only when the question asks about the plan.
_NOW = re.compile(r"\b(the current|currently|today|nowadays|right now|at present|presently|so far|"
                  r"to date)\b", re.I)
_PLAN = re.compile(r"\b(should|will|would|plans?|planning|planned|aims?|aiming|targets?|seeks?|"
                   r"hopes?|intends?|wants?|expects?|expected to|goal)\b", re.I)
_FOCUS = [
    re.compile(r"^(?:what|which)\s+(?:is|was|are|were)\s+the\s+((?:[\w-]+\s+){0,2}?[\w-]+)\s+"
               r"(?:of|for|in|on|between|that|did|does|do|to|behind|at|with)\b"),
    re.compile(r"^how\s+(?:many|much)\s+(?!(?:have|has|had|did|does|do|is|was|are|were|will|should)\b)([\w-]+)"),
    re.compile(r"^(?:which|what)\s+((?:[\w-]+\s+)?[\w-]+)\s+(?:will|would|did|does|do|is|are|was|were|has|have|had|can|could|should)\b"),
    # "What is the name of the satellite ...": the head is what is named, not "name".
    re.compile(r"\bname\s+of\s+(?:the\s+|a\s+|an\s+|this\s+|that\s+)?(?:[\w-]+['’]s\s+)?([\w-]+)"),
]
# "What kind of transit did he raise?": the noun after the kind (see Checks.kinds).
_KIND_OF = re.compile(r"^(?:which|what)\s+(?:kinds?|types?|sorts?)\s+of\s+([\w-]+)")
# Stems of words that say how much or how lately, not what happened: "the most crucial issue"
# does not tell "the satellite Iran most recently launched".
_DEGREE = {"most", "more", "recent", "latest", "late", "veri", "just", "still", "even", "ever",
           "alreadi", "yet", "realli", "often", "usual", "exact"}
# Heads that name the kind of answer rather than its content ("what event", "which area").
_GENERIC = {"kind", "type", "sort", "event", "thing", "things", "word", "words", "area", "areas",
            "field", "fields", "topic", "topics", "subject", "subjects", "role", "step", "steps",
            "name", "date", "dates", "day", "year", "month", "number", "amount", "city", "country",
            "countries", "place", "person", "people", "group", "groups", "way", "ways", "main"}


class Checks:
    """Penalties for sentences that miss what the question pins down."""

    def __init__(self, question: str, embedder, context: str = ""):
        self.embedder = embedder
        self.context = [t for name in context.split("; ") if (t := terms(name))]
        self.q_terms = set(terms(question))
        # "Police arrested 31 men who ... at a Pride event. Where was the event?": the lead-in
        # names the story; only the asking sentence says what kind of answer is wanted.
        lead, asked = asking(question)
        asked_names, lead_names = anchors(asked, numbers=False), anchors(lead, numbers=False)
        self.anchors = [t for w in asked_names for t in terms(w)]
        # "the Islamic Republic of Iran" asks about Iran: a sentence saying "Iran" tells it.
        self.formal = formal_words(self.anchors)
        self.anchors = [t for t in self.anchors if t not in self.formal]
        self.story = [t for w in lead_names for t in terms(w) if t not in self.anchors]
        # "CDC", "US": a story may spell them out ("Centers for Disease Control", "U.S.").
        self.acronyms = {t: w for w in lead_names + asked_names
                         if ACRONYM.fullmatch(w) for t in terms(w)}
        self.wanted = answer_types(asked)
        # What the question says happened ("visit", "cut ties"): the answer must be about it.
        # Asked when or how many, an office says who ("the Saudi ambassador" does not tell when
        # he took up his post), and so do the words inside a name ("bin").
        said = {t for m in _NAME.finditer(question) for t in terms(m.group())}
        if self.wanted:
            said |= set(terms(" ".join(w for w in re.findall(r"[a-z]+", question.lower())
                                       if w in ROLES)))
        self.predicate = [t for t in terms(question, drop_question_words=True)
                          if t not in self.anchors and t not in self.story and t not in said
                          and t not in _DEGREE and t not in self.formal]
        self.who = bool(_WHO.search(asked))
        self.named = not self.who and bool(_WHICH_NAMED.search(asked))
        # "Which country brokered the deal?": the new name must be a country's ("Tehran and
        # Riyadh" name the two the question did).
        self.country_named = self.named and bool(_WHICH_COUNTRY.search(asked))
        # "Kenya's ambassador": a sentence about the Saudi ambassador answers another question.
        self.owned = owned_roles(asked, ROLES)
        self.countries = countries_in(asked)
        # Whom else the question names ("Hashemi", not "GDP"): a sentence naming them is theirs,
        # whichever countries it names ("Hashemi voiced Iran's readiness", asked "with Algeria").
        self.people = [t for w in asked_names if not country_of(w) and not w.isupper()
                       for t in terms(w) if t in self.anchors]
        lowered = asked.lower().strip()
        focus = [m.group(1).split() for p in _FOCUS if (m := p.search(lowered))]
        generic = _GENERIC | (ROLES if self.who else set())  # a name answers "which official"
        self.focus = [t for words in focus for t in terms(" ".join(
            w for w in words[-2:] if w not in generic), True)]
        self.kind = [t for m in [_KIND_OF.search(lowered)] if m for t in terms(m.group(1), True)]
        # Raw words: several qualifiers ("next", "before") are stopwords to the analyzer.
        self.qualifiers = [w for w in re.findall(r"[a-z]+", lowered) if w in _QUALIFIERS]
        self.now = bool(_NOW.search(asked)) and not _PLAN.search(asked)
        self.spanning = bool(WHEN.search(asked)) and bool(SPAN_ASK.search(asked))  # not "where"
        self.kinded = bool(self.wanted or self.who or self.named)  # typed() tests something

    def typed(self, text: str) -> bool:
        """The sentence holds the kind of answer asked for (a date, a count, a place, a name)."""
        if self.wanted:
            return any(ev.search(text) for ev in self.wanted)
        if self.named:
            return self._new_word(text)
        return not self.who or self._new_name(text)

    def factor(self, text: str, sent: set[str], context: set[str], office: str = "") -> float:
        """How far a sentence answers what the question pins down (1: all of it).

        `office` is what its story says the people it names are ("Kenyan Cabinet Secretary").
        """
        f = 1.0
        # A name the question is about must appear near the answer (sentence or its passage).
        f *= 0.75 ** sum(not self.names(a, sent | context) for a in self.anchors + self.story)
        # Only in its story: news sentences refer back ("the officials", "the agreements"), and
        # with five names asked, 0.92 per name sank the one sentence that answered (cap 1 refused
        # fewer unanswerable default dev questions; cap 3 changed nothing).
        f *= 0.92 ** min(2, sum(not self.names(a, sent) and self.names(a, context) for a in self.anchors))
        named = countries_in(f"{text} {office}") if self.countries else set()
        # Asked about Iran and Oman, "Iran and Iraq signed" tells another pair's story.
        swapped = (len(self.countries) > 1 and not self.country_named
                   and named - self.countries and self.countries - named)
        if named and (swapped or not named & self.countries) \
                and not any(covered(t, sent) for t in self.people):
            f *= 0.6  # asked about Kenya, it tells what Iran plans: another country's story
        for country, role in self.owned:
            owners = role_owners(text, role) + role_owners(office, role)
            if owners and all(o not in (None, country) for o in owners):
                f *= 0.5  # every such role in the sentence is another country's
        if self.now and _PLAN.search(text):
            f *= 0.5  # asked what is, it says what should be
        words = set(re.findall(r"[a-z]+", text.lower()))
        f *= 0.65 ** sum(not ({q} | _SAME_QUALIFIER.get(q, set())) & words for q in self.qualifiers)
        if self.context:
            # The sentence names someone from the earlier turn: the pronoun most likely
            # points there. Only the story mentioning them: it is about something else.
            named = lambda pool: any(covered(t, pool) for name in self.context for t in name)
            f *= 1.0 if named(sent) else 0.9 if named(context) else 0.75
        if self.predicate and not any(covered(t, sent) for t in self.predicate) \
                and not (self.spanning and SPAN.search(text)) \
                and not self._close(self.predicate, sent, any_word=True):
            # A date or number in a sentence about another event answers nothing.
            f *= 0.5 if self.wanted else 0.7
        missing = [t for t in self.focus if not covered(t, sent)]
        if missing and not self._close(missing, sent):
            f *= 0.8
        if self.wanted and not any(ev.search(text) for ev in self.wanted):
            f *= 0.4  # asked "when" or "how many", and the sentence holds no date or number
        elif self.who and not self._new_name(text):
            f *= 0.5  # asked "who", and the sentence names nobody the question did not
        elif self.named and not self._new_word(text):
            f *= 0.5  # "the company", "the park": the name is in another sentence
        return f

    def names(self, anchor: str, pool: set[str]) -> bool:
        """The question's name (a stem) is in a set of stems, or, for a demonym, its country."""
        # "American restrictions" is answered by "the sanctions imposed by the United States".
        return covered(anchor, pool) or any(set(name) <= pool for name in country_terms().get(anchor, ()))

    def _new_name(self, text: str) -> bool:
        """A 'who' answer names someone the question did not."""
        return bool(self.new_names(text))

    def _new_word(self, text: str) -> bool:
        """A capitalized word (past the sentence start) that the question does not hold."""
        if self.country_named:
            return bool(countries_in(text) - self.countries)
        return any((t := terms(m.group())) and not DATE.fullmatch(m.group())
                   and not any(covered(w, self.q_terms) for w in t) for m in _WORD_NAME.finditer(text))

    def new_names(self, text: str) -> list[str]:
        """The names in a sentence that the question did not mention, offices left out."""
        out = []
        for m in _NAME.finditer(text):
            words = [w for w in re.split(r"[ -]", m.group()) if w.lower() not in INSTITUTIONAL]
            if words and not any(covered(t, self.q_terms) for t in terms(" ".join(words))):
                out.append(" ".join(words))
        return out

    def kinds(self, sent_terms: list[set[str]]) -> None:
        """The noun of "what kind of transit" joins the focus when some sentence says it."""
        # "International transit" answers it; "a memorandum" answers "what kind of document",
        # and no sentence says "document": the kind is then told in other words.
        if any(covered(t, s) for t in self.kind for s in sent_terms):
            self.focus = self.focus + [t for t in self.kind if t not in self.focus]

    def paraphrase_words(self, sent: set[str]) -> list[str]:
        """The words factor() will compare by meaning for this sentence (none when all match)."""
        need = [] if any(covered(t, sent) for t in self.predicate) else list(self.predicate)
        need += [t for t in self.focus if not covered(t, sent)]
        return need + sorted(sent) if need else []

    def _close(self, words: list[str], sent: set[str], any_word: bool = False) -> bool:
        """A paraphrase still counts: some sentence word means nearly the same."""
        if not sent:
            return False
        sent_list = sorted(sent)
        vecs = self.embedder.embed_cached(words + sent_list)
        sims = vecs[: len(words)] @ vecs[len(words):].T
        hits = sims.max(axis=1) >= 0.6
        return bool(hits.any() if any_word else hits.all())
