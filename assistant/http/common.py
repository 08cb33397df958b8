"""What every /v1 route shares: JSON errors, credentials, the waiting line, and streamed answers."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from anyio import to_thread
from fastapi import Request
from fastapi.responses import JSONResponse

from ..errors import (AssistantError, ConfigError, CorpusError, GeneratorError, IndexStoreError,
                      MissingDependency, QuestionError)
from ..records import Answer

log = logging.getLogger("assistant.http")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ApiError(Exception):
    """An HTTP status with the {"error": {"type", "message"}} body every /v1 route answers with."""

    def __init__(self, status: int, kind: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.kind, self.message, self.headers = status, kind, message, headers

    def body(self) -> dict:
        return {"error": {"type": self.kind, "message": self.message}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), self.status, headers=self.headers)


def api_error(exc: Exception) -> ApiError:
    """Any exception as the ApiError to answer with."""
    if isinstance(exc, ApiError):
        return exc
    return from_assistant(exc) if isinstance(exc, AssistantError) else unexpected(exc)


def from_assistant(exc: AssistantError) -> ApiError:
    """The status for one of the assistant's own errors; its message is kept as written."""
    if isinstance(exc, (QuestionError, ConfigError, CorpusError)):
        return ApiError(400, "invalid_request", str(exc))
    if isinstance(exc, GeneratorError):
        # The generators raise one GeneratorError for every failure; their timeout message
        # is the one that starts this way (assistant/generators/openai_compat.py).
        if "did not answer within" in str(exc):
            return ApiError(504, "generator_timeout", str(exc))
        return ApiError(502, "generator_failed", str(exc))
    if isinstance(exc, (IndexStoreError, MissingDependency)):
        return ApiError(503, "unavailable", str(exc))
    return ApiError(500, "assistant_error", str(exc))


def unexpected(exc: Exception) -> ApiError:
    log.exception("unexpected error in the HTTP API")  # the traceback goes to the server log only
    return ApiError(500, "internal_error", f"Something went wrong ({type(exc).__name__}: {exc}). "
                    "The details are in the server log; try again.")


@dataclass(frozen=True)
class Access:
    """Who may call the API: anyone, or whoever shows the chat's password or the API token."""

    basic: tuple[str, str] | None = None
    token: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.basic or self.token)

    def check(self, request: Request) -> None:
        """A FastAPI dependency: ApiError 401 unless the request carries valid credentials."""
        if not self.configured:
            return
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer" and self.token and _same(value, self.token):
            return
        if scheme == "basic" and self.basic:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = ""
            # Both compared every time, so timing does not tell which one was wrong.
            if _same(user, self.basic[0]) & _same(password, self.basic[1]):
                return
        ways = (["HTTP basic auth with the chat's ASSISTANT_AUTH_USER and ASSISTANT_AUTH_PASSWORD"]
                if self.basic else []) + (["Authorization: Bearer <ASSISTANT_API_TOKEN>"]
                                          if self.token else [])
        challenge = 'Basic realm="Corpus Assistant"' if self.basic else "Bearer"
        raise ApiError(401, "unauthorized", f"This server needs credentials: {' or '.join(ways)}.",
                       {"WWW-Authenticate": challenge})


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class Gate:
    """At most `concurrency` answers at once and `queue_size` waiting; anyone beyond is told 503.

    The same two numbers as the chat's Gradio queue (app.py --concurrency, --queue-size).
    Waiting happens on the event loop, so a long line holds no worker thread.
    """

    def __init__(self, concurrency: int, queue_size: int):
        self.concurrency, self.queue_size = concurrency, queue_size
        self.admitted = 0  # running + waiting; touched only on the event loop, so no lock
        self._slots: asyncio.Semaphore | None = None

    async def enter(self) -> None:
        """Wait for a turn; ApiError 503 at once when the line is already full."""
        if self.admitted >= self.concurrency + self.queue_size:
            raise ApiError(503, "busy", f"The server is busy: {self.admitted} requests are being "
                           "answered or waiting. Try again in a moment.", {"Retry-After": "5"})
        if self._slots is None:  # made on the server's event loop, where it is used
            self._slots = asyncio.Semaphore(self.concurrency)
        self.admitted += 1
        try:
            await self._slots.acquire()
        except BaseException:  # the client went away while waiting
            self.admitted -= 1
            raise

    def leave(self) -> None:
        self._slots.release()
        self.admitted -= 1

    async def run(self, fn, *args):
        """fn(*args) in a worker thread once a turn is free."""
        await self.enter()
        try:
            return await to_thread.run_sync(fn, *args)
        finally:
            self.leave()


_END = object()


async def answer_stream(gate: Gate, assistant, **ask) -> AsyncIterator[str | Answer]:
    """ask_stream() once a turn is free: str deltas, then the Answer.

    The first item is computed before this returns, so a bad question raises here (and
    becomes a JSON error) rather than inside a response that has already begun.
    """
    await gate.enter()
    try:
        items = assistant.ask_stream(**ask)
        first = await to_thread.run_sync(next, items, _END)
    except BaseException:
        gate.leave()
        raise

    async def rest():
        try:
            item = first
            while item is not _END:
                yield item
                item = await to_thread.run_sync(next, items, _END)
        finally:
            gate.leave()

    return rest()
