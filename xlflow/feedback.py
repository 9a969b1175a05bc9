"""stage: a rejected return (the branch's own workbook) + its findings → the annotated copy sent back to the branch (退回说明)

The branch gets back its OWN file, opened and saved with openpyxl (not rebuilt): data
validations, protection, hidden sheets, the very hidden identity sheet and custom properties
stay, so the secretary fixes it in place and submits it again and it is still recognised.
Every cell named by a finding is filled red (error) or orange (warning), also by a conditional
format that outranks the template's input tint, and carries a comment;
a first sheet 退回说明 explains everything and links to each cell. The reader finds data
sheets by name and header, so the extra sheet is harmless when the file comes back; a second
rejection clears the first round's marks and replaces the sheet.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import xlsxwriter
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.comments import Comment
from openpyxl.formatting.formatting import ConditionalFormatting, ConditionalFormattingList
from openpyxl.formatting.rule import Rule
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils.cell import column_index_from_string
from openpyxl.worksheet.hyperlink import Hyperlink

from xlflow.files import atomic_path
from xlflow.messages import Finding, cn_date
from xlflow.settings import Settings
from xlflow.workbook import adopt_column_style, wrapped_lines

FEEDBACK_SHEET = "退回说明"
AUTHOR = "组织部"
ERROR_FILL, WARNING_FILL = "FFFF7C80", "FFFFC000"  # ARGB, as openpyxl reads them back
HEADERS = ("序号", "工作表", "单元格", "问题说明", "类别")
WIDTHS = (6, 14, 9, 66, 7)
HEADER_ROW = 7  # 1-based row of the table header: title, 2 facts, 2 paragraphs, a blank row
FILL_COL = len(HEADERS) + 1  # hidden: each marked cell's original fill, to undo it next round
KIND = {True: "错误", False: "提醒"}
TAGS = {True: "【错误】", False: "【提醒】"}
WHOLE_FILE, NO_CELL = "（整个文件）", "—"
OLD_NOTE = "\n—— 原批注 ——\n"  # separates our text from a comment the branch had written
CONTACT = "如有疑问请联系：{contact}。"
STEPS = ("红色格子是错误，必须修改；橙色格子是提醒，请核对，确实无误的可以不改。鼠标停在格子上可以看到具体说明，"
         "点击下表“单元格”一栏可以直接跳到该格子。改好后直接保存本文件并重新提交：不要另存为其他格式"
         "（仍为 Excel 工作簿 .xlsx），不要删除或改名工作表，不要复制到新表格中填写，本说明页不用删除。")
UNOPENABLE_STEPS = ("这份文件的格式无法在原文件上标注，请对照下表逐项修改原填报表，改好后保存并重新提交"
                    "（仍为 Excel 工作簿 .xlsx 格式），不要删除或改名工作表。")
UNREADABLE_STEPS = ("这份文件无法读取，其中的内容都没有被接收。请按下表说明处理后，重新提交本支部的填报表"
                    "（Excel 工作簿 .xlsx 格式）；如找不到下发的填报表，请向所属党总支索取。")


def _text(value) -> str:
    """Anything shown to a person, as a string an .xlsx can hold (no control characters)."""
    return ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))[:32767]


def _rowcol(cell: str) -> tuple[int, int] | None:
    """(row, column) of an Excel address like F12, or None for anything else."""
    m = re.fullmatch(r"\$?([A-Z]{1,3})\$?([0-9]{1,7})", cell or "")
    if not m:
        return None
    row, col = int(m[2]), column_index_from_string(m[1])
    return (row, col) if 1 <= row <= 1048576 and 1 <= col <= 16384 else None


def _lines(text: str, width: float) -> int:
    return wrapped_lines(text, width, margin=2)


def _sorted(findings: list[Finding], sheet_order: dict[str, int]) -> list[Finding]:
    """Errors first, then by sheet (whole-file findings first), row and column."""
    def key(item):
        i, f = item
        sheet = sheet_order.get(f.sheet, len(sheet_order)) if f.sheet else -1
        return (not f.is_error, sheet, _rowcol(f.cell) or (0, 0), i)
    return [f for _, f in sorted(enumerate(findings), key=key)]


def _layout(title: str, fact: str, findings: list[Finding], steps: str, settings: Settings):
    """The 退回说明 sheet as data, so the openpyxl and xlsxwriter renderers cannot drift apart:
    paragraphs (rows 1..HEADER_ROW-1) and table rows (序号, 工作表, 单元格, 问题说明, 类别)."""
    errors = sum(f.is_error for f in findings)
    counts = f"检查结果：共 {errors} 处错误（红色）、{len(findings) - errors} 处提醒（橙色），详见下表。"
    paragraphs = [title, fact, counts, steps, CONTACT.format(contact=settings.contact), ""]
    rows = [(n, f.sheet or WHOLE_FILE, f.cell or NO_CELL, f.message, KIND[f.is_error])
            for n, f in enumerate(findings, start=1)]
    return [_text(p) for p in paragraphs], [tuple(_text(v) if isinstance(v, str) else v for v in r) for r in rows]


# -- the annotated copy (openpyxl) ---------------------------------------------------------
_THIN = Side(style="thin", color="FF808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="center")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
CENTERED = (1, 3, 5)  # 序号, 单元格, 类别
_BODY = Font(name="宋体", size=11)


def _ours(comment: Comment | None) -> bool:
    # by author, or by our 【错误】/【提醒】 tags: a LibreOffice save drops comment authors
    return comment is not None and (comment.author == AUTHOR or any(t in (comment.text or "") for t in TAGS.values()))


def _fill(argb: str) -> PatternFill:
    return PatternFill("solid", fgColor=argb) if argb else PatternFill(fill_type=None)


def _ours_rule(rule) -> bool:
    fill = rule.dxf.fill if rule.dxf is not None else None
    color = fill.bgColor if fill is not None else None
    return rule.type == "expression" and color is not None and color.type == "rgb" \
        and color.rgb in (ERROR_FILL, WARNING_FILL)


def _drop_our_rules(ws) -> None:
    """Remove the conditional formats an earlier round added (keep the template's own)."""
    kept = ConditionalFormattingList()
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            if not _ours_rule(rule):
                kept.add(ConditionalFormatting(cf.sqref, cf.pivot), rule)
    ws.conditional_formatting = kept


def _on_top(ws, cells: dict[str, list[str]]) -> None:
    """Colour the marked cells by a conditional format that outranks every other one. The template
    tints its input cells with a conditional format, and a conditional format shows over a cell's
    own fill in Excel, WPS and LibreOffice alike: a red fill alone would not show there."""
    ours = ConditionalFormattingList()  # first in the file too: LibreOffice goes by the order
    for priority, (color, refs) in enumerate(sorted(cells.items()), start=1):
        style = DifferentialStyle(fill=PatternFill(bgColor=color))
        ours.add(" ".join(refs), Rule("expression", dxf=style, formula=["TRUE"], stopIfTrue=True, priority=priority))
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            rule.priority = (rule.priority or 0) + len(cells)
            ours.add(ConditionalFormatting(cf.sqref, cf.pivot), rule)
    ws.conditional_formatting = ours


def _original_fill(cell) -> str:
    f = cell.fill
    return f.fgColor.rgb if f.fill_type == "solid" and f.fgColor.type == "rgb" else ""


def _target(wb, sheet: str, cell: str):
    """The openpyxl cell a finding names (the anchor of a merged range), or None."""
    rc = _rowcol(cell)
    if not rc or sheet not in wb.sheetnames or sheet == FEEDBACK_SHEET:
        return None
    ws = wb[sheet]
    target = ws.cell(*rc)
    if isinstance(target, MergedCell):  # comments and fills belong on a merged range's anchor
        rng = next(r for r in ws.merged_cells.ranges if target.coordinate in r)
        target = ws.cell(rng.min_row, rng.min_col)
    adopt_column_style(ws, target)  # a blank input cell must stay unlocked once we colour it
    return target


def _clear_previous(wb) -> None:
    """Undo an earlier round: restore the fills it recorded, drop its comments, drop its sheet.
    Otherwise cells fixed since would stay red and the old advice would still show."""
    if FEEDBACK_SHEET in wb.sheetnames:
        old = wb[FEEDBACK_SHEET]
        for row in old.iter_rows(min_row=HEADER_ROW + 1, max_col=FILL_COL, values_only=True):
            cell = _target(wb, str(row[1] or ""), str(row[2] or ""))
            if cell is not None and _original_fill(cell) in (ERROR_FILL, WARNING_FILL):
                cell.fill = _fill(str(row[FILL_COL - 1] or ""))
        wb.remove(old)
    for ws in wb.worksheets:
        _drop_our_rules(ws)
        for cell in list(ws._cells.values()):  # existing cells only; iter_rows would create empty ones
            if _ours(cell.comment):
                text = cell.comment.text
                cell.comment = Comment(text.split(OLD_NOTE, 1)[1], "") if OLD_NOTE in text else None


def _mark(wb, findings: list[Finding]) -> dict[tuple[str, str], str]:
    """Fill and comment every named cell; returns (sheet, cell) -> the fill it had before."""
    by_cell: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        by_cell.setdefault((f.sheet, f.cell), []).append(f)
    before, on_top = {}, {}
    for (sheet, ref), group in by_cell.items():
        cell = _target(wb, sheet, ref)
        if cell is None:  # whole-file or sheet-level: listed on the 退回说明 sheet only
            continue
        before[(sheet, ref)] = _original_fill(cell)
        group.sort(key=lambda f: not f.is_error)
        text = "\n".join(TAGS[f.is_error] + _text(f.message) for f in group)
        if cell.comment is not None:  # keep what the branch wrote there, below ours
            text += OLD_NOTE + _text(cell.comment.text)
        color = ERROR_FILL if group[0].is_error else WARNING_FILL
        cell.fill = _fill(color)
        on_top.setdefault(sheet, {}).setdefault(color, []).append(cell.coordinate)
        # Comment boxes default to 144×79 px, too small for Chinese sentences: ~20 characters a line.
        cell.comment = Comment(text, AUTHOR, height=24 + 18 * _lines(text, 42), width=320)
    for sheet, cells in on_top.items():
        _on_top(wb[sheet], cells)
    return before


def _put(ws, row: int, col: int, value, **style) -> None:
    cell = ws.cell(row, col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # findings quote what branches typed: '=…' stays text, never a formula
    for name, v in style.items():
        setattr(cell, name, v)


def _feedback_sheet(wb, paragraphs, rows, ordered: list[Finding], before: dict) -> None:
    ws = wb.create_sheet(FEEDBACK_SHEET, 0)
    last = len(HEADERS)
    for i, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[chr(64 + i)].width = width
    ws.column_dimensions[chr(64 + FILL_COL)].hidden = True
    for r, text in enumerate(paragraphs, start=1):
        title = r == 1
        _put(ws, r, 1, text, font=Font(name="黑体", size=16, bold=True) if title else _BODY,
             alignment=Alignment(horizontal="center" if title else None, vertical="center", wrap_text=True))
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=last)
        ws.row_dimensions[r].height = 32 if title else 15 * _lines(text, sum(WIDTHS)) + 6
    for c, head in enumerate((*HEADERS, "原底色"), start=1):
        _put(ws, HEADER_ROW, c, head, font=Font(name="宋体", size=11, bold=True), border=_BORDER,
             fill=PatternFill("solid", fgColor="FFD9E1F2"), alignment=_CENTER)
    for r, (values, f) in enumerate(zip(rows, ordered), start=HEADER_ROW + 1):
        for c, v in enumerate(values, start=1):
            _put(ws, r, c, v, font=_BODY, border=_BORDER, alignment=_CENTER if c in CENTERED else _WRAP)
        ws.cell(r, 5).fill = _fill(ERROR_FILL if f.is_error else WARNING_FILL)
        if (f.sheet, f.cell) in before:  # internal link (location, no relationship): a click jumps there
            sheet = f.sheet.replace("'", "''")
            ws.cell(r, 3).hyperlink = Hyperlink(ref=ws.cell(r, 3).coordinate, location=f"'{sheet}'!{f.cell}")
            ws.cell(r, 3).font = Font(name="宋体", size=11, color="FF0563C1", underline="single")
            if before[(f.sheet, f.cell)]:
                _put(ws, r, FILL_COL, before[(f.sheet, f.cell)])
        ws.row_dimensions[r].height = 15 * _lines(values[3], WIDTHS[3]) + 6
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.paperSize, ws.page_setup.orientation = ws.PAPERSIZE_A4, "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def write_feedback(original: Path, dest: Path, findings: list[Finding], *, branch_name: str,
                   settings: Settings, received: datetime, what: str = "填报表") -> Path:
    """Write the branch's own workbook, annotated, to dest atomically; returns dest. `what` names
    the workbook in the title (a 党总支's returned 初验工作簿 is annotated the same way)."""
    title = f"{branch_name} {what}退回说明"
    fact = f"收到时间：{cn_date(received)} {received:%H:%M}"
    try:
        wb = load_workbook(original)  # not read-only, not data-only: everything the branch has stays
    except Exception:  # noqa: BLE001 — openpyxl rejects a few files calamine reads: send the list alone
        return _note(dest, title, fact, _sorted(findings, {}), UNOPENABLE_STEPS, settings)
    _clear_previous(wb)
    ordered = _sorted(findings, {name: i for i, name in enumerate(wb.sheetnames)})
    before = _mark(wb, ordered)
    paragraphs, rows = _layout(title, fact, ordered, STEPS, settings)
    _feedback_sheet(wb, paragraphs, rows, ordered, before)
    wb.active = 0
    for i, ws in enumerate(wb.worksheets):
        # openpyxl keeps the old tab selected too; two selected tabs open as a *group* in Excel,
        # where typing into one sheet silently writes into the others.
        ws.sheet_view.tabSelected = i == 0
    wb.views[0].firstSheet = 0
    with atomic_path(dest) as tmp:
        wb.save(tmp)
    return dest


