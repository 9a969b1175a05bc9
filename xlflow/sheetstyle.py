"""How xlflow writes sheets (xlsxwriter), defined once for every workbook: page setup, shared cell
formats, dropdowns, column widths measured from the content, and table sheets whose columns are
addressed by name (`Columns`), so that formulas never hold a fixed column letter.

Formats are plain dicts here; `Formats(wb)` turns them into one xlsxwriter format each, on first use,
so a workbook holds only the formats it uses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import wcwidth
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from xlflow import constants as K

FIRST = 2  # 0-based first data row of a table sheet (row 1 title, row 2 header)

A4 = 9  # xlsxwriter's paper code
FOOTER = "&C第 &P 页，共 &N 页"

# name -> xlsxwriter format properties
FORMATS: dict[str, dict] = {
    "title": {"bold": True, "font_size": 14, "font_name": "黑体"},
    "head": {"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True, "valign": "vcenter"},
    "wrap": {"text_wrap": True, "valign": "top"},
    "num": {"num_format": "0.00"},
    "pct": {"num_format": "0.0%"},
    "date": {"num_format": "yyyy-mm-dd", "align": "center"},
    "datetime": {"num_format": "yyyy-mm-dd hh:mm:ss", "align": "center"},
    "yesno": {"align": "center"},
    "top": {"valign": "top"},
    # traffic-light fills for conditional formats (Excel's own "light red/green/yellow" presets)
    "bad": {"bg_color": "#FFC7CE", "font_color": "#9C0006"},
    "good": {"bg_color": "#C6EFCE", "font_color": "#006100"},
    "warn": {"bg_color": "#FFEB9C", "font_color": "#9C5700"},
    "note": {"text_wrap": True, "valign": "top", "font_color": "#1F3864", "border": 1, "bg_color": "#F2F2F2"},
}


class Formats:
    """fmt = Formats(wb); fmt.head → the workbook's format for FORMATS["head"], made once."""

    def __init__(self, wb):
        self._wb, self._made = wb, {}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    def get(self, *names: str):
        """One format with the properties of all the named ones (later names win); None for none."""
        names = tuple(n for n in names if n)
        if not names:
            return None
        made = self._made.get(names)
        if made is None:
            made = self._made[names] = self._wb.add_format({k: v for n in names for k, v in FORMATS[n].items()})
        return made


def page_setup(ws, *, landscape: bool = True, tall: int = 0, repeat_rows: int | None = None,
               margins: tuple[float, float, float, float] | None = None) -> None:
    """A4, one page wide (and `tall` pages high, 0: as many as needed), the header rows repeated on
    every printed page, page numbers in the footer. margins: left, right, top, bottom (inches)."""
    ws.set_paper(A4)
    if landscape:
        ws.set_landscape()
    ws.fit_to_pages(1, tall)
    if margins is not None:
        left, right, top, bottom = margins
        ws.set_margins(left=left, right=right, top=top, bottom=bottom)
    if repeat_rows is not None:
        ws.repeat_rows(repeat_rows)
    ws.set_footer(FOOTER)


def dropdown(ws, first_row: int, col: int, last_row: int, source: str, label: str, values,
             message: str = "请从下拉列表中选择。") -> None:
    """A list dropdown over rows first_row..last_row of one column; source is a defined name or a
    range (without '='). The error names the allowed values, as a clerk needs them."""
    ws.data_validation(first_row, col, last_row, col, {
        "validate": "list", "source": f"={source}",
        "input_title": label[:32], "input_message": message,
        "error_title": "请从列表中选择", "error_message": f"只能选择：{'、'.join(values)}"[:255],
    })


def display_width(text: str) -> int:
    """Columns a text takes on screen: CJK and full-width characters count two (the longest line)."""
    return max((max(0, wcwidth.wcswidth(line)) if line.isprintable() else
                sum(max(0, wcwidth.wcwidth(c)) for c in line) for line in text.split("\n")), default=0)


