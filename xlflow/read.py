"""stage: a safe .xlsx (after intake) → RawReturn: identity, the 基本信息 fields and the raw rows
of every table sheet, each value with its Excel row, plus findings about the structure.

Values are read with python-calamine (about 12× faster than openpyxl); the few XML parts it does
not expose (identity properties, the 1904 flag, when the file was last saved) are read with
defusedxml. Sheets and columns are found by their names, never by position, so a branch that
moved, renamed, hid a sheet or added a column is still read, or told precisely what is missing.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from operator import itemgetter
from dataclasses import dataclass, field
from pathlib import Path

import python_calamine
from defusedxml import ElementTree as SafeET
from xlsxwriter.utility import xl_col_to_name

from xlflow import constants as K
from xlflow.messages import Code, Finding, finding
from xlflow.normalize import clean_text

HEADER_SCAN_ROWS = 10  # a header is looked for in the first rows of a sheet
EXCEL_CELL_CHARS = 32_767  # Excel keeps no more in a cell: more (written by other tools) is cut in the master


@dataclass
class RawTable:
    key: str
    sheet: str
    columns: dict[str, int]  # column key -> 0-based column index in the sheet
    rows: list[tuple[int, dict[str, object]]] = field(default_factory=list)  # (Excel row, key -> raw)

    def cell(self, key: str, row: int) -> str:
        return f"{xl_col_to_name(self.columns[key])}{row}"


@dataclass
class RawReturn:
    path: Path
    identity: dict[str, str]
    date1904: bool = False
    saved_at: dt.datetime | None = None
    basic: dict[str, tuple[int, object]] = field(default_factory=dict)  # key -> (Excel row, raw)
    tables: dict[str, RawTable] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    basic_cells: dict[str, str] = field(default_factory=dict)  # key -> "B7"


def _xml(z, name: str):
    try:
        return SafeET.fromstring(z.read(name))
    except KeyError:
        return None


class _Kept:
    """The zip's parts as intake.inspect kept them (name → content, or None when not kept),
    opening the zip only for a part it did not keep."""

    def __init__(self, path: Path, kept: dict[str, bytes | None]):
        self.path, self.kept, self.zip = path, kept, None

    def read(self, name: str) -> bytes:
        data = self.kept[name]  # KeyError: no such part
        if data is None:
            if self.zip is None:
                self.zip = zipfile.ZipFile(self.path)
            data = self.zip.read(name)
        return data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.zip is not None:
            self.zip.close()


def _parts(path: Path, kept: dict[str, bytes | None] | None = None) -> tuple[dict[str, str], bool, dt.datetime | None]:
    """Custom properties (identity fallback), the 1904 flag and the last-saved time."""
    props, date1904, saved = {}, False, None
    with (_Kept(path, kept) if kept else zipfile.ZipFile(path)) as z:
        custom = _xml(z, "docProps/custom.xml")
        if custom is not None:
            for prop in custom:
                name = prop.get("name", "")
                if name.startswith("xlflow_") and len(prop):
                    props[name[len("xlflow_"):]] = prop[0].text or ""
        book = _xml(z, "xl/workbook.xml")
        if book is not None:
            for el in book:
                if el.tag.endswith("workbookPr"):
                    date1904 = el.get("date1904", "0").lower() in ("1", "true")
        core = _xml(z, "docProps/core.xml")
        if core is not None:
            for el in core:
                if el.tag.endswith("}modified") and el.text:
                    try:
                        saved = dt.datetime.fromisoformat(el.text.strip().replace("Z", "+00:00"))
                    except ValueError:
                        pass
    return props, date1904, saved


def _rows(wb, name: str) -> tuple[int, list[list]]:
    """The sheet's used range as lists, and the Excel row number of its first row."""
    sheet = wb.get_sheet_by_name(name)
    return sheet.start[0] + 1 if sheet.start else 1, sheet.to_python(skip_empty_area=True)


def _header(rows: list[list], first_row: int, columns: dict[str, str]):
    """Find the header row by names: (Excel row, key -> column index, extra headers) or None."""
    wanted = {v: k for k, v in columns.items()}
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        texts = [clean_text(v) for v in row]
        found = {wanted[t]: c for c, t in enumerate(texts) if t in wanted}
        if len(found) * 2 >= len(columns):
            extra = {c: t for c, t in enumerate(texts) if t and t not in wanted}
            return first_row + i, found, extra
    return None


