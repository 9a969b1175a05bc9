"""The 退回说明: a rejected branch gets its own workbook back, every wrong cell marked and explained."""

import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.comments import Comment

from xlflow import constants as K
from xlflow.feedback import (AUTHOR, ERROR_FILL, FEEDBACK_SHEET, HEADER_ROW, HEADERS, WARNING_FILL, write_feedback,
                             write_unreadable_note)
from xlflow.identify import identify
from xlflow.messages import ERROR, WARNING, Code, Finding, finding
from xlflow.read import read_workbook
from xlflow.validate import Validator
from xlflow.workbook import build_workbook

from helpers import fill_workbook, shipped_campaign

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN = shipped_campaign()
CHECKLIST, SETTINGS, BRANCHES = CAMPAIGN.checklist, CAMPAIGN.settings, CAMPAIGN.branches
BRANCH = BRANCHES[0]
RECEIVED = datetime(2019, 11, 28, 9, 5)
MISTAKES = frozenset({"two_digit_year", "actual_gt_expected", "bad_choice", "formula_text"})
INPUT_FILL = "FFFFF2CC"  # the template's input tint


def check(path: Path):
    """The real pipeline on one file: read → identify → validate. Returns its Checked."""
    raw = read_workbook(path)
    branch, found = identify(raw, CAMPAIGN)
    return Validator(CAMPAIGN).validate([(raw, branch, found)])[0]


def table(ws) -> list[tuple]:
    """The 退回说明 table rows (序号 … 类别) and their row numbers."""
    assert [ws.cell(HEADER_ROW, c).value for c in range(1, len(HEADERS) + 1)] == list(HEADERS)
    return [(r, tuple(ws.cell(r, c).value for c in range(1, len(HEADERS) + 1)))
            for r in range(HEADER_ROW + 1, ws.max_row + 1) if ws.cell(r, 1).value is not None]


def where(findings) -> list[tuple]:
    return sorted((f.code, f.sheet, f.cell) for f in findings)


def _unconditional(rule) -> bool:
    # LibreOffice saves the formula TRUE back as 1
    return rule.type == "expression" and [f.strip("=").upper() for f in rule.formula] in (["TRUE"], ["TRUE()"], ["1"])


def effective_fill(ws, ref: str) -> set[str]:
    """The colour a spreadsheet application shows in a cell: a conditional format that applies
    shows over the cell's own fill. Excel picks the rule of highest priority, LibreOffice the first
    in the file: the set holds what each would show (one colour when they agree)."""
    rules = [rule for cf in ws.conditional_formatting if ref in cf.sqref for rule in cf.rules]
    assert all(_unconditional(r) for r in rules), "only unconditional tints are expected here"
    shown = {r.dxf.fill.bgColor.rgb for r in (min(rules, key=lambda r: r.priority), rules[0])} if rules else set()
    if not shown:
        f = ws[ref].fill
        shown = {f.fgColor.rgb if f.fill_type == "solid" else ""}
    return shown


INPUT_SHEETS = (K.SHEET_BASIC, K.SHEET_MEMBERS, K.SHEET_ACTIVITIES, K.SHEET_ACTIVISTS, K.SHEET_SELF, K.SHEET_PROBLEMS)


def first_input_cell(wb, sheet: str) -> str:
    """The first data row's first input cell of a sheet (基本信息: the first line a branch fills)."""
    if sheet == K.SHEET_BASIC:
        return f"B{K.BASIC_FIRST_ROW + len(K.BASIC_IDENTITY_FIELDS)}"
    ws = wb[sheet]
    return next(f"{c.column_letter}{K.HEADER_ROW + 1}" for c in ws[K.HEADER_ROW + 1] if not c.protection.locked
                and c.column > 1) if sheet == K.SHEET_SELF else f"C{K.HEADER_ROW + 1}"


