"""PDF: the text layer of every page (pypdf); encrypted and scanned PDFs refused with a hint."""

from __future__ import annotations

import io

from rag.errors import LoadError
from rag.ingest.loaders.problems import corrupt_file


def pdf_text(data: bytes, shown: str) -> str:
    """The text layer of every page, pages joined with newlines (pypdf limits stream sizes)."""
    if b"%PDF-" not in data[:1024]:
        raise LoadError(f"{shown}: not a valid .pdf (no %PDF header)", "Is it another kind of file renamed to .pdf?")
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # many PDFs only restrict copying/printing
            except DependencyError:
                raise LoadError(f"{shown}: encrypted PDF (AES) that needs the 'cryptography' package",
                                "pip install cryptography, or print the PDF to an unencrypted one.") from None
            if not opened:
                raise LoadError(f"{shown}: encrypted PDF (password protected)",
                                "Remove the password (save an unprotected copy) and add it again.")
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except LoadError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # pypdf raises many types on hostile input
        raise corrupt_file(shown, ".pdf", exc) from None
    if not text.strip():
        raise LoadError(f"{shown}: no text layer (scanned PDF?); OCR is not available — convert it to text first",
                        "Run OCR elsewhere or use a text/.docx version of the report.")
    return text
