"""``rag serve``: the knowledge base as an OpenAI-compatible HTTP API (FastAPI + uvicorn).

    POST /v1/chat/completions   OpenAI chat schema, streaming (SSE) or not; model = answer profile
    GET  /v1/models             gov-report-rag (the configured generator), gov-report-rag-extractive
    POST /v1/search             passages with scores, region/year filters
    GET  /v1/facts              the indicator table (region, year, indicator, kind)
    GET  /v1/reports            what the corpus holds: regions, years, documents
    GET  /healthz               liveness, generator, queue

One ``Service`` (one pipeline, one generation gate) serves every request. Retrieval-only endpoints
are plain ``def`` routes, run by FastAPI in its thread pool, so they stay fast while a chat holds
the model in its own thread. ``/v1/*`` require ``Authorization: Bearer <key>`` when RAG_API_KEYS is
set; without keys the server only listens on loopback.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import StreamingResponse

from rag.config import Settings
from rag.serve import errors
from rag.serve.auth import check_bind, require_key
from rag.serve.chat import complete, conversation, start_stream
from rag.serve.schemas import ChatRequest, SearchRequest, models_list
from rag.serve.service import Service

MAX_BODY_BYTES = 1_000_000


def create_app(service: Service) -> FastAPI:
    """The FastAPI application over one shared ``Service``."""
    settings = service.settings
    app = FastAPI(title="gov-report RAG", version="0.1.0",
                  description="Cited answers from Chinese government work reports. " + service.corpus.summary())
    errors.install(app, MAX_BODY_BYTES)
    if settings.cors_origin_list:  # browser chat UIs on another origin (Open WebUI, a page of your own)
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    auth = [Depends(require_key(settings.api_key_list))]

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return service.health()

    @app.get("/v1/models", dependencies=auth)
    def models() -> dict[str, Any]:
        return models_list(service.pipeline.generator_name)

    @app.post("/v1/chat/completions", dependencies=auth, response_model=None)
    async def chat(req: ChatRequest, request: Request) -> Any:
        question, turns = conversation(req, settings.max_input_chars)
        if req.stream:
            body = await start_stream(service, req, question, turns)
            return StreamingResponse(body, media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return await complete(service, req, request, question, turns)

    @app.post("/v1/search", dependencies=auth)
    def search(req: SearchRequest) -> dict[str, Any]:
        return service.search(req.query, req.region, req.year, req.top_k)

    @app.get("/v1/facts", dependencies=auth)
    def facts(region: Annotated[str | None, Query()] = None, year: Annotated[int | None, Query()] = None,
              indicator: Annotated[str | None, Query()] = None,
              kind: Annotated[str | None, Query()] = None) -> dict[str, Any]:
        return service.facts(region, year, indicator, kind)

    @app.get("/v1/reports", dependencies=auth)
    def reports() -> dict[str, Any]:
        return service.corpus.to_dict()

    return app


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Build the pipeline once and run the API until interrupted (blocking)."""
    import uvicorn

    host = host or settings.host
    port = port or settings.port
    check_bind(host, settings.api_key_list)
    service = Service(settings)
    problem = service.warm_up()
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    print(f"gov-report RAG API on http://{host}:{port}/v1 (generator: {service.pipeline.generator_reason}; "
          f"{service.corpus.summary(max_regions=8)})", file=sys.stderr, flush=True)
    uvicorn.run(create_app(service), host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
