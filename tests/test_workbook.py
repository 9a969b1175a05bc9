"""The branch workbook, checked against the checklist: what a branch secretary sees and may do."""

import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlflow import constants as K
from xlflow.campaign import Campaign
from xlflow.checklist import load_checklist
from xlflow.roster import load_roster
from xlflow.settings import Settings
from xlflow.workbook import build_workbook, handout_path, template_version, write_handout

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = load_checklist(ROOT / "templates" / "checklist.yaml")
BRANCHES = load_roster(ROOT / "templates" / "branches.xlsx")
CAMPAIGN = Campaign(CHECKLIST, Settings(), BRANCHES)


@pytest.fixture(scope="module")
def workbook_path(tmp_path_factory):
    return build_workbook(tmp_path_factory.mktemp("wb") / "branch.xlsx", BRANCHES[0], CAMPAIGN)


@pytest.fixture(scope="module")
def wb(workbook_path):
    return openpyxl.load_workbook(workbook_path)


def test_sheets_in_order_with_lists_hidden(wb):
    assert wb.sheetnames == [K.SHEET_GUIDE, K.SHEET_BASIC, K.SHEET_MEMBERS, K.SHEET_ACTIVITIES,
                             K.SHEET_ACTIVISTS, K.SHEET_SELF, K.SHEET_PROBLEMS, K.SHEET_LISTS, K.SHEET_IDENTITY]
    assert wb[K.SHEET_LISTS].sheet_state == "hidden"
    assert wb[K.SHEET_IDENTITY].sheet_state == "veryHidden"
    assert all(wb[n].sheet_state == "visible" for n in wb.sheetnames[:7])


def test_self_assessment_has_every_indicator_locked(wb):
    ws = wb[K.SHEET_SELF]
    header = [c.value for c in ws[K.HEADER_ROW]]
    assert header == list(K.SELF_COLUMNS.values())
    rows = list(ws.iter_rows(min_row=K.HEADER_ROW + 1, values_only=True))
    assert [(r[0], r[3], r[4]) for r in rows] == [(i.code, i.text, i.points) for i in CHECKLIST.indicators]
    assert ws.protection.sheet
    for r in range(K.HEADER_ROW + 1, K.HEADER_ROW + 45):
        assert ws.cell(r, 4).protection.locked  # the indicator text cannot be edited
        assert not ws.cell(r, 6).protection.locked  # the rating can


def dropdowns(ws) -> dict[str, str]:
    """header of the validated column -> the list formula behind the dropdown."""
    headers = {c.column_letter: c.value for c in ws[K.HEADER_ROW]}
    out = {}
    for dv in ws.data_validations.dataValidation:
        if dv.type == "list":
            col = str(dv.sqref).split(":")[0].rstrip("0123456789")
            out[headers.get(col, str(dv.sqref))] = dv.formula1
    return out


def list_values(wb, name: str) -> list[str]:
    dn = wb.defined_names[name]
    (sheet, ref), = dn.destinations
    return [c.value for row in wb[sheet][ref.replace("$", "")] for c in row]


def test_every_choice_is_a_dropdown_fed_from_the_list_sheet(wb):
    assert dropdowns(wb[K.SHEET_SELF]) == {K.SELF_COLUMNS["rating"]: "xl_rating"}
    assert list_values(wb, "xl_rating") == CHECKLIST.rating_names
    assert dropdowns(wb[K.SHEET_ACTIVITIES]) == {K.ACTIVITY_COLUMNS["type"]: "xl_activity",
                                                 K.ACTIVITY_COLUMNS["secretary_lecture"]: "xl_yesno"}
    assert list_values(wb, "xl_activity") == list(K.ACTIVITY_TYPES)
    assert dropdowns(wb[K.SHEET_MEMBERS]) == {K.MEMBER_COLUMNS["category"]: "xl_category",
                                              K.MEMBER_COLUMNS["evaluation"]: "xl_grade"}
    assert dropdowns(wb[K.SHEET_PROBLEMS]) == {K.PROBLEM_COLUMNS["indicator"]: "xl_indicator",
                                               K.PROBLEM_COLUMNS["status"]: "xl_status"}
    assert list_values(wb, "xl_indicator") == [i.code for i in CHECKLIST.indicators]


def test_dates_and_numbers_are_validated_with_an_input_message(wb):
    ws = wb[K.SHEET_ACTIVITIES]
    kinds = {dv.type: dv for dv in ws.data_validations.dataValidation}
    date = kinds["date"]
    # the prompt gives the range the validator accepts and the one date example of 填表说明 and findings
    assert date.showInputMessage and date.prompt == "请填写 2019-01-01 至 2019-12-31 之间的日期，如 2019-06-20。"
    assert date.error == "请填写 2019-01-01 至 2019-12-31 之间的日期。"
    assert kinds["whole"].prompt == "请填写 0 至 1000 之间的整数。"


