"""LangChain parts: the hybrid retriever as a ``BaseRetriever``, the answer chain as a ``Runnable``.

Both sit on one shared ``rag.serve.service.Service`` (one pipeline per index and generator, loaded
once per process), so they compose in LCEL without loading the index twice::

    from langchain_core.runnables import RunnableParallel
    from rag.integrations.langchain import GovReportAnswer, GovReportRetriever
    chain = RunnableParallel(answer=GovReportAnswer.load("/tmp/seed"),
                             passages=GovReportRetriever.load("/tmp/seed", k=3))
    chain.invoke("仓山区2024年GDP目标")   # {"answer": {"answer": "…5.5%[1]", "citations": […]}, "passages": [Document…]}

The retriever's documents are the passages verbatim (``page_content``) with the chunk's metadata
(source, title, region, year, period_year, section, start, end, chunk_id, score, ranks). Region
and year filters are fields (``GovReportRetriever.load(index, region="仓山区")``) or per call
(``retriever.invoke(q, region=…, year=…)``). The answer Runnable takes a question, a list of chat
messages (earlier human turns become follow-up context) or ``{"question", "turns", "region",
"year"}``, and returns ``rag.serve.service.answer_dict``: answer with [n], citations, refused.

Optional: ``pip install 'gov-report-rag[langchain]'`` (langchain-core is not needed elsewhere).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, RunnableSerializable
from pydantic import ConfigDict

from rag.config import get_settings
from rag.errors import RagError
from rag.serve.service import Service, answer_dict


@functools.lru_cache(maxsize=4)
def load_service(index: str | None = None, generator: str = "auto") -> Service:
    """The shared service for an index directory (default RAG_INDEX_DIR) and generator, built once."""
    overrides: dict[str, Any] = {"generator": generator}
    if index:
        overrides["index_dir"] = Path(index)
    return Service(get_settings(**overrides))


class GovReportRetriever(BaseRetriever):
    """Region/year-aware hybrid search (BM25 + dense, fused) over the government work reports."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    service: Service
    k: int = 5
    region: str | None = None
    year: int | None = None

    @classmethod
    def load(cls, index: str | None = None, generator: str = "auto", **fields: Any) -> GovReportRetriever:
        """A retriever over ``index`` (default RAG_INDEX_DIR); ``fields``: k, region, year.

        ``generator`` only picks which shared service to use (the same as ``GovReportAnswer.load``'s
        shares one loaded index); retrieval never calls a model.
        """
        return cls(service=load_service(index, generator), **fields)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                region: str | None = None, year: int | None = None,
                                k: int | None = None) -> list[Document]:
        result = self.service.search(query, region or self.region, year if year is not None else self.year,
                                     k or self.k)
        docs = []
        for p in result["passages"]:
            meta = {key: value for key, value in p.items() if key != "text"}
            docs.append(Document(page_content=p["text"], metadata=meta, id=p["chunk_id"]))
        return docs


def _role(message: Any) -> tuple[str, str]:
    """(role, text) of a LangChain message, an OpenAI-style dict or a (role, text) tuple."""
    if isinstance(message, BaseMessage):
        return ("user" if message.type == "human" else message.type), message.text
    if isinstance(message, dict):
        return str(message.get("role", "")), str(message.get("content", ""))
    if isinstance(message, tuple | list) and len(message) == 2:
        role = str(message[0])
        return ("user" if role == "human" else role), str(message[1])
    raise RagError(f"cannot read a chat message from {type(message).__name__}",
                   "pass a question string, LangChain messages, or {'role': 'user', 'content': …} dicts")


def question_and_turns(value: Any) -> tuple[str, list[str], dict[str, Any]]:
    """The question, the earlier user turns and the filters from any supported input."""
    if isinstance(value, str):
        return value, [], {}
    if isinstance(value, BaseMessage):
        return value.text, [], {}
    if isinstance(value, dict) and "question" in value:
        filters = {k: value[k] for k in ("region", "year") if value.get(k) is not None}
        return str(value["question"]), [str(t) for t in value.get("turns", ())], filters
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        users = [text for role, text in map(_role, value) if role == "user" and text.strip()]
        if not users:
            raise RagError("the messages hold no user question", "end the conversation with a human message")
        return users[-1], users[:-1], {}
    raise RagError(f"cannot read a question from {type(value).__name__}",
                   "pass a string, a list of messages, or {'question': …, 'turns': [...]}")


class GovReportAnswer(RunnableSerializable[Any, dict[str, Any]]):
    """The answer chain: question or messages → answer with [n], citations and the refusal flag."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    service: Service
    generate: bool = True  # False: the extractive answer only (no language model)

    @classmethod
    def load(cls, index: str | None = None, generator: str = "auto", **fields: Any) -> GovReportAnswer:
        """The answer chain over ``index`` (default RAG_INDEX_DIR) with ``generator`` (auto, local, openai, extractive)."""
        return cls(service=load_service(index, generator), **fields)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        """Answer one question (see ``question_and_turns`` for the accepted inputs)."""
        return self._call_with_config(self._answer, input, config, run_type="chain")

    def _answer(self, value: Any) -> dict[str, Any]:
        question, turns, filters = question_and_turns(value)
        answer = self.service.ask(question, turns, generate=self.generate,
                                  filters=self.service.filters(filters.get("region"), filters.get("year")))
        return answer_dict(answer)


__all__ = ["GovReportAnswer", "GovReportRetriever", "load_service"]
