"""Corpus Assistant: offline, cited question answering over a news corpus."""

import os

# Nothing may download at run time: every model comes from an installed package or a path.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from .errors import AssistantError  # noqa: E402
from .records import Answer, Citation, Filters, Passage  # noqa: E402
from .settings import Settings  # noqa: E402

__all__ = ["ask", "Assistant", "Answer", "Citation", "Passage", "Filters", "Settings", "AssistantError"]


def __getattr__(name):
    # The API module pulls numpy and friends; import it only when asked (import stays instant).
    if name in ("ask", "Assistant", "default_assistant"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