def test_identity_prefilled_locked_and_embedded(wb, workbook_path):
    b = BRANCHES[0]
    ws = wb[K.SHEET_BASIC]
    labels = {ws.cell(r, 1).value: ws.cell(r, 2) for r in range(K.BASIC_FIRST_ROW, ws.max_row + 1)}
    assert labels["支部编码"].value == b.code and labels["支部编码"].protection.locked
    assert labels["支部名称"].value == b.name and labels["所属总支"].value == b.general
    assert not labels["正式党员人数"].protection.locked
    ident = {r[0]: r[1] for r in wb[K.SHEET_IDENTITY].iter_rows(values_only=True)}
    assert ident == {"kind": K.KIND_BRANCH, "year": "2019", "branch_code": b.code, "branch_name": b.name,
                     "general": b.general, "template_version": template_version(CHECKLIST),
                     "checklist_fingerprint": CHECKLIST.fingerprint}
    assert ident["template_version"] == template_version(CHECKLIST) == f"{CHECKLIST.version}-{K.TEMPLATE_FORMAT}"
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["xlflow_branch_code"] == b.code


def column_style(ws, col: int):
    """The column style covering a 1-based column (openpyxl groups equal neighbours, e.g. B:C)."""
    return next(d for d in ws.column_dimensions.values() if d.min and d.min <= col <= d.max)


def test_input_cells_unlocked_and_tinted_everything_else_protected(wb):
    for name in (K.SHEET_BASIC, K.SHEET_MEMBERS, K.SHEET_ACTIVITIES, K.SHEET_ACTIVISTS, K.SHEET_SELF, K.SHEET_PROBLEMS):
        ws = wb[name]
        assert ws.protection.sheet, name
        assert ws.freeze_panes, name
        assert ws.page_setup.paperSize == 9, name  # A4
        header = ws.cell(K.HEADER_ROW, 2)
        assert header.protection.locked
    members = wb[K.SHEET_MEMBERS]
    # input columns are unlocked by their column style (Excel, WPS and LibreOffice apply it to
    # every cell of the column without a style of its own) and tinted over the table rows
    for col in range(2, 9):
        assert not column_style(members, col).protection.locked, col
    assert column_style(members, 1).protection.locked
    last = K.HEADER_ROW + K.TABLE_ROWS["members"]
    (tint,) = members.conditional_formatting
    assert str(tint.sqref) == f"B{K.HEADER_ROW + 1}:H{last}"
    assert tint.rules[0].dxf.fill.bgColor.rgb.endswith("FFF2CC")
    assert column_style(members, 7).number_format == "yyyy-mm-dd"
    assert members.cell(K.HEADER_ROW + 1, 1).value == 1  # 序号 pre-numbered and locked
    assert members.cell(K.HEADER_ROW + 1, 1).protection.locked
    assert members.max_row == last


def test_branch_text_is_written_as_text_never_as_a_formula(tmp_path):
    from dataclasses import replace
    odd = replace(BRANCHES[0], name="=HYPERLINK(\"http://x\",\"点\")", secretary="+张三")
    path = build_workbook(tmp_path / "odd.xlsx", odd, CAMPAIGN)
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert not any(b"<f>" in z.read(n) for n in sheets)
    assert openpyxl.load_workbook(path)[K.SHEET_BASIC]["B4"].value == odd.name


def test_handout_one_workbook_per_branch_and_a_zip_per_general(tmp_path):
    branches = BRANCHES[:12]
    paths = write_handout(Campaign(CHECKLIST, Settings(), branches), tmp_path, workers=2)
    assert paths == [handout_path(tmp_path, b) for b in branches]
    assert all(p.is_file() for p in paths)
    for general in {b.general for b in branches}:
        with zipfile.ZipFile(tmp_path / f"{general}.zip") as z:
            names = sorted(Path(n).name for n in z.namelist())
        assert names == sorted(handout_path(tmp_path, b).name for b in branches if b.general == general)
    assert not list(tmp_path.rglob("*.tmp"))


