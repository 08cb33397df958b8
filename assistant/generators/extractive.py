"""The default generator: picks the retrieved sentences that answer the question; no model needed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..abstain import abstention, anchors, calibration
from ..followup import last_answer, split_context
from ..sentences import answers
from ..records import Answer, Passage
from ..terms import covered, related, terms
from . import parts as pt
from .acronyms import acronym_terms, expansions, spelled_out
from .aliases import described, people
from .checks import INSTITUTIONAL, ROLES, Checks, asking
from .quotes import (Candidate, adds_fact, compose, contexts, quoted_stories, same_names,
                     sentences, story, story_texts)

MAX_SENTENCES = 3
# A runner-up scoring at least this share of the best sentence is quoted beside it. Chosen on the
# dev halves (0.85, 0.8, 0.75, 0.7, 0.65): 0.75 lifted default accuracy 0.792 -> 0.833 and ClapNQ
# gold-sentence answers 0.805 -> 0.857 with citation precision still 0.93 / 0.88; lower gained
# nothing more and cited less precisely (docs/answers.md has the test figures).
RUNNER_UP = 0.75
# A runner-up holding the kind of answer asked for (a name, a date, a count) that the chosen
# sentences do not give is a second candidate answer: quoted from this share. RTQA dev answers
# 0.623 -> 0.651; default and ClapNQ dev unchanged (0.65: 0.644; 0.5: citation precision fell
# 0.929 -> 0.890 on default; any runner-up with a new name, typed or not: ClapNQ 0.882 -> 0.831).
RUNNER_UP_TYPED = 0.6
# Sentences embedded per ranking: the leading ones by the cheap first pass (shared terms and
# passage rank). Embedding every sentence of the passages was 95% of ask() on a news index;
# at 16 the dev answers and refusal features stayed those of the full pass (docs/answers.md).
SHORTLIST = 16
# A sentence whose story holds none of the question's terms keeps this share of its score, one
# whose story holds as many as the best-covered story keeps all of it. Chosen on the dev halves
# (0.8, 0.7, 0.6, 0.5): 0.6-0.8 lifted citation precision on every set (RTQA 0.916 -> 0.955) and
# gold-sentence answers on ClapNQ 0.857 -> 0.870; 0.5 lost default answers (0.938 -> 0.896).
OFF_STORY = 0.7
# A follow-up's sentence from a story the last answer did not quote keeps this share of its
# score: what the context check gives a story without the earlier turn's names.
FOLLOW_STORY = 0.75


@dataclass
class Assessment:
    """What the extractive pass found: ranked sentences, their features, answer or refuse."""

    candidates: list[Candidate]
    features: dict[str, float]
    probability: float  # that the passages answer the question
    refuse: bool
    why: str
    checks: Checks  # what the question pins down, for choosing the sentences


def features(question: str, passages: list[Passage], cands: list[Candidate],
             checks: Checks) -> dict[str, float]:
    """The handful of signals the refusal model weighs (names match assistant/refusal.json)."""
    from ..retrieve import RRF_K

    question = split_context(question)[0]
    # The model was fitted on the sentences' own support: the story weighting picks the quote,
    # and on dev, refitted on the weighted ranking, it refused fewer unanswerable questions.
    cands = sorted(cands, key=lambda c: -c.alone)
    top = cands[0] if cands else None
    wanted = set(terms(question, drop_question_words=True))
    pool = set(terms(top.text)) | contexts(passages)[top.passage] if top else set()
    # A written question ("Who is ...?") gets its checks (names, question word, answer type)
    # and they make support telling; a lower-case web query ("which method of forecasting uses
    # averages") gets few, and there meaning tells more. The model weighs the two apart.
    first = next((ch for ch in question if ch.isalpha()), "")  # past emoji and quotes
    written = float(first.isupper() or "?" in question)
    # A US or UK outlet leaves its own country, and any story the Earth, unsaid ("the US box
    # office"): such names say where, not whom, and do not decide whose story it is.
    names = [t for t in checks.anchors + checks.story if t not in _IMPLICIT_PLACES]
    found = [checks.names(t, pool) for t in names]
    if top and checks.acronyms and not all(found):
        told = story_texts(passages)[top.passage]
        found = [f or (t in checks.acronyms and spelled_out(checks.acronyms[t], told))
                 for f, t in zip(found, names)]
    values = {
        "support": top.alone if top else 0.0,
        "margin": top.alone - cands[1].alone if len(cands) > 1 else (top.alone if top else 0.0),
        "dense": max((c.dense for c in cands), default=0.0),
        "type_match": float(bool(top) and checks.typed(top.text)),
        "coverage": sum(covered(t, pool) for t in wanted) / len(wanted) if wanted else 1.0,
        # Share of the names the question is about (those the corpus has) in that story.
        "names_found": sum(found) / len(found) if found else 1.0,
        # Fused rank score of the top passage: highest when dense and BM25 both rank it first.
        "agreement": passages[0].score * (RRF_K + 1) / 2 if passages else 0.0,
        "written": written,
    }
    for f in ("support", "margin", "dense", "coverage"):
        values[f"written_{f}"] = written * values[f]
    return values


class ExtractiveGenerator:
    """Ranks sentences by meaning, shared terms and expected answer type, and cites each one."""

    name = "extractive"

    def __init__(self, settings, embedder):
        self.settings, self.embedder = settings, embedder

    def generate(self, question: str, passages: list[Passage],
                 history: list[dict] | None = None) -> Answer:
        """Quote the sentences that answer, or refuse when the calibrated score says none does."""
        a = self.assess(question, passages, last_answer(history))
        if a.refuse:
            return abstention(question, passages, reason=a.why, generator=self.name)
        return compose(question, passages, self._select(a, question, passages),
                       self.name)

    def assess(self, question: str, passages: list[Passage], previous: str = "") -> "Assessment":
        """The ranked sentences, the features of the best one, and the calibrated decision.

        `previous` is the last answer of the conversation: a follow-up stays in its story.
        """
        cands, checks = self._rank(question, passages, previous)
        values = features(question, passages, cands, checks)
        model = calibration()
        p = model.probability(values)
        best, threshold = values["support"], model.threshold_for(values)
        # Beside the score, one rule no weighting should trade away: when none of the names the
        # question is about (names the corpus has) is in the best sentence's story, the answer
        # would be about someone else (a source filter that leaves only other stories).
        refuse = (not cands or p < threshold or best < self.settings.abstain_threshold
                  or values["names_found"] == 0)
        why = (f"answer probability {p:.2f} (threshold {threshold:.2f}; best support "
               f"{best:.2f}, floor {self.settings.abstain_threshold})")
        asked = split_context(question)[0]
        if refuse and cands and values["names_found"] > 0 and pt.paired(asked):
            # "In Riyadh and in Baku": each sentence answers half, so the whole scores low; the
            # question is answered when one of its halves is.
            p = max(self.assess(half, passages, previous).probability for half in pt.parts(asked))
            refuse = p < threshold
            why += f"; its better half {p:.2f}"
        return Assessment(cands, values, p, refuse, why, checks)

    def rank(self, question: str, passages: list[Passage]) -> list[Candidate]:
        """The shortlisted sentences of the passages, best first, with support scores in [0, 1]."""
        return self._rank(question, passages)[0]

    def _rank(self, question: str, passages: list[Passage],
              previous: str = "") -> tuple[list[Candidate], Checks]:
        cands = [Candidate(i, *span) for i, p in enumerate(passages) for span in sentences(p)
                 if answers(span[2])]
        qv = self.embedder.embed_cached([question])[0]
        aside = pt.aside(question)
        # A follow-up carries names from earlier turns: they pick the story, not the sentence.
        question, context = split_context(question)
        checks = Checks(question, self.embedder, context)
        if not cands:
            return [], checks
        q_terms = set(terms(question, drop_question_words=True)) - checks.formal
        told = story_texts(passages)
        # A sentence's acronyms stand for the names its story spells out ("ITU": the union), and
        # its words for an acronym some passage defines ("artificial intelligence (AI)").
        defined = expansions(" ".join(dict.fromkeys(told)))
        owns = [set(terms(c.text)) for c in cands]
        # "Gitau stressed ..." names the Kenyan Cabinet Secretary: its story says so. Read only
        # when the question names an office, a body or a country (a pass over each story).
        asks_office = bool(checks.countries) or bool(q_terms & _OFFICE_TERMS)
        offices = [described(own, people(told[c.passage])) if asks_office else ""
                   for c, own in zip(cands, owns)]
        sent_terms = [own | acronym_terms(c.text, own, told[c.passage], defined) | set(terms(office))
                      for c, own, office in zip(cands, owns, offices)]
        # A sentence going on from the one that told what the question sets aside holds that
        # one's words and meaning too ("Besides data transit, ...": "He also stressed ...").
        follows = pt.going_on(cands, sent_terms, aside) if aside else {}
        for i, j in follows.items():
            sent_terms[i] = sent_terms[i] | sent_terms[j]
        checks.kinds(sent_terms)
        holders = _holders(q_terms, sent_terms)
        # Local IDF over the candidate sentences: a query term found everywhere says little.
        weight = {t: math.log(1 + len(cands) / (1 + len(holders[t]))) for t in q_terms}
        lead, asked = asking(question)
        if lead:
            # Meaning is the mean cosine with the whole question and with its asking sentence:
            # a sentence retelling the lead-in matched the whole best and answered nothing (RTQA
            # dev 0.610 -> 0.623; weighting the lead-in's terms down as well gained nothing).
            qv = (qv + self.embedder.embed_cached([asked])[0]) / 2
        total = sum(weight.values()) or 1.0
        lexical = np.zeros(len(cands))
        for t, w in weight.items():
            lexical[list(holders[t])] += w / total
        # The cheap first pass: only the leading sentences by what needs no model are embedded.
        prior = np.array([0.04 / (1 + c.passage) for c in cands])
        keep = _shortlist(cands, 0.4 * lexical + prior, SHORTLIST)
        keep = sorted(set(keep) | {follows[i] for i in keep if i in follows})
        if pt.asks_who_met(question):
            # Each meeting with someone new may be a part of the answer, though it shares few
            # words with the question ("During the meeting with ..., Zerrouki"): all are kept.
            keep = sorted(set(keep) | {i for i, c in enumerate(cands) if pt.tells_a_meeting(c.text)
                                       and checks.new_names(c.text)})
        for i, v in zip(keep, self.embedder.embed_cached([cands[i].text for i in keep])):
            cands[i].dense = float(v @ qv)
        for i in keep:
            c = cands[i]
            if i in follows:
                c.dense = max(c.dense, cands[follows[i]].dense)
            c.score = 0.6 * c.dense + 0.4 * lexical[i] + prior[i]
        keep.sort(key=lambda i: -cands[i].score)
        # Every shortlisted sentence gets the checks: one left unchecked kept its whole score and
        # outranked checked ones ("the Shiite cleric executed by Saudi Arabia" got a nameless one).
        # The words they compare by meaning are embedded in one call, not one per sentence.
        words = {w for i in keep for w in checks.paraphrase_words(sent_terms[i])}
        if words:
            self.embedder.embed_cached(sorted(words))  # factor() below finds them cached
        stories = contexts(passages)
        # How much of the question (terms by local IDF) each sentence's story holds, against the
        # best story's: a web query names no one for the name checks, and "Svalbard ... would not
        # be discovered" outranked the Titanic wreck's sentence on one rare word. Counted once
        # per story: covered() scans the pool for forms of each term.
        held = {s: sum(w for t, w in weight.items() if covered(t, pool))
                for s, pool in dict(zip(map(story, passages), stories)).items()}
        reach = {i: held[story(passages[cands[i].passage])] for i in keep}
        most = max(reach.values(), default=0.0) or 1.0
        for i in keep:
            cands[i].score *= checks.factor(cands[i].text, sent_terms[i], stories[cands[i].passage],
                                            offices[i])
        ranked = [cands[i] for i in keep]
        for c in ranked:
            c.score = c.alone = float(np.clip(c.score, 0.0, 1.0))
        # "Why did he say ...?" after an answer about the Iraqi envoy: the pronoun points into
        # the story that answer quoted, though another story names the same people and more of
        # the question's words.
        before = quoted_stories(passages, previous) if context else set()
        for i in keep:
            if before:
                cands[i].score *= 1.0 if story(passages[cands[i].passage]) in before else FOLLOW_STORY
            else:
                cands[i].score *= OFF_STORY + (1 - OFF_STORY) * reach[i] / most
        return sorted(ranked, key=lambda c: -c.score), checks

    def _select(self, a: Assessment, question: str,
                passages: list[Passage]) -> list[Candidate]:
        """The best sentence and close runners-up; for a question about several things, each part."""
        asked, cands = split_context(question)[0], a.candidates
        if not pt.several(asking(asked)[1]):
            return self._close_runners(same_names(cands, passages, a.checks), MAX_SENTENCES,
                                       RUNNER_UP, a.checks)
        chosen: list[Candidate] = []
        names, split = anchors(asked, numbers=False), pt.parts(asked)
        for i, part in enumerate(split):
            query = part if i == 0 else pt.with_context(part, names)
            ranked, checks = self._rank(query, passages) if len(split) > 1 else (cands, None)
            if pt.asks_who_met(part):
                found = self._people(ranked, checks or Checks(part, self.embedder), passages)
            elif pt.paired(asked):  # each half: its best sentence and a close runner-up
                found = self._close_runners(ranked, 2, RUNNER_UP)
            else:
                found = self._close_runners(ranked, pt.MAX_PARTS, 0.7)
            chosen += [c for c in found if not any(c.start == o.start and c.passage == o.passage
                                                   for o in chosen)]
        # The parts read in the order their story tells them, under one bound.
        first: dict[int, int] = {}
        for c in chosen:
            first.setdefault(passages[c.passage].article_id, len(first))
        chosen = chosen[:pt.MAX_PARTS + 1]
        return sorted(chosen, key=lambda c: (first[passages[c.passage].article_id], c.start))

    def _close_runners(self, cands: list[Candidate], limit: int, ratio: float,
                       kind: "Checks | None" = None) -> list[Candidate]:
        """The best sentence, and those scoring near it that do not restate a chosen one."""
        if not cands:
            return []
        best = cands[0].score
        chosen = [cands[0]]
        vecs = {id(c): v for c, v in zip(cands, self.embedder.embed_cached([c.text for c in cands]))}
        for c in cands[1:]:
            if len(chosen) == limit or c.score < min(ratio, RUNNER_UP_TYPED) * best:
                break
            if c.score < ratio * best and not (kind and kind.kinded and kind.typed(c.text)
                                               and adds_fact(c.text, chosen)):
                continue
            # Skip restatements: two outlets often carry the same sentence reworded.
            if max(float(vecs[id(c)] @ vecs[id(o)]) for o in chosen) < 0.8:
                chosen.append(c)
        return chosen

    def _people(self, cands: list[Candidate], checks: Checks,
                passages: list[Passage]) -> list[Candidate]:
        """"Who did X meet": one sentence per person met, where the story is about X."""
        stories = contexts(passages)
        found, seen = [], set()
        for c in cands:
            # Weak support is expected: "During the meeting with ..., Zerrouki" shares few words
            # with the question; the person, the meeting and the story are the evidence.
            if len(found) == pt.MAX_PARTS or c.score < 0.1:
                break
            names = checks.new_names(c.text)
            words = {w for n in names for w in n.split()}
            pool = set(terms(c.text)) | stories[c.passage]
            if not names or words & seen or not pt.tells_a_meeting(c.text) \
                    or not all(checks.names(a, pool) for a in checks.anchors + checks.story):
                continue
            seen |= words
            found.append(c)
        return found or cands[:1]


_OFFICE_TERMS = set(terms(" ".join(ROLES | INSTITUTIONAL)))
_IMPLICIT_PLACES = {"us", "usa", "america", "american", "uk", "britain", "british", "earth"}


def _holders(q_terms: set[str], sent_terms: list[set[str]]) -> dict[str, set[int]]:
    """For each question term, the sentences that hold it or a form of it (terms.covered)."""
    # Forms share their first four letters (terms.related), so each term is compared with
    # that bucket of the sentences' vocabulary only, not with every word of every sentence.
    where: dict[str, set[int]] = {}
    for i, st in enumerate(sent_terms):
        for w in st:
            where.setdefault(w, set()).add(i)
    bucket: dict[str, list[str]] = {}
    for w in where:
        bucket.setdefault(w[:4], []).append(w)
    out = {}
    for t in q_terms:
        forms = [w for w in bucket.get(t[:4], ()) if related(t, w)] if len(t) >= 4 else [t]
        out[t] = set().union(*(where.get(w, ()) for w in forms))
    return out


def _shortlist(cands: list[Candidate], cheap: np.ndarray, n: int) -> list[int]:
    """Indexes of the n best candidates by the cheap score, in their original order."""
    if len(cands) <= n:
        return list(range(len(cands)))
    return sorted(np.argsort(-cheap, kind="stable")[:n].tolist())


