"""Post-commit steps: derived tables rebuilt from the live manifest after every commit.

The index knows these steps only through this registry, so it never imports the stages built on
top of it. ``rag.facts`` registers the indicator-table build when it is imported; the entry points
(``rag.cli``, the UI, the API) import ``rag.facts``, so every ingest through them keeps the table in
step with the index. A step that fails raises: the commit has landed, the error says what to re-run.

Example::

    >>> from rag.index.steps import register, registered
    >>> register("noop", lambda manifest, settings: None)
    >>> "noop" in registered()
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.config import Settings

PostCommitStep = Callable[[Any, "Settings"], object]

_STEPS: dict[str, PostCommitStep] = {}


def register(name: str, step: PostCommitStep) -> None:
    """Run ``step(manifest, settings)`` after every commit (ingest and removal); one step per name."""
    _STEPS[name] = step


def registered() -> tuple[str, ...]:
    """The names of the registered steps, in registration order."""
    return tuple(_STEPS)


def run_post_commit(manifest: Any, settings: Settings) -> None:
    """Run every registered step on the committed manifest."""
    for step in _STEPS.values():
        step(manifest, settings)
