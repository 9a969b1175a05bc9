"""stage: a file in inbox/ → a settled, sniffed, safe-to-read workbook or an F1xx finding

Clerks copy returned workbooks into inbox/ from USB sticks, shares, e-mail and chat downloads:
some are half-copied, some are lock or temp files, some are the wrong file or not an .xlsx at
all, and a few may be hostile (zip bombs, XML entity bombs). This module decides, by content
and never by extension, before any reader touches the file. It only reads; the caller polls
(snapshot/is_settled), moves files and keeps the clock.
"""

from __future__ import annotations

import codecs
import os
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import olefile
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name

from .errors import XlflowError
from . import messages as M
from .messages import Code, Finding, finding

try:  # every XML part is parsed through defusedxml; refuse to run without it
    import defusedxml
    import defusedxml.ElementTree as SafeET
except ImportError as exc:  # pragma: no cover - defusedxml is a hard dependency
    raise XlflowError(M.NO_DEFUSEDXML) from exc

MB = 1 << 20

# ---- safety limits, all checked before anything is decompressed or parsed ----
# A filled branch workbook is well under 2 MB with a few dozen zip members; every limit is one
# to two orders of magnitude above that, so only broken or hostile files hit one.
MAX_FILE_BYTES = 50 * MB        # the file on disk
MAX_MEMBERS = 1_000             # zip members (parts); Excel writes ~20–60
MAX_CD_BYTES = 1 * MB           # zip central directory; bounds the ZipInfo objects zipfile builds
MAX_TOTAL_BYTES = 200 * MB      # sum of declared uncompressed sizes
MAX_RATIO = 200                 # uncompressed:compressed per member ...
RATIO_MIN_BYTES = 1 * MB        # ... for members larger than this (tiny parts compress wildly)
MAX_STYLES_BYTES = 5 * MB       # xl/styles.xml: copy-paste style explosions slow every reader
MAX_XML_PART_BYTES = 10 * MB    # parts parsed whole here ([Content_Types].xml, workbook.xml, rels)
MAX_ROWS = 200_000              # rows present (<row>) per sheet
MAX_CELLS = 1_000_000           # the block from A1 to the farthest cell holding data, per sheet:
                                # the reader allocates that whole block (32 bytes a cell), filled or not
# zipfile enforces the declared sizes while reading (it stops at file_size and checks the CRC),
# so the declared sizes above are real bounds on what any read in this module decompresses.

HEAD_BYTES = 8192               # bytes read to sniff a format
XML_HEAD_BYTES = 4096           # bytes of each XML part searched for a DTD
EOCD_SCAN = 22 + 65535          # end-of-central-directory record plus the longest zip comment
_CHUNK = 1 * MB                 # streaming read size when counting rows

# ---- which files in inbox/ are not submissions at all ----
_IGNORED_NAMES = {".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini"}
_IGNORED_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download",
                     ".downloading", ".xltd")
_EXCEL_TEMP = re.compile(r"[0-9a-f]{8}")  # Excel saves through an extension-less 8-hex-digit file


def is_ignored(name: str) -> bool:
    """True for lock, owner, temp and system files that must be left alone, never moved.

    Excel/WPS owner files (~$x.xlsx), LibreOffice locks (.~lock.x.xlsx#), macOS ._x and
    .DS_Store, Windows Thumbs.db/desktop.ini, unfinished downloads and any hidden dotfile.
    """
    base = re.split(r"[\\/]", name)[-1].lower()
    return (not base or base.startswith(("~$", ".")) or base in _IGNORED_NAMES
            or base.endswith(_IGNORED_SUFFIXES) or bool(_EXCEL_TEMP.fullmatch(base)))


# ---- settling: is the copy finished? ----
@dataclass(frozen=True)
class Snapshot:
    size: int
    mtime_ns: int


def snapshot(path: Path | str) -> Snapshot:
    st = os.stat(path)
    return Snapshot(st.st_size, st.st_mtime_ns)


