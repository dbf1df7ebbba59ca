"""``rag mcp``: the knowledge base as MCP tools (the official ``mcp`` SDK's ``MCPServer``).

Tools: ``search_reports(query, region?, year?, top_k?)``, ``ask(question)``,
``query_indicators(region?, year?, indicator?, kind?)``, ``list_reports()``. Each description says
what the corpus holds (regions and years, computed when the server starts) so an agent knows
when to call it; every result carries citations (source, region, year, section, span, text).

Transports: stdio (a desktop client starts ``rag mcp`` itself) or streamable HTTP at ``/mcp``
(same key rule as ``rag serve``: with RAG_API_KEYS a Bearer key is required, without keys only
loopback). Expected problems come back as tool errors with their message, never a traceback.
"""

# no ``from __future__ import annotations``: the SDK reads the tool signatures, whose Field
# descriptions are built at start-up from the corpus, at run time
import sys
from typing import Annotated, Any

from pydantic import Field

from rag.answer.gate import BusyError
from rag.config import Settings
from rag.errors import RagError
from rag.lexicon import INDICATORS
from rag.serve.service import MAX_TOP_K, Service

INSTRUCTIONS = ("Answers questions about Chinese government work reports (政府工作报告) with citations. "
                "Use search_reports to find passages, ask for a checked, cited answer, query_indicators for "
                "headline figures (GDP growth targets, fiscal revenue …), list_reports for what the corpus holds. "
                "Quote figures only with their citation; a refusal means the reports do not say.")


def _tool_error(exc: RagError) -> Exception:
    from mcp.server.mcpserver.exceptions import ToolError

    if isinstance(exc, BusyError):
        return ToolError(f"{exc.message}; retry in about {max(1, round(exc.retry_after))} s")
    return ToolError(exc.message + (f" ({exc.hint})" if exc.hint else ""))


def build_server(service: Service) -> Any:
    """An ``MCPServer`` with the four tools over ``service``."""
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    holds = service.corpus.summary()
    indicators = "、".join(i.name for i in INDICATORS)
    server = MCPServer("gov-report-rag", instructions=INSTRUCTIONS + " Corpus: " + holds, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    def search_reports(
        query: Annotated[str, Field(description="question or keywords, Chinese or English, e.g. 仓山区2024年GDP目标")],
        region: Annotated[str | None, Field(description="only this region's reports, e.g. 仓山区")] = None,
        year: Annotated[int | None, Field(description="only passages about this year")] = None,
        top_k: Annotated[int, Field(ge=1, le=MAX_TOP_K, description="number of passages")] = 5,
    ) -> dict[str, Any]:
        try:
            return service.search(query, region, year, top_k)
        except RagError as exc:
            raise _tool_error(exc) from exc

    def ask(
        question: Annotated[str, Field(description="a question about the reports, e.g. 仓山区2024年GDP增长目标是多少?")],
    ) -> dict[str, Any]:
        from rag.serve.service import answer_dict

        try:
            return answer_dict(service.ask(question))
        except RagError as exc:
            raise _tool_error(exc) from exc

    def query_indicators(
        region: Annotated[str | None, Field(description="region, e.g. 仓山区")] = None,
        year: Annotated[int | None, Field(description="the year the figure refers to")] = None,
        indicator: Annotated[str | None, Field(description=f"indicator name or alias: {indicators}")] = None,
        kind: Annotated[str | None, Field(description="target | actual | forecast")] = None,
    ) -> dict[str, Any]:
        try:
            return service.facts(region, year, indicator, kind)
        except RagError as exc:
            raise _tool_error(exc) from exc

    def list_reports() -> dict[str, Any]:
        return service.corpus.to_dict()

    server.add_tool(search_reports, annotations=read_only, description=(
        "Hybrid keyword + semantic search over the government work reports; returns passages with scores and "
        f"citations (source, region, year, section, character span, text). Corpus: {holds}"))
    server.add_tool(ask, annotations=read_only, description=(
        "Answer a question from the reports: a short answer with [n] markers, the cited passages, and "
        "refused=true when the reports do not hold the answer (every figure is checked against the cited "
        f"passages). Corpus: {holds}"))
    server.add_tool(query_indicators, annotations=read_only, description=(
        "Headline figures extracted from the reports (targets, actual results, forecasts), each with the "
        f"clause it was read from. Indicators: {indicators}. Corpus: {holds}"))
    server.add_tool(list_reports, annotations=read_only, description=(
        f"What the corpus holds: regions with their report years, and every document. Corpus: {holds}"))
    return server


class _BearerKeys:
    """ASGI wrapper: 401 unless ``Authorization: Bearer <one of keys>`` (HTTP transport only)."""

    def __init__(self, app: Any, keys: list[str]) -> None:
        self.app, self.keys = app, keys

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from starlette.datastructures import Headers
        from starlette.responses import JSONResponse

        from rag.serve.auth import key_matches

        if scope["type"] == "http" and scope.get("path") != "/healthz":
            header = Headers(scope=scope).get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not key_matches(token.strip(), self.keys):
                body = {"error": {"message": "missing or invalid API key (Authorization: Bearer <key>)",
                                  "type": "authentication_error", "code": "invalid_api_key", "param": None}}
                await JSONResponse(body, 401, {"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
        await self.app(scope, receive, send)


def run_mcp(settings: Settings, transport: str = "stdio", host: str | None = None, port: int | None = None) -> None:
    """Build the pipeline once and serve MCP until the client (stdio) or a signal (http) ends it."""
    service = Service(settings)
    problem = service.warm_up()
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    server = build_server(service)
    print(f"gov-report RAG MCP server ({transport}); generator: {service.pipeline.generator_reason}; "
          f"{service.corpus.summary(max_regions=8)}", file=sys.stderr)
    if transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    from rag.serve.auth import check_bind

    host, port = host or settings.host, port or settings.port
    keys = settings.api_key_list
    check_bind(host, keys)

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(request: Any) -> Any:
        from starlette.responses import JSONResponse

        return JSONResponse(service.health())

    app: Any = server.streamable_http_app(host=host)
    if keys:
        app = _BearerKeys(app, keys)
    print(f"MCP endpoint: http://{host}:{port}/mcp", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning")
