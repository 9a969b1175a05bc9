"""intake: real odd and hostile files, built in tmp_path, and the exact message a clerk sees."""

from __future__ import annotations

import struct
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlflow import intake
from xlflow.messages import Code, Stage

try:
    import resource
except ImportError:  # Windows: tracemalloc alone
    resource = None

NAME = "第一党支部.xlsx"


# ---------------------------------------------------------------- builders
def real_xlsx(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "党员名册"
    ws.append(["序号", "姓名", "党员类别"])
    ws.append([1, "张三", "正式党员"])
    wb.save(path)
    return path


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="党员名册" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<dimension ref="{ref}"/><sheetData>'
)
SHEET_TAIL = "</sheetData></worksheet>"


def raw_xlsx(path: Path, *, sheet_rows: int = 2, dimension: str = "A1:C2", **overrides) -> Path:
    """A minimal xlsx written as raw XML; overrides replace or add parts (bytes or str).

    The sheet is streamed in, so a million-row sheet keeps the test itself small in memory.
    """
    parts = {"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": ROOT_RELS,
             "xl/workbook.xml": WORKBOOK, "xl/_rels/workbook.xml.rels": WORKBOOK_RELS}
    parts.update(overrides)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
        if "xl/worksheets/sheet1.xml" not in parts:
            with zf.open("xl/worksheets/sheet1.xml", "w") as w:
                w.write(SHEET_HEAD.format(ref=dimension).encode())
                for start in range(1, sheet_rows + 1, 10_000):
                    stop = min(start + 10_000, sheet_rows + 1)
                    w.write("".join(f'<row r="{r}"/>' for r in range(start, stop)).encode())
                w.write(SHEET_TAIL.encode())
    return path


def message(code: str, **params) -> str:
    return Code[code].text(**params)


# Hostile files are refused from their zip directory, before decompressing anything; the row count of a
# million-row sheet streams about 8 MB of its XML. Twice that is the bound.
DECOMPRESSED_MB = 16


def only(findings) -> str:
    assert len(findings) == 1, findings
    assert findings[0].severity == "error" and Code[findings[0].code].stage is Stage.INTAKE
    assert findings[0].file == NAME
    return findings[0].message


class Decompressed:
    """Counts the bytes zipfile hands out while it is active: the work a hostile file can cause,
    measured as a condition rather than as a wall-clock budget that a busy machine breaks."""

    def __init__(self):
        self.bytes = 0

    def __enter__(self):
        self.real = real = zipfile.ZipExtFile.read, zipfile.ZipExtFile.read1

        def read(part, n=-1):
            data = real[0](part, n)
            self.bytes += len(data)
            return data

        def read1(part, n=-1):
            data = real[1](part, n)
            self.bytes += len(data)
            return data

        zipfile.ZipExtFile.read, zipfile.ZipExtFile.read1 = read, read1
        return self

    def __exit__(self, *exc):
        zipfile.ZipExtFile.read, zipfile.ZipExtFile.read1 = self.real


