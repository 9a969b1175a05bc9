"""stage: Checklist + Branch + Settings → the branch's standard workbook (.xlsx, xlsxwriter).

One workbook per Party branch: identity pre-filled and locked, every choice a dropdown fed from
a hidden list sheet, dates and numbers validated with an input message, input cells unlocked
and tinted, everything else protected. The identity lives in a very hidden sheet (read back by
intake) and in custom document properties, both of which survive a save in Excel, WPS and
LibreOffice.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import zipfile
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from xlflow import constants as K
from xlflow.campaign import Campaign
from xlflow.checklist import Checklist
from xlflow.files import atomic_path, safe_filename, worker_pool
from xlflow.messages import cn_date, date_example
from xlflow.roster import Branch
from xlflow.settings import Settings

# The hidden list sheet: (defined name, header, values getter). Dropdowns refer to the names.
def _lists(checklist: Checklist) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        ("xl_rating", K.SELF_COLUMNS["rating"], tuple(checklist.rating_names)),
        ("xl_yesno", "是否", K.YES_NO),
        ("xl_category", K.MEMBER_COLUMNS["category"], K.MEMBER_CATEGORIES),
        ("xl_activity", K.ACTIVITY_COLUMNS["type"], K.ACTIVITY_TYPES),
        ("xl_grade", K.MEMBER_COLUMNS["evaluation"], K.EVALUATION_GRADES),
        ("xl_secretary", K.BASIC_FIELDS["secretary_kind"], K.SECRETARY_KINDS),
        ("xl_venue", K.BASIC_FIELDS["venue"], K.VENUE_KINDS),
        ("xl_status", K.PROBLEM_COLUMNS["status"], K.PROBLEM_STATUS),
        ("xl_type", K.BASIC_FIELDS["type"], K.BRANCH_TYPES),
        ("xl_indicator", K.SELF_COLUMNS["code"], tuple(i.code for i in checklist.indicators)),
    ]


GUIDE_WIDTH = 74  # characters
INPUT_SHEETS = (K.SHEET_BASIC, K.SHEET_MEMBERS, K.SHEET_ACTIVITIES, K.SHEET_ACTIVISTS, K.SHEET_SELF, K.SHEET_PROBLEMS)


def _sentences(*parts: str) -> str:
    """Input-message text: the field's hint and the rule, each a sentence."""
    return "".join(p if p.endswith("。") else f"{p}。" for p in parts if p)


def template_version(checklist: Checklist) -> str:
    return f"{checklist.version}-{K.TEMPLATE_FORMAT}"


def review_version(checklist: Checklist) -> str:
    """The version a review workbook (初验/复验, 认定, 样板名册) is issued with and must come back with."""
    return f"{checklist.version}-r{K.REVIEW_FORMAT}"


