"""Other tools → the pipeline: an OpenAI-compatible HTTP API (``api``) and an MCP server (``mcp``).

Both sit on one ``Service`` (``service``): the shared pipeline, retrieval with explicit filters,
the indicator table, and a description of what the corpus holds.
"""
