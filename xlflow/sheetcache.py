"""Big table sheets assembled from cached, pre-compressed blocks of worksheet XML.

A corrected return changes one branch's rows in the master's big sheets (指标明细, 证据明细, the raw
record sheets…), yet writing every cell again through xlsxwriter cost 16 s at 1,000 branches and
compressing them alone would cost 12 s at 5,000. So each branch's rows on such a sheet are one
block: rendered once to worksheet XML with its row numbers left as %-placeholders (the template),
keyed by a hash of everything the rows show, and kept in a cache beside the master
(outbox/.master-cache.db, SQLite) together with the block deflated at the rows it last stood on.
A build asks the cache per block: unchanged and unmoved, the stored deflate bytes are reused as
they are; moved (a branch before it gained rows), the template is filled with the new row numbers
and deflated again, all in C; changed, it is rendered anew. On a sheet without formulas the blocks
carry no row numbers at all (render's numbered=False), so there a moved block is reused as it is. xlsxwriter still writes the workbook
(every small sheet, styles, the big sheets' titles, headers, filters, widths and validations); the
blocks are then spliced into its zip between the header and `</sheetData>`, as independently
compressed deflate segments (each ends on a sync flush, so they concatenate), with the member's
CRC-32 combined from the blocks' own.

The cache is only a cache: its entries are addressed by content, so the workbook is the same pure
function of the ledger with or without it (tests/test_master_cache.py compares the two), and a
cache that is missing, stale or unreadable is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import sqlite3
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from xlflow import constants as K
from xlflow.files import code_fingerprint
from xlflow import sheetstyle
from xlflow.sheetstyle import FIRST, F, Table, date_serial, display_width

FORMAT = 2  # bump when the XML a block renders to changes: every cached block is then rendered again


# zlib level: 1 deflates 3× faster than xlsxwriter's 6 (145 against 45 MB/s here) for a file ~25%
# larger; a block that moved is deflated again, so this is what a new or longer return costs
LEVEL = 1
_FINAL = zlib.compressobj(LEVEL, zlib.DEFLATED, -15).flush()  # an empty last deflate block
_ZEROS = bytes(1 << 20)


def mark(k: int) -> str:
    """The row number of a block's k-th row inside a formula, filled in when the block is placed."""
    return f"\x01{k}\x02"


# -- rendering ---------------------------------------------------------------------------------------

_NEEDS_ESCAPE = re.compile(r'[&<>%]|[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_')
_CONTROL = re.compile(r"(_x[0-9a-fA-F]{4}_)|([\x00-\x08\x0b-\x1f])")


def _text(s: str) -> str:
    """Cell text as XML data, with Excel's _xHHHH_ escapes for control characters (as xlsxwriter
    writes them) and % doubled for the template."""
    if not _NEEDS_ESCAPE.search(s):
        return s
    s = _CONTROL.sub(lambda m: "_x005F" + m.group(1) if m.group(1) else f"_x{ord(m.group(2)):04X}_", s)
    s = s.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("%", "%%")


def _string(at: str, style: str, s: str) -> str:
    t = _text(s)
    space = ' xml:space="preserve"' if s[0].isspace() or s[-1].isspace() else ""
    return f'{at}{style} t="inlineStr"><is><t{space}>{t}</t></is></c>'


_ERRORS = frozenset(("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"))


def _formula(at: str, style: str, f: F) -> str:
    text = f.text[1:] if f.text.startswith("=") else f.text
    text = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("%", "%%")
            .replace("\x01", "%(").replace("\x02", ")d"))
    v, t = "" if f.value is None else f.value, ""
    if isinstance(v, bool):
        t, v = ' t="b"', int(v)
    elif isinstance(v, str):
        t = "" if v == "" else ' t="e"' if v in _ERRORS else ' t="str"'
        v = _text(v)
    return f"{at}{style}{t}><f>{text}</f><v>{v}</v></c>"


def _cell(at: str, style: str, kind: str, v) -> str | None:
    """One cell's XML, or None for an empty one: the same typing as sheetstyle.put. at: its opening,
    '<c r="B%(0)d"' or (a block without row numbers) '<c'."""
    t = type(v)
    if t is str:
        if not v:
            return None
        if kind in ("date", "datetime") and (serial := date_serial(v)) is not None:
            return f'{at}{style}><v>{serial:.16G}</v></c>'
        return _string(at, style, v)
    if t is F:
        return _formula(at, style, v)
    if v is None:
        return None
    if t is bool or kind == "yesno" and t is int:
        return _string(at, style, "是" if v else "否")
    if t is int or t is float:
        return f'{at}{style}><v>{v:.16G}</v></c>'
    if kind in ("date", "datetime") and (serial := date_serial(v)) is not None:
        return f'{at}{style}><v>{serial:.16G}</v></c>'
    return _string(at, style, str(v))


