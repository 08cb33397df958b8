"""Assistant: holds the model and index for repeated ask() calls; the one API every face uses."""

from __future__ import annotations

import copy
import operator
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .abstain import (ELSEWHERE, abstention, near_names, points_elsewhere, unknown_anchors,
                      written_as)
from .chunk import Chunker
from .dates import scope_for
from .embed import get_embedder
from .errors import AnswerInterrupted, ConfigError, IndexStoreError, QuestionError
from .followup import standalone
from .generators import get_generator
from .generators.aliases import by_office
from .generators.fallback import instead, set_aside
from .generators.parts import several
from .index import IndexReport, PartialCorpus, Snapshot
from .ingest import listing, read_changed, read_corpus
from .records import Answer, Filters, Passage
from .retrieve import HybridRetriever
from .sentvecs import SentenceVectors
from .settings import Settings
from .stores import get_store


@dataclass
class Turn:
    """One question on its way through the pipeline, before the generator writes."""

    question: str
    query: str
    generator: object
    passages: list[Passage]
    early: Answer | None  # an abstention decided before generation
    notes: list[str]
    timings: dict[str, float]
    version: str = ""
    history: list[dict] | None = None  # checked and clipped


@dataclass(frozen=True)
class _State:
    """One index version and its retriever; swapped as a unit so a reader never mixes versions."""

    snapshot: Snapshot
    retriever: HybridRetriever


class _Live:
    """The live index state and its lock: one per index, shared by an Assistant and its variants."""

    def __init__(self):
        self.state: _State | None = None
        self.report: IndexReport | None = None  # what the last sync did
        self.lock = threading.RLock()


# What a variant may change: how answers are written, not what is searched.
VARIANT_SETTINGS = {"generator", "llm_model_path", "llm_context", "llm_max_tokens", "llm_temperature",
                    "openai_base_url", "openai_model", "openai_api_key_env", "request_timeout",
                    "request_retries", "llm_threads", "prompts_dir", "verify_lexical", "verify_dense",
                    "verify_unsupported", "abstain_threshold"}