# -- a note for a file that could not be read (xlsxwriter) ----------------------------------
def write_unreadable_note(dest: Path, original_name: str, findings: list[Finding], settings: Settings) -> Path:
    """A one-sheet workbook with the 退回说明 layout for a file xlflow could not open at all."""
    return _note(dest, f"“{original_name}”退回说明", f"文件：{original_name}（无法读取）",
                 _sorted(findings, {}), UNREADABLE_STEPS, settings)


def _note(dest: Path, title: str, fact: str, ordered: list[Finding], steps: str, settings: Settings) -> Path:
    paragraphs, rows = _layout(title, fact, ordered, steps, settings)
    with atomic_path(dest) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False})
        wb.set_properties({"title": _text(title), "author": settings.department})
        base = {"font_name": "宋体", "font_size": 11, "text_wrap": True, "valign": "vcenter"}
        big = wb.add_format({**base, "font_name": "黑体", "font_size": 16, "bold": True, "align": "center"})
        body, cell = wb.add_format(base), wb.add_format({**base, "border": 1})
        mid = wb.add_format({**base, "border": 1, "align": "center"})
        head = wb.add_format({**base, "border": 1, "bold": True, "bg_color": "#D9E1F2", "align": "center"})
        kinds = {k: wb.add_format({**base, "border": 1, "align": "center", "bg_color": "#" + fill[2:]})
                 for k, fill in ((KIND[True], ERROR_FILL), (KIND[False], WARNING_FILL))}
        ws = wb.add_worksheet(FEEDBACK_SHEET)
        for c, width in enumerate(WIDTHS):
            ws.set_column(c, c, width)
        for r, text in enumerate(paragraphs):
            ws.merge_range(r, 0, r, len(HEADERS) - 1, text, big if r == 0 else body)
            ws.set_row(r, 32 if r == 0 else 15 * _lines(text, sum(WIDTHS)) + 6)
        ws.write_row(HEADER_ROW - 1, 0, HEADERS, head)
        for r, values in enumerate(rows, start=HEADER_ROW):
            ws.write_number(r, 0, values[0], mid)
            for c, v in enumerate(values[1:], start=1):
                ws.write_string(r, c, v, kinds[v] if c == 4 else mid if c + 1 in CENTERED else cell)
            ws.set_row(r, 15 * _lines(values[3], WIDTHS[3]) + 6)
        ws.freeze_panes(HEADER_ROW, 0)
        ws.repeat_rows(HEADER_ROW - 1)
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.set_footer("&C第 &P 页，共 &N 页")
        wb.close()
    return dest
