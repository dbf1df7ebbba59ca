"""File → raw text, safely: the first step of ingestion.

``load_file`` reads one report (.txt/.md, .html, .docx, .pdf) into a ``LoadedFile`` and turns
every way a file can be unusable (too big, binary, empty, corrupt, encrypted, scanned, zip
bomb) into a ``LoadError`` whose message says why and whose hint says what to do. It does not
clean: web chrome, markdown and full-width folding belong to ``rag.ingest.clean``.

Trade-offs:

- Encoding is detected, never assumed, in an order that favours Chinese: strict UTF-8 (BOM
  stripped) → strict GB18030 (a superset of GBK/GB2312) → the same two with a few damaged bytes
  replaced (≤ 1 per 200 non-ASCII bytes) → charset-normalizer's best guess. GB18030 accepts
  most runs of high bytes, so a Big5 file would be mis-read as GB18030: for mainland reports
  that is the right bet.
- Binary detection is byte-level (a NUL in the first 8 KB, as git does, or > 1 % C0 control
  bytes). That is exact for every ASCII-compatible encoding and needs no copy of the text.
- Memory: the file is read once and the text stays within a small multiple of the file size
  (tested at 50 MB). HTML (BeautifulSoup) and DOCX (lxml) trees cost more per byte.
- A .docx is vetted from its zip directory before anything is decompressed, then its members
  are decompressed in bounded chunks (never trusting the declared sizes, which a crafted file
  can fake) and python-docx parses an uncompressed copy.

Example::

    >>> lf = load_file(Path("corpus/2024_解放区政府工作报告.txt"))
    >>> lf.encoding, lf.text[:6]
    ('utf-8', '政府工作报告')
"""

from rag.ingest.loaders.discover import SUPPORTED, discover, unsupported_reason
from rag.ingest.loaders.file import DEFAULT_MAX_BYTES, load_file
from rag.ingest.loaders.names import safe_destination, sanitize_filename

__all__ = ["DEFAULT_MAX_BYTES", "SUPPORTED", "discover", "load_file", "safe_destination", "sanitize_filename",
           "unsupported_reason"]