def bounded(check, path: Path, *, decompressed_mb: int = DECOMPRESSED_MB, peak_mb: int = 64):
    """Run check(path) decompressing at most `decompressed_mb`, with a bounded Python heap peak and
    RSS growth."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if resource else 0
    with Decompressed() as work:
        result = check(path)
    assert work.bytes <= decompressed_mb * 2**20, f"{check.__name__} decompressed {work.bytes / 2**20:.0f} MB"
    tracemalloc.start()
    try:
        check(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < peak_mb * 2**20, f"peak {peak / 2**20:.0f} MB"
    if resource:  # ru_maxrss is KiB on Linux
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
        assert grown < 300 * 1024, f"RSS grew by {grown / 1024:.0f} MB"
    return result


# ---------------------------------------------------------------- ignored, settling
@pytest.mark.parametrize("name", [
    "~$第一党支部.xlsx", ".~lock.第一党支部.xlsx#", "._第一党支部.xlsx", ".DS_Store", "Thumbs.db",
    "desktop.ini", "第一党支部.xlsx.tmp", "第一党支部.xlsx.part", "第一党支部.xlsx.crdownload",
    "第一党支部.xlsx.download", ".hidden.xlsx", "1A2B3C4D", r"inbox\~$x.xlsx",
])
def test_lock_temp_and_system_files_are_ignored(name):
    assert intake.is_ignored(name)


@pytest.mark.parametrize("name", ["第一党支部.xlsx", "第一党支部（修改稿）.xlsx", "data.csv", "~第一党支部.xlsx"])
def test_submissions_are_not_ignored(name):
    assert not intake.is_ignored(name)


def test_settled_only_after_two_equal_polls_of_a_complete_zip(tmp_path):
    path = real_xlsx(tmp_path / NAME)
    now = intake.snapshot(path)
    assert now == intake.Snapshot(path.stat().st_size, path.stat().st_mtime_ns)
    assert not intake.is_settled(None, now, path)
    assert not intake.is_settled(intake.Snapshot(now.size - 1, now.mtime_ns), now, path)
    assert intake.is_settled(now, now, path)


def test_half_copied_zip_never_settles(tmp_path):
    data = real_xlsx(tmp_path / "whole.xlsx").read_bytes()
    half = tmp_path / NAME
    half.write_bytes(data[: len(data) // 2])
    assert not intake.is_settled(intake.snapshot(half), intake.snapshot(half), half)
    # A copier that preallocates the whole size and fills it in order: zeros at the end.
    half.write_bytes(data[: len(data) // 2] + bytes(len(data) - len(data) // 2))
    assert not intake.is_settled(intake.snapshot(half), intake.snapshot(half), half)


def test_non_zip_settles_on_size_and_mtime_and_missing_file_does_not(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(b"<html><table></table></html>")
    assert intake.is_settled(intake.snapshot(path), intake.snapshot(path), path)
    gone = intake.snapshot(path)
    path.unlink()
    assert not intake.is_settled(gone, gone, path)


# ---------------------------------------------------------------- sniffing and messages
def test_real_xlsx_passes(tmp_path):
    path = real_xlsx(tmp_path / NAME)
    assert intake.sniff(path) == "xlsx"
    assert intake.inspect(path) == []
    assert intake.inspect(raw_xlsx(tmp_path / "raw.xlsx")) == []


def test_xls_from_excel_97_2003(tmp_path):
    import xlwt  # the `test` extra
    book = xlwt.Workbook()
    book.add_sheet("党员名册").write(0, 0, "姓名")
    path = tmp_path / NAME  # an .xls renamed to .xlsx is read by content all the same
    book.save(str(path))
    assert intake.sniff(path) == "xls"
    assert only(intake.inspect(path)) == (
        "文件“第一党支部.xlsx”是旧版 Excel（.xls）或 WPS 表格（.et）格式，无法读取。"
        "请用 Excel 或 WPS 打开后“另存为”Excel 工作簿（*.xlsx）格式再提交。")


def test_password_protected_xlsx(tmp_path):
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = real_xlsx(tmp_path / "plain.xlsx")
    path = tmp_path / NAME
    with plain.open("rb") as src, path.open("wb") as out:
        OOXMLFile(src).encrypt("123456", out)
    assert intake.sniff(path) == "encrypted"
    assert only(intake.inspect(path)) == (
        "文件“第一党支部.xlsx”设置了打开密码，无法读取。请在 Excel 中取消密码"
        "（文件→信息→保护工作簿→用密码进行加密，清空密码）后重新提交。")


OTHER_FORMAT = (
    "文件“第一党支部.xlsx”实际是{kind}，不是 Excel 工作簿（*.xlsx），无法读取"
    "（可能是改了扩展名，或是从网页、其他系统导出的）。请用 Excel 或 WPS 打开后"
    "“另存为”Excel 工作簿（*.xlsx）格式再提交；如果不是在下发的模板中填写的，请使用下发的模板重新填写。")

HTML = ('<html xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8"></head>'
        "<body><table><tr><td>姓名</td><td>党员类别</td></tr></table></body></html>")
XML2003 = ('<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'
           '<Worksheet ss:Name="党员名册"><Table><Row><Cell><Data ss:Type="String">姓名</Data>'
           "</Cell></Row></Table></Worksheet></Workbook>")


@pytest.mark.parametrize("content, kind, label", [
    (HTML.encode("utf-8"), "html", "网页（HTML）文件"),
    ("\ufeff" + HTML, "html", "网页（HTML）文件"),
    ("序号,姓名,党员类别\r\n1,张三,正式党员\r\n".encode("gbk"), "csv", "文本（CSV）文件"),
    ("\ufeff序号,姓名,党员类别\r\n1,张三,正式党员\r\n", "csv", "文本（CSV）文件"),
    ("第一党支部 张三 正式党员\n".encode("utf-8"), "text", "纯文本文件"),
    (XML2003.encode("utf-8"), "xml2003", "Excel 2003 XML 表格"),
])
def test_other_formats_renamed_to_xlsx(tmp_path, content, kind, label):
    path = tmp_path / NAME
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    assert intake.sniff(path) == kind
    assert only(intake.inspect(path)) == OTHER_FORMAT.format(kind=label)


def test_macro_workbook(tmp_path):
    plain = real_xlsx(tmp_path / "plain.xlsx")
    path = tmp_path / NAME
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml")
            dst.writestr(info, data)
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + bytes(508))
    assert intake.sniff(path) == "xlsm"
    assert only(intake.inspect(path)) == (
        "文件“第一党支部.xlsx”是启用宏的工作簿（.xlsm），为安全起见不接收含宏的文件。"
        "请在 Excel 中“另存为”Excel 工作簿（*.xlsx，不含宏）后再提交。")


WRONG_FILE = ("文件“第一党支部.xlsx”是{kind}，这不是支部填报的 Excel 工作簿。"
              "请确认是否交错了文件，找到填写好的 Excel 工作簿（*.xlsx）重新提交。")


def test_word_document(tmp_path):
    path = tmp_path / NAME
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES.replace("spreadsheetml.sheet", "wordprocessingml.document"))
        zf.writestr("_rels/.rels", ROOT_RELS.replace("xl/workbook.xml", "word/document.xml"))
        zf.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="urn:w"/>')
    assert intake.sniff(path) == "docx"
    assert only(intake.inspect(path)) == WRONG_FILE.format(kind="Word 文档")


@pytest.mark.parametrize("content, kind, label", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "pdf", "PDF 文件"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "image", "图片"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64), "image", "图片"),
])
def test_pdf_and_images_are_the_wrong_file(tmp_path, content, kind, label):
    path = tmp_path / NAME
    path.write_bytes(content)
    assert intake.sniff(path) == kind
    assert only(intake.inspect(path)) == WRONG_FILE.format(kind=label)


def test_zip_of_workbooks(tmp_path):
    path = tmp_path / NAME
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(real_xlsx(tmp_path / "a.xlsx"), "第一党支部.xlsx")
    assert intake.sniff(path) == "zip"
    assert only(intake.inspect(path)) == (
        "文件“第一党支部.xlsx”是一个压缩包，不是 Excel 工作簿。请先解压，再提交其中填写好的 Excel 工作簿（*.xlsx）。")


def test_empty_file(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(b"")
    assert intake.sniff(path) == "empty"
    assert only(intake.inspect(path)) == (
        "文件“第一党支部.xlsx”是空文件（0 字节），可能没有复制成功。请从原处重新复制该文件后提交。")


def test_unknown_binary(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(bytes(range(256)) * 8)
    assert intake.sniff(path) == "unknown"
    assert only(intake.inspect(path)) == (
        "文件“第一党支部.xlsx”无法识别，不是 Excel 工作簿。请确认是否交错了文件，"
        "找到填写好的 Excel 工作簿（*.xlsx）重新提交；如果文件已损坏，请重新复制后提交。")


DAMAGED = ("文件“第一党支部.xlsx”已损坏或没有复制完整，无法打开。请从原处重新复制（或重新下载）后提交；"
           "如果原文件在 Excel 中也打不开，请使用下发的原始模板重新填写。")


def test_truncated_xlsx(tmp_path):
    data = real_xlsx(tmp_path / "whole.xlsx").read_bytes()
    path = tmp_path / NAME
    path.write_bytes(data[: len(data) // 2])
    assert intake.sniff(path) == "damaged"
    assert only(bounded(intake.inspect, path)) == DAMAGED


def test_corrupted_member_is_damaged(tmp_path):
    data = bytearray(raw_xlsx(tmp_path / "whole.xlsx", sheet_rows=5000).read_bytes())
    with zipfile.ZipFile(tmp_path / "whole.xlsx") as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle:middle + 64] = bytes(64)  # damage inside the compressed sheet, directory intact
    path = tmp_path / NAME
    path.write_bytes(bytes(data))
    assert only(intake.inspect(path)) == DAMAGED


# ---------------------------------------------------------------- hostile files
def test_zip_bomb_one_gigabyte_of_zeros(tmp_path):
    path = raw_xlsx(tmp_path / NAME)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("xl/media/image1.png", "w") as w:
            zeros = bytes(1 << 20)
            for _ in range(1024):
                w.write(zeros)
    assert path.stat().st_size < 10 * 2**20
    assert only(bounded(intake.inspect, path)) == (
        "文件“第一党支部.xlsx”解压后的内容异常庞大（解压后约 1.0 GB，上限 200.0 MB），"
        "可能已损坏或不是正常保存的工作簿，无法接收。请使用下发的原始模板重新填写后提交。")


def test_zip_bomb_by_compression_ratio(tmp_path):
    path = raw_xlsx(tmp_path / NAME, **{"xl/media/image1.png": bytes(100 * 2**20)})
    assert only(bounded(intake.inspect, path)).startswith(
        "文件“第一党支部.xlsx”解压后的内容异常庞大（其中一个部件的压缩比为 ")


def test_too_many_parts(tmp_path):
    path = raw_xlsx(tmp_path / NAME, **{f"xl/media/image{i}.png": b"x" for i in range(1200)})
    assert only(bounded(intake.inspect, path)) == (
        "文件“第一党支部.xlsx”内部包含 1,205 个部件，超过了 1,000 个的上限，文件内容异常庞大，"
        "无法接收。请使用下发的原始模板重新填写后提交。")


def test_hundred_thousand_styles(tmp_path):
    xfs = "".join(f'<xf numFmtId="{i % 50}" fontId="{i % 997}" fillId="{i % 37}" borderId="{i % 91}" '
                  f'xfId="0" applyFont="1" applyFill="1" applyBorder="1"/>' for i in range(100_000))
    styles = ('<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/'
              f'spreadsheetml/2006/main"><cellXfs count="100000">{xfs}</cellXfs></styleSheet>')
    path = raw_xlsx(tmp_path / NAME, **{"xl/styles.xml": styles})
    size = intake._human(len(styles.encode()))
    assert only(bounded(intake.inspect, path)) == (
        f"文件“第一党支部.xlsx”中的单元格格式异常庞大（样式部分约 {size}，上限 5.0 MB），通常是反复从其他表格"
        "复制粘贴带格式的内容造成的，无法接收。请使用下发的原始模板重新填写"
        "（粘贴时使用“选择性粘贴→数值”）后提交。")


TOO_MANY_ROWS = ("文件“第一党支部.xlsx”的工作表“党员名册”行数异常庞大（{detail}，上限 200,000 行），"
                 "无法接收。这通常是整列填充了格式或公式造成的。"
                 "请删除多余的行，或使用下发的原始模板重新填写后提交。")


def test_million_rows_counted_even_when_the_dimension_lies(tmp_path):
    path = raw_xlsx(tmp_path / NAME, sheet_rows=1_000_000, dimension="A1:C2")
    finding = bounded(intake.inspect, path)
    assert only(finding) == TOO_MANY_ROWS.format(detail="实际超过 200,000 行")
    assert finding[0].sheet == "党员名册"


def test_sheet_declaring_a_million_rows_costs_nothing_and_passes(tmp_path):
    """The reader ignores <dimension>: what it costs is the cells holding data (issue 12)."""
    path = raw_xlsx(tmp_path / NAME, sheet_rows=3, dimension="A1:XFD1048576")
    assert bounded(intake.inspect, path) == []


def test_prefixed_row_tags_are_counted(tmp_path):
    sheet = ('<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
             + "".join(f'<x:row r="{r}"/>' for r in range(1, 200_002)) + "</x:sheetData></x:worksheet>")
    path = raw_xlsx(tmp_path / NAME, **{"xl/worksheets/sheet1.xml": sheet})
    assert only(intake.inspect(path)) == TOO_MANY_ROWS.format(detail="实际超过 200,000 行")


UNSAFE = ("文件“第一党支部.xlsx”内部含有不安全的内容（{reason}），不像是用 Excel 或 WPS 正常保存的工作簿，"
          "无法接收。请使用下发的原始模板重新填写后提交。")

LOL = "".join(f'<!ENTITY lol{i} "{"&lol%d;" % (i - 1) * 10}">' for i in range(1, 10))
BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE workbook [<!ENTITY lol0 "lol">' + LOL + "]>"
                  '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                  "<sheets><sheet name=\"&lol9;\"/></sheets></workbook>")


def test_defusedxml_is_there_and_refuses_entities():
    import defusedxml
    import defusedxml.ElementTree as SafeET

    with pytest.raises(defusedxml.EntitiesForbidden):
        SafeET.fromstring(BILLION_LAUGHS)


def test_billion_laughs_in_workbook_xml(tmp_path):
    path = raw_xlsx(tmp_path / NAME, **{"xl/workbook.xml": BILLION_LAUGHS})
    findings = bounded(intake.inspect, path)
    assert only(findings) == UNSAFE.format(reason="XML 文档类型定义或实体声明")
    assert findings[0].value == "xl/workbook.xml"


def test_entity_bomb_hidden_past_the_head_is_found_by_the_scan_of_the_whole_part(tmp_path):
    # A long comment pushes the DTD past the first 4 KiB: every part is searched to its end (issue 12).
    bomb = BILLION_LAUGHS.replace("\n<!DOCTYPE", "\n<!--" + "x" * 8000 + "-->\n<!DOCTYPE")
    path = raw_xlsx(tmp_path / NAME, **{"xl/workbook.xml": bomb})
    assert only(bounded(intake.inspect, path)) == UNSAFE.format(reason="XML 文档类型定义或实体声明")


def test_external_entity_in_content_types(tmp_path):
    xxe = CONTENT_TYPES.replace(
        "\n<Types", '\n<!DOCTYPE Types [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<Types', 1)
    path = raw_xlsx(tmp_path / NAME, **{"[Content_Types].xml": xxe})
    assert only(bounded(intake.inspect, path)) == UNSAFE.format(reason="XML 文档类型定义或实体声明")


@pytest.mark.parametrize("member", ["../../evil.txt", "/etc/evil.txt", "C:/Windows/evil.txt", "xl\\..\\evil.txt"])
def test_unsafe_member_paths(tmp_path, member):
    path = raw_xlsx(tmp_path / NAME, **{member: b"x"})
    assert only(intake.inspect(path)) == UNSAFE.format(reason="异常的内部路径")


def test_directory_too_big_for_its_member_count(tmp_path):
    path = raw_xlsx(tmp_path / NAME, **{f"xl/media/{i:03d}{'长' * 800}.png": b"x" for i in range(500)})
    assert only(bounded(intake.inspect, path)) == UNSAFE.format(reason="异常庞大的内部目录")


def to_zip64(data: bytes) -> bytes:
    """Rewrite a zip's end records the zip64 way (as some non-Excel writers do)."""
    at = data.rfind(b"PK\x05\x06")
    count, cd_size, cd_offset = struct.unpack("<10xHLL", data[at:at + 20])
    record = struct.pack("<4sQHHLLQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, at, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return data[:at] + record + locator + end


def test_zip64_end_records_are_understood(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(to_zip64(real_xlsx(tmp_path / "plain.xlsx").read_bytes()))
    assert intake.is_settled(intake.snapshot(path), intake.snapshot(path), path)
    assert intake.sniff(path) == "xlsx"
    assert intake.inspect(path) == []


def test_too_large_file(tmp_path):
    path = tmp_path / NAME
    with path.open("wb") as f:
        f.truncate(intake.MAX_FILE_BYTES + 5 * 2**20)  # sparse: costs no disk
    assert only(bounded(intake.inspect, path)) == (
        "文件“第一党支部.xlsx”大小为 55.0 MB，超过了 50.0 MB 的上限，文件内容异常庞大，无法接收。"
        "请检查是否在表格中插入了大量图片；请使用下发的原始模板重新填写（不要插入图片）后提交。")