HEIGHT = "_height"  # a row's key for its height in points (a row of wrapped text)
_WIDTHS: dict[str, int] = {}


def _width(v) -> int:
    """The width a value needs (sheetstyle.Widths.see), remembered: names and codes repeat on every row."""
    if type(v) is not str:
        return len(f"{v}") + 2
    w = _WIDTHS.get(v)
    if w is None:
        if len(_WIDTHS) > 200_000:
            _WIDTHS.clear()
        w = _WIDTHS[v] = (len(v) if v.isascii() and v.isprintable() else display_width(v)) + 2
    return w


def render(rows: list[dict], layout: list[tuple[str, int, str, str, str]], measure: bool = True,
           numbered: bool = True) -> tuple[str, list[int]]:
    """A block's XML template (row k numbered %(k)d) and the widths its values need per column ([] if
    not measure: only the first rows of a sheet set its widths). layout: (key, column, kind,
    ' s="xf"' or '', column letter) in column order, columns 0, 1, 2…

    numbered False (a sheet without formulas): rows and cells carry no r="…" at all, which the
    format allows (each row follows the one before, each cell the one before it; a skipped empty
    cell is an empty <c/>), so the block's XML is the same wherever it stands and a block that
    moved is reused as it was deflated."""
    out, widths = [], [0] * (max((c for _, c, *_ in layout), default=-1) + 1)
    append = out.append
    for k, values in enumerate(rows):
        rk = f"%({k})d"
        get = values.get
        height = get(HEIGHT)  # as Worksheet.set_row(r, height) writes it
        r = f' r="{rk}"' if numbered else ""
        append(f'<row{r} ht="{height:.16g}" customHeight="1">' if height else f'<row{r}>')
        nxt = 0  # (numbered False) the column the next cell would take
        for key, col, kind, style, letter in layout:
            v = get(key)
            if v is None or v == "":
                continue
            at = f'<c r="{letter}{rk}"' if numbered else "<c/>" * (col - nxt) + "<c"
            if type(v) is str and kind == "text":  # most cells: plain text
                t = _text(v) if _NEEDS_ESCAPE.search(v) else v
                space = ' xml:space="preserve"' if v[0].isspace() or v[-1].isspace() else ""
                append(f'{at}{style} t="inlineStr"><is><t{space}>{t}</t></is></c>')
            else:
                cell = _cell(at, style, kind, v)
                if cell is None:
                    continue
                append(cell)
                v = v.value if type(v) is F else v
            nxt = col + 1
            if measure and (n := _width(v)) > widths[col]:
                widths[col] = n
        append("</row>")
    return "".join(out), widths if measure else []


# -- deflate segments --------------------------------------------------------------------------------

def deflate(data: bytes) -> tuple[bytes, int, int]:
    """(raw deflate bytes ending on a sync flush, crc32, length): segments that concatenate."""
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH), zlib.crc32(data), len(data)


def crc_combine(crc_a: int, crc_b: int, len_b: int) -> int:
    """crc32(A + B) from crc32(A), crc32(B) and len(B): the CRC is affine, so shifting crc_a over
    len_b zero bytes and adding crc_b (minus the zeros' own CRC) gives it. C speed, no data needed."""
    shifted, zeros = crc_a, 0
    while len_b > 0:
        chunk = memoryview(_ZEROS)[:min(len_b, len(_ZEROS))]
        shifted, zeros = zlib.crc32(chunk, shifted), zlib.crc32(chunk, zeros)
        len_b -= len(chunk)
    return shifted ^ zeros ^ crc_b


# -- the cache ---------------------------------------------------------------------------------------

def _placed(template: str, at: int, n: int) -> str:
    """A block's XML with its k-th row on row at + k."""
    return template % {str(k): at + k for k in range(n)}


_SCHEMA = """CREATE TABLE IF NOT EXISTS blocks (key TEXT PRIMARY KEY, n INTEGER NOT NULL, widths TEXT NOT NULL,
  template BLOB NOT NULL, at INTEGER, seg BLOB, crc INTEGER, size INTEGER)"""


