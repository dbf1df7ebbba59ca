"""rag.ingest.loaders against hostile and awkward files generated in tmp_path by tests/hostile.py."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import unicodedata
import zipfile
from pathlib import Path

import hostile
import pytest

from rag.errors import LoadError
from rag.ingest.loaders import SUPPORTED, discover, load_file, safe_destination, sanitize_filename
from rag.testing import unavailable

# ---------------------------------------------------------------------------- plain text


@pytest.mark.parametrize(
    ("text", "codec", "bom", "expected_encoding"),
    [
        (hostile.REPORT_ZH, "utf-8", False, "utf-8"),
        (hostile.REPORT_ZH, "utf-8", True, "utf-8-sig"),
        (hostile.REPORT_ZH, "gbk", False, "gb18030"),
        (hostile.REPORT_ZH, "gb2312", False, "gb18030"),
        (hostile.REPORT_ZH + hostile.GB18030_ONLY, "gb18030", False, "gb18030"),
        (hostile.REPORT_ZH, "utf-16", False, "utf-16"),  # Python writes a BOM for "utf-16"
        ("# 2024年报告\n\n- **GDP** 增长5.2%\n", "utf-8", False, "utf-8"),
    ],
    ids=["utf8", "utf8-bom", "gbk", "gb2312", "gb18030-only-chars", "utf16-bom", "markdown"],
)
def test_text_encodings_are_detected(tmp_path: Path, text: str, codec: str, bom: bool, expected_encoding: str) -> None:
    path = hostile.text_file(tmp_path, "report.md" if text.startswith("#") else "report.txt", text, codec, bom=bom)
    loaded = load_file(path)
    assert loaded.text == text  # BOM stripped, markdown untouched (cleaning is not the loader's job)
    assert loaded.encoding == expected_encoding
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.path == str(path)


def test_gbk_bytes_are_not_mistaken_for_utf8_or_guessed_exotically(tmp_path: Path) -> None:
    """A short GBK file is where detectors guess Big5/EUC-KR; the gb18030 rule must win."""
    path = hostile.text_file(tmp_path, "short.txt", "仓山区人民政府", "gbk")
    assert load_file(path).text == "仓山区人民政府"


@pytest.mark.parametrize("damage", ["truncated-last-char", "one-bad-byte"])
def test_slightly_damaged_chinese_text_still_loads(tmp_path: Path, damage: str) -> None:
    data = (hostile.REPORT_ZH * 20).rstrip("\n").encode("gbk")
    data = data[:-1] if damage == "truncated-last-char" else data[:100] + b"\xff" + data[100:]
    (path := tmp_path / "damaged.txt").write_bytes(data)
    loaded = load_file(path)
    assert loaded.encoding == "gb18030"
    assert loaded.text.count("\ufffd") == 1
    assert "全区地区生产总值增长5.2%" in loaded.text


def test_latin_text_falls_through_to_charset_normalizer(tmp_path: Path) -> None:
    text = "Le gouvernement a présenté son rapport annuel; l'économie a progressé de 5,2 %. " * 5
    path = hostile.text_file(tmp_path, "rapport.txt", text, "cp1252")
    loaded = load_file(path)
    assert loaded.encoding not in ("utf-8", "gb18030")
    assert "présenté" in loaded.text and "économie" in loaded.text


def test_line_endings_are_normalised(tmp_path: Path) -> None:
    loaded = load_file(hostile.mixed_newlines(tmp_path))
    assert loaded.text == "第一行\n第二行\n第三行\n第四行\n"


@pytest.mark.parametrize("content", [b"", b"   ", b"\n\r\n\t \n", "\u3000\u3000\n".encode(), b"\xef\xbb\xbf"])
def test_empty_and_whitespace_only_files_are_rejected(tmp_path: Path, content: bytes) -> None:
    (path := tmp_path / "empty.txt").write_bytes(content)
    with pytest.raises(LoadError, match="empty file"):
        load_file(path)


@pytest.mark.parametrize(
    "make",
    [
        hostile.binary_renamed,
        hostile.control_heavy,
        lambda d: hostile.random_bytes(d, size=65536, seed=0),
        lambda d: hostile.random_bytes(d, size=200, seed=1),
        lambda d: hostile.random_bytes(d, name="random.md", size=5000, seed=2),
    ],
    ids=["png-renamed", "control-heavy", "random-64k", "random-200", "random-md"],
)
def test_binary_files_are_rejected(tmp_path: Path, make) -> None:
    with pytest.raises(LoadError, match="looks like a binary file") as info:
        load_file(make(tmp_path))
    assert info.value.hint  # says what to do


def test_size_limit_names_size_and_limit(tmp_path: Path) -> None:
    path = hostile.text_file(tmp_path, "a.txt", "政" * 400)  # 1200 bytes
    with pytest.raises(LoadError) as info:
        load_file(path, max_bytes=1000)
    assert "1200 bytes" in info.value.message and "1000 bytes" in info.value.message
    assert load_file(path, max_bytes=1200).text == "政" * 400  # the limit is inclusive and configurable


def test_fifty_megabytes_load_within_a_small_multiple_of_the_file_size(tmp_path: Path) -> None:
    path = hostile.big_text(tmp_path, megabytes=50)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        loaded = load_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6 * size, f"peak {peak / 2**20:.0f} MB for a {size / 2**20:.0f} MB file"
    assert "\r" not in loaded.text
    line = "全区地区生产总值增长5.2%，达到1234.5亿元，城镇新增就业1.2万人。\n"
    assert loaded.text.count("\n") == size // (len(line.encode()) + 1)  # one \n per CRLF line
    assert loaded.text.startswith(line)


def test_a_single_five_million_character_line(tmp_path: Path) -> None:
    loaded = load_file(hostile.long_line(tmp_path, chars=5_000_000))
    assert len(loaded.text) == 5_000_000 and "\n" not in loaded.text


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: d / "missing.txt", "file not found"),
        (lambda d: (d / "folder.txt").mkdir() or d / "folder.txt", "not a regular file"),
        (lambda d: hostile.text_file(d, "report.doc", "x"), "legacy .doc"),
        (lambda d: hostile.text_file(d, "data.xlsx", "x"), "unsupported file type"),
    ],
    ids=["missing", "directory", "legacy-doc", "xlsx"],
)
def test_unusable_paths(tmp_path: Path, setup, message: str) -> None:
    with pytest.raises(LoadError, match=message):
        load_file(setup(tmp_path))


def test_display_path_is_used_in_result_and_errors(tmp_path: Path) -> None:
    path = hostile.text_file(tmp_path, "a.txt", "仓山区")
    assert load_file(path, display_path="corpus/a.txt").path == "corpus/a.txt"
    (empty := tmp_path / "e.txt").write_bytes(b"")
    with pytest.raises(LoadError, match="^shown/e.txt: empty"):
        load_file(empty, display_path="shown/e.txt")


# ---------------------------------------------------------------------------- html


@pytest.mark.parametrize(
    ("codec", "declared", "encoding"),
    [
        ("gbk", "gb2312", "html:gb18030"),
        ("utf-8", "utf-8", "html:utf-8"),
        ("utf-8", None, "html:utf-8"),
        ("gbk", None, "html:gb18030"),
        ("gbk", "utf-8", "html:gb18030"),  # the declaration lies: strict decode fails, detection wins
    ],
    ids=["gbk-meta", "utf8-meta", "utf8-undeclared", "gbk-undeclared", "meta-lies"],
)
def test_html_drops_chrome_and_keeps_blocks(tmp_path: Path, codec: str, declared: str | None, encoding: str) -> None:
    loaded = load_file(hostile.html_page(tmp_path, codec, declared=declared))
    assert loaded.encoding == encoding
    lines = loaded.text.split("\n")
    assert lines[0] == "2024年政府工作报告"  # <title>
    assert "全区地区生产总值增长5.2%， 达到1234.5亿元。" in lines  # inline tags joined, source newline collapsed
    assert "城镇新增就业1.2万人。" in lines and "居民收入稳步增长。" in lines  # <br>
    assert "指标\t2023年" in lines and "地区生产总值\t增长5.2%" in lines  # table rows, cells tab-separated
    assert "预   格式" in lines  # <pre> keeps inner spaces (line indentation is trimmed everywhere)
    for chrome in ("欢迎访问", "首页", "新闻中心", "版权所有", "脚本", "font-family", "注释", "请启用"):
        assert chrome not in loaded.text
    assert "" not in lines  # one block per line, no blank runs


def test_html_that_is_all_chrome_is_empty(tmp_path: Path) -> None:
    path = hostile.text_file(tmp_path, "nav.htm", "<html><nav>首页</nav><script>x()</script><footer>©</footer></html>")
    with pytest.raises(LoadError, match="empty file"):
        load_file(path)


def test_deeply_nested_html_does_not_recurse(tmp_path: Path) -> None:
    depth = 5000  # well past Python's default recursion limit
    html = "<div>" * depth + "深处的文字" + "</div>" * depth
    assert load_file(hostile.text_file(tmp_path, "deep.html", html)).text == "深处的文字"


def test_binary_renamed_html_is_rejected(tmp_path: Path) -> None:
    path = hostile.binary_renamed(tmp_path, name="page.html")
    with pytest.raises(LoadError, match="binary"):
        load_file(path)


# ---------------------------------------------------------------------------- docx

DOCX_TEXT = "\n".join(
    [
        hostile.REPORT_LINES[0],
        hostile.REPORT_LINES[1],
        "全区地区生产总值增长5.2%，达到1234.5亿元。",
        *("\t".join(row) for row in hostile.TABLE_ROWS),
        hostile.REPORT_LINES[3],
    ]
)


def test_docx_paragraphs_and_table_in_document_order(tmp_path: Path) -> None:
    loaded = load_file(hostile.docx_report(tmp_path))
    assert loaded.text == DOCX_TEXT
    assert loaded.encoding == "docx"


def test_docx_content_controls_are_read(tmp_path: Path) -> None:
    """Paragraphs wrapped in a w:sdt (content control) are part of the body text too."""
    import docx
    from docx.oxml import parse_xml

    path = hostile.docx_report(tmp_path, with_table=False)
    document = docx.Document(str(path))
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    sdt = parse_xml(f"<w:sdt {w}><w:sdtContent><w:p><w:r><w:t>控件里的段落</w:t></w:r></w:p></w:sdtContent></w:sdt>")
    document.element.body.insert(0, sdt)
    document.save(str(path))
    assert load_file(path).text.split("\n")[0] == "控件里的段落"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: hostile.truncated(hostile.docx_report(d), d), "corrupt or truncated .docx"),
        (lambda d: hostile.truncated(hostile.docx_report(d), d, fraction=0.98), "corrupt or truncated .docx"),
        (lambda d: hostile.text_file(d, "notes.docx", "其实是文本"), "not a valid .docx"),
        (lambda d: hostile.random_bytes(d, name="random.docx"), "not a valid .docx"),
        (hostile.legacy_doc, "legacy Word .doc"),
        (hostile.plain_zip_docx, r"not a valid .docx \(no \[Content_Types\].xml"),
        (lambda d: hostile.docx_report(d, empty=True), "empty file"),
    ],
    ids=["truncated-half", "truncated-tail", "text-renamed", "random", "legacy-doc", "plain-zip", "no-text"],
)
def test_unusable_docx(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(LoadError, match=message):
        load_file(make(tmp_path))


def test_corrupt_member_is_reported_not_raised(tmp_path: Path) -> None:
    """Flip bytes inside document.xml's compressed data: bad CRC or bad deflate → LoadError."""
    path = hostile.docx_report(tmp_path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 10, start + info.compress_size - 10, 7):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(LoadError, match="corrupt or truncated .docx"):
        load_file(path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: hostile.zip_bomb_docx(d, megabytes=200), "would unpack to 200.0 MB"),
        (lambda d: hostile.zip_bomb_docx(d, megabytes=20), "compression ratio"),
        (hostile.many_entries_docx, "5001 zip entries"),
    ],
    ids=["200MB-zeros", "ratio-1000", "5000-entries"],
)
def test_zip_bombs_are_rejected_from_metadata_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make, message: str
) -> None:
    path = make(tmp_path)
    assert path.stat().st_size < 1_000_000  # the bomb itself is small on disk

    def no_decompression(*args: object, **kwargs: object) -> None:
        raise AssertionError("a zip member was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_decompression)
    with pytest.raises(LoadError, match=message) as info:
        load_file(path)
    assert "zip bomb" in info.value.hint


def test_lying_sizes_cannot_inflate_memory(tmp_path: Path) -> None:
    """document.xml declares its real size (and CRC) but its stream carries 200 MB more zeros.

    ``ZipFile.read`` would inflate all of it (> 200 MB); the loader reads in bounded chunks,
    stops at the declared size and parses the real document.
    """
    path = hostile.lying_docx(hostile.docx_report(tmp_path), tmp_path, tail_megabytes=200)
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        loaded = load_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert loaded.text == DOCX_TEXT
    assert peak < 50 * 2**20, f"peak {peak / 2**20:.0f} MB"


# ---------------------------------------------------------------------------- pdf

CJK_FONT = hostile.find_cjk_font()


def test_pdf_text_layer_is_extracted(tmp_path: Path) -> None:
    lines = ("Government Work Report 2024", "GDP grew 5.2%, reaching 1234.5 billion yuan.", "Page two: jobs +12,000")
    loaded = load_file(hostile.text_pdf(tmp_path, lines))
    assert loaded.encoding == "pdf"
    assert loaded.text.split("\n") == list(lines)


def test_chinese_pdf_text_layer_is_extracted(tmp_path: Path) -> None:
    if CJK_FONT is None:
        unavailable("no CJK font on this system (CI installs fonts-noto-cjk)")
    lines = (*hostile.REPORT_LINES, hostile.GB18030_ONLY)
    loaded = load_file(hostile.text_pdf(tmp_path, lines, font=CJK_FONT))
    # pypdf returns these CID-font glyphs with NULs in between; the loader must drop them
    assert loaded.text.split("\n") == list(lines)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (hostile.blank_pdf, r"no text layer \(scanned PDF\?\); OCR is not available"),
        (hostile.corrupt_pdf, "corrupt or truncated .pdf"),
        (lambda d: hostile.random_bytes(d, name="random.pdf"), r"not a valid .pdf \(no %PDF header\)"),
        (lambda d: hostile.encrypted_pdf(d, user_password="secret"), r"encrypted PDF \(password protected\)"),
    ],
    ids=["scanned", "corrupt", "not-a-pdf", "password"],
)
def test_unusable_pdfs(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(LoadError, match=message):
        load_file(make(tmp_path))


def test_truncated_pdf_is_an_error_or_a_prefix_never_a_crash(tmp_path: Path) -> None:
    lines = tuple(f"Line {i} of the report" for i in range(8))
    path = hostile.truncated(hostile.text_pdf(tmp_path, lines), tmp_path, fraction=0.6)
    try:
        loaded = load_file(path)
    except LoadError as exc:
        assert "pdf" in exc.message
    else:  # pypdf may rebuild the xref and recover the pages that survived
        got = loaded.text.split("\n")
        assert got and got == list(lines[: len(got)])


def test_copy_protected_pdf_opens_without_password(tmp_path: Path) -> None:
    assert load_file(hostile.encrypted_pdf(tmp_path, user_password="")).text == "Encrypted report GDP 5.2%"


# ---------------------------------------------------------------------------- discover


def test_discover_walks_sorted_and_skips_hidden_and_unsupported(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for rel in ("b.txt", "a.MD", "sub/c.pdf", "sub/deeper/d.html", ".hidden.txt", ".git/config.txt",
                "sub/.cache/e.txt", "notes.doc", "table.xlsx", "~$report.docx", "README", "sub/f.docx"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "g.txt").write_bytes(b"x")
    os.symlink(outside, root / "linked")
    found, skipped = discover([root, root / "b.txt", tmp_path / "nope.txt"])
    assert found == [root / "a.MD", root / "b.txt", root / "sub/c.pdf", root / "sub/f.docx", root / "sub/deeper/d.html"]
    reasons = {p.relative_to(tmp_path).as_posix(): r for p, r in skipped}
    assert set(reasons) == {"corpus/README", "corpus/notes.doc", "corpus/table.xlsx", "corpus/~$report.docx",
                            "corpus/linked", "nope.txt"}
    assert "legacy .doc" in reasons["corpus/notes.doc"] and "lock file" in reasons["corpus/~$report.docx"]
    assert "not followed" in reasons["corpus/linked"] and reasons["nope.txt"] == "not found"
    assert discover([root]) == discover([root])  # deterministic


def test_discover_takes_an_explicit_hidden_file(tmp_path: Path) -> None:
    path = hostile.text_file(tmp_path, ".draft.txt", "x")
    assert discover([path]) == ([path], [])


def test_everything_discover_accepts_is_a_supported_suffix(tmp_path: Path) -> None:
    for suffix in SUPPORTED:
        (tmp_path / f"f{suffix.upper()}").write_bytes(b"x")
    found, skipped = discover([tmp_path])
    assert len(found) == len(SUPPORTED) and not skipped


# ---------------------------------------------------------------------------- upload names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\System32\\evil.txt", "evil.txt"),
        ("/abs/path/报告.docx", "报告.docx"),
        ("C:\\Users\\张三\\桌面\\2024 仓山区 政府工作报告.pdf", "2024_仓山区_政府工作报告.pdf"),
        ("a\x00b\x1fc\n\r.txt", "abc.txt"),
        (".hidden.txt", "hidden.txt"),
        ("...", "upload"),
        ("..", "upload"),
        ("", "upload"),
        ("   ", "upload"),
        ("report\u202etxt.exe", "reporttxt.exe"),
        ("zero\u200bwidth.md", "zerowidth.md"),
        ("CON.txt", "_CON.txt"),
        ('a<b>:c|d?*".txt', "a_b_c_d.txt"),
        ("2024\u3000年报告.txt", "2024_年报告.txt"),
        ("仓山区报告.TXT", "仓山区报告.TXT"),
    ],
)
def test_sanitize_filename(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


@pytest.mark.parametrize("name", hostile.HOSTILE_NAMES)
def test_sanitized_names_are_always_safe(name: str) -> None:
    safe = sanitize_filename(name)
    assert safe and safe not in (".", "..") and not safe.startswith(".")
    assert "/" not in safe and "\\" not in safe
    assert not any(unicodedata.category(ch)[0] == "C" for ch in safe)
    assert len(safe.encode()) <= 200
    assert sanitize_filename(safe) == safe  # idempotent


def test_long_names_keep_their_extension() -> None:
    safe = sanitize_filename("长" * 300 + ".docx")
    assert safe.endswith(".docx") and safe.startswith("长") and len(safe.encode()) <= 200


def test_safe_destination_stays_inside_and_never_overwrites(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    first = safe_destination(corpus, "../../2024 报告.txt")
    assert first == corpus.resolve() / "2024_报告.txt"
    first.write_bytes(b"one")
    second = safe_destination(corpus, "2024 报告.txt")
    assert second == corpus.resolve() / "2024_报告_1.txt"
    second.write_bytes(b"two")
    assert safe_destination(corpus, "2024 报告.txt").name == "2024_报告_2.txt"
    assert safe_destination(corpus, "2024 报告.txt", content=b"two") == second  # same bytes: same file


def test_safe_destination_ignores_a_symlink_pointing_outside(tmp_path: Path) -> None:
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    corpus.mkdir()
    outside.mkdir()
    os.symlink(outside / "target.txt", corpus / "report.txt")  # dangling, would write outside
    dest = safe_destination(corpus, "report.txt")
    assert dest.parent == corpus.resolve() and dest.name == "report_1.txt"


@pytest.mark.parametrize("name", hostile.HOSTILE_NAMES)
def test_safe_destination_is_inside_for_hostile_names(tmp_path: Path, name: str) -> None:
    dest = safe_destination(tmp_path, name)
    assert dest.resolve().parent == tmp_path.resolve()
    assert not dest.exists()