@pytest.fixture(scope="module")
def returned(tmp_path_factory):
    d = tmp_path_factory.mktemp("feedback")
    template = build_workbook(d / "template.xlsx", BRANCH, CAMPAIGN)
    fill_workbook(template, d / "returned.xlsx", BRANCH, CAMPAIGN, seed=3, mistakes=MISTAKES)
    return d / "returned.xlsx"


@pytest.fixture(scope="module")
def real(returned):
    """The findings the pipeline really makes on the returned file."""
    report = check(returned).report
    assert {f.code for f in report.errors} >= {"V202", "V236", "V207"}
    return report.findings


@pytest.fixture(scope="module")
def findings(real, returned):
    """The real findings plus the shapes the pipeline can also produce: a warning on its own cell,
    a second finding on an error cell, a sheet-level and a whole-file finding, formula-like text."""
    bad = next(f for f in real if f.code == "V207")
    name = returned.name
    return [
        finding(Code.I106, file=name, other=BRANCHES[1].name, name=BRANCH.name),  # whole file, warning
        *real,
        Finding("V242", WARNING, f"{K.SHEET_SELF}!F5：单独的提醒。", name, K.SHEET_SELF, "F5", "基本达标"),
        Finding("V242", WARNING, f"{bad.sheet}!{bad.cell}：第二条说明，同一格子。", name, bad.sheet, bad.cell),
        finding(Code.V221, file=name, sheet=K.SHEET_MEMBERS, column="民主评议等次"),  # sheet level
        Finding("V204", ERROR, '=HYPERLINK("http://example.com","点击")', name, K.SHEET_MEMBERS, "F4", "=1+2"),
    ]


@pytest.fixture(scope="module")
def feedback(returned, findings):
    dest = returned.parent / "out" / "退回_机电一支部.xlsx"
    assert write_feedback(returned, dest, findings, branch_name=BRANCH.name, settings=SETTINGS,
                          received=RECEIVED) == dest
    return dest


@pytest.fixture(scope="module")
def wb(feedback):
    return openpyxl.load_workbook(feedback)


def test_feedback_sheet_is_first_active_and_lists_every_finding(wb, findings):
    assert wb.sheetnames[0] == FEEDBACK_SHEET and wb.sheetnames.count(FEEDBACK_SHEET) == 1
    assert wb.active.title == FEEDBACK_SHEET
    # exactly one selected tab: two would open as a sheet group in Excel
    assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == [FEEDBACK_SHEET]
    ws = wb[FEEDBACK_SHEET]
    assert ws["A1"].value == f"{BRANCH.name} 填报表退回说明"
    errors = sum(f.is_error for f in findings)
    head = "\n".join(str(ws.cell(r, 1).value or "") for r in range(1, HEADER_ROW))
    assert "2019年11月28日 09:05" in head and f"共 {errors} 处错误" in head
    assert f"{len(findings) - errors} 处提醒" in head and "红色格子" in head and "重新提交" in head
    rows = [values for _, values in table(ws)]
    assert [v[0] for v in rows] == list(range(1, len(findings) + 1))
    assert sorted(v[3] for v in rows) == sorted(f.message for f in findings)  # the exact messages
    kinds = [v[4] for v in rows]
    assert kinds == sorted(kinds, key=lambda k: k != "错误")  # errors first
    by_message = {f.message: f for f in findings}
    for _, sheet, cell, message, kind in rows:
        f = by_message[message]
        assert kind == ("错误" if f.is_error else "提醒")
        assert sheet == (f.sheet or "（整个文件）") and cell == (f.cell or "—")
    order = {name: i for i, name in enumerate(wb.sheetnames)}
    error_rows = [(order.get(v[1], -1), openpyxl.utils.cell.coordinate_to_tuple(v[2]) if v[2] != "—" else (0, 0))
                  for v in rows if v[4] == "错误"]
    assert error_rows == sorted(error_rows)  # by sheet order, then row
    assert ws.freeze_panes == f"A{HEADER_ROW + 1}"
    assert int(ws.page_setup.paperSize) == 9 and ws.column_dimensions["D"].width >= 60