def is_settled(previous: Snapshot | None, current: Snapshot, path: Path | str) -> bool:
    """Settled when two polls agree and, for a zip, its last record is already there.

    Copy tools may leave size and mtime still while they stall, so a zip-based file is also
    required to end with its end-of-central-directory record, which is written last. A zip
    truncated for good never settles: the caller inspects it after a grace period (→ F107).
    A file we cannot read right now (locked by Excel on Windows) is simply not settled yet.
    """
    if previous is None or previous != current:
        return False
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return True
            return _eocd(f, current.size) is not None
    except OSError:
        return False


def _eocd(f, size: int) -> tuple[int, int] | None:
    """(member count, central directory size) from the zip's final record, reading only the
    last ~64 KiB; None when it is missing or inconsistent (truncated or still being copied)."""
    start = max(0, size - EOCD_SCAN)
    f.seek(start)
    tail = f.read(size - start)
    pos = tail.rfind(b"PK\x05\x06")
    while pos >= 0:
        if pos + 22 <= len(tail):
            count, cd_size, cd_offset, comment = struct.unpack("<10xHLLH", tail[pos:pos + 22])
            # The comment must end exactly at end of file: this rejects a signature that merely
            # happens to appear inside compressed data of a half-copied file.
            if pos + 22 + comment == len(tail):
                if count == 0xFFFF or 0xFFFFFFFF in (cd_size, cd_offset):  # zip64
                    return _eocd64(f, start + pos)
                if cd_offset + cd_size <= start + pos:
                    return count, cd_size
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
    return None


def _eocd64(f, eocd_at: int) -> tuple[int, int] | None:
    if eocd_at < 20:
        return None
    f.seek(eocd_at - 20)
    sig, _, offset, _ = struct.unpack("<4sLQL", f.read(20))
    if sig != b"PK\x06\x07" or offset >= eocd_at:
        return None
    f.seek(offset)
    record = f.read(56)
    if len(record) < 56 or record[:4] != b"PK\x06\x06":
        return None
    count, cd_size = struct.unpack("<32xQQ8x", record)
    return count, cd_size


# ---- sniffing: what is this file, really? ----
_IMAGES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")
_ARCHIVES = (b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c")
_WPS_STREAMS = {"etextdata"}  # seen in WPS-saved spreadsheets; best effort, else "xls"


def sniff(path: Path | str) -> str:
    """The file's real format, from its content. One of: xlsx, xlsm, xlsb, ods, xls, et,
    encrypted, doc, ppt, docx, pptx, zip, archive, html, xml2003, csv, text, pdf, image,
    empty, damaged (a zip or OLE2 file whose structure cannot be read), unknown."""
    size = os.stat(path).st_size
    if size == 0:
        return "empty"
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _sniff_zip(path, size)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _sniff_ole(path, size)
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if (head.startswith(_IMAGES) or head[:4] == b"RIFF" and head[8:12] == b"WEBP"
            or head[4:12] in (b"ftypheic", b"ftypmif1")
            or head[:2] == b"BM" and len(head) > 6 and struct.unpack("<L", head[2:6])[0] == size):
        return "image"
    if head.startswith(_ARCHIVES):
        return "archive"
    text = _as_text(head)
    return "unknown" if text is None else _sniff_text(text)


def _open_zip(path: Path | str, size: int) -> tuple[zipfile.ZipFile | None, tuple[int, int] | None]:
    """Open a zip only after its final record says the directory is small enough to list."""
    with open(path, "rb") as f:
        record = _eocd(f, size)
    if record is None or record[0] > MAX_MEMBERS or record[1] > MAX_CD_BYTES:
        return None, record
    try:
        return zipfile.ZipFile(path), record
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None, None


def _sniff_zip(path: Path | str, size: int) -> str:
    zf, record = _open_zip(path, size)
    if zf is None:
        return "damaged" if record is None else "zip"  # too big to list: _limits says so
    with zf:
        return _zip_kind(zf)


def _zip_kind(zf: zipfile.ZipFile, whole: dict[str, bytes] | None = None) -> str:
    """What a listed zip holds (see sniff). inspect passes the zip _limits has open, with
    the parts it has already read whole (`whole`), so nothing is opened or read twice."""
    names = zf.NameToInfo
    try:
        if "[Content_Types].xml" in names:
            if "xl/workbook.xml" in names:
                types = (whole or {}).get("[Content_Types].xml")
                if types is None:
                    with zf.open("[Content_Types].xml") as part:
                        types = part.read(MB)
                macro = "xl/vbaProject.bin" in names or b"macroenabled" in types.lower()
                return "xlsm" if macro else "xlsx"
            if "xl/workbook.bin" in names:
                return "xlsb"
            if "word/document.xml" in names:
                return "docx"
            if "ppt/presentation.xml" in names:
                return "pptx"
        if "mimetype" in names:
            with zf.open("mimetype") as part:
                if b"opendocument.spreadsheet" in part.read(100):
                    return "ods"
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError):
        return "damaged"
    return "zip"


