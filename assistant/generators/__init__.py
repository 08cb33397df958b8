"""The Generator seam: (question, passages, history) -> Answer; backends registered by name."""

from __future__ import annotations

import importlib
from typing import Protocol

from ..errors import ConfigError
from ..records import Answer, Passage


class Generator(Protocol):
    """Writes a cited answer from retrieved passages."""

    name: str

    def generate(self, question: str, passages: list[Passage],
                 history: list[dict] | None = None) -> Answer: ...


# name -> "module:Class"; modules import lazily so a missing extra only matters when chosen.
GENERATORS = {
    "extractive": "assistant.generators.extractive:ExtractiveGenerator",
    "llamacpp": "assistant.generators.llamacpp:LlamaCppGenerator",
    "openai": "assistant.generators.openai_compat:OpenAIGenerator",
}


def get_generator(name: str, settings, embedder) -> Generator:
    """An instance of the named generator; unknown names list the valid ones."""
    if name not in GENERATORS:
        raise ConfigError(
            f"Unknown generator {name!r}; valid: {', '.join(sorted(GENERATORS))}. "
            "Set it with --generator or ASSISTANT_GENERATOR."
        )
    module, cls = GENERATORS[name].split(":")
    return getattr(importlib.import_module(module), cls)(settings, embedder)
