"""The REST routes: ask, ask/stream (SSE), index, articles, health."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import tempfile
import threading
from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from .. import uploads
from ..errors import AssistantError
from ..generators import GENERATORS
from ..records import Answer
from .common import LOOPBACK, ApiError, answer_stream, api_error

# What each generator needs besides the core install; /v1/health lists those present.
_NEEDS = {"llamacpp": "llama_cpp", "openai": "openai"}


class Message(BaseModel):
    role: str = Field(description="user or assistant")
    content: str


class FiltersIn(BaseModel):
    since: str | None = Field(None, description="YYYY-MM-DD: only articles dated on or after")
    until: str | None = Field(None, description="YYYY-MM-DD: only articles dated on or before")
    sources: list[str] | None = Field(None, description="only these corpus files (substring)")


class AskRequest(BaseModel):
    question: str
    history: list[Message] | None = Field(None, description="earlier turns, oldest first")
    generator: str | None = Field(None, description="extractive, llamacpp or openai")
    k: int | None = Field(None, description="passages to retrieve, 1-100")
    filters: FiltersIn | None = None
    as_of: str | None = Field(None, description="YYYY-MM-DD the question is asked on: later "
                              "articles are not used; 'last week' counts back from it")

    def ask_args(self) -> dict:
        """The keyword arguments of Assistant.ask() for this request."""
        return {"question": self.question, "generator": self.generator, "k": self.k,
                "history": [m.model_dump() for m in self.history] if self.history else None,
                "filters": self.filters.model_dump() if self.filters else None,
                "as_of": self.as_of}


class UploadCap:
    """ASGI: refuse an upload whose declared size is over `limit_mb` before reading any of it.

    Per-file limits are checked after parsing; this keeps a huge body off the disk.
    """

    def __init__(self, app, limit_mb: float):
        self.app, self.limit = app, limit_mb

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST" and \
                scope["path"].endswith("/articles"):
            size = int(dict(scope["headers"]).get(b"content-length", b"0") or 0)
            if size > self.limit * 1024 * 1024:
                refusal = ApiError(413, "too_large", f"The upload is {size / 2**20:.1f} MB, over "
                                   f"the {self.limit:g} MB one request may carry. Send fewer "
                                   "files at a time.")
                return await refusal.response()(scope, receive, send)
        await self.app(scope, receive, send)


def available_generators() -> list[str]:
    return [n for n in GENERATORS if n not in _NEEDS or importlib.util.find_spec(_NEEDS[n])]


def sse(event: str, data: dict) -> str:
    """One Server-Sent Event; JSON keeps newlines in the text from ending it early."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def router(ctx) -> APIRouter:
    """The routes, bound to the server's context (assistant, gate, access, host)."""
    api = APIRouter()
    index_lock = threading.Lock()  # one indexer at a time, like the chat's uploads

    @api.post("/ask", summary="Answer a question", response_class=JSONResponse,
              responses={200: {"model": Answer, "description": "the Answer JSON"}},
              description="The Answer JSON that `assistant ask --json` prints.")
    async def ask(body: AskRequest):
        answer = await ctx.gate.run(lambda: ctx.assistant.ask(**body.ask_args()))
        return JSONResponse(answer.to_dict())  # as is: the CLI's --json prints the same dict

    @api.post("/ask/stream", summary="Answer a question as Server-Sent Events",
              response_class=StreamingResponse,
              description="`event: delta` ({\"text\"}) as the answer is written, then one "
                          "`event: answer` with the verified Answer JSON, or `event: error` "
                          "({\"error\": {type, message}}).")
    async def ask_stream(body: AskRequest):
        items = await answer_stream(ctx.gate, ctx.assistant, **body.ask_args())

        async def events():
            try:
                async for item in items:
                    yield (sse("answer", item.to_dict()) if isinstance(item, Answer)
                           else sse("delta", {"text": item}))
            except Exception as exc:  # noqa: BLE001 - the stream has begun: report it in-band
                yield sse("error", api_error(exc).body())

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @api.post("/index", summary="Sync the index with the corpus folder",
              description="Only new or changed articles are embedded. Refused (403) on a server "
                          "that listens beyond loopback without credentials configured.")
    async def index() -> dict:
        if not (ctx.access.configured or ctx.host in LOOPBACK):
            raise ApiError(403, "forbidden", "Indexing over the API needs credentials on a server "
                           "that listens beyond loopback: set ASSISTANT_AUTH_USER and "
                           "ASSISTANT_AUTH_PASSWORD (or ASSISTANT_API_TOKEN) and restart.")
        return dataclasses.asdict(await to_thread.run_sync(_index, ctx.assistant, index_lock))

    @api.post("/articles", summary="Upload articles into the corpus and index them",
              description="multipart/form-data with one or more `files`; the chat's upload rules "
                          "(types, UTF-8, size limit). 413 when a file is over the limit.")
    async def add_articles(files: list[UploadFile] = File(...)) -> dict:
        s = ctx.assistant.settings
        for f in files:  # every size checked before anything is saved
            limit = uploads.upload_limit_mb(f.filename or "", s.max_file_mb)
            if (f.size or 0) > limit * 1024 * 1024:
                raise ApiError(413, "too_large", f"{f.filename}: {f.size / 2**20:.1f} MB is over "
                               f"the {limit:g} MB upload limit (ASSISTANT_MAX_FILE_MB). Split it, "
                               "or copy it into the corpus folder and run: assistant index")
        return await to_thread.run_sync(_add, ctx.assistant, files, index_lock)

    @api.get("/articles", summary="What is indexed", description="One entry per article.")
    async def articles() -> dict:
        snapshot = await to_thread.run_sync(lambda: ctx.assistant.snapshot)
        out = snapshot.article_rows()
        return {"index_version": snapshot.version, "count": len(out), "articles": out}

    @api.get("/health", summary="Readiness, index version and counts, generators available")
    async def health() -> dict:
        snapshot = await to_thread.run_sync(lambda: ctx.assistant.snapshot)
        articles, chunks = snapshot.counts()
        return {"status": "ok", "ready": True, "index_version": snapshot.version,
                "articles": articles, "chunks": chunks, "generators": available_generators(),
                "default_generator": ctx.assistant.settings.generator,
                "queue": {"concurrency": ctx.gate.concurrency, "queue_size": ctx.gate.queue_size,
                          "admitted": ctx.gate.admitted}}

    return api


def _index(assistant, lock: threading.Lock):
    with lock:
        return assistant.index(progress=False, quick=True)


def _add(assistant, files: list[UploadFile], lock: threading.Lock) -> dict:
    """Save each upload with the chat's rules, then index once; per-file outcome."""
    s = assistant.settings
    with tempfile.TemporaryDirectory(prefix="assistant-upload-") as tmp:
        paths = []
        for i, f in enumerate(files):
            path = Path(tmp) / str(i)
            with open(path, "wb") as out:
                while chunk := f.file.read(1 << 20):
                    out.write(chunk)
            paths.append((path, f.filename or "upload"))
        added = uploads.add_files(paths, s.corpus_dir, s.max_file_mb, lambda: _index(assistant, lock))
    if not added.saved:  # nothing accepted: the request failed as a whole
        raise api_error(added.refused[0])
    results = [{"original": name, "error": str(x)} if isinstance(x, AssistantError) else
               {"original": x.original, "name": x.name, "articles": x.articles,
                "duplicate": x.duplicate, "problems": x.problems} for name, x in added.outcomes]
    return {"files": results, "index": dataclasses.asdict(added.report) if added.report else None}