def _sniff_ole(path: Path | str, size: int) -> str:
    if size > MAX_FILE_BYTES:  # not worth opening; inspect rejects it by size first anyway
        return "xls"
    try:
        with olefile.OleFileIO(str(path)) as ole:
            top = {entry[0].lower() for entry in ole.listdir(streams=True, storages=True)}
    except Exception:  # olefile raises many kinds of errors on broken input
        return "damaged"
    if {"encryptioninfo", "encryptedpackage"} <= top:
        return "encrypted"  # an OOXML file behind an open password (MS-OFFCRYPTO)
    if top & {"workbook", "book"}:
        return "et" if top & _WPS_STREAMS else "xls"
    if "worddocument" in top:
        return "doc"
    if "powerpoint document" in top:
        return "ppt"
    return "unknown"


def _as_text(head: bytes) -> str | None:
    """Decode the head as text (UTF-8/16 with BOM, UTF-8, GB18030), or None for binary."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            return codecs.getincrementaldecoder(encoding)("replace").decode(head[len(bom):])
    if b"\x00" in head:
        return None
    for encoding in ("utf-8", "gb18030"):  # Chinese Excel writes CSV in GBK
        try:  # an incremental decoder tolerates a character cut at the end of the head
            text = codecs.getincrementaldecoder(encoding)().decode(head)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f")
        return text if controls * 100 <= len(text) else None
    return None


def _sniff_text(text: str) -> str:
    low = text.lstrip().lower()
    if low.startswith(("<?xml", "<?mso-application")) and "urn:schemas-microsoft-com:office:spreadsheet" in low:
        return "xml2003"
    if "<html" in low or "<!doctype html" in low or "<table" in low or low.startswith("mime-version:"):
        return "html"  # includes Excel "web page" exports and .mht single-file pages
    if low.startswith("<"):
        return "unknown"
    lines = low.splitlines()[:5]
    return "csv" if any(sep in line for line in lines for sep in (",", "\t", ";")) else "text"


# ---- limits ----
_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY")
_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,15}:)?row[\s>/]")  # <row …> or <x:row …>, not <rowBreaks>
_ROW_TAIL = 32  # longer than any _ROW match, so a tag cut between two chunks is still counted
_MIN_ROW_TAG = 5  # the shortest _ROW match: "<row" and one more byte
_KEEP_PART_BYTES = 4 * MB       # a worksheet up to this size is read once and kept while inspecting ...
_KEEP_BYTES = 16 * MB           # ... while all those kept stay within this
_READ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError,
                ValueError, zlib.error)


class _Parts:
    """What one inspection has read of a zip already, so no part is opened or parsed twice:
    the first bytes of every XML part, the parts read to their end (so their CRC is checked as
    by any whole read): those whose first bytes are all of them, and the worksheets small
    enough to keep (they are read whole anyway, to count their rows), and the parts parsed."""

    def __init__(self):
        self.heads: dict[str, bytes] = {}
        self.whole: dict[str, bytes] = {}
        self.parsed: dict[str, object] = {}
        self.budget = _KEEP_BYTES

    def head(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        name = info.filename
        head = self.heads.get(name)
        if head is not None:
            return head
        if info.file_size <= min(_KEEP_PART_BYTES, self.budget):  # read whole anyway, for its DTD check
            try:
                with zf.open(info) as part:
                    data = part.read()  # no more than the declared size: zipfile stops there
            except _READ_ERRORS:
                pass  # damaged: left to be found where the part is read as before (a whole read)
            else:
                self.budget -= len(data)
                self.whole[name] = data
                head = self.heads[name] = data[:XML_HEAD_BYTES]
                return head
        with zf.open(info) as part:
            head = self.heads[name] = part.read(XML_HEAD_BYTES)
        if len(head) < XML_HEAD_BYTES:  # read() stops short only at the part's end
            self.whole[name] = head
        return head

    def parse(self, zf: zipfile.ZipFile, part: str):
        tree = self.parsed.get(part)
        if tree is None:
            data = self.whole.get(part)
            tree = self.parsed[part] = (_parse(zf, part) if data is None
                                        else SafeET.fromstring(data, forbid_dtd=True))
        return tree


def _limits(path: Path | str, keep: dict[str, bytes | None] | None = None) -> tuple[list[Finding], str | None]:
    """Bounded-cost checks before any reader parses the file: size, zip structure, XML safety
    of the parts read here, styles size and rows per sheet (non-zip files only get the size
    check: sniff has rejected them already); and what sniff would say of a zip that was listed
    and passed them (else None), found with the zip and the parts already open; `keep` as for
    inspect."""
    name = Path(path).name
    size = os.stat(path).st_size
    if size > MAX_FILE_BYTES:
        return [_finding(Code.F109, name, size=_human(size), limit=_human(MAX_FILE_BYTES))], None
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            return [], None
    zf, record = _open_zip(path, size)
    if record is None:
        return [_finding(Code.F107, name)], None
    if zf is None:  # the directory is too big to even list
        if record[0] > MAX_MEMBERS:
            return [_finding(Code.F111, name, count=f"{record[0]:,}", limit=f"{MAX_MEMBERS:,}")], None
        return [_finding(Code.F114, name, reason="异常庞大的内部目录")], None  # few members, huge names
    with zf:
        parts = _Parts()
        try:
            found = (_zip_findings(zf, name) or _xml_findings(zf, name, parts)
                     or _row_findings(zf, name, parts))
        except _READ_ERRORS:  # CRC mismatch, truncated member, bad deflate stream…
            return [_finding(Code.F107, name)], None
        if not found and keep is not None:
            keep.update(dict.fromkeys(zf.NameToInfo))
            keep.update((k, v) for k, v in parts.whole.items() if not k.startswith("xl/worksheets/"))
        return found, (None if found else _zip_kind(zf, parts.whole))


def _zip_findings(zf: zipfile.ZipFile, name: str) -> list[Finding]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        return [_finding(Code.F111, name, count=f"{len(infos):,}", limit=f"{MAX_MEMBERS:,}")]
    seen: set[str] = set()
    for info in infos:
        part = info.filename
        if (part.startswith("/") or "\\" in part or re.match(r"[A-Za-z]:", part)
                or ".." in part.split("/") or part in seen):
            return [_finding(Code.F114, name, value=part, reason="异常的内部路径")]
        seen.add(part)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 1:
            return [_finding(Code.F114, name, value=part, reason="非标准的压缩或加密方式")]
    # Styles first: a style explosion is a real clerk's mistake and has its own remedy.
    styles = next((i for i in infos if i.filename == "xl/styles.xml"), None)
    if styles is not None and styles.file_size > MAX_STYLES_BYTES:
        return [_finding(Code.F112, name, size=_human(styles.file_size), limit=_human(MAX_STYLES_BYTES))]
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        return [_finding(Code.F110, name, detail=f"解压后约 {_human(total)}，上限 {_human(MAX_TOTAL_BYTES)}")]
    for info in infos:
        if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            return [_finding(Code.F110, name, value=info.filename,
                             detail=f"其中一个部件的压缩比为 {ratio:,}:1，上限 {MAX_RATIO}:1")]
    return []


def _xml_findings(zf: zipfile.ZipFile, name: str, parts: _Parts) -> list[Finding]:
    """No part may carry a DTD (entity bombs, external entities); the parts read whole here
    go through defusedxml as well."""
    for info in zf.infolist():
        if info.filename.lower().endswith((".xml", ".rels", ".vml")) and _has_dtd(zf, info, parts):
            return [_finding(Code.F114, name, value=info.filename, reason="XML 文档类型定义或实体声明")]
    for part in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        if part not in zf.NameToInfo:
            continue
        info = zf.getinfo(part)
        if info.file_size > MAX_XML_PART_BYTES:
            return [_finding(Code.F110, name, value=part,
                             detail=f"其中一个部件解压后约 {_human(info.file_size)}，上限 {_human(MAX_XML_PART_BYTES)}")]
        try:
            parts.parse(zf, part)
        except defusedxml.DefusedXmlException:
            return [_finding(Code.F114, name, value=part, reason="XML 实体或外部引用")]
        except SafeET.ParseError:
            return [_finding(Code.F107, name, value=part)]
    return []


def _has_dtd(zf: zipfile.ZipFile, info: zipfile.ZipInfo, parts: _Parts) -> bool:
    """A DTD anywhere in the part, not only in its first bytes (one may follow a long comment)."""
    head = parts.head(zf, info)
    wide = b"\x00" in head  # a UTF-16 part: searched without its zero bytes
    data = parts.whole.get(info.filename)
    if data is not None or len(head) < XML_HEAD_BYTES:
        data = data or head
        return bool(_DTD.search(data.replace(b"\x00", b"") if wide else data))
    if _DTD.search(head.replace(b"\x00", b"") if wide else head):
        return True
    if info.filename.startswith("xl/worksheets/") and not wide:
        return False  # searched to its end while its cells are measured (_row_findings), in one read
    tail = b""
    with zf.open(info) as f:
        while chunk := f.read(_CHUNK):
            buf = tail + (chunk.replace(b"\x00", b"") if wide else chunk)
            if _DTD.search(buf):
                return True
            tail = buf[-16:]  # longer than "<!DOCTYPE": a declaration cut in two is still seen
    return False


def _row_findings(zf: zipfile.ZipFile, name: str, parts: _Parts) -> list[Finding]:
    """Rows present, then the block the reader would allocate: a sheet's <dimension> is only what it
    declares (the reader ignores it), so the cells holding data are found and measured instead."""
    sheets = _sheet_names(zf, parts)
    for info in zf.infolist():
        part = info.filename
        if not (part.startswith("xl/worksheets/") and part.endswith(".xml")):
            continue
        sheet = sheets.get(part, part)
        if _count_rows(zf, info, parts.whole.get(part)) > MAX_ROWS:
            return [_finding(Code.F113, name, sheet=sheet, limit=f"{MAX_ROWS:,}",
                             detail=f"实际超过 {MAX_ROWS:,} 行")]
        rows, cols, dtd = _extent(zf, info, parts.whole.get(part))
        if dtd:
            return [_finding(Code.F114, name, value=part, reason="XML 文档类型定义或实体声明")]
        if rows * cols > MAX_CELLS:
            far = f"{xl_col_to_name(max(cols, 1) - 1)}{max(rows, 1)}"
            return [_finding(Code.F117, name, sheet=sheet, cell=far, rows=f"{rows:,}", cols=f"{cols:,}",
                             limit=f"{MAX_CELLS:,}")]
    return []


# A cell that may hold data: <c …> not self-closed (<c r="B2" s="1"/> is formatting only, which
# readers skip). Attributes of <c> never contain "/" or ">", so [^>/]* cannot run past the tag.
_VALUED_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,15}:)?c(?:\s[^>/]*)?>")
_CELL_REF = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,15}:)?c\s[^>]*?\br=\"([A-Z]{1,3})([0-9]{1,7})\"[^>/]*>")
_ROW_REF = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,15}:)?row\s[^>]*?\br=\"([0-9]{1,7})\"")
# The form every writer uses (r first, no prefix), found by literal search: only the cells past
# column Z or row 999 are looked at; the rest fit in Z999 whatever they are.
_WIDE = re.compile(rb'<c r="([A-Z]{2,3})[0-9]{1,7}"[^>/]*>')
_DEEP = re.compile(rb'<c r="[A-Z]{1,3}([0-9]{4,7})"[^>/]*>')
_NARROW_COLS, _SHALLOW_ROWS = 26, 999
_ANY_CELL = re.compile(rb"<c[\s>/]")
_PREFIXED_CELL = re.compile(rb":c[\s>/]")  # <x:c …> (or text that looks so: then the slow way)


def _extent(zf: zipfile.ZipFile, info: zipfile.ZipInfo, whole: bytes | None = None) -> tuple[int, int, bool]:
    """(rows, columns) of the block from A1 to the farthest cell that may hold data: an upper
    bound of what a reader allocates. A cell or row without its r="…" takes the place after the
    one before it, so each such one can push the bound out by one at most; they are counted.
    Rows matter only for such cells: a cell's own r="…" says where it is. Third: whether a DTD
    is anywhere in the part (the chunks never cut a tag, so neither a declaration)."""
    rows = cols = loose_rows = loose_cells = 0
    dtd = False
    for chunk in _tag_chunks(zf, info, whole):
        if whole is None and _DTD.search(chunk):
            dtd = True
        if len(_ANY_CELL.findall(chunk)) == chunk.count(b'<c r="') and not _PREFIXED_CELL.search(chunk):
            wide, deep = _WIDE.findall(chunk), _DEEP.findall(chunk)
            letters = set(wide)
            if chunk.count(b'<c r="'):
                rows, cols = max(rows, _SHALLOW_ROWS), max(cols, _NARROW_COLS)
        else:  # prefixed tags, r="…" not first or missing: every cell and row looked at
            refs = _CELL_REF.findall(chunk)
            row_refs = _ROW_REF.findall(chunk)
            loose_cells += len(_VALUED_CELL.findall(chunk)) - len(refs)
            loose_rows += len(_ROW.findall(chunk)) - len(row_refs)
            letters, deep = {c for c, _ in refs}, [r for _, r in refs] + row_refs
        if deep:
            rows = max(rows, max(map(int, deep)))
        if letters:
            cols = max(cols, max(xl_cell_to_rowcol(c.decode() + "1")[1] + 1 for c in letters))
    return rows + loose_rows, cols + loose_cells, dtd


def _tag_chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, whole: bytes | None = None):
    """The part's content in pieces that each end before a "<": no tag is ever cut in two."""
    if whole is not None:
        yield whole
        return
    tail = b""
    with zf.open(info) as f:
        while chunk := f.read(_CHUNK):
            buf = tail + chunk
            cut = buf.rfind(b"<")
            if cut <= 0:
                tail = buf
                continue
            yield buf[:cut]
            tail = buf[cut:]
    if tail:
        yield tail


