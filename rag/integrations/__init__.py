"""Adapters for other frameworks (``langchain``: a retriever and the answer chain as LCEL parts)."""
