"""OpenAI-compatible generator: llama.cpp server, Ollama, vLLM, LM Studio, any /v1 endpoint."""

from __future__ import annotations

import contextlib
import os
import threading

from ..errors import AnswerInterrupted, GeneratorError, MissingDependency
from .llm import LLMGenerator

# Connecting is local or near: a dead host should fail in seconds, whatever the read timeout.
CONNECT_TIMEOUT = 5.0


class OpenAIGenerator(LLMGenerator):
    """Chat completions over HTTP with a timeout and bounded retries; errors name the URL."""

    name = "openai"

    def __init__(self, settings, embedder):
        super().__init__(settings, embedder)
        self._client, self._client_url = None, None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The endpoint, for messages; endpoint() is what requests go to."""
        return self.settings.openai_base_url.rstrip("/")

    @property
    def model(self) -> str:
        return self.settings.openai_model

    def endpoint(self) -> str:
        return self.url

    @property
    def retries(self) -> int:
        return self.settings.request_retries

    def request_options(self) -> dict:
        """Extra arguments for every chat completion request."""
        return {}

    @property
    def client(self):
        url = self.endpoint()
        with self._lock:
            if self._client is None or self._client_url != url:  # a restarted local server
                self._client, self._client_url = self._connect(url), url
        return self._client

    def _connect(self, url: str):
        try:
            import openai
        except ImportError:
            raise MissingDependency("openai", "llm") from None
        # Local servers ignore the key, but the client insists on one.
        key = os.environ.get(self.settings.openai_api_key_env) or "not-needed"
        timeout = self.settings.request_timeout
        return openai.OpenAI(base_url=url, api_key=key, max_retries=self.retries,
                             timeout=openai.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)))

    def _chat(self, messages: list[dict], max_tokens: int, stream: bool):
        if stream:
            return self._stream(messages, max_tokens)
        reply = self._call(messages, max_tokens, stream=False)
        if not reply.choices:
            raise GeneratorError(f"The endpoint {self.url} returned no choices for model "
                                 f"{self.model!r}. Check ASSISTANT_OPENAI_MODEL.")
        return reply.choices[0].message.content or ""

    def _stream(self, messages, max_tokens):
        chunks = self._call(messages, max_tokens, stream=True)
        with self._errors(midstream=True):  # a stream can stall or break after it started
            for chunk in chunks:
                # Some servers send a final usage chunk with no choices.
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    yield delta

    def _call(self, messages, max_tokens, stream):
        client = self.client  # raises MissingDependency before any openai error can occur
        with self._errors():
            return client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens,
                temperature=self.settings.llm_temperature, stream=stream,
                **self.request_options())

    @contextlib.contextmanager
    def _errors(self, midstream: bool = False):
        """Turn openai's exceptions into one GeneratorError that names the URL and the fix."""
        import openai

        s, url = self.settings, self.url
        # A reply already under way is never re-sent: only the first request is retried.
        tries = "mid-reply" if midstream else f"{self.retries + 1} attempt(s)"
        try:
            yield
        except openai.APITimeoutError:
            raise AnswerInterrupted(
                f"The endpoint {url} did not answer within {s.request_timeout:g}s ({tries}). "
                "Check that the server is not stuck, or raise ASSISTANT_REQUEST_TIMEOUT.") from None
        except openai.APIConnectionError:
            # Lost mid-reply, the server was there a moment ago; unreachable at first, it is not.
            raise (AnswerInterrupted if midstream else GeneratorError)(
                f"Could not reach the endpoint {url} ({tries}). Start the server (e.g. python -m "
                "llama_cpp.server --model model.gguf --port 8080) or set "
                "ASSISTANT_OPENAI_BASE_URL.") from None
        except openai.APIStatusError as exc:
            detail = " ".join(str(getattr(exc, "message", exc)).split())[:200]
            hint = (f"set the key in ${s.openai_api_key_env}" if exc.status_code in (401, 403)
                    else f"check ASSISTANT_OPENAI_MODEL (now {s.openai_model!r})")
            raise GeneratorError(f"The endpoint {url} answered HTTP {exc.status_code}: {detail}. "
                                 f"Next: {hint}.") from None
        except openai.OpenAIError as exc:
            raise GeneratorError(f"The endpoint {url} failed: {exc}") from None
