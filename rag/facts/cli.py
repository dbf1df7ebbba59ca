"""``rag facts``: print, rebuild or score the indicator table.

``rag facts [--region R] [--year Y] [--indicator I] [--kind K] [--json] [--index DIR] [--rebuild] [--eval]``;
``--eval`` scores extraction against ``evals/facts_labelled.jsonl`` (``evals/facts_eval.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.facts.fact import KIND_ZH, KINDS, MEASURE_ZH
from rag.facts.format import source_name, year_label
from rag.facts.store import build_facts, facts_path, query_facts
from rag.lexicon import region_label


def add_facts_parser(subparsers: Any) -> None:
    """Register ``rag facts`` on the CLI's sub-parsers."""
    p = subparsers.add_parser("facts", help="print the indicator table (region × year × indicator)")
    p.add_argument("--region", help="region, e.g. 仓山区 or 仓山")
    p.add_argument("--year", type=int, help="the year the figure refers to")
    p.add_argument("--indicator", help="indicator name or alias, e.g. GDP, 社零")
    p.add_argument("--kind", choices=list(KINDS), help="target | actual | forecast")
    p.add_argument("--json", action="store_true", help="print {count, facts} as JSON on stdout")
    p.add_argument("--index", help="index directory (default: RAG_INDEX_DIR)")
    p.add_argument("--rebuild", action="store_true", help="rebuild facts.sqlite from the manifest first")
    p.add_argument("--eval", action="store_true",
                   help="score extraction against evals/facts_labelled.jsonl on corpus/ (no index needed)")
    p.set_defaults(func=run_facts_command)


def _eval_module() -> Any:
    import importlib.util

    from rag.config import REPO_ROOT

    path = REPO_ROOT / "evals" / "facts_eval.py"
    if not path.exists():
        raise RagError(f"{path} not found", "run --eval from a source checkout of the project")
    spec = importlib.util.spec_from_file_location("facts_eval", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("facts_eval", module)  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def run_facts_command(args: argparse.Namespace) -> int:
    """``rag facts``: print (or score) the indicator table."""
    if args.eval:
        module = _eval_module()
        return int(module.main(["--json"] if args.json else []))
    from rag.config import get_settings

    settings = get_settings(**({"index_dir": Path(args.index)} if args.index else {}))
    if args.rebuild:
        n = build_facts(settings)
        print(f"rebuilt {facts_path(settings)}: {n} facts", file=sys.stderr)
    facts = query_facts(settings, region=args.region, year=args.year, indicator=args.indicator, kind=args.kind)
    if args.json:
        print(json.dumps({"count": len(facts), "facts": [dataclasses.asdict(f) for f in facts]},
                         ensure_ascii=False, indent=2))
        return 0
    if not facts:
        print("no facts match (try fewer filters; `rag facts` lists the whole table)", file=sys.stderr)
        return 0
    print("地区\t年份\t指标\t类型\t口径\t数值\t来源")
    for f in facts:
        region = region_label(f.region, f.region_inferred)
        print(f"{region}\t{year_label(f.year, [f])}\t{f.indicator}\t{KIND_ZH[f.kind]}\t{MEASURE_ZH[f.measure]}\t"
              f"{f.display_value()}\t{source_name(f)}#{f.chunk_id}")
    return 0
