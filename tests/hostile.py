"""Hostile and awkward input files, generated at test time (nothing binary is committed).

Every helper writes one file into a directory (usually pytest's ``tmp_path``) and returns its
path. They are deliberately small on disk: the zip bombs hold hundreds of MB of zeros in a few
hundred KB. Reuse them in any test that feeds files to the pipeline.

Catalogue:

- text: ``text_file`` (any codec, optional BOM), ``mixed_newlines``, ``big_text`` (N MB, CRLF),
  ``long_line``, ``binary_renamed`` (a PNG named .txt), ``random_bytes``, ``control_heavy``
- html: ``html_page`` (nav/header/footer/script/style chrome, a table, inline tags, any charset)
- docx: ``docx_report`` (python-docx, with a table), ``truncated``, ``zip_bomb_docx``,
  ``many_entries_docx``, ``lying_docx`` (declared sizes lie), ``plain_zip_docx``, ``legacy_doc``
- pdf: ``text_pdf`` (fpdf2; ASCII unless a CJK font is given), ``blank_pdf`` (a rectangle only),
  ``encrypted_pdf``, ``corrupt_pdf``; ``find_cjk_font`` looks for a system CJK TTF
- names: ``HOSTILE_NAMES`` for upload-name sanitising
"""

from __future__ import annotations

import random
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

REPORT_LINES = (
    "2024年政府工作报告",
    "一、2023年工作回顾",
    "全区地区生产总值增长5.2%，达到1234.5亿元。",
    "城镇新增就业1.2万人，城镇调查失业率控制在5.5%以内。",
)
REPORT_ZH = "\n".join(REPORT_LINES) + "\n"
GB18030_ONLY = "𠮷野家 㐀 䶵 €"  # none of these exist in GBK; 𠮷 is a 4-byte GB18030 sequence
TABLE_ROWS = (("指标", "2023年", "2024年目标"), ("地区生产总值", "增长5.2%", "增长6%左右"))

HOSTILE_NAMES = (
    "../../etc/passwd",
    "..\\..\\Windows\\System32\\evil.txt",
    "/abs/path/报告.docx",
    "C:\\Users\\张三\\桌面\\2024 仓山区 政府工作报告.pdf",
    "a\x00b\x1fc\n\r.txt",
    ".hidden.txt",
    "...",
    "..",
    "",
    "   ",
    "report\u202etxt.exe",  # right-to-left override, used to fake extensions
    "zero\u200bwidth.md",
    "CON.txt",
    'a<b>:c|d?*".txt',
    "长" * 300 + ".docx",
    "x" * 1000,
    "2024\u3000年报告.txt",  # full-width space
)


# ---------------------------------------------------------------------------- text


def text_file(directory: Path, name: str, text: str, codec: str = "utf-8", *, bom: bool = False) -> Path:
    """``text`` encoded with ``codec`` (plus a UTF-8 BOM when asked), written byte-exact."""
    data = text.encode(codec)
    path = directory / name
    path.write_bytes(b"\xef\xbb\xbf" + data if bom else data)
    return path


def mixed_newlines(directory: Path, name: str = "mixed.txt") -> Path:
    """CRLF, lone CR and LF in one file."""
    path = directory / name
    path.write_bytes("第一行\r\n第二行\r第三行\n第四行\r\n".encode())
    return path