def _count_rows(zf: zipfile.ZipFile, info: zipfile.ZipInfo, whole: bytes | None = None) -> int:
    """Count <row> tags streaming, stopping as soon as the count passes MAX_ROWS.

    Below the limit an upper bound may come back instead of the count, found without the tag
    by tag search: each tag takes at least _MIN_ROW_TAG bytes and holds the letters "row", so
    a part whose length, or whose number of "row"s, is within the limit cannot pass it. The
    part is still decompressed to its end either way (checking its CRC). `whole` is the
    part's content when it has been read already."""
    if whole is not None:
        bound = len(whole) // _MIN_ROW_TAG
        if bound > MAX_ROWS:
            bound = whole.count(b"row")
    elif info.file_size // _MIN_ROW_TAG <= MAX_ROWS:  # zipfile yields no more than file_size
        bound = info.file_size // _MIN_ROW_TAG
        with zf.open(info) as f:
            while f.read(_CHUNK):
                pass
    else:
        bound, tail = 0, b""
        with zf.open(info) as f:  # stops no later than the exact count below would
            while bound <= MAX_ROWS and (chunk := f.read(_CHUNK)):
                buf = tail + chunk
                bound += buf.count(b"row")  # 2 bytes of tail: a "row" cut in two is counted once
                tail = buf[-2:]
    if bound <= MAX_ROWS:
        return bound
    count, tail = 0, b""
    with zf.open(info) as f:
        while count <= MAX_ROWS and (chunk := f.read(_CHUNK)):
            buf = tail + chunk
            # Tags wholly inside the carried-over tail were counted with the previous chunk.
            count += len(_ROW.findall(buf)) - len(_ROW.findall(tail))
            tail = buf[-_ROW_TAIL:]
    return count