def test_every_named_cell_is_filled_and_commented(wb, findings):
    cells: dict[tuple, list[Finding]] = {}
    for f in findings:
        if f.cell:
            cells.setdefault((f.sheet, f.cell), []).append(f)
    for (sheet, ref), group in cells.items():
        cell = wb[sheet][ref]
        wanted = ERROR_FILL if any(f.is_error for f in group) else WARNING_FILL
        assert cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb == wanted, (sheet, ref)
        assert cell.comment is not None and cell.comment.author == AUTHOR
        for f in group:  # several findings on one cell: all in one comment
            assert f.message in cell.comment.text
        if sheet != K.SHEET_SELF or ref[0] in "FGH":  # every input cell stays editable once marked
            assert not cell.protection.locked, (sheet, ref)
    assert len([c for c in cells.values() if len(c) > 1]) == 1
    comments = sum(1 for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment)
    assert comments == len(cells)  # nothing else is marked


def test_every_marked_cell_looks_marked_with_conditional_formats_included(wb, findings):
    """The template tints its input cells by a conditional format, which shows over a cell's fill:
    the marks must outrank it on every sheet (issue 10: red showed only on 基本信息 and 自评表)."""
    cells: dict[tuple, bool] = {}
    for f in findings:
        if f.cell:
            cells[(f.sheet, f.cell)] = cells.get((f.sheet, f.cell), False) or f.is_error
    assert {sheet for sheet, _ in cells} >= {K.SHEET_MEMBERS, K.SHEET_ACTIVITIES, K.SHEET_SELF}
    for (sheet, ref), error in cells.items():
        assert effective_fill(wb[sheet], ref) == {ERROR_FILL if error else WARNING_FILL}, (sheet, ref)
    # a neighbour that is not named keeps the template's look
    assert effective_fill(wb[K.SHEET_MEMBERS], "B150") == {INPUT_FILL}


@pytest.fixture(scope="module")
def on_every_sheet(returned):
    """A feedback copy with one error on the first input cell of every input sheet."""
    template = openpyxl.load_workbook(returned)
    marks = [Finding("V231", ERROR, f"{s}!{first_input_cell(template, s)}：请补填。", returned.name, s,
                     first_input_cell(template, s)) for s in INPUT_SHEETS]
    dest = write_feedback(returned, returned.parent / "每张表一处.xlsx", marks, branch_name=BRANCH.name,
                          settings=SETTINGS, received=RECEIVED)
    return dest, marks


def test_a_mark_on_any_sheet_is_red(on_every_sheet):
    dest, marks = on_every_sheet
    wb = openpyxl.load_workbook(dest)
    assert {f.sheet: effective_fill(wb[f.sheet], f.cell) for f in marks} == {s: {ERROR_FILL} for s in INPUT_SHEETS}