class Assistant:
    """Cheap to construct; the model and index load on first use."""

    def __init__(self, settings: Settings | None = None, **overrides):
        base = settings or Settings.load()
        self.settings = base.replace(**overrides) if overrides else base
        s = self.settings
        self.embedder = get_embedder(s.embedding_model, s.embedding_batch_size, backend=s.embedding_backend)
        self.store = get_store(s)  # ASSISTANT_INDEX_BACKEND: faiss (folders) or milvus
        self._live = _Live()
        self._generators: dict[str, object] = {}

    def variant(self, **overrides) -> "Assistant":
        """This assistant with other generator settings, sharing its model and live index."""
        other = set(overrides) - VARIANT_SETTINGS
        if other:
            raise ConfigError(f"variant() changes how answers are written, not {', '.join(sorted(other))}; "
                              "build a new Assistant for that.")
        twin = copy.copy(self)  # same embedder, store and _live: an upload re-indexes both
        twin.settings = self.settings.replace(**overrides)
        twin._generators = {}
        return twin

    def index(self, path: str | Path | None = None, rebuild: bool = False,
              progress: bool = True, quick: bool = False) -> IndexReport:
        """Sync the index with the corpus folder (or `path`); only changed articles are embedded.

        quick: trust file sizes and modification times; when none changed since the last sync,
        open the index without reading the corpus (what a start does).
        """
        path = Path(path or self.settings.corpus_dir)
        s = self.settings
        key = self.corpus_key(path)
        if quick and not rebuild and self.store.synced_from(key):
            snapshot = self.store.load()
            self._activate(snapshot)
            n, chunks = snapshot.counts()
            report = IndexReport(snapshot.version, articles=n, chunks=chunks, unchanged=n)
        else:
            chunker = Chunker(s.chunk_tokens, s.chunk_overlap, s.tokenizer, fits=self.embedder.fits)

            def sync(corpus):
                return self.store.sync(corpus, self.embedder, chunker, s.embedding_model,
                                       s.chunker_signature(), rebuild=rebuild, progress=progress)

            # A quick sync reads only the files changed since the last one (an upload into a
            # large corpus reads the upload), when the store can keep the rest.
            before = self.store.synced_files(key) if quick and not rebuild else None
            try:
                report = sync(read_changed(path, key["files"], before, s.max_file_mb) if before
                              else read_corpus(path, s.max_file_mb))
            except PartialCorpus:  # the version to keep them from is gone: read everything
                report = sync(read_corpus(path, s.max_file_mb))
            snapshot = self.store.load()
            # Read from the version's chunk table; a store without one (Milvus) embeds at answer time.
            if (sentences := self._sentences()) is not None and hasattr(snapshot, "chunks"):
                # After the version is live: a kill here leaves it answering, only slower, and the
                # next start (the listing is not remembered yet) embeds the rest.
                t0 = time.perf_counter()
                try:
                    report.sentences = sentences.fill(snapshot, self.embedder, progress)
                except OSError as exc:  # a full disk: the version answers all the same, more slowly
                    report.problems.append(f"answer sentences not stored in {sentences.dir} ({exc}); "
                                           "answers embed them as they go. Free disk space and run "
                                           "assistant index again.")
                report.seconds += time.perf_counter() - t0
            self._activate(snapshot)
            self.store.remember(key)
        self._live.report = report
        return report

    def corpus_key(self, path: Path) -> dict:
        """What a sync compares to know the corpus is unchanged: its file listing and the settings."""
        s = self.settings
        # int8 vectors cannot be searched with fp32 ones: the vector space is part of it.
        return {"corpus": str(path.expanduser().resolve()), "files": listing(path),
                "settings": [s.embedding_model, getattr(self.embedder, "vector_space", ""),
                             s.chunker_signature(), s.max_file_mb]}

    def _sentences(self) -> SentenceVectors | None:
        """Where this index keeps its answer sentences' vectors; None when they are switched off."""
        if not self.settings.sentence_vectors:
            return None
        space = f"{self.settings.embedding_model} [{getattr(self.embedder, 'vector_space', '')}]"
        return SentenceVectors(self.settings.index_dir, space)

    def _activate(self, snapshot: Snapshot) -> _State:
        if (sentences := self._sentences()) is not None:
            self.embedder.use_stored(sentences)
        retriever = HybridRetriever(snapshot, self.embedder, self.settings.dedup_threshold)
        retriever.prepare()
        state = _State(snapshot, retriever)
        self._live.state = state  # one reference swap: concurrent readers keep the version they hold
        return state

    def _current(self) -> _State:
        state = self._live.state
        if state is not None:
            return state
        with self._live.lock:
            if self._live.state is None:
                if self.settings.auto_index:
                    report = self.index(progress=sys.stderr.isatty(), quick=True)
                    for problem in report.problems:
                        print(f"warning: skipped {problem}", file=sys.stderr)
                else:
                    snapshot = self.store.load()
                    # Without auto_index nothing rebuilds it, and a query embedded by another
                    # model would be compared with vectors it cannot be compared with.
                    reason = snapshot.compatible(self.settings.embedding_model,
                                                 self.settings.chunker_signature())
                    if reason:
                        raise IndexStoreError(f"The index in {self.store} does not fit the "
                                              f"settings: {reason}. Rebuild it with: "
                                              "assistant index")
                    self._activate(snapshot)
            return self._live.state

    @property
    def last_report(self) -> IndexReport | None:
        """What the last index() of this assistant, or of a variant, did."""
        return self._live.report

    @property
    def snapshot(self) -> Snapshot:
        return self._current().snapshot

    def retrieve(self, query: str, k: int | None = None, filters=None, as_of=None) -> list[Passage]:
        """The top-k passages for a query (hybrid search, duplicates collapsed), as of a date if given."""
        scope = scope_for(query, as_of)
        return self._current().retriever.search(scope.topic(query), k or self.settings.k,
                                                Filters.coerce(filters), scope=scope)

    def generator(self, name: str | None = None):
        name = name or self.settings.generator
        if name not in self._generators:
            self._generators[name] = get_generator(name, self.settings, self.embedder)
        return self._generators[name]

    def ask(self, question: str, history: list[dict] | None = None, generator: str | None = None,
            k: int | None = None, filters=None, as_of=None) -> Answer:
        """Answer a question from the corpus, with [n] citations, or abstain.

        `as_of` (YYYY-MM-DD, a date or 'today') is the day the question is asked on: later
        articles are not used, and "last week" or "recently" count back from it.
        """
        turn = self.prepare(question, history, generator, k, filters, as_of)
        t0 = time.perf_counter()
        answer = base = turn.early or self.extract(turn)
        if self.delegates(turn, base):
            answer = self.delegate(turn, base)
        return self.finish(turn, answer, time.perf_counter() - t0)

    def extract(self, turn: Turn) -> Answer:
        """The extractive answer, or the calibrated refusal that holds for every generator."""
        return self.generator("extractive").generate(turn.query, turn.passages, turn.history)

    def delegates(self, turn: Turn, base: Answer) -> bool:
        """Whether another generator writes the answer: not when the extractive pass refused."""
        return not base.abstained and turn.generator is not self.generator("extractive")

    def delegate(self, turn: Turn, base: Answer) -> Answer:
        """The other generator's answer, settled; the extractive one if it fails on this answer."""
        try:
            answer = turn.generator.generate(turn.query, turn.passages, turn.history)
        except AnswerInterrupted as exc:  # a timeout or a crash: the next question may succeed
            return instead(base, turn.generator.name, f"it failed: {exc}")
        return self.settle(turn, answer, base)

    def settle(self, turn: Turn, answer: Answer, base: Answer) -> Answer:
        """A generated answer checked against its passages; the extractive one if nothing holds."""
        if getattr(turn.generator, "verify", False):
            from .verify import verify_answer  # LLM output is checked against its passages

            answer = verify_answer(answer, turn.passages, self.embedder, self.settings)
        why = set_aside(answer, base)
        if not why:
            return answer
        # The model declined, verification dropped every sentence, or what it kept answers
        # something else, yet the calibrated score says the passages answer: the extractive
        # answer is right more often (docs/answers.md).
        return instead(base, answer.generator, why, answer.notes)

    def prepare(self, question: str, history=None, generator=None, k=None, filters=None,
                as_of=None) -> Turn:
        """Everything before generation: checks, follow-up resolution, retrieval, early refusals."""
        t0 = time.perf_counter()
        question, notes = self._check(question)
        history, k = self._history(history), self._k(k)
        gen = self.generator(generator)
        filters = Filters.coerce(filters)
        state = self._current()
        condense = getattr(gen, "condense", None)
        query = condense(question, history) if condense and history else standalone(question, history)
        scope = scope_for(query, as_of)  # without as_of or time words: inactive, nothing changes
        if scope.active():
            notes.append(scope.describe(state.retriever.undated))
        topic = scope.topic(query)  # the dates are searched through the scope, not as words
        t1 = time.perf_counter()
        qv = self.embedder.embed_cached([topic])[0]
        t2 = time.perf_counter()
        k = k or self.settings.k
        if several(query):  # one sentence per person or part: they often sit in other chunks
            k = min(3 * k, 100)
        passages = state.retriever.search(topic, k, filters, query_vector=qv, scope=scope)
        # "the Algerian minister" is "Zerrouki" after the story's first mention, and the sentence
        # that answers may name him alone: search with the name as well.
        if named := by_office(query, passages, lambda text, n: state.retriever.search(
                text, n, filters, scope=scope)):
            passages = state.retriever.search(f"{topic} {' '.join(named)}", k, filters, scope=scope)
        t3 = time.perf_counter()
        # A name or number the corpus never mentions: no passage can answer. Capitalized common
        # nouns ("a Gulf state") are not names; the calibrated score decides those questions.
        missing = unknown_anchors(query, state.retriever.vocabulary, names_only=True, passages=passages)
        early = None
        if not passages:
            early = abstention(question, passages, "no passage matched the filters", gen.name)
        elif missing:
            spelled = {}
            if near := near_names(missing, state.retriever.vocabulary):  # a typo, most likely
                found = passages + state.retriever.search(" ".join(near.values()), 3, filters)
                spelled = written_as(near, found)
            early = abstention(question, passages, f"corpus never mentions {missing}", gen.name,
                               missing, spelled)
        elif not history and points_elsewhere(query):
            early = abstention(question, passages, ELSEWHERE, gen.name)
        timings = {"prepare": t1 - t0, "embed": t2 - t1, "retrieve": t3 - t2}
        return Turn(question, query, gen, passages, early, notes, timings, state.snapshot.version,
                    history)

    def finish(self, turn: Turn, answer: Answer, generate_seconds: float) -> Answer:
        """Stamp the question, query, notes and per-stage timings onto the answer."""
        answer.question, answer.query, answer.index_version = turn.question, turn.query, turn.version
        if answer.abstained and turn.query != turn.question:
            # Generators see the resolved query; the refusal should quote what the user asked.
            answer.text = answer.text.replace(turn.query.strip(), turn.question.strip())
        answer.notes = turn.notes + answer.notes
        timings = {**turn.timings, "generate": generate_seconds}
        timings["total"] = sum(timings.values())
        answer.timings = {name: round(v, 4) for name, v in timings.items()}
        return answer

    def ask_stream(self, question: str, history: list[dict] | None = None,
                   generator: str | None = None, k: int | None = None, filters=None, as_of=None):
        """Yield text deltas (str) as they are produced, then the final verified Answer."""
        from .stream import ask_stream

        yield from ask_stream(self, question, history=history, generator=generator, k=k,
                              filters=filters, as_of=as_of)

    def _check(self, question) -> tuple[str, list[str]]:
        if question is not None and not isinstance(question, str):
            raise QuestionError(f"The question must be text, not {type(question).__name__}.")
        if not question or not question.strip():
            raise QuestionError("The question is empty. Ask something, e.g. "
                                "\"Where was WTDC-25 held?\"")
        question = "".join(c for c in question if c.isprintable() or c in "\n\t").strip()
        limit, notes = self.settings.max_question_chars, []
        if len(question) > limit:
            question = question[:limit]
            notes.append(f"The question was longer than {limit} characters; only the first "
                         f"{limit} were used.")
        if not question:
            raise QuestionError("The question holds no readable characters. Type it as plain text.")
        return question, notes

    def _history(self, history) -> list[dict] | None:
        """Earlier turns checked to be {role, content} text; long ones clipped like questions."""
        if not history:
            return None
        if not isinstance(history, (list, tuple)) or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str)
                and isinstance(m.get("content"), str) for m in history):
            raise QuestionError('history must be a list of {"role": "user" or "assistant", '
                                '"content": "text"} messages, oldest first.')
        limit = self.settings.max_question_chars
        # Follow-up resolution reads only the last exchange; 20 turns bound the work.
        return [{**m, "content": m["content"][:limit]} for m in history[-20:]]

    def _k(self, k):
        if k is None or k == 0:  # 0 has always meant "the default" to callers
            return None
        try:
            n = operator.index(k)  # ints and numpy ints; not 2.5 or "5"
        except TypeError:
            n = -1
        if not 1 <= n <= 100:
            raise ConfigError(f"k={k!r} is not a number of passages from 1 to 100.")
        return n


_default: Assistant | None = None
_default_lock = threading.Lock()


def default_assistant() -> Assistant:
    """The shared instance behind the module-level ask(), built on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Assistant()
        return _default


def ask(question: str, history: list[dict] | None = None, generator: str | None = None,
        k: int | None = None, filters=None, as_of=None) -> Answer:
    """Answer from the default corpus with the shared Assistant (as of a date, if given)."""
    return default_assistant().ask(question, history=history, generator=generator, k=k, filters=filters,
                                   as_of=as_of)


__all__ = ["Assistant", "ask", "default_assistant", "IndexStoreError"]
