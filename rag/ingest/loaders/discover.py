"""Which files are reports to load: supported types, folders walked, hidden files and links handled."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".pdf")
TEXT_SUFFIXES = (".txt", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Walk files and folders (sorted, hidden entries skipped) → (loadable files, [(skipped, reason)]).

    A path named explicitly is taken even if hidden; folder symlinks are reported, not followed;
    a file reached twice (e.g. through a link) is listed once.
    """
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def consider(path: Path) -> None:
        reason = unsupported_reason(path)
        if reason:
            skipped.append((path, reason))
            return
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append(path)

    for root in paths:
        if root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root):
                here = Path(dirpath)
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for d in [d for d in dirnames if (here / d).is_symlink()]:
                    skipped.append((here / d, "symlinked folder (not followed)"))
                    dirnames.remove(d)
                for name in sorted(filenames):
                    if not name.startswith("."):
                        consider(here / name)
        elif os.path.lexists(root):
            consider(root)
        else:
            skipped.append((root, "not found"))
    return found, skipped


def unsupported_reason(path: Path) -> str:
    """Why ``path`` cannot be loaded (type or kind of file), or "" when it is a candidate."""
    suffix = path.suffix.lower()
    if path.name.startswith("~$"):
        return "Office lock file (the document is open in Word/WPS)"
    if suffix in (".doc", ".wps"):
        return f"legacy {suffix} format: save it as .docx"
    if suffix not in SUPPORTED:
        return f"unsupported file type {suffix!r}" if suffix else "no file extension"
    if not path.is_file():
        return "not a regular file (broken link?)"
    return ""