def _parse(zf: zipfile.ZipFile, part: str):
    with zf.open(part) as f:
        return SafeET.fromstring(f.read(MAX_XML_PART_BYTES + 1), forbid_dtd=True)


def _sheet_names(zf: zipfile.ZipFile, parts: _Parts) -> dict[str, str]:
    """Sheet part → the sheet's name as the clerk sees it, via workbook.xml and its rels."""
    names = zf.NameToInfo
    if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
        return {}
    local = lambda tag: tag.rsplit("}", 1)[-1]  # noqa: E731 - namespaces differ (strict OOXML)
    targets = {}
    for rel in parts.parse(zf, "xl/_rels/workbook.xml.rels").iter():
        if local(rel.tag) == "Relationship" and rel.get("Target"):
            target = rel.get("Target")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
            targets[rel.get("Id")] = path
    result = {}
    for sheet in parts.parse(zf, "xl/workbook.xml").iter():
        if local(sheet.tag) == "sheet":
            rid = next((v for k, v in sheet.attrib.items() if local(k) == "id"), None)
            if rid in targets:
                result[targets[rid]] = sheet.get("name", "")
    return result


# ---- the stage ----
_OTHER_FORMATS = {"html": "网页（HTML）文件", "csv": "文本（CSV）文件", "text": "纯文本文件",
                  "xml2003": "Excel 2003 XML 表格", "ods": "OpenDocument 表格（.ods）",
                  "xlsb": "Excel 二进制工作簿（.xlsb）"}