def read_workbook(path: Path | str, kept: dict[str, bytes | None] | None = None) -> RawReturn:
    """`kept`: what intake.inspect kept of the file's parts, if it was asked to (saves opening
    the zip again)."""
    path = Path(path)
    props, date1904, saved = _parts(path, kept)
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        names = list(wb.sheet_names)
        identity = props
        if K.SHEET_IDENTITY in names:
            _, rows = _rows(wb, K.SHEET_IDENTITY)
            identity = {**props, **{str(r[0]): str(r[1]) for r in rows if len(r) >= 2 and r[0]}}
        raw = RawReturn(path, identity, date1904, saved)
        used = {K.SHEET_IDENTITY, K.SHEET_LISTS, K.SHEET_GUIDE, K.REVIEW_SHEET_GUIDE}
        # A review workbook (初验/复验) has its own tables and no 基本信息 form; its identity says so.
        review = K.REVIEW_LAYOUTS.get(identity.get("kind", ""))
        for key, (sheet, columns) in (review or K.TABLES).items():
            _read_table(wb, names, used, raw, key, sheet, columns)
        if review is None:
            _read_basic(wb, names, raw)
    finally:
        wb.close()
    return raw


def _find_sheet(wb, names, used, sheet, columns):
    """The sheet by its name, else (renamed by the branch) the first unused one with its headers."""
    if sheet in names:
        start, rows = _rows(wb, sheet)
        return sheet, start, rows, _header(rows, start, columns)
    for other in names:
        if other in used or other in K.SHEET_IDENTITY:
            continue
        start, rows = _rows(wb, other)
        head = _header(rows, start, columns)
        if head:
            return other, start, rows, head
    return None


def _read_table(wb, names, used, raw: RawReturn, key, sheet, columns) -> None:
    found = _find_sheet(wb, names, used, sheet, columns)
    file = raw.path.name
    if not found:
        raw.findings.append(finding(Code.V220, file=file, sheet=sheet))
        return
    actual, start, rows, head = found
    used.add(actual)
    if actual != sheet:
        raw.findings.append(finding(Code.V222, file=file, sheet=actual, expected=sheet))
    if head is None:
        raw.findings.append(finding(Code.V221, file=file, sheet=actual, column="、".join(columns.values())))
        return
    header_row, cols, extra = head
    for k, label in columns.items():
        if k not in cols:
            raw.findings.append(finding(Code.V221, file=file, sheet=actual, column=label))
    table = RawTable(key, actual, cols)
    # Most rows of a returned sheet are the template's blank ones (序号 pre-filled): find the rows
    # with an input cell filled in C where every row is wide enough (itemgetter, tuple compare and
    # count), and build a dict only for the rows kept.
    inputs = [c for k, c in cols.items() if k != "seq"]
    body, first = rows[header_row - start + 1:], header_row + 1
    if inputs and body and min(map(len, body)) > max(cols.values()):
        pick = itemgetter(*inputs, inputs[0])  # always a tuple, even for one input column
        blank = ("",) * (len(inputs) + 1)
        keys, every = list(cols), itemgetter(*cols.values(), inputs[0])  # zip drops the extra one
        table.rows.extend((first + j, dict(zip(keys, every(body[j])))) for j, got in enumerate(map(pick, body))
                          if got != blank and got.count(None) + got.count("") != len(got))
    else:
        for j, row in enumerate(body):
            if any(row[c] not in (None, "") for c in inputs if c < len(row)):
                table.rows.append((first + j, {k: (row[c] if c < len(row) else None) for k, c in cols.items()}))
    for c, text in extra.items():
        if any(c < len(r) and r[c] not in (None, "") for r in rows[header_row - start + 1:]):
            raw.findings.append(finding(Code.V223, file=file, sheet=actual, cell=f"{xl_col_to_name(c)}{header_row}",
                                        value=text))
    raw.tables[key] = table
    for row, values in table.rows:
        for k, v in values.items():
            if type(v) is str and len(v) > EXCEL_CELL_CHARS:
                raw.findings.append(_too_long(file, actual, table.cell(k, row), v))


def _read_basic(wb, names, raw: RawReturn) -> None:
    if K.SHEET_BASIC not in names:
        raw.findings.append(finding(Code.V220, file=raw.path.name, sheet=K.SHEET_BASIC))
        return
    start, rows = _rows(wb, K.SHEET_BASIC)
    labels = {**{v: k for k, v in K.BASIC_IDENTITY_FIELDS.items()}, **{v: k for k, v in K.BASIC_FIELDS.items()}}
    for i, row in enumerate(rows, start=start):
        for c, v in enumerate(row[:-1]):
            key = labels.get(clean_text(v) or "")
            if key and key not in raw.basic:
                raw.basic[key] = (i, row[c + 1])
                raw.basic_cells[key] = f"{xl_col_to_name(c + 1)}{i}"
                break
    for key, (_, v) in raw.basic.items():
        if type(v) is str and len(v) > EXCEL_CELL_CHARS:
            raw.findings.append(_too_long(raw.path.name, K.SHEET_BASIC, raw.basic_cells[key], v))
    for key, label in K.BASIC_FIELDS.items():
        if key not in raw.basic:
            raw.findings.append(finding(Code.V224, file=raw.path.name, sheet=K.SHEET_BASIC, field=label))


def _too_long(file: str, sheet: str, cell: str, text: str) -> Finding:
    return finding(Code.V225, file=file, sheet=sheet, cell=cell, value=text[:20] + "…", length=f"{len(text):,}",
                   limit=f"{EXCEL_CELL_CHARS:,}")
