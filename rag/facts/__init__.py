"""The indicator table: figures per region, year and indicator, extracted at ingest.

Importing this package registers the table's rebuild as a post-commit step of the index
(``rag.index.steps``): the index never imports the facts stage.
"""

from rag.facts.table import build_facts_from_manifest
from rag.index.steps import register

register("facts", build_facts_from_manifest)