def big_text(directory: Path, megabytes: int = 50, name: str = "big.txt") -> Path:
    """About ``megabytes`` MB of Chinese report text with CRLF line endings, written in chunks."""
    line = "全区地区生产总值增长5.2%，达到1234.5亿元，城镇新增就业1.2万人。\r\n".encode()
    block = line * (2**20 // len(line))
    path = directory / name
    with path.open("wb") as f:
        for _ in range(megabytes):
            f.write(block)
    return path


def long_line(directory: Path, chars: int = 5_000_000, name: str = "long_line.txt") -> Path:
    """One line of ``chars`` characters, no newline at all."""
    path = directory / name
    unit = "增长5.2%"
    path.write_bytes((unit * (chars // len(unit) + 1))[:chars].encode())
    return path


def binary_renamed(directory: Path, name: str = "image.txt") -> Path:
    """A small PNG-like file (signature, IHDR, compressed pixels) renamed to .txt."""
    pixels = zlib.compress(bytes(random.Random(1).randrange(256) for _ in range(4096)))
    ihdr = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")
    path = directory / name
    path.write_bytes(data)
    return path


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def random_bytes(directory: Path, name: str = "random.txt", size: int = 65536, seed: int = 0) -> Path:
    """``size`` seeded random bytes."""
    path = directory / name
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def control_heavy(directory: Path, name: str = "controls.txt") -> Path:
    """Mostly ASCII text without NULs but with a control byte every few characters (a terminal log)."""
    path = directory / name
    path.write_bytes(b"".join(b"abc" + bytes([c]) for c in range(1, 32) if c not in (9, 10, 12, 13)) * 200)
    return path


# ---------------------------------------------------------------------------- html


def html_page(directory: Path, codec: str = "gbk", *, declared: str | None = "gb2312", name: str = "page.html") -> Path:
    """A government web page: chrome around the report, a table, inline tags inside sentences.

    ``declared`` is the ``<meta charset>`` (None = no declaration); it may differ from ``codec``
    to make the declaration lie.
    """
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={declared}">' if declared else ""
    html = f"""<!DOCTYPE html>
<html><head>{meta}<title>2024年政府工作报告</title>
<style>body {{ font-family: 宋体; }} .nav {{ color: red }}</style>
<script>var 统计 = "脚本内容不应出现"; document.write("<p>脚本段落</p>");</script>
</head><body>
<header><div class="logo">欢迎访问仓山区人民政府门户网站</div></header>
<nav><ul><li><a href="/">首页</a></li><li><a href="/news">新闻中心</a></li></ul></nav>
<!-- 注释不应出现 -->
<div class="article">
  <h1>2024年政府工作报告</h1>
  <p>全区地区生产总值增长<b>5.2</b>%，
     达到<span>1234.5</span>亿元。</p>
  <p>城镇新增就业1.2万人。<br>居民收入稳步增长。</p>
  <table><tr><th>指标</th><th>2023年</th></tr>
         <tr><td>地区生产总值</td><td>增长5.2%</td></tr></table>
  <pre>  预   格式</pre>
</div>
<footer>版权所有 仓山区人民政府 闽ICP备12345678号</footer>
<noscript>请启用脚本</noscript>
</body></html>
"""
    path = directory / name
    path.write_bytes(html.encode(codec))
    return path


# ---------------------------------------------------------------------------- docx


def docx_report(directory: Path, name: str = "report.docx", *, with_table: bool = True, empty: bool = False) -> Path:
    """A real .docx made with python-docx: title, paragraphs, a table, a paragraph after it."""
    import docx

    document = docx.Document()
    if not empty:
        document.add_heading(REPORT_LINES[0], level=1)
        document.add_paragraph(REPORT_LINES[1])
        paragraph = document.add_paragraph("全区地区生产总值增长")
        paragraph.add_run("5.2%").bold = True  # a run boundary inside a sentence
        paragraph.add_run("，达到1234.5亿元。")
        if with_table:
            table = document.add_table(rows=len(TABLE_ROWS), cols=len(TABLE_ROWS[0]))
            for r, row in enumerate(TABLE_ROWS):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
        document.add_paragraph(REPORT_LINES[3])
    path = directory / name
    document.save(str(path))
    return path


def truncated(source: Path, directory: Path, fraction: float = 0.5, name: str | None = None) -> Path:
    """The first ``fraction`` of ``source``'s bytes (a download cut short)."""
    data = source.read_bytes()
    path = directory / (name or f"truncated_{source.name}")
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def zip_bomb_docx(directory: Path, megabytes: int = 200, name: str = "bomb.docx") -> Path:
    """A zip named .docx whose one member inflates to ``megabytes`` MB of zeros (~1000:1)."""
    path = directory / name
    zero = bytes(2**20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        with zf.open("word/document.xml", "w") as member:
            for _ in range(megabytes):
                member.write(zero)
    return path


def many_entries_docx(directory: Path, entries: int = 5000, name: str = "many.docx") -> Path:
    """A zip named .docx with thousands of tiny members."""
    path = directory / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        for i in range(entries):
            zf.writestr(f"x/{i}.xml", b"<a/>")
    return path


def lying_docx(source: Path, directory: Path, tail_megabytes: int = 200, name: str = "lying.docx") -> Path:
    """``source`` rebuilt so word/document.xml's deflate stream carries ``tail_megabytes`` MB extra.

    The declared size and CRC are those of the real XML, so the directory looks innocent, and
    reading the first ``file_size`` bytes even passes the CRC check — but ``ZipFile.read``
    inflates the whole stream (real XML + the zeros) before cutting it.
    """
    with zipfile.ZipFile(source) as zf:
        members = [(info.filename, zf.read(info)) for info in zf.infolist()]
    entries = []
    for filename, data in members:
        co = zlib.compressobj(6, zlib.DEFLATED, -15)
        stream = co.compress(data)
        if filename == "word/document.xml":
            zero = bytes(2**20)
            for _ in range(tail_megabytes):
                stream += co.compress(zero)
        stream += co.flush()
        entries.append((filename, data, stream))
    path = directory / name
    path.write_bytes(_raw_zip(entries))
    return path


def _raw_zip(entries: list[tuple[str, bytes, bytes]]) -> bytes:
    """A deflate zip from (name, declared content, raw deflate stream), sizes taken from the content."""
    body, directory = b"", b""
    for filename, content, stream in entries:
        name = filename.encode()
        crc, offset = zlib.crc32(content), len(body)
        sizes = (crc, len(stream), len(content), len(name))
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, *sizes, 0) + name + stream
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, *sizes, 0, 0, 0, 0, 0, offset) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), len(body), 0)
    return body + directory + end


def plain_zip_docx(directory: Path, name: str = "archive.docx") -> Path:
    """An ordinary zip (no [Content_Types].xml) renamed to .docx."""
    path = directory / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("readme.txt", "这不是Word文档")
    return path


def legacy_doc(directory: Path, name: str = "old.docx") -> Path:
    """An OLE2 compound file header (Word 97-2003 .doc) renamed to .docx."""
    path = directory / name
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + random.Random(2).randbytes(4096))
    return path


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"></Types>'
)


