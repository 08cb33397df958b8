"""Streaming answers: text deltas as they come, then the complete Answer."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from .errors import AnswerInterrupted
from .generators.fallback import instead
from .records import Answer


def ask_stream(assistant, question: str, history=None, generator=None, k=None,
               filters=None, as_of=None) -> Iterator[str | Answer]:
    """Yield str deltas, then the final Answer (the only non-str item)."""
    turn = assistant.prepare(question, history, generator, k, filters, as_of)
    t0 = time.perf_counter()
    # The calibrated refusal holds for every generator, so the extractive pass runs first.
    answer = base = turn.early or assistant.extract(turn)
    delegated = assistant.delegates(turn, base)
    stream = getattr(turn.generator, "generate_stream", None)
    if delegated and stream is not None:
        # The final Answer replaces the streamed text: verified, or the extractive fallback.
        try:
            for item in stream(turn.query, turn.passages, turn.history):
                if isinstance(item, Answer):
                    answer = item
                else:
                    yield item
        except AnswerInterrupted as exc:  # a timeout or a crash mid-reply: this answer only
            answer = instead(base, turn.generator.name, f"it failed: {exc}")
        else:
            answer = assistant.settle(turn, answer, base)
    else:
        # Generators without native streaming answer at once; the text is replayed word by
        # word so every face can treat all generators alike.
        if delegated:
            answer = assistant.delegate(turn, base)
        for piece in re.findall(r"\S+\s*", answer.text):
            yield piece
    yield assistant.finish(turn, answer, time.perf_counter() - t0)
