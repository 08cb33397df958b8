"""The index seam: where chunks are stored and how candidates are found; backends registered by name.

A store syncs a corpus into published versions and loads the live one. A loaded version gives a
`Searcher`: the backend's own dense and BM25 rankings under the filters, and a `View` of the rows
they name. Fusion, article steps, date prior, spread, collapse and widening stay in
assistant.retrieve, so every backend ranks the same way (modulo BM25 tokenisation).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from ..errors import ConfigError


@dataclass
class View:
    """Rows a search named, as post-processing reads them; rows index every column."""

    chunk: Callable[[int], Any]  # row -> Chunk
    article: np.ndarray  # row -> article row
    articles: list[dict]  # article row -> {id, source, title, date, url}
    spans: Any  # row -> (start, end)
    vectors: Any  # row (or array of rows) -> vector(s)
    terms: dict = field(default_factory=dict)  # row -> stemmed terms, filled by the duplicate test


class Searcher(Protocol):
    """Candidate generation over one index version."""

    vocabulary: set[str]  # every stemmed term of the version (unknown-name refusals)
    undated: int  # articles without a date (named in dated answers' notes)

    def admit(self, filters, scope) -> Any:
        """The backend's form of the filters; None for none, EMPTY when nothing is admitted."""

    def dense(self, qv: np.ndarray, pool: int, allowed) -> list: ...

    def sparse(self, query: str, pool: int, allowed) -> list: ...

    def view(self, dense: list, sparse: list) -> tuple[list[int], list[int], View]:
        """Both rankings as rows of one View."""


class Store(Protocol):
    """Versioned chunk storage: sync a corpus, publish atomically, load the live version."""

    def current(self) -> str | None: ...

    def load(self): ...

    def sync(self, corpus, embedder, chunker, model: str, chunker_sig: dict, rebuild: bool = False,
             progress: bool = True): ...

    def synced_from(self, key: dict) -> bool: ...

    def synced_files(self, key: dict) -> dict | None:
        """The file listing the live version came from, if sync can take only the changed files."""

    def remember(self, key: dict) -> None: ...


EMPTY = object()  # admit(): the filters leave nothing to search

# name -> "module:factory(settings)"; modules import lazily so a missing extra only matters when chosen.
STORES = {
    "faiss": "assistant.stores.faiss:open_store",
    "milvus": "assistant.stores.milvus:open_store",
}


def get_store(settings) -> Store:
    """The store the settings name (ASSISTANT_INDEX_BACKEND); unknown names list the valid ones."""
    name = settings.index_backend
    if name not in STORES:
        raise ConfigError(f"Unknown index backend {name!r}; valid: {', '.join(sorted(STORES))} "
                          "(ASSISTANT_INDEX_BACKEND).")
    module, factory = STORES[name].split(":")
    return getattr(importlib.import_module(module), factory)(settings)