def test_saved_by_libreoffice_it_keeps_its_identity_and_indicators(tmp_path, libreoffice):
    """A branch that opens the workbook in LibreOffice and saves it as .xlsx still returns a workbook
    xlflow recognises: identity, the 44 indicators, dropdowns and protection."""
    from xlflow.identify import identify
    from xlflow.read import read_workbook

    branch = BRANCHES[5]
    original = build_workbook(tmp_path / "发出.xlsx", branch, CAMPAIGN)
    saved = libreoffice.resave(original, tmp_path / "LibreOffice另存.xlsx")
    raw = read_workbook(saved)
    assert {k: raw.identity[k] for k in K.IDENTITY_KEYS} == {
        "kind": K.KIND_BRANCH, "year": "2019", "branch_code": branch.code, "branch_name": branch.name,
        "general": branch.general, "template_version": template_version(CHECKLIST),
        "checklist_fingerprint": CHECKLIST.fingerprint}
    found_branch, found = identify(raw, CAMPAIGN)
    assert found_branch == branch and found == []
    assert [r[1]["code"] for r in raw.tables["self"].rows] == [i.code for i in CHECKLIST.indicators]
    wb = openpyxl.load_workbook(saved)
    assert wb[K.SHEET_SELF].protection.sheet and wb[K.SHEET_IDENTITY].sheet_state in ("hidden", "veryHidden")
    assert dropdowns(wb[K.SHEET_SELF]) and len(wb[K.SHEET_ACTIVITIES].data_validations.dataValidation) >= 4


def test_a_return_filled_and_saved_in_libreoffice_validates(tmp_path, libreoffice):
    from xlflow.identify import identify
    from xlflow.read import read_workbook
    from xlflow.sample import fill_workbook
    from xlflow.validate import Validator

    branch = BRANCHES[7]
    template = build_workbook(tmp_path / "发出.xlsx", branch, CAMPAIGN)
    fill_workbook(template, tmp_path / "填好.xlsx", branch, CAMPAIGN, seed=3)
    saved = libreoffice.resave(tmp_path / "填好.xlsx", tmp_path / "LibreOffice另存.xlsx")
    raw = read_workbook(saved)
    found_branch, found = identify(raw, CAMPAIGN)
    (checked,) = Validator(CAMPAIGN).validate([(raw, found_branch, found)])
    assert checked.report.valid, [f.message for f in checked.report.errors]
    direct = read_workbook(tmp_path / "填好.xlsx")
    (before,) = Validator(CAMPAIGN).validate([(direct, branch, [])])
    assert checked.tables == before.tables and checked.basic == before.basic  # the same data, read back


def test_a_phone_number_typed_in_keeps_its_leading_zero(tmp_path, libreoffice):
    """Issue 10 item 3: 0392… typed into 联系电话 must stay text, not become the number 392…. Typed
    in LibreOffice (which interprets input by the cell's format, as Excel and WPS do), saved, read."""
    from xlflow.identify import identify
    from xlflow.read import read_workbook
    from xlflow.sample import fill_workbook
    from xlflow.validate import Validator

    branch = BRANCHES[2]
    template = build_workbook(tmp_path / "发出.xlsx", branch, CAMPAIGN)
    ws = openpyxl.load_workbook(template)[K.SHEET_BASIC]
    phone = next(f"B{r}" for r in range(1, ws.max_row + 1) if ws[f"A{r}"].value == K.BASIC_FIELDS["phone"])
    assert ws[phone].number_format == "@"  # a text cell, before anything is typed
    fill_workbook(template, tmp_path / "填好.xlsx", branch, CAMPAIGN, seed=4)
    typed = libreoffice.type_in(tmp_path / "填好.xlsx", tmp_path / "输入电话.xlsx", {(K.SHEET_BASIC, phone): "03923311000"})
    assert openpyxl.load_workbook(typed)[K.SHEET_BASIC][phone].value == "03923311000"
    raw = read_workbook(typed)
    found_branch, found = identify(raw, CAMPAIGN)
    (checked,) = Validator(CAMPAIGN).validate([(raw, found_branch, found)])
    assert checked.basic["phone"] == "03923311000"


def test_the_guide_takes_the_indicator_count_and_the_ratings_from_the_checklist(tmp_path):
    import yaml

    doc = yaml.safe_load((ROOT / "templates" / "checklist.yaml").read_text(encoding="utf-8"))
    first = doc["categories"][0]["indicators"]
    first[1]["points"] += first.pop(0)["points"]  # one indicator fewer, the category's weight kept
    doc["ratings"][1]["name"] = "较好"
    edited = tmp_path / "checklist.yaml"
    edited.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    checklist = load_checklist(edited)
    ws = openpyxl.load_workbook(build_workbook(tmp_path / "b.xlsx", BRANCHES[0], Campaign(checklist, Settings())))[K.SHEET_GUIDE]
    [line] = [c.value for c in ws["A"] if c.value and str(c.value).startswith("四、")]
    assert line == ("四、自评表：对照 43 项建设要点逐项选择自评等次（达标 / 较好 / 未达标 / 不适用），并写明佐证材料和存在问题；"
                    "自评为“较好”或“未达标”的，请在“问题清单”中写明整改措施、责任人和完成时限。")