# ---------------------------------------------------------------------------- pdf


def find_cjk_font() -> Path | None:
    """A font file with Chinese glyphs (TTF/OTF/TTC) from the system, if it has one.

    CI installs fonts-noto-cjk (see .ci/run); without one, PDF tests fall back to ASCII text.
    """
    roots = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts")]
    keys = ("cjk", "wqy", "droidsansfallback", "notosanssc", "simsun", "simhei", "uming", "ukai")
    for root in roots:
        if root.is_dir():
            for font in sorted(root.rglob("*")):
                if font.suffix.lower() in (".ttf", ".otf", ".ttc") and any(k in font.name.lower() for k in keys):
                    return font
    return None


def text_pdf(directory: Path, lines: tuple[str, ...], name: str = "report.pdf", *, font: Path | None = None) -> Path:
    """A PDF with a real text layer (fpdf2): one line per cell, a new page after each 2 lines."""
    pdf = _new_pdf(font)
    for i, line in enumerate(lines):
        if i and i % 2 == 0:
            pdf.add_page()
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    path = directory / name
    path.write_bytes(bytes(pdf.output()))
    return path


def blank_pdf(directory: Path, name: str = "scanned.pdf") -> Path:
    """A PDF page with only a drawn rectangle: no text layer, like a scan."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    path = directory / name
    path.write_bytes(bytes(pdf.output()))
    return path


def encrypted_pdf(directory: Path, user_password: str, name: str = "locked.pdf") -> Path:
    """RC4-encrypted text PDF; ``user_password=""`` opens without a password (copy-protected only)."""
    from fpdf.enums import EncryptionMethod

    pdf = _new_pdf(None)
    pdf.cell(text="Encrypted report GDP 5.2%")
    pdf.set_encryption(owner_password="owner", user_password=user_password, encryption_method=EncryptionMethod.RC4)
    path = directory / name
    path.write_bytes(bytes(pdf.output()))
    return path


def corrupt_pdf(directory: Path, name: str = "corrupt.pdf") -> Path:
    """A %PDF header followed by junk: no objects, no xref, no trailer."""
    path = directory / name
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + random.Random(3).randbytes(4096))
    return path


def _new_pdf(font: Path | None) -> Any:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    if font is None:
        pdf.set_font("helvetica", size=12)
    else:
        pdf.add_font("cjk", fname=str(font), collection_font_number=0)  # 0 is ignored for single fonts
        pdf.set_font("cjk", size=12)
    return pdf

