"""The look of every workbook xlflow writes (xlsxwriter): page setup, shared cell formats, dropdowns
and column widths measured from the content, defined once.

Formats are plain dicts here; `Formats(wb)` turns them into one xlsxwriter format each, on first use,
so a workbook holds only the formats it uses.
"""

from __future__ import annotations

import wcwidth

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
