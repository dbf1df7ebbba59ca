"""The folders are the architecture: a stage imports only the stages below it, no module is huge."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RAG = REPO / "rag"
# lowest first; a module may import its own stage and any stage listed before it
STAGES = ["base", "ingest", "index", "search", "facts", "answer", "eval", "ui", "serve", "integrations", "cli"]
BASE = {"types", "config", "errors", "lexicon", "regions", "textnorm", "testing", "__init__"}
MAX_LINES = 400


def stage_of(module: str) -> str:
    parts = module.split(".")
    assert parts[0] == "rag"
    if len(parts) == 1 or parts[1] in BASE:
        return "base"
    return parts[1]


def rag_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out += [(node.lineno, n) for n in names if n == "rag" or n.startswith("rag.")]
    return out


def modules() -> list[Path]:
    return sorted(RAG.rglob("*.py"))


def test_every_module_belongs_to_a_known_stage() -> None:
    for path in modules():
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        assert stage_of(module) in STAGES, f"{module}: add its folder to STAGES in the right place"


def test_lower_stages_never_import_higher_ones() -> None:
    upward = []
    for path in modules():
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        own = STAGES.index(stage_of(module))
        for line, name in rag_imports(path):
            if STAGES.index(stage_of(name)) > own:
                upward.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    assert upward == []


def test_no_module_is_huge() -> None:
    sizes = {str(p.relative_to(REPO)): len(p.read_text(encoding="utf-8").splitlines()) for p in modules()}
    sizes["app.py"] = len((REPO / "app.py").read_text(encoding="utf-8").splitlines())
    assert {k: v for k, v in sizes.items() if v > MAX_LINES} == {}