def _pixels(ppm: bytes, rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    """How many pixels of a binary PPM (P6, as pdftoppm writes) are within tolerance of rgb."""
    parts, pos = [], 0
    while len(parts) < 4:  # magic, width, height, maxval, separated by whitespace
        while ppm[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while not ppm[end:end + 1].isspace():
            end += 1
        parts.append(ppm[pos:end])
        pos = end
    data = memoryview(ppm)[pos + 1:]
    return sum(1 for i in range(0, len(data) - 2, 3)
               if abs(data[i] - rgb[0]) <= tolerance and abs(data[i + 1] - rgb[1]) <= tolerance
               and abs(data[i + 2] - rgb[2]) <= tolerance)


def test_libreoffice_prints_every_sheets_mark_red(on_every_sheet, returned, libreoffice, tmp_path):
    """Rendered by a real spreadsheet application, each input sheet's first page shows red where it
    is marked, and the same sheet of the unmarked return shows none."""
    import shutil
    import subprocess
    if not all(shutil.which(tool) for tool in ("pdfinfo", "pdftoppm", "pdftotext")):
        pytest.skip("pdfinfo/pdftoppm/pdftotext (poppler-utils) are not installed")
    dest, _ = on_every_sheet
    marked, plain = libreoffice.to_pdf_many([(dest, tmp_path / "marked.pdf"), (returned, tmp_path / "plain.pdf")])
    red = tuple(int(ERROR_FILL[i:i + 2], 16) for i in (2, 4, 6))
    titles = {"基本信息": K.SHEET_BASIC, "党员名册": K.SHEET_MEMBERS, "三会一课记录": K.SHEET_ACTIVITIES,
              "入党积极分子": K.SHEET_ACTIVISTS, "自评表": K.SHEET_SELF, "问题清单和责任清单": K.SHEET_PROBLEMS}

    def red_by_sheet(pdf: Path) -> dict[str, int]:
        out = {}
        pages = int(next(line.split()[-1] for line in subprocess.run(
            ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()
            if line.startswith("Pages:")))
        for page in range(1, pages + 1):
            first = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-enc", "UTF-8", str(pdf), "-"],
                                   capture_output=True, text=True, check=True).stdout.strip().splitlines()[:1]
            title = first[0].split(" — ")[-1].strip() if first and " — " in first[0] else ""
            if title in titles:
                ppm = subprocess.run(["pdftoppm", "-r", "40", "-f", str(page), "-l", str(page), str(pdf)],
                                     capture_output=True, check=True).stdout
                out[titles[title]] = _pixels(ppm, red)
        return out

    shown, before = red_by_sheet(marked), red_by_sheet(plain)
    assert set(shown) == set(INPUT_SHEETS) == set(before)
    assert {s: n > 0 for s, n in shown.items()} == {s: True for s in INPUT_SHEETS}, shown
    assert before == {s: 0 for s in INPUT_SHEETS}


def test_links_jump_to_the_cells(wb, findings):
    for r, (_, sheet, cell, message, _) in table(wb[FEEDBACK_SHEET]):
        link = wb[FEEDBACK_SHEET].cell(r, 3).hyperlink
        if cell == "—":
            assert link is None
        else:
            assert link.location == f"'{sheet}'!{cell}" and not link.target  # internal: no relationship


def test_text_stays_text(feedback, wb):
    ws = wb[FEEDBACK_SHEET]
    row = next(r for r, v in table(ws) if v[3].startswith("="))
    assert ws.cell(row, 4).data_type == "s"
    topics = wb[K.SHEET_ACTIVITIES]
    col = list(K.ACTIVITY_COLUMNS).index("topic") + 1
    typed = [c for c in next(topics.iter_cols(min_col=col, max_col=col)) if str(c.value or "").startswith("=")]
    assert typed and all(c.data_type == "s" for c in typed)  # the branch's '=…' topic is still text
    with zipfile.ZipFile(feedback) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)


def test_identity_protection_and_dropdowns_survive(wb, returned):
    before = openpyxl.load_workbook(returned)
    assert wb[K.SHEET_IDENTITY].sheet_state == "veryHidden"
    assert wb[K.SHEET_LISTS].sheet_state == "hidden"
    assert {p.name: p.value for p in wb.custom_doc_props} == {p.name: p.value for p in before.custom_doc_props}
    assert set(wb.defined_names) == set(before.defined_names)
    for ws in before.worksheets:
        after = wb[ws.title]
        assert after.protection.sheet == ws.protection.sheet
        assert [(str(v.sqref), v.formula1) for v in after.data_validations.dataValidation] == \
               [(str(v.sqref), v.formula1) for v in ws.data_validations.dataValidation]


def test_the_extra_sheet_is_harmless_when_the_file_comes_back(feedback, real):
    checked = check(feedback)
    assert checked.branch.code == BRANCH.code
    assert where(checked.report.findings) == where(real)


def correct(path: Path, dest: Path, findings, keep=()) -> Path:
    """What the secretary does: fix the red cells in place (except codes in keep) and save."""
    wb = openpyxl.load_workbook(path)
    for f in findings:
        if f.code in keep:
            continue
        ws, cell = wb[f.sheet], wb[f.sheet][f.cell]
        if f.code == "V202":
            y, m, d = map(int, f.value.split("."))
            cell.value = datetime(2000 + y, m, d)
        elif f.code == "V236":
            expected = [c.value for c in ws[K.HEADER_ROW]].index(K.ACTIVITY_COLUMNS["expected"]) + 1
            cell.value = ws.cell(cell.row, expected).value
        elif f.code == "V207":
            cell.value = CHECKLIST.rating_names[0]
        else:
            raise AssertionError(f"no correction for {f.code}")
    wb.save(dest)
    return dest


def test_corrected_feedback_file_is_valid(feedback, real):
    fixed = correct(feedback, feedback.with_name("改好.xlsx"), [f for f in real if f.is_error])
    checked = check(fixed)
    assert checked.report.valid, [f.message for f in checked.report.errors]
    assert checked.branch.code == BRANCH.code


def test_second_rejection_replaces_the_sheet_and_clears_fixed_cells(feedback, real, returned):
    errors = [f for f in real if f.is_error]
    partly = correct(feedback, feedback.with_name("改了一部分.xlsx"), errors, keep={"V207"})
    again = check(partly).report.findings
    assert where(again) == where(f for f in errors if f.code == "V207")
    dest = write_feedback(partly, feedback.with_name("第二次退回.xlsx"), again, branch_name=BRANCH.name,
                          settings=SETTINGS, received=RECEIVED)
    wb = openpyxl.load_workbook(dest)
    original = openpyxl.load_workbook(returned)
    assert wb.sheetnames.count(FEEDBACK_SHEET) == 1 and wb.sheetnames[0] == FEEDBACK_SHEET
    assert [v[3] for _, v in table(wb[FEEDBACK_SHEET])] == [f.message for f in again]
    for f in errors:
        cell = wb[f.sheet][f.cell]
        if f.code == "V207":
            assert cell.fill.fgColor.rgb == ERROR_FILL and f.message in cell.comment.text
            assert effective_fill(wb[f.sheet], f.cell) == {ERROR_FILL}
        else:  # fixed since: back to the cell's own look (the input tint), old advice gone
            assert cell.fill.fgColor.rgb == original[f.sheet][f.cell].fill.fgColor.rgb != ERROR_FILL
            assert effective_fill(wb[f.sheet], f.cell) == effective_fill(original[f.sheet], f.cell) != {ERROR_FILL}
            assert cell.comment is None
    marked = [(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment]
    assert marked == [(f.sheet, f.cell) for f in again]
    assert check(dest).branch.code == BRANCH.code


def test_a_comment_the_branch_wrote_is_kept(returned, tmp_path):
    wb = openpyxl.load_workbook(returned)
    wb[K.SHEET_BASIC]["B10"].comment = Comment("书记于 10 月调整，见党委批复。", "张三")
    wb.save(tmp_path / "with_note.xlsx")
    f = Finding("V231", ERROR, "基本信息!B10：测试说明。", "x.xlsx", K.SHEET_BASIC, "B10")
    first = write_feedback(tmp_path / "with_note.xlsx", tmp_path / "1.xlsx", [f], branch_name=BRANCH.name,
                           settings=SETTINGS, received=RECEIVED)
    text = openpyxl.load_workbook(first)[K.SHEET_BASIC]["B10"].comment.text
    assert f.message in text and "书记于 10 月调整" in text
    second = write_feedback(first, tmp_path / "2.xlsx", [], branch_name=BRANCH.name, settings=SETTINGS,
                            received=RECEIVED)
    assert openpyxl.load_workbook(second)[K.SHEET_BASIC]["B10"].comment.text == "书记于 10 月调整，见党委批复。"


def test_libreoffice_opens_it_and_keeps_the_comments(feedback, findings, real, libreoffice, tmp_path):
    saved = libreoffice.resave(feedback, tmp_path / "lo.xlsx")
    wb = openpyxl.load_workbook(saved)
    assert wb.sheetnames[0] == FEEDBACK_SHEET
    assert sorted(v[3] for _, v in table(wb[FEEDBACK_SHEET])) == sorted(f.message for f in findings)
    for f in findings:
        if f.cell:
            assert f.message in wb[f.sheet][f.cell].comment.text
    assert check(saved).branch.code == BRANCH.code  # identity survives (LibreOffice makes it plain hidden)
    assert where(check(saved).report.findings) == where(real)
    # LibreOffice drops comment authors: a second rejection must still recognise our comments
    again = write_feedback(saved, tmp_path / "again.xlsx", [], branch_name=BRANCH.name, settings=SETTINGS,
                           received=RECEIVED)
    wb = openpyxl.load_workbook(again)
    assert not [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment]
    for f in findings:  # and the marks LibreOffice saved back are gone, conditional formats included
        if f.cell:
            assert effective_fill(wb[f.sheet], f.cell) & {ERROR_FILL, WARNING_FILL} == set(), (f.sheet, f.cell)


def test_unreadable_note(tmp_path, libreoffice):
    problems = [finding(Code.F101, file="一支部.xls"), finding(Code.F102, file="一支部.xls"),
                Finding("F108", ERROR, "=cmd|' /C calc'!A0", "一支部.xls")]
    dest = write_unreadable_note(tmp_path / "notes" / "一支部_退回说明.xlsx", "一支部.xls", problems, SETTINGS)
    wb = openpyxl.load_workbook(dest)
    assert wb.sheetnames == [FEEDBACK_SHEET]
    ws = wb[FEEDBACK_SHEET]
    assert "一支部.xls" in ws["A1"].value and "共 3 处错误" in ws["A3"].value
    rows = table(ws)
    assert [v[3] for _, v in rows] == [p.message for p in problems]
    assert all(v[1] == "（整个文件）" and v[4] == "错误" for _, v in rows)
    assert all(ws.cell(r, 4).data_type == "s" for r, _ in rows)
    assert ws.freeze_panes == f"A{HEADER_ROW + 1}"
    resaved = openpyxl.load_workbook(libreoffice.resave(dest, tmp_path / "lo.xlsx"))
    assert [v[3] for _, v in table(resaved[FEEDBACK_SHEET])] == [p.message for p in problems]


def test_a_file_openpyxl_cannot_open_still_gets_the_list(returned, real, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise TypeError("openpyxl cannot parse this workbook")
    monkeypatch.setattr("xlflow.feedback.load_workbook", refuse)
    dest = write_feedback(returned, tmp_path / "list.xlsx", real, branch_name=BRANCH.name, settings=SETTINGS,
                          received=RECEIVED)
    monkeypatch.undo()
    ws = openpyxl.load_workbook(dest)[FEEDBACK_SHEET]
    assert ws["A1"].value == f"{BRANCH.name} 填报表退回说明"
    assert sorted(v[3] for _, v in table(ws)) == sorted(f.message for f in real)


def test_a_blank_input_cell_that_is_marked_stays_editable(returned, tmp_path):
    """A required cell left blank does not exist in the file; marking it must not lock it."""
    blank = finding(Code.V231, sheet=K.SHEET_MEMBERS, cell="C150", label=K.MEMBER_COLUMNS["category"])
    assert openpyxl.load_workbook(returned)[K.SHEET_MEMBERS]["C150"].value is None
    dest = write_feedback(returned, tmp_path / "退回.xlsx", [blank], branch_name=BRANCH.name,
                          settings=SETTINGS, received=RECEIVED)
    cell = openpyxl.load_workbook(dest)[K.SHEET_MEMBERS]["C150"]
    assert cell.fill.fgColor.rgb == ERROR_FILL and not cell.protection.locked
