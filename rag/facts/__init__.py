"""The indicator table: figures per region, year and indicator, extracted at ingest.

A question's path through it: ``extract`` reads each document's figures (``context`` decides
what each one means) → ``store`` writes them to ``facts.sqlite`` after every ingest → ``answer``
picks the figures a parsed question asks for → ``format`` writes them as Chinese with ``[n]``
markers. ``cli`` is ``rag facts``; ``fact`` holds the shared ``Fact`` record.

Importing this package registers the table's rebuild as a post-commit step of the index
(``rag.index.steps``): the index never imports the facts stage.
"""

from rag.facts.answer import FactAnswer, answer_from_facts, lookup
from rag.facts.fact import KIND_ZH, KINDS, MEASURE_ZH, Fact
from rag.facts.format import format_fact_answer
from rag.facts.store import build_facts, build_facts_from_manifest, query_facts
from rag.index.steps import register

register("facts", build_facts_from_manifest)

__all__ = ["KINDS", "KIND_ZH", "MEASURE_ZH", "Fact", "FactAnswer", "answer_from_facts", "build_facts",
           "format_fact_answer", "lookup", "query_facts"]