class _Builder:
    def __init__(self, wb: xlsxwriter.Workbook, branch: Branch, campaign: Campaign, carried=None):
        self.wb, self.branch, self.checklist, self.settings = wb, branch, campaign.checklist, campaign.settings
        self.carried = carried  # carry.Carried: what the branch reported last year, or None
        f = wb.add_format
        base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter", "border": 1}
        self.title = f({"font_name": "黑体", "font_size": 16, "align": "center", "valign": "vcenter", "text_wrap": True})
        self.header = f({**base, "bold": True, "bg_color": "#D9E1F2", "align": "center", "text_wrap": True})
        self.locked = f({**base, "bg_color": "#F2F2F2", "text_wrap": True})
        self.locked_center = f({**base, "bg_color": "#F2F2F2", "align": "center"})
        self.input = f({**base, "bg_color": "#FFF2CC", "locked": False, "text_wrap": True})
        self.input_date = f({**base, "bg_color": "#FFF2CC", "locked": False, "num_format": "yyyy-mm-dd"})
        # text-formatted ("@"): a phone number typed in keeps its leading 0 (0392… is not a number)
        self.input_code = f({**base, "bg_color": "#FFF2CC", "locked": False, "num_format": "@"})
        col = {"font_name": "宋体", "font_size": 11, "valign": "vcenter", "locked": False}
        self.col_text = f({**col, "text_wrap": True})
        self.col_date = f({**col, "num_format": "yyyy-mm-dd"})
        self.col_num = f({**col, "num_format": "0.0#"})
        self.column_formats = {"date": self.col_date, "number": self.col_num, "code": f({**col, "num_format": "@"})}
        self.list_names = {values: name for name, _, values in _lists(self.checklist)}
        self.example = date_example(campaign.year)[0]
        self.tint = f({"bg_color": "#FFF2CC", "border": 1})
        self.grey = f({"bg_color": "#F2F2F2", "border": 1})
        self.text = f({"font_name": "宋体", "font_size": 12, "text_wrap": True, "valign": "top"})
        self.bold = f({"font_name": "黑体", "font_size": 12, "text_wrap": True, "valign": "top"})

    # -- shared helpers --------------------------------------------------------------
    def sheet(self, name: str, title: str, widths: list[int], landscape: bool = True):
        ws = self.wb.add_worksheet(name)
        ws.set_paper(9)  # A4
        if landscape:
            ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.hide_gridlines(0)
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        last = len(widths) - 1
        ws.merge_range(0, 0, 0, last, f"{self.branch.name} — {title}", self.title)
        ws.set_row(0, 30)
        ws.set_footer("&C第 &P 页，共 &N 页")
        ws.protect("", {"format_columns": True, "format_rows": True, "select_locked_cells": True})
        return ws

    def dropdown(self, ws, first: int, col: int, last: int, name: str, label: str, hint: str = "") -> None:
        values = "、".join(next(v for n, _, v in _lists(self.checklist) if n == name))
        ws.data_validation(first, col, last, col, {
            "validate": "list", "source": f"={name}",
            "input_title": label[:32], "input_message": _sentences(hint, "请从下拉列表中选择。"),
            "error_title": "请从列表中选择", "error_message": f"只能选择：{values}"[:255],
        })

    def rule(self, ws, first: int, col: int, last: int, f: K.Field) -> None:
        """The data validation and input message of one field, from the field table: what Excel lets
        a branch type is what the validator accepts (a test reads them back and checks both)."""
        if f.kind in ("choice", "yesno"):
            self.dropdown(ws, first, col, last, self.list_names[f.options(self.checklist)], f.header, f.hint)
            return
        lo, hi = f.bounds(self.settings)
        if f.kind == "date":
            what, excel = f"请填写 {lo:%Y-%m-%d} 至 {hi:%Y-%m-%d} 之间的日期", "date"
            prompt = f"{what}，如 {self.example}。"
        elif f.kind in ("int", "number"):
            what = f"请填写 {lo:g} 至 {hi:g} 之间的{'整数' if f.kind == 'int' else '数字'}"
            excel, prompt = "integer" if f.kind == "int" else "decimal", f"{what}。"
        else:  # text: only a hint to show, nothing Excel could check
            if f.hint:
                ws.data_validation(first, col, last, col, {"validate": "any", "input_title": f.header[:32],
                                                           "input_message": _sentences(f.hint)})
            return
        ws.data_validation(first, col, last, col, {
            "validate": excel, "criteria": "between", "minimum": lo, "maximum": hi,
            "input_title": f.header[:32], "input_message": _sentences(f.hint, prompt)[:255],
            "error_title": "日期不正确" if f.kind == "date" else "数字不正确", "error_message": f"{what}。",
        })

    def rules(self, ws, first: int, last: int, key: str) -> None:
        """The rule of every column a branch fills in, over the table's rows first..last."""
        for c, f in enumerate(K.FIELDS[key]):
            if f.kind != "shown" and not f.prefilled:
                self.rule(ws, first, c, last, f)

    def table(self, key: str, title: str, widths: list[int], rows: list[dict] = (), locked: tuple[str, ...] = ()):
        """A table sheet, its columns and rules from the field table. Input columns are unlocked by
        a column format and tinted by one conditional format over the table rows, rather than
        thousands of styled blank cells: the workbook is several times faster to write and
        smaller, and looks the same."""
        name, columns = K.TABLES[key]
        fields = K.FIELDS[key]
        ws = self.sheet(name, title, widths)
        for c, f in enumerate(fields):
            if c:
                ws.set_column(c, c, widths[c], self.column_formats.get(f.kind, self.col_text))
        ws.write_row(K.HEADER_ROW - 1, 0, list(columns.values()), self.header)
        ws.set_row(K.HEADER_ROW - 1, 32)
        first, last = K.HEADER_ROW, K.HEADER_ROW + K.TABLE_ROWS[key] - 1  # 0-based data rows
        for r in range(first, last + 1):
            ws.write_number(r, 0, r - first + 1, self.locked_center)
        # rows carried from last year: written as values of their kind; `locked` columns stay as they
        # were (grey, protected), by a conditional format ahead of the tint (LibreOffice takes the first)
        for n, values in enumerate(rows):
            for c, f in enumerate(fields):
                if c and values.get(f.key) not in (None, ""):
                    fmt = self.locked if f.key in locked else self.column_formats.get(f.kind, self.col_text)
                    _write_value(ws, first + n, c, f, values[f.key], fmt)
                elif c and f.key in locked:
                    ws.write_blank(first + n, c, None, self.locked)
        for c, f in enumerate(fields):
            if f.key in locked and rows:
                ws.conditional_format(first, c, first + len(rows) - 1, c, {"type": "formula", "criteria": "=TRUE",
                                                                            "format": self.grey, "stop_if_true": True})
        ws.conditional_format(first, 1, last, len(columns) - 1, {"type": "formula", "criteria": "=TRUE",
                                                                   "format": self.tint})
        self.rules(ws, first, last, key)
        ws.freeze_panes(K.HEADER_ROW, 1)
        ws.repeat_rows(K.HEADER_ROW - 1)
        return ws

    # -- sheets ----------------------------------------------------------------------
    def guide(self) -> None:
        s, b = self.settings, self.branch
        lines = [
            (self.title, f"{s.college}党支部标准化规范化建设填报表（{s.year}年·{s.phase}引领）"),
            (self.bold, f"支部：{b.name}（编码 {b.code}） 所属：{b.general}"),
            (self.bold, f"报送截止日期：{cn_date(s.deadline)}"),
            (self.text, f"一、填什么：请依次填写{'、'.join(f'“{n}”' for n in INPUT_SHEETS)}{len(INPUT_SHEETS)}张表。"),
            (self.text, "二、怎么填：浅黄色格子需要填写，灰色格子已预先填好且不能修改。有下拉箭头的格子请从列表中选择；"
                        f"日期请写成 {self.example} 的形式；人数、学时请只填数字。"),
            (self.text, f"三、三会一课：{s.period_start:%Y-%m-%d} 至 {s.period_end:%Y-%m-%d} 期间召开的支部党员大会、"
                        "支委会、党小组会、党课、主题党日、组织生活会、民主评议党员，每次活动填一行。"),
            (self.text, f"四、自评表：对照 {len(self.checklist.indicators)} 项建设要点逐项选择自评等次"
                        f"（{' / '.join(self.checklist.rating_names)}），并写明佐证材料和存在问题；"
                        f"自评为{'或'.join(f'“{n}”' for n in self.checklist.below_full)}的，"
                        "请在“问题清单”中写明整改措施、责任人和完成时限。"),
            (self.text, "五、请不要改动工作表名称、不要插入或删除列、不要另存为其他格式（请保存为 .xlsx）。"
                        "文件名可以随意，系统按表内的支部编码识别。"),
            (self.text, "六、填好后交所属党总支，由党总支统一报组织部。如被退回，退回的文件中标红的格子就是需要修改的地方，"
                        "鼠标停在格子上可看到说明，改好后再次提交即可。"),
            (self.text, f"七、如有疑问请联系：{s.contact}。"),
        ]
        c = self.carried
        if c is not None and c.history:
            lines.insert(3, (self.bold, f"本支部历年情况：{c.standing_text}。"))
        if c is not None and (c.basic or c.problems):
            lines.insert(4, (self.text, f"本表已带上支部{c.year}年报送的基本信息、党员名册和入党积极分子，以及尚未完成的"
                                        f"{len(c.problems)}个问题，请在其基础上更新。往年的问题不能删除：完成整改的，"
                                        "把“整改状态”改为“已完成”即可销号。"))
        # 74 wide: LibreOffice prints a wider single column past the A4 page's edge instead of scaling it
        write_guide_sheet(self.wb, K.SHEET_GUIDE, GUIDE_WIDTH, lines,
                          lambda text: 20 * wrapped_lines(text, GUIDE_WIDTH, margin=4))

    def basic(self) -> None:
        b = self.branch
        ws = self.sheet(K.SHEET_BASIC, "基本信息", [30, 40, 50], landscape=False)
        ws.write_row(K.HEADER_ROW - 1, 0, ["项目", "填写内容", "说明"], self.header)
        prefilled = {"code": b.code, "name": b.name, "general": b.general, "type": b.type, "secretary": b.secretary}
        row = K.BASIC_FIRST_ROW - 1
        for key, label in K.BASIC_IDENTITY_FIELDS.items():
            ws.write_string(row, 0, label, self.locked)
            ws.write_string(row, 1, prefilled[key], self.locked)
            ws.write_string(row, 2, "已预填，不能修改", self.locked)
            row += 1
        last_year = self.carried.basic if self.carried is not None else {}
        for f in K.FIELDS["basic"]:
            ws.write_string(row, 0, f.header, self.locked)
            value = last_year.get(f.key)
            value = prefilled.get(f.key, "") if value in (None, "") else value
            fmt = {"date": self.input_date, "code": self.input_code}.get(f.kind, self.input)
            _write_value(ws, row, 1, f, value, fmt) if value not in (None, "") else ws.write_blank(row, 1, None, fmt)
            ws.write_string(row, 2, f.hint, self.locked)
            self.rule(ws, row, 1, row, f)
            row += 1
        ws.freeze_panes(K.HEADER_ROW, 0)

    def members(self) -> None:
        self.table("members", "党员名册", [6, 12, 12, 14, 14, 14, 18, 14], self.carried.members if self.carried else ())

    def activities(self) -> None:
        self.table("activities", "三会一课记录", [6, 13, 14, 40, 14, 10, 10, 12])

    def activists(self) -> None:
        self.table("activists", "入党积极分子", [6, 12, 20, 20, 18], self.carried.activists if self.carried else ())

    def self_assessment(self) -> None:
        C = K.SELF_COLUMNS
        ws = self.sheet(K.SHEET_SELF, "自评表", [8, 14, 6, 60, 6, 12, 30, 30])
        ws.write_row(K.HEADER_ROW - 1, 0, list(C.values()), self.header)
        row = K.HEADER_ROW
        for cat in self.checklist.categories:
            for ind in cat.indicators:
                ws.write_string(row, 0, ind.code, self.locked_center)
                ws.write_string(row, 1, cat.name, self.locked)
                ws.write_number(row, 2, ind.seq, self.locked_center)
                ws.write_string(row, 3, ind.text, self.locked)
                ws.write_number(row, 4, ind.points, self.locked_center)
                for c in (5, 6, 7):
                    ws.write_blank(row, c, None, self.input)
                ws.set_row(row, 15 * max(2, len(ind.text) // 28 + 1))
                row += 1
        self.rules(ws, K.HEADER_ROW, row - 1, "self")
        ws.freeze_panes(K.HEADER_ROW, 1)
        ws.repeat_rows(K.HEADER_ROW - 1)

    def problems(self) -> None:
        carried = self.carried.problems if self.carried else ()
        self.table("problems", "问题清单和责任清单", [6, 8, 12, 36, 36, 12, 14, 12], carried,
                   locked=CARRIED_LOCKED)

    def lists(self) -> None:
        write_list_sheet(self.wb, _lists(self.checklist))

    def identity(self) -> None:
        write_identity_sheet(self.wb, K.IDENTITY_KEYS, identity_values(
            K.KIND_BRANCH, self.checklist, self.settings.year, branch_code=self.branch.code,
            branch_name=self.branch.name, general=self.branch.general))


# a problem carried from an earlier year: what it is stays as raised; its plan and status are updated
CARRIED_LOCKED = ("raised", "indicator", "problem")


def _write_value(ws, row: int, col: int, f: K.Field, value, fmt) -> None:
    """A carried value as a cell of its field's kind (as the ledger stores it: ISO dates, 1/0)."""
    if f.kind == "yesno" and isinstance(value, int):
        ws.write_string(row, col, K.YES_NO[0] if value else K.YES_NO[1], fmt)
    elif f.kind == "date":
        try:
            day = dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            ws.write_string(row, col, str(value), fmt)
            return
        ws.write_datetime(row, col, dt.datetime.combine(day, dt.time()), fmt)
    elif f.kind in ("int", "number") and isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


PROP_CHUNK = 200  # a custom property's text is limited to 255 characters: longer values are split


def wrapped_lines(text: str, width: float, margin: int = 1) -> int:
    """Wrapped line count of text in a column `width` characters wide (less `margin`), CJK
    characters counting double: neither Excel nor WPS grows a row for wrapped text in a file they
    did not lay out, so row heights are set from this."""
    per = max(1, int(width) - margin)
    return sum(max(1, -(-sum(2 if ord(c) > 0x2E7F else 1 for c in p) // per)) for p in text.split("\n"))


def write_guide_sheet(wb, name: str, width: int, lines, height, margins: float | None = None,
                      landscape: bool = False) -> None:
    """The instructions sheet, opened first: one (format, text) paragraph a row in a single column
    of `width`, the title row 36 high, every other row height(text) high; A4, one page wide,
    protected. margins (inches) all round, if given."""
    ws = wb.add_worksheet(name)
    ws.set_column(0, 0, width)
    ws.set_paper(9)  # A4
    if landscape:
        ws.set_landscape()
    if margins is not None:
        ws.set_margins(left=margins, right=margins, top=margins, bottom=margins)
    ws.fit_to_pages(1, 0)
    ws.hide_gridlines(2)
    ws.protect("", {"select_locked_cells": True})
    for row, (fmt, text) in enumerate(lines):
        ws.write_string(row, 0, text, fmt)
        ws.set_row(row, 36 if row == 0 else height(text))
    ws.activate()


def write_list_sheet(wb, lists) -> None:
    """The hidden sheet that feeds every dropdown: one column per (defined name, header, values)."""
    ws = wb.add_worksheet(K.SHEET_LISTS)
    for c, (name, header, values) in enumerate(lists):
        ws.write_string(0, c, header)
        for r, v in enumerate(values, start=1):
            ws.write_string(r, c, v)
        top, bottom = xl_rowcol_to_cell(1, c, True, True), xl_rowcol_to_cell(len(values), c, True, True)
        wb.define_name(name, f"='{K.SHEET_LISTS}'!{top}:{bottom}")
    ws.protect("")
    ws.hide()


def write_identity_sheet(wb, keys, values: dict[str, str]) -> None:
    """The workbook's identity, twice: a very hidden sheet and custom document properties (LibreOffice
    turns very hidden into hidden on save, and a clerk may delete a sheet; both rarely happen at once)."""
    ws = wb.add_worksheet(K.SHEET_IDENTITY)
    for r, key in enumerate(keys):
        text = values[key]
        ws.write_string(r, 0, key)
        ws.write_string(r, 1, text)
        if len(text) <= PROP_CHUNK:
            wb.set_custom_property(f"xlflow_{key}", text)
        else:  # split as key_1, key_2, …; readers join them back
            for i in range(0, len(text), PROP_CHUNK):
                wb.set_custom_property(f"xlflow_{key}_{i // PROP_CHUNK + 1}", text[i:i + PROP_CHUNK])
    ws.protect("")
    ws.very_hidden()


def identity_values(kind: str, checklist: Checklist, year: int, **unit) -> dict[str, str]:
    """What a workbook is issued with (its identity sheet and custom properties), and must come back
    with: its kind, year, version and checklist, and whom it is for (a branch: branch_code,
    branch_name, general; a review workbook: unit, and the branch codes it covers as `branches`,
    stored as JSON)."""
    version = template_version(checklist) if kind == K.KIND_BRANCH else review_version(checklist)
    return {"kind": kind, "year": str(year), "template_version": version, "checklist_fingerprint": checklist.fingerprint,
            **{k: v if isinstance(v, str) else json.dumps(list(v), ensure_ascii=False) for k, v in unit.items()}}


def new_workbook(path: Path, title: str, subject: str, settings: Settings) -> xlsxwriter.Workbook:
    """An xlsxwriter workbook as every workbook xlflow hands out is opened: text is always written as
    text (never turned into a formula or a link), and the properties name the campaign, dated by its
    year so the same inputs give the same file."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False, "in_memory": True})
    wb.set_properties({"title": title, "subject": subject, "author": settings.department,
                       "company": settings.college, "created": dt.datetime(settings.year, 1, 1)})
    return wb


def build_workbook(dest: Path, branch: Branch, campaign: Campaign, carried=None) -> Path:
    """Write the branch workbook to dest atomically; returns dest. carried: what the branch reported
    last year (carry.Carried), pre-filled so the secretary updates rather than retypes."""
    with atomic_path(dest) as tmp:
        wb = new_workbook(tmp, f"{branch.name}党支部建设填报表", f"{campaign.year}年党支部标准化规范化建设",
                          campaign.settings)
        b = _Builder(wb, branch, campaign, carried)
        b.guide()
        b.basic()
        b.members()
        b.activities()
        b.activists()
        b.self_assessment()
        b.problems()
        b.lists()
        b.identity()
        wb.close()
    return dest


def handout_path(outdir: Path, branch: Branch) -> Path:
    return outdir / safe_filename(branch.general) / safe_filename(f"{branch.code}_{branch.name}.xlsx")


def _build_job(args) -> Path:
    return build_workbook(*args)


def write_handout(campaign: Campaign, outdir: Path, workers: int | None = None, progress=None,
                  carried: dict | None = None) -> list[Path]:
    """Write the workbook of every branch of the roster under outdir/<总支>/ and one zip per 总支; both
    cores are used.

    progress, if given, is called once per finished workbook (the CLI passes a tqdm update);
    carried: branch code -> what it reported last year (carry.carried), pre-filled."""
    carried = carried or {}
    inputs = Campaign(campaign.checklist, campaign.settings)  # not the roster: each job is sent to a worker
    jobs = [(handout_path(outdir, b), b, inputs, carried.get(b.code)) for b in campaign.branches]
    workers = workers or min(os.cpu_count() or 1, 8)
    if workers > 1 and len(jobs) > 4:
        with worker_pool(workers) as pool:
            paths = []
            for path in pool.map(_build_job, jobs, chunksize=8):
                paths.append(path)
                progress and progress()
    else:
        paths = []
        for job in jobs:
            paths.append(_build_job(job))
            progress and progress()
    by_general: dict[str, list[Path]] = {}
    for (path, branch, *_) in jobs:
        by_general.setdefault(branch.general, []).append(path)
    for general, members in by_general.items():
        with atomic_path(outdir / safe_filename(f"{general}.zip")) as tmp:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                for p in members:
                    zf.write(p, f"{safe_filename(general)}/{p.name}")
    return paths


def adopt_column_style(ws, cell) -> None:
    """Give an unstyled openpyxl cell its column's style, as Excel does for a cell typed into.

    Input columns are unlocked by their column style; openpyxl creates a new cell with the
    default (locked) style, which would lock it in a protected sheet."""
    if cell.has_style:
        return
    for dim in ws.column_dimensions.values():
        if dim.min and dim.min <= cell.column <= dim.max and dim.has_style:
            cell._style = copy.copy(dim._style)
            return