def wrapped_lines(text: str, width: float) -> int:
    """Lines text wraps to in a column `width` characters wide: neither Excel nor WPS grows a row
    for wrapped text in a file they did not lay out, so row heights are set from this."""
    per = max(1, int(width) - 1)
    return sum(max(1, -(-display_width(line) // per)) for line in text.split("\n"))


class Widths:
    """Column widths from the content: the widest value seen in each column (header included),
    within [low, high]. Only the first `sample` rows are measured: at 10,000 branches a sheet has
    hundreds of thousands of rows, and a column's width is settled long before."""

    def __init__(self, heads: list[str], low: float = 6, high: float = 50, sample: int = 2000):
        # a header wraps onto two lines (the header format wraps), so a long one needs half its width
        self.w = [(w if w <= 10 else max(10, -(-w // 2))) + 2 for w in map(display_width, heads)]
        self.low, self.high, self.sample = low, high, sample
        self.fixed: dict[int, float] = {}

    def see(self, col: int, value) -> None:
        if value is None:
            return
        n = display_width(value) if isinstance(value, str) else len(f"{value}")
        if n + 2 > self.w[col]:
            self.w[col] = n + 2

    def see_all(self, col: int, values) -> None:
        for v in values:
            self.see(col, v)

    def fix(self, col: int, width: float) -> None:
        self.fixed[col] = width

    def apply(self, ws) -> None:
        for c, w in enumerate(self.w):
            ws.set_column(c, c, self.fixed.get(c, min(self.high, max(self.low, w))))


# -- columns by name -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Col:
    key: str
    head: str
    kind: str = "text"  # text, num (0.00), pct, date, datetime, yesno (是/否 from 1/0)
    width: float | None = None  # None: from the content


class Columns:
    """A sheet's columns by key. Formulas ask for a column's letter here, so inserting a column
    definition moves every reference to the columns after it."""

    def __init__(self, cols):
        self.cols = tuple(cols)
        self.index = {c.key: i for i, c in enumerate(self.cols)}
        if len(self.index) != len(self.cols):
            raise ValueError(f"duplicate column keys: {[c.key for c in self.cols]}")
        self.letters = {k: xl_col_to_name(i) for k, i in self.index.items()}

    def __getitem__(self, key: str) -> int:
        return self.index[key]

    def __len__(self) -> int:
        return len(self.cols)

    @property
    def heads(self) -> list[str]:
        return [c.head for c in self.cols]

    def letter(self, key: str) -> str:
        return self.letters[key]

    def span(self, key: str, first: int, last: int, sheet: str = "", absolute: bool = False) -> str:
        """A range of one column, rows 1-based, e.g. '指标明细'!O3:O46 or $O$3:$O$46."""
        a = "$" if absolute else ""
        col = self.letters[key]
        where = f"'{sheet}'!" if sheet else ""
        return f"{where}{a}{col}{a}{first}:{a}{col}{a}{last}"

    def row_formula(self, text: str, **refs: str) -> str:
        """A formula over one row: {key} becomes that column in the row, other {names} come from
        refs; the result is a template for .format(r=<1-based row>)."""
        return text.format(**{k: f"{v}{{r}}" for k, v in self.letters.items()}, **refs)


# -- writing cells and table sheets -----------------------------------------------------------------------------------

class ClassicSheet(Worksheet):
    """Our formulas use classic functions only (DESIGN.md), so xlsxwriter's ~30 regex passes per
    formula that add _xlfn. prefixes to newer functions are pure cost: at 10,000 branches they
    were a third of the build. Only the leading '=' is stripped."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        return formula[1:] if formula.startswith("=") else formula


@dataclass(frozen=True)
class F:
    """A formula cell: its text and the value xlflow computed for it."""
    text: str
    value: object


_EPOCH = dt.date(1899, 12, 30)  # Excel's 1900 date system, for dates after 1900-03-01


def date_serial(v) -> float | None:
    """An Excel date serial from the ledger's ISO text (or a date); None if it is not a date."""
    try:
        if isinstance(v, str):
            d = dt.datetime.fromisoformat(v) if len(v) > 10 else dt.date.fromisoformat(v)
        else:
            d = v
        if isinstance(d, dt.datetime):
            return (d.date() - _EPOCH).days + (d - d.replace(hour=0, minute=0, second=0, microsecond=0)).seconds / 86400
        return float((d - _EPOCH).days)
    except (TypeError, ValueError):
        return None


class Table:
    """One table sheet: title, header, then rows of {key: value} in order; widths from the content,
    a filter over the header, and print setup. A sheet that fills up continues on the next one
    (`spill`), named 表名(2), 表名(3)…"""

    def __init__(self, wb, fmt: Formats, name: str, title: str, cols: Columns, spill: bool = False,
                 top: bool = False, seen: dict[str, str] | None = None):
        """top: every cell aligned to the top (a sheet with wrapped, multi-line cells); seen: column key
        -> a text its width must hold (measured once elsewhere, e.g. the widest branch name)."""
        self.wb, self.fmt, self.name, self.title, self.cols, self.spill = wb, fmt, name, title, cols, spill
        self.seen = seen or {}
        # key -> (column, kind, format): looked up once per cell
        self.slots = {c.key: (i, c.kind, fmt.get(c.kind if c.kind != "text" else "", "top" if top else ""))
                      for i, c in enumerate(cols.cols)}
        self.part = 1
        self._open(name, title)

    def _open(self, name: str, title: str) -> None:
        cols = self.cols
        ws = self.ws = self.wb.add_worksheet(name, worksheet_class=ClassicSheet)
        ws.write_string(0, 0, title, self.fmt.title)
        ws.set_row(1, 30)  # two lines: long headers wrap
        ws.write_row(1, 0, cols.heads, self.fmt.head)
        ws.freeze_panes(FIRST, 0)
        page_setup(ws, repeat_rows=1, margins=(0.4, 0.4, 0.6, 0.6))
        self.widths = Widths(cols.heads)
        for c, col in enumerate(cols.cols):
            if col.width is not None:
                self.widths.fix(c, col.width)
            elif col.key in self.seen:
                self.widths.see(c, self.seen[col.key])
        self.r = FIRST

    def row(self, values: dict) -> int:
        """Write one row; returns its 0-based row number."""
        if self.spill and self.r >= K.EXCEL_MAX_ROWS:
            self.next_part()
        ws, r, slots = self.ws, self.r, self.slots
        if r < FIRST + self.widths.sample:
            for key, v in values.items():
                self.widths.see(slots[key][0], v.value if type(v) is F else v)
        for key, v in values.items():
            put(ws, r, *slots[key], v)
        self.r += 1
        return r

    def next_part(self) -> None:
        """Close this sheet and go on in the next one, 表名(2), 表名(3)…"""
        self.close()
        self.part += 1
        self._open(f"{self.name}({self.part})", f"{self.title}（续{self.part - 1}）")

    def close(self) -> None:
        # rows spliced in after xlsxwriter (sheetcache.BlockSheet) count in the sheet's dimension too
        self.ws.dim_rowmax = max(self.ws.dim_rowmax or 0, self.r - 1)
        self.ws.autofilter(1, 0, max(FIRST, self.r - 1), len(self.cols) - 1)
        self.widths.apply(self.ws)

    def first_last(self) -> tuple[int, int]:
        """1-based first and last data rows (last ≥ first, so ranges stay valid when empty)."""
        return FIRST + 1, max(self.r, FIRST + 1)


_DATES = ("date", "datetime")


def put(ws, r: int, c: int, kind: str, fmt, v) -> None:
    """One cell. Text stays text (a branch's '=…' is never a formula), numbers stay numbers, dates
    become date cells and yes/no answers 是/否. xlsxwriter's private writers skip the public ones'
    A1-notation wrapper: 6% of the CPU of the master's build (60 branches, bench/tricks_bench.py)."""
    t = type(v)
    if t is str:
        if not v:
            return
        if kind in _DATES and (serial := date_serial(v)) is not None:
            ws._write_number(r, c, serial, fmt)
        else:
            ws._write_string(r, c, v, fmt)
    elif t is F:
        ws._write_formula(r, c, v.text, fmt, v.value)
    elif v is None:
        return
    elif t is bool or kind == "yesno" and t is int:
        ws._write_string(r, c, "是" if v else "否", fmt)
    elif t is int or t is float:
        ws._write_number(r, c, v, fmt)
    elif kind in _DATES and (serial := date_serial(v)) is not None:
        ws._write_number(r, c, serial, fmt)
    else:
        ws._write_string(r, c, str(v), fmt)


class Grid:
    """A small sheet's cells, collected in any order and written row by row (constant_memory)."""

    def __init__(self):
        self.cells: dict[tuple[int, int], tuple] = {}
        self.heights: dict[int, float] = {}
        self.merges: list[tuple] = []

    def put(self, r: int, c: int, value, fmt=None) -> None:
        self.cells[(r, c)] = (value, fmt)

    def merge(self, r: int, c0: int, c1: int, text: str, fmt, width: float) -> None:
        """Text across columns c0..c1 (width characters in all), wrapped; the row as high as it needs."""
        self.merges.append((r, c0, c1, text, fmt))
        self.heights[r] = max(self.heights.get(r, 15), 15 * wrapped_lines(text, width) + 4)

    def flush(self, ws) -> None:
        merged = {m[0]: m for m in self.merges}
        rows = sorted({r for r, _ in self.cells} | set(merged) | set(self.heights))
        for r in rows:
            if r in self.heights:
                ws.set_row(r, self.heights[r])
            if r in merged:
                _, c0, c1, text, fmt = merged[r]
                ws.merge_range(r, c0, r, c1, text, fmt)
            for (rr, c), (v, fmt) in sorted(i for i in self.cells.items() if i[0][0] == r):
                put(ws, rr, c, "text", fmt, v)
