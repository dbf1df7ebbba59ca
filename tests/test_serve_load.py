"""CI smoke of benchmarks/load_api.py: 20 concurrent clients against a real ``rag serve`` (extractive).

Checks the harness and that nothing hangs or crashes under concurrency; the numbers themselves
come from the full run with the local model (benchmarks/load_api.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.load_api import run


def test_twenty_clients_mixing_search_and_chat(seed_index: Path, tmp_path: Path) -> None:
    args = argparse.Namespace(index=str(seed_index), generator="extractive", model="gov-report-rag", clients=20,
                              rounds=2, chat_share=0.4, max_queue=8, timeout=120, max_seconds=300, seed=3, port=None,
                              log=str(tmp_path / "serve.log"), json=None, md=None)
    summary = run(args)
    assert summary["requests"] == 40
    assert summary["server_errors_5xx"] == 0
    assert summary["chat"]["timed_out"] == 0 and summary["chat"]["errors"] == []
    assert summary["chat"]["sent"] > 0 and summary["chat"]["finished"] == summary["chat"]["sent"]
    assert summary["search"]["failed"] == 0 and summary["search"]["sent"] > 0
    assert all(r["status"] == 200 for r in summary["results"])
