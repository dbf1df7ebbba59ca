"""Streamlit UI of gov-report RAG: chat with citations, knowledge base, evaluation, indicators.

    streamlit run app.py            # settings from RAG_* env vars / .env, like the CLI

A thin entry point: the pages live in rag/ui/ (shell = navigation, chat, kb_page, eval_page,
facts_page, sidebar; format/kb/feedback hold the logic without Streamlit).
"""

from rag.ui.shell import main

main()