_WRONG_FILES = {"docx": "Word 文档", "doc": "Word 文档", "pptx": "PowerPoint 演示文稿",
                "ppt": "PowerPoint 演示文稿", "pdf": "PDF 文件", "image": "图片"}


def inspect(path: Path | str, keep: dict[str, bytes | None] | None = None) -> list[Finding]:
    """All F1xx findings for one settled file; empty means it is safe to hand to the reader.

    OSError (e.g. the file vanished or is locked) propagates: that is not the file's fault and
    the caller retries on the next pass. `keep`, if given, receives for a zip that passed every
    part's name, with the content of the small parts read whole on the way (else None), so the
    reader need not open the zip again for them (read.read_workbook takes it).
    """
    name = Path(path).name
    size = os.stat(path).st_size
    if size == 0:
        return [_finding(Code.F106, name)]
    # Any zip passes the limits first: sniffing it means listing and reading its parts. The
    # limits check the size of every file (F109), zip or not.
    limits, kind = _limits(path, keep)
    if limits:
        return limits
    kind = kind or sniff(path)
    if kind == "xlsx":
        return []
    if kind in ("xls", "et"):
        return [_finding(Code.F101, name)]
    if kind == "encrypted":
        return [_finding(Code.F102, name)]
    if kind in _OTHER_FORMATS:
        return [_finding(Code.F103, name, kind=_OTHER_FORMATS[kind])]
    if kind == "xlsm":
        return [_finding(Code.F104, name)]
    if kind in _WRONG_FILES:
        return [_finding(Code.F105, name, kind=_WRONG_FILES[kind])]
    if kind == "damaged":
        return [_finding(Code.F107, name)]
    if kind in ("zip", "archive"):
        return [_finding(Code.F115, name)]
    return [_finding(Code.F108, name)]


def _finding(code: Code, name: str, **params) -> Finding:
    return finding(code, file=name, **params)


def _human(n: int) -> str:
    return f"{n / (1 << 30):.1f} GB" if n >= 1 << 30 else f"{n / MB:.1f} MB"
