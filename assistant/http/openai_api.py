"""OpenAI-compatible /chat/completions and /models, answered from the corpus.

The reply's content is the cited answer with [n] markers; its citations ride along in an
extra top-level `citations` field (of the response, and of the last streamed chunk), so plain
OpenAI clients work unchanged and aware ones get the sources.
"""

from __future__ import annotations

import json
import time
import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..records import Answer
from .common import ApiError, answer_stream, api_error
from .rest import FiltersIn, available_generators

MODEL = "corpus-assistant"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict] | None = None


class ChatRequest(BaseModel):
    # Sampling parameters (temperature, max_tokens, top_p, seed, stop...) are accepted and
    # ignored: answers are quotes from the corpus, not samples.
    model_config = ConfigDict(extra="allow")
    model: str = MODEL
    messages: list[ChatMessage]
    stream: bool = False
    n: int | None = None
    tools: list | None = None
    functions: list | None = None
    response_format: dict | None = None
    k: int | None = Field(None, description="extension: passages to retrieve, 1-100")
    filters: FiltersIn | None = Field(None, description="extension: since, until, sources")
    as_of: str | None = Field(None, description="extension: YYYY-MM-DD the question is asked on")


def models() -> list[str]:
    return [MODEL] + [f"{MODEL}:{name}" for name in available_generators()]


def router(ctx) -> APIRouter:
    api = APIRouter()

    @api.get("/models", summary="OpenAI-compatible model list")
    async def list_models() -> dict:
        return {"object": "list", "data": [{"id": m, "object": "model", "created": 0,
                                            "owned_by": "corpus-assistant"} for m in models()]}

    @api.post("/chat/completions", summary="OpenAI-compatible chat completion",
              description="The last user message is the question, earlier user/assistant "
                          "messages the history. Extra response field `citations`: the "
                          "Answer JSON's citations. `stream: true` sends chat.completion.chunk "
                          "events ending with `data: [DONE]`; the last chunk holds `citations`.")
    async def chat_completions(body: ChatRequest):
        ask = {"generator": _generator(body.model), "k": body.k,
               "filters": body.filters.model_dump() if body.filters else None,
               "as_of": body.as_of, **_question(body)}
        head = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()),
                "model": body.model}
        if not body.stream:
            answer = await ctx.gate.run(lambda: ctx.assistant.ask(**ask))
            return JSONResponse({
                **head, "object": "chat.completion", "usage": None,
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": answer.text}}],
                "citations": answer.to_dict()["citations"]})
        items = await answer_stream(ctx.gate, ctx.assistant, **ask)

        def chunk(delta: dict, finish: str | None = None, **extra) -> str:
            data = {**head, "object": "chat.completion.chunk", "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        async def events():
            yield chunk({"role": "assistant", "content": ""})
            try:
                async for item in items:
                    if isinstance(item, Answer):
                        yield chunk({}, "stop", citations=item.to_dict()["citations"])
                    else:
                        yield chunk({"content": item})
            except Exception as exc:  # noqa: BLE001 - the stream has begun: OpenAI's in-band error
                yield f"data: {json.dumps(api_error(exc).body(), ensure_ascii=False)}\n\n"
                return
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return api


def _generator(model: str) -> str | None:
    """corpus-assistant -> the default generator; corpus-assistant:NAME -> NAME."""
    if model == MODEL:
        return None
    if model.startswith(MODEL + ":") and model in models():
        return model.split(":", 1)[1]
    raise ApiError(404, "model_not_found", f"The model {model!r} does not exist here; use one "
                   f"of {', '.join(models())} (GET /v1/models).")


def _question(body: ChatRequest) -> dict:
    """The last user message as the question, earlier turns as history; refuse what we lack."""
    if body.n not in (None, 1):
        raise ApiError(400, "invalid_request", f"n={body.n} is not supported: one answer per "
                       "request (leave n out or set it to 1).")
    if body.tools or body.functions:
        raise ApiError(400, "invalid_request", "Tools and functions are not supported: this "
                       "model answers from the corpus only. Leave `tools` out.")
    if body.response_format and body.response_format.get("type", "text") != "text":
        raise ApiError(400, "invalid_request", "Only response_format {\"type\": \"text\"} is "
                       "supported; the answer is cited text.")
    turns = [{"role": m.role, "content": _text(m.content)} for m in body.messages
             if m.role in ("user", "assistant")]  # system and tool messages do not steer quotes
    if not turns or turns[-1]["role"] != "user":
        raise ApiError(400, "invalid_request", "The last message must be the user's question "
                       '({"role": "user", "content": "..."}).')
    return {"question": turns[-1]["content"], "history": turns[:-1] or None}


def _text(content) -> str:
    """A message's text: a string, or the text parts of a content list."""
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""
