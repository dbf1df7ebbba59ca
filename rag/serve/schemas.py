"""Request bodies and response objects of the HTTP API (the OpenAI chat-completions shape, plus ours).

Requests are pydantic models: bad types are rejected by FastAPI before any work and reported by
``rag.serve.errors`` as OpenAI-style errors. Unknown request fields are accepted and ignored (chat UIs
send ``temperature``, ``top_p``, ``user`` …); ``region``/``year`` (``extra_body`` in the openai
client) scope the answer, ``sources: false`` leaves the numbered source list out of the text.

Responses follow the OpenAI schema; the answer's citations, the refusal flag and notices travel in
extra top-level fields (``citations``, ``refused``, ``refusal_reason``, ``notices``, ``generator``)
of the completion object, and of the final chunk when streaming.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.serve.service import answer_dict
from rag.types import Answer


class TextPart(BaseModel):
    """One part of a multi-part message content (only text parts carry a question)."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """One message of the conversation."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _content_shape(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str | list):
            raise ValueError(f"content must be a string or a list of {{type, text}} parts, not {type(value).__name__}")
        return value

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[ChatMessage]
    stream: bool = False
    region: str | None = Field(None, description="answer from this region's reports (wins over earlier turns)")
    year: int | None = Field(None, description="the year asked about")
    sources: bool = Field(True, description="append a numbered source list to the answer text")


class SearchRequest(BaseModel):
    """``POST /v1/search``."""

    model_config = ConfigDict(extra="forbid")
    query: str
    region: str | None = None
    year: int | None = None
    top_k: int | None = Field(None, ge=1, le=50)


def new_id() -> str:
    """A completion id, OpenAI style."""
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def sources_text(answer: Answer) -> str:
    """The numbered source list shown under an answer: [n] title · region · year · section."""
    if not answer.citations:
        return ""
    lines = [f"[{c.id}] {c.title or c.source} · {c.region or '地区未知'} · {c.year or '年份未知'}"
             + (f" · {c.section}" if c.section else "") for c in answer.citations]
    return "\n\n来源:\n" + "\n".join(lines)


def rag_fields(answer: Answer) -> dict[str, Any]:
    """The extra top-level fields: citations, refused, refusal_reason, notices, generator …"""
    fields = answer_dict(answer)
    fields.pop("answer")
    return fields


def completion(cid: str, model: str, content: str, answer: Answer) -> dict[str, Any]:
    """The non-streaming response object (no ``usage``: token counts are not measured)."""
    return {"id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop", "logprobs": None}],
            **rag_fields(answer)}


def chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None,
          **extra: Any) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a stream."""
    return {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}


def models_list(generator: str) -> dict[str, Any]:
    """``GET /v1/models``: the two answer profiles."""
    now = int(time.time())
    return {"object": "list", "data": [
        {"id": "gov-report-rag", "object": "model", "created": now, "owned_by": "gov-report-rag",
         "description": f"cited answers phrased by the configured generator (now: {generator}); every figure "
                        "checked against the cited passages, else the extractive answer"},
        {"id": "gov-report-rag-extractive", "object": "model", "created": now, "owned_by": "gov-report-rag",
         "description": "cited answers quoted verbatim from the reports (no language model, fast)"},
    ]}
