"""The ``rag serve`` and ``rag mcp`` sub-commands (registered by ``rag.cli``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

GENERATORS = ["auto", "local", "openai", "extractive"]


def _settings(args: argparse.Namespace) -> Any:
    from rag.config import get_settings

    overrides: dict[str, Any] = {}
    if args.index:
        overrides["index_dir"] = Path(args.index)
    if args.generator:
        overrides["generator"] = args.generator
    return get_settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    """``rag serve``: the OpenAI-compatible HTTP API."""
    from rag.serve.api import serve

    serve(_settings(args), args.host, args.port)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    """``rag mcp``: the MCP server over stdio (for desktop clients) or streamable HTTP."""
    from rag.serve.mcp import run_mcp

    run_mcp(_settings(args), args.transport, args.host, args.port)
    return 0


def add_serve_parsers(sub: Any) -> None:
    """Add ``serve`` and ``mcp`` to the ``rag`` parser."""
    p = sub.add_parser("serve", help="OpenAI-compatible HTTP API (/v1/chat/completions, /v1/search …)")
    p.add_argument("--host", help="address to listen on (default RAG_HOST, 127.0.0.1; others need RAG_API_KEYS)")
    p.add_argument("--port", type=int, help="port (default RAG_PORT, 8800)")
    p.add_argument("--index", help="index directory (default: RAG_INDEX_DIR)")
    p.add_argument("--generator", choices=GENERATORS, help="generator behind the gov-report-rag model")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("mcp", help="MCP server with search_reports / ask / query_indicators / list_reports")
    p.add_argument("--transport", choices=["stdio", "http"], default="stdio",
                   help="stdio (desktop clients start the command) or streamable HTTP at /mcp")
    p.add_argument("--host", help="address for --transport http (default RAG_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port for --transport http (default RAG_PORT, 8800)")
    p.add_argument("--index", help="index directory (default: RAG_INDEX_DIR)")
    p.add_argument("--generator", choices=GENERATORS, help="generator used by the ask tool")
    p.set_defaults(func=cmd_mcp)
