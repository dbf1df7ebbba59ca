"""What an exception says about the disk under the index: full, or not writable (whatever library raised it).

SQLite, Chroma (Rust bindings), numpy and the OS each word it differently; ``rag.index.run.ingest``
turns these into one clear ``RagError``. Example::

    >>> disk_full(OSError(28, "No space left on device"))
    True
"""

from __future__ import annotations


def disk_full(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the disk or a quota is full, whatever raised it."""
    import errno

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return True
        text = str(seen).lower()
        if "disk is full" in text or "no space left" in text or "file too large" in text or "(code: 13)" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def read_only(exc: BaseException) -> bool:
    """True when ``exc`` says the index's files cannot be written (read-only file system or permissions)."""
    import errno

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return True
        text = str(seen).lower()
        if "read-only" in text or "readonly database" in text or "code: 8)" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
