"""CI smoke of the load benchmark: 3 real Streamlit sessions in headless Chromium (benchmarks/load_ui.py).

One session asks, one uploads a report, one re-indexes, all at once (extractive answers): no crash, no
exception on a page, no answer in the wrong session, both knowledge-base actions finish.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="apt-get install -y chromium")]


def test_three_sessions_at_once(seed_index: Path) -> None:
    from servers import free_port

    sys.path.insert(0, str(REPO))
    from benchmarks.load_ui import run

    args = argparse.Namespace(sessions=3, questions=1, generator="extractive", index=str(seed_index),
                              port=free_port(), timeout=600)
    result = run(args)
    assert result["streamlit_alive"] and not result["errors"], result["errors"]
    assert result["answers"] == 1 and not result["mixed_answers"] and result["exceptions_on_pages"] == 0
    assert len(result["knowledge_base"]) == 2
