"""rag.integrations.langchain: the retriever and the answer Runnable composed in real LCEL chains."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("langchain_core")

from langchain_core.documents import Document  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough  # noqa: E402

from rag.errors import RagError  # noqa: E402
from rag.integrations.langchain import GovReportAnswer, GovReportRetriever  # noqa: E402


@pytest.fixture(scope="module")
def parts(seed_index: Path) -> tuple[GovReportRetriever, GovReportAnswer]:
    retriever = GovReportRetriever.load(str(seed_index), generator="extractive", k=3)
    answer = GovReportAnswer.load(str(seed_index), generator="extractive")
    assert retriever.service is answer.service  # one loaded index for both
    return retriever, answer


def test_retriever_returns_documents_with_chunk_metadata(parts: tuple[GovReportRetriever, GovReportAnswer]) -> None:
    retriever, _ = parts
    docs = retriever.invoke("仓山区2024年GDP目标")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert "5.5%" in top.page_content and top.id == top.metadata["chunk_id"]
    assert top.metadata["region"] == "仓山区" and top.metadata["year"] == 2024
    assert {"source", "title", "section", "start", "end", "score", "ranks", "period_year"} <= top.metadata.keys()


def test_retriever_filters_by_field_and_per_call(parts: tuple[GovReportRetriever, GovReportAnswer]) -> None:
    retriever, _ = parts
    taijiang = retriever.model_copy(update={"region": "台江区"})
    assert {d.metadata["region"] for d in taijiang.invoke("GDP增长目标")} == {"台江区"}
    assert {d.metadata["region"] for d in retriever.invoke("GDP增长目标", region="解放区")} == {"解放区"}
    assert retriever.invoke("GDP增长目标", region="鼓楼区") == []  # a region the corpus does not hold


def test_answer_runnable_accepts_questions_messages_and_dicts(parts: tuple[GovReportRetriever, GovReportAnswer]) -> None:
    _, answer = parts
    plain = answer.invoke("仓山区2024年GDP目标")
    assert "5.5%[1]" in plain["answer"] and plain["refused"] is False and plain["citations"][0]["region"] == "仓山区"
    follow = answer.invoke([HumanMessage("仓山区2024年GDP目标"), AIMessage("地区生产总值增长5.5%[1]"),
                            HumanMessage("那固定资产投资呢?")])
    assert "3%[1]" in follow["answer"] and "仓山区" in follow["standalone_question"]
    scoped = answer.invoke({"question": "2022年GDP增长目标是多少?", "region": "台江区"})
    assert "8%[1]" in scoped["answer"]
    refused = answer.invoke([("human", "台江区2024年GDP目标")])
    assert refused["refused"] is True and refused["citations"] == []
    with pytest.raises(RagError, match="no user question"):
        answer.invoke([AIMessage("only the assistant spoke")])


def test_both_compose_in_lcel(parts: tuple[GovReportRetriever, GovReportAnswer]) -> None:
    retriever, answer = parts
    chain = RunnableParallel(answer=answer, passages=retriever)
    out = chain.invoke("仓山区2024年GDP目标")
    cited = {c["chunk_id"] for c in out["answer"]["citations"]}
    assert cited <= {d.id for d in out["passages"]}  # the answer cites passages the retriever also returns

    context = retriever | RunnableLambda(lambda docs: "\n\n".join(d.page_content for d in docs))
    prompt = {"context": context, "question": RunnablePassthrough()} | RunnableLambda(
        lambda x: f"资料:\n{x['context']}\n\n问题:{x['question']}")
    assert "5.5%" in prompt.invoke("仓山区2024年GDP目标")

    batch = (answer | RunnableLambda(lambda a: a["answer"])).batch(["仓山区2024年GDP目标", "台江区2022年GDP增长目标"])
    assert "5.5%" in batch[0] and "8%" in batch[1]
