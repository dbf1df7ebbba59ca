"""Helpers for tests that run real servers on localhost: ports, server processes, process stop."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    """A TCP port nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:  # type: ignore[type-arg]
    """Terminate a server process, killing it if it does not exit within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def rag_process(args: list[str], env: dict[str, str], ready_url: str, log_path: str,
                timeout: float = 120) -> Iterator[subprocess.Popen]:  # type: ignore[type-arg]
    """Run ``rag ARGS`` (e.g. ``serve --port N``) as a real process until ``ready_url`` answers 200."""
    import os
    import sys
    import time
    import urllib.request

    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", *args], env={**os.environ, **env},
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"rag {' '.join(args)} exited with {proc.returncode}:\n"
                                       + open(log_path, encoding="utf-8", errors="replace").read()[-3000:])
                try:
                    with urllib.request.urlopen(ready_url, timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"rag {' '.join(args)} not ready after {timeout:.0f} s")
                time.sleep(0.2)
            yield proc
        finally:
            stop_process(proc)
