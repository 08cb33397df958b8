"""What every LLM generator shares: the prompt, fitting passages, parsing replies, condense."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from ..citations import MARKER, markers, strip_markers
from ..errors import AssistantError
from ..followup import is_followup, standalone
from ..prompts import load_prompt
from ..records import Answer, Citation, Passage
from ..terms import terms

# Article text must not be able to close the data block or pose as a citation: delimiter
# look-alikes get their angle bracket swapped for a look-alike glyph, [n] markers are dropped.
_DELIMITER = re.compile(r"<(?=\s*/?\s*passages?\b)", re.I)
MIN_PASSAGE_TOKENS = 96  # about three news sentences; below that send fewer passages
CONDENSE_TOKENS = 48


def data_text(text: str) -> str:
    """Passage text made safe to sit inside the <passages> block."""
    return _DELIMITER.sub("\u2039", strip_markers(" ".join(text.split())))


class LLMGenerator:
    """Base for chat-model generators; a backend supplies _chat() and count_tokens()."""

    name = "llm"
    verify = True  # api.ask() and stream.ask_stream() check the citations of every answer

    def __init__(self, settings, embedder):
        self.settings, self.embedder = settings, embedder

    # -- backend hooks -------------------------------------------------------------------
    def _chat(self, messages: list[dict], max_tokens: int, stream: bool):
        """Reply text (stream=False) or an iterator of text deltas (stream=True)."""
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        # Without the model's tokenizer, ~3 characters a token over-counts English news text,
        # so fitted passages stay inside the server's window.
        return len(text) // 3 + 1

    # -- the seam --------------------------------------------------------------------------
    def generate(self, question: str, passages: list[Passage],
                 history: list[dict] | None = None) -> Answer:
        """One cited answer (citations are checked afterwards by assistant.verify)."""
        messages, used = self.messages(question, passages)
        t0 = time.perf_counter()
        text = self._chat(messages, self.settings.llm_max_tokens, stream=False)
        note = f"llm: {len(used)} passages in the prompt, {time.perf_counter() - t0:.2f}s"
        return parse_answer(text, question, passages, self.name, [note])

    def generate_stream(self, question: str, passages: list[Passage],
                        history: list[dict] | None = None) -> Iterator[str | Answer]:
        """Text deltas as the model writes them, then the parsed Answer."""
        messages, used = self.messages(question, passages)
        t0 = time.perf_counter()
        first, parts = None, []
        for delta in self._chat(messages, self.settings.llm_max_tokens, stream=True):
            if not delta:
                continue
            if first is None:
                first = time.perf_counter() - t0
            parts.append(delta)
            yield delta
        total = time.perf_counter() - t0
        rate = len(parts) / (total - first) if first is not None and total > first else 0.0
        note = (f"llm: {len(used)} passages in the prompt, first token {first or 0:.2f}s, "
                f"{len(parts)} deltas at {rate:.1f}/s")
        yield parse_answer("".join(parts), question, passages, self.name, [note])

    def condense(self, question: str, history: list[dict] | None) -> str:
        """The follow-up rewritten as a standalone question; rule-based resolution on failure."""
        if not is_followup(question, history):
            return question
        said = [(m["role"], " ".join(strip_markers(str(m.get("content", ""))).split())[:300])
                for m in history[-4:] if m.get("role") in ("user", "assistant")]
        turns = [f"{role}: {text}" for role, text in said]
        system = load_prompt("condense_system", set(), self.settings.prompts_dir).render()
        user = load_prompt("condense_user", {"history", "question"}, self.settings.prompts_dir)
        messages = [{"role": "system", "content": system.strip()},
                    {"role": "user", "content": user.render(history="\n".join(turns),
                                                            question=question).strip()}]
        try:
            reply = self._chat(messages, CONDENSE_TOKENS, stream=False)
        except AssistantError:
            return standalone(question, history)
        rewritten = _first_line(reply)
        # A tiny model echoes the question, rambles or answers instead of rewriting: a rewrite
        # is used only when it is one short question that brings in words from the conversation.
        added = set(terms(rewritten)) - set(terms(question))
        context = set(terms(" ".join(text for _, text in said)))
        one_question = rewritten.endswith("?") and rewritten.count("?") == 1
        if (not one_question or not added & context or MARKER.search(rewritten)
                or len(rewritten) > 2 * len(question) + 80):
            return standalone(question, history)
        return rewritten

    # -- prompt ---------------------------------------------------------------------------
    def messages(self, question: str, passages: list[Passage]) -> tuple[list[dict], list[Passage]]:
        """Chat messages for the answer, and the passages that fit the context window."""
        system = load_prompt("answer_system", set(), self.settings.prompts_dir).render().strip()
        user = load_prompt("answer_user", {"passages", "question"}, self.settings.prompts_dir)
        question = " ".join(question.split())
        overhead = self.count_tokens(system + user.render(passages="", question=question))
        # Chat-template tokens and the reply itself need room too.
        budget = self.settings.llm_context - self.settings.llm_max_tokens - overhead - 64
        blocks = fit_passages(passages, budget, self.count_tokens)
        content = user.render(passages="\n".join(blocks), question=question).strip()
        return ([{"role": "system", "content": system}, {"role": "user", "content": content}],
                passages[:len(blocks)])


def fit_passages(passages: list[Passage], budget: int, count_tokens) -> list[str]:
    """Numbered passage blocks within `budget` tokens; passage i is always number i + 1."""
    # Fewer whole passages beat many fragments: each one sent gets room for a few sentences.
    n = min(len(passages), max(1, budget // MIN_PASSAGE_TOKENS))
    blocks, spent = [], 0
    for i, p in enumerate(passages[:n]):
        # No title: it is often the article's first sentence again, and tokens are scarce.
        head = f'<passage n="{i + 1}" date="{p.date or "unknown"}">'
        # Room a short passage leaves unused goes to the ones after it.
        room = (budget - spent) // (n - i) - count_tokens(head) - 4
        body = data_text(p.text)
        if count_tokens(body) > room:
            body = _cut(p, room, count_tokens)
        blocks.append(f"{head}\n{body}\n</passage>")
        spent += count_tokens(blocks[-1])
    return blocks


def _cut(p: Passage, room: int, count_tokens) -> str:
    """Whole sentences from where the passage ranked while they fit; characters if none does."""
    start = p.focus[0] if p.focus else p.start  # a widened passage: its neighbours matter less
    spans = [(a, b) for a, b in p.sentences if a >= start] or [(start, p.end)]
    kept = ""
    for a, b in spans:
        candidate = data_text(p.text[start - p.start: b - p.start])
        if count_tokens(candidate) > room:
            break
        kept = candidate
    if not kept:
        kept = data_text(p.text[start - p.start:])[: max(room, 1) * 3]
        while kept and count_tokens(kept) > room:
            kept = kept[: int(len(kept) * 0.9)].rsplit(" ", 1)[0]
    return kept


def parse_answer(text: str, question: str, passages: list[Passage], generator: str,
                 notes: list[str] | None = None) -> Answer:
    """The model's reply as an Answer; marker n cites passages[n - 1] until verify checks it."""
    text = " ".join((text or "").split())
    citations = []
    for n in dict.fromkeys(markers(text)):
        if 1 <= n <= len(passages):
            p = passages[n - 1]
            # Provisional: verify replaces the quote with the sentence that supports the claim.
            citations.append(Citation(marker=n, source=p.source, title=p.title, date=p.date,
                                      quote=p.text, start=p.start, end=p.end, url=p.url,
                                      passage=n - 1))
    return Answer(question=question, text=text, citations=citations, passages=passages,
                  generator=generator, notes=list(notes or []))


def _first_line(reply: str) -> str:
    for line in (reply or "").splitlines():
        line = line.strip().strip('"').strip()
        line = re.sub(r"^(standalone question|question|rewritten question)\s*:\s*", "", line,
                      flags=re.I)
        if line:
            return line
    return ""