class BlockCache:
    """Blocks by key. path None: a throw-away cache in memory (a build without one)."""

    def __init__(self, path: Path | None):
        self.path, self.used, self.known = path, set(), {}
        try:
            self.conn = self._open(path)
            self.known = {k: (n, w) for k, n, w in self.conn.execute("SELECT key, n, widths FROM blocks")}
        except sqlite3.OperationalError:  # another build holds it (xlflow master beside a watch): none
            self.conn = self._open(None)
        except sqlite3.Error:  # unreadable (a torn or foreign file): it is only a cache, start again
            for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                p.unlink(missing_ok=True)
            self.conn = self._open(path)
            self.known = {}

    @staticmethod
    def _open(path: Path | None) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path) if path else ":memory:", timeout=2, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        conn.execute("PRAGMA synchronous=OFF")  # a torn cache is detected and rebuilt, never trusted
        conn.execute(_SCHEMA)
        conn.execute("PRAGMA quick_check(1)").fetchone()
        conn.execute("BEGIN IMMEDIATE")  # one build writes the cache at a time
        return conn

    def entry(self, key: str) -> tuple[int, list[int]] | None:
        row = self.known.get(key)
        if row is None:
            return None
        self.used.add(key)
        return row[0], json.loads(row[1])

    def add(self, key: str, n: int, widths: list[int], template: str, at: int) -> None:
        """A new block, deflated at its first place (1-based row `at`) at once."""
        seg, crc, size = deflate(_placed(template, at, n).encode("utf-8"))
        self.conn.execute("INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          (key, n, json.dumps(widths), zlib.compress(template.encode("utf-8"), 1), at, seg, crc, size))
        self.used.add(key)

    def segment(self, key: str, at: int, n: int) -> tuple[bytes, int, int]:
        """The block deflated with its first row at `at` (1-based): stored, or made from the template."""
        seg, crc, size, was, template = self.conn.execute(
            "SELECT seg, crc, size, at, template FROM blocks WHERE key = ?", (key,)).fetchone()
        if was == at and seg is not None:
            return seg, crc, size
        seg, crc, size = deflate(_placed(zlib.decompress(template).decode("utf-8"), at, n).encode("utf-8"))
        self.conn.execute("UPDATE blocks SET at = ?, seg = ?, crc = ?, size = ? WHERE key = ?",
                          (at, seg, crc, size, key))
        return seg, crc, size

    def segments(self, blocks: list[tuple[str, int, int]], batch: int = 500):
        """segment() of each (key, at, n) in order, the stored ones read a batch at a time (one query
        per block was a third of the splice at 5,000 branches)."""
        for i in range(0, len(blocks), batch):
            chunk = blocks[i:i + batch]
            keys = list({key for key, _, _ in chunk})
            stored = {key: (seg, crc, size, was) for key, seg, crc, size, was in self.conn.execute(
                f"SELECT key, seg, crc, size, at FROM blocks WHERE key IN ({','.join('?' * len(keys))})", keys)}
            for key, at, n in chunk:
                seg, crc, size, was = stored[key]
                yield (seg, crc, size) if was == at and seg is not None else self.segment(key, at, n)

    def abort(self) -> None:
        self.conn.close()  # uncommitted: the cache stays as it was

    def close(self) -> None:
        """Forget the blocks this build did not use (the cache stays the size of one master)."""
        try:
            self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS kept (key TEXT PRIMARY KEY)")
            self.conn.executemany("INSERT OR IGNORE INTO kept VALUES (?)", ((k,) for k in self.used))
            self.conn.execute("DELETE FROM blocks WHERE key NOT IN (SELECT key FROM kept)")
            self.conn.execute("COMMIT")
        finally:
            self.conn.close()


_CODE = code_fingerprint(sys.modules[__name__], sheetstyle)


# -- block sheets ------------------------------------------------------------------------------------

class BlockSheet:
    """A Table whose data rows come in blocks (one per branch) through the cache. Title, header,
    widths, filter and print setup stay the Table's (xlsxwriter); the rows are spliced in later."""

    def __init__(self, table: Table, cache: BlockCache, parts: dict[str, list], signature: str = "",
                 numbered: bool = True):
        """numbered False: a sheet without formulas, whose blocks carry no row numbers (see render)."""
        self.t, self.cache, self.parts, self.numbered = table, cache, parts, numbered
        self._layout(signature)

    def _layout(self, signature: str) -> None:
        t = self.t
        self.layout = [(key, col, kind, "" if fmt is None else f' s="{fmt._get_xf_index()}"',
                        t.cols.letter(key)) for key, (col, kind, fmt) in t.slots.items()]
        self.layout.sort(key=lambda x: x[1])
        self.sig = f"{_CODE}|{self.layout!r}|{self.numbered}|{signature}|"
        self.blocks = self.parts.setdefault(_part(t.ws), [])

    @property
    def r(self) -> int:
        """0-based row the next block starts on."""
        return self.t.r

    def add(self, material, rows: Callable[[], list[dict]], n: int | None = None) -> None:
        """One block: `material` (repr-able) is everything its rows show, `rows()` makes them (called
        only when the cache does not hold the block); n, when known, lets a full sheet spill first."""
        key = hashlib.sha1((self.sig + repr(material)).encode("utf-8")).hexdigest()
        got = self.cache.entry(key)
        template, t = None, self.t
        if got is None:
            made = rows()
            template, widths = render(made, self.layout, t.r < FIRST + t.widths.sample, self.numbered)
            got = len(made), widths
        count, widths = got
        if t.spill and t.r + count > K.EXCEL_MAX_ROWS:
            t.next_part()  # the same columns and formats: only the part the blocks go to changes
            self.blocks = self.parts.setdefault(_part(t.ws), [])
        if count and not widths and t.r < FIRST + t.widths.sample:  # now among the rows widths come from
            template, widths = render(rows(), self.layout, True, self.numbered)
        at = t.r + 1 if self.numbered else 0  # (a block without row numbers is the same anywhere)
        if template is not None:
            self.cache.add(key, count, widths, template, at)
        if t.r < FIRST + t.widths.sample:
            w = t.widths.w
            for c, x in enumerate(widths):
                if x > w[c]:
                    w[c] = x
        if count:
            self.blocks.append((key, at, count))
        t.r += count

    def close(self) -> None:
        self.t.close()


def _part(ws) -> str:
    return f"xl/worksheets/sheet{ws.index + 1}.xml"


def splice(path: Path, parts: dict[str, list], cache: BlockCache) -> None:
    """Rewrite the xlsx at path with every block sheet's blocks placed before its </sheetData>."""
    tmp = path.with_name(path.name + ".splice")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            blocks = parts.get(info.filename)
            if not blocks:
                out.writestr(info, data)
                continue
            head, sep, tail = data.partition(b"</sheetData>")
            if not sep:
                raise ValueError(f"no </sheetData> in {info.filename}")
            # a stream: a sheet's segments are never all held
            segments = itertools.chain((deflate(head),), cache.segments(blocks), (deflate(sep + tail),))
            _write_raw(out, info, segments)
    tmp.replace(path)


def _write_raw(zf: zipfile.ZipFile, like: zipfile.ZipInfo, segments) -> None:
    """One deflated member from ready segments. zipfile has no public way to store data already
    compressed, so the local header is written, the segments after it, and the header rewritten
    with the sizes and CRC (what zipfile itself does when it closes a member on a seekable file)."""
    zi = zipfile.ZipInfo(like.filename, like.date_time)
    zi.compress_type, zi.external_attr, zi.create_system = zipfile.ZIP_DEFLATED, like.external_attr, like.create_system
    zi.file_size = zi.compress_size = zi.CRC = 0
    fp = zf.fp
    zi.header_offset = fp.tell()
    fp.write(zi.FileHeader(False))
    crc, size, csize = 0, 0, 0
    for seg, seg_crc, seg_size in segments:
        fp.write(seg)
        crc, size, csize = crc_combine(crc, seg_crc, seg_size), size + seg_size, csize + len(seg)
    fp.write(_FINAL)
    zi.CRC, zi.file_size, zi.compress_size = crc, size, csize + len(_FINAL)
    if size >= zipfile.ZIP64_LIMIT or csize >= zipfile.ZIP64_LIMIT:
        raise ValueError(f"{like.filename}: a sheet part over 4 GB")
    end = fp.tell()
    fp.seek(zi.header_offset)
    fp.write(zi.FileHeader(False))
    fp.seek(end)
    zf.start_dir = end
    zf.filelist.append(zi)
    zf.NameToInfo[zi.filename] = zi
    zf._didModify = True
