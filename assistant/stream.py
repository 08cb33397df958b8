"""Streaming answers: text deltas as they come, then the complete Answer."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from .records import Answer


def ask_stream(assistant, question: str, history=None, generator=None, k=None,
               filters=None, as_of=None) -> Iterator[str | Answer]:
    """Yield str deltas, then the final Answer (the only non-str item)."""
    turn = assistant.prepare(question, history, generator, k, filters, as_of)
    t0 = time.perf_counter()
    stream = getattr(turn.generator, "generate_stream", None)
    if turn.early is None and stream is not None:
        answer = None
        for item in stream(turn.query, turn.passages, turn.history):
            if isinstance(item, Answer):
                answer = item
            else:
                yield item
        if getattr(turn.generator, "verify", False):
            from .verify import verify_answer

            answer = verify_answer(answer, turn.passages, assistant.embedder, assistant.settings)
    else:
        # Generators without native streaming answer at once; the text is replayed word by
        # word so every face can treat all generators alike.
        answer = turn.early or turn.generator.generate(turn.query, turn.passages, turn.history)
        for piece in re.findall(r"\S+\s*", answer.text):
            yield piece
    yield assistant.finish(turn, answer, time.perf_counter() - t0)
