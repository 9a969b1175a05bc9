"""Validation of a returned workbook, one typical edit at a time, with the exact message the branch
reads. Real workbooks: built from the repository's checklist and roster, filled by sample.py,
edited with openpyxl as a secretary would in Excel, then read, identified and validated."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from xlflow import constants as K
from xlflow.campaign import Campaign
from xlflow.identify import identify
from xlflow.read import read_workbook
from xlflow.validate import Validator
from xlflow.workbook import build_workbook

from helpers import basic_cell, fill_workbook, shipped_campaign

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN = shipped_campaign()
CHECKLIST, SETTINGS, BRANCHES = CAMPAIGN.checklist, CAMPAIGN.settings, CAMPAIGN.branches
BRANCH = next(b for b in BRANCHES if b.type == "教师党支部")


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("validate")
    template = build_workbook(d / "template.xlsx", BRANCH, CAMPAIGN)
    fill_workbook(template, d / "clean.xlsx", BRANCH, CAMPAIGN, seed=11)
    return d / "clean.xlsx"


def validate(*paths: Path):
    items = []
    for p in paths:
        raw = read_workbook(p)
        branch, found = identify(raw, CAMPAIGN)
        items.append((raw, branch, found))
    return Validator(CAMPAIGN).validate(items)


def edited(clean: Path, tmp_path: Path, edit) -> Path:
    wb = openpyxl.load_workbook(clean)
    edit(wb)
    dest = tmp_path / "edited.xlsx"
    wb.save(dest)
    return dest


def col(ws, header: str) -> str:
    return next(c.column_letter for c in ws[K.HEADER_ROW] if c.value == header)


def messages(checked, severity: str | None = None) -> list[str]:
    return [f.message for f in checked.report.findings if severity is None or f.severity == severity]


def test_a_clean_return_is_valid(clean):
    (c,) = validate(clean)
    assert c.report.valid, messages(c)
    assert c.branch == BRANCH and len(c.tables["self"]) == 44 and c.tables["members"]


def test_each_typical_mistake_gives_its_message(clean, tmp_path):
    members, activities = K.SHEET_MEMBERS, K.SHEET_ACTIVITIES

    def edit(wb):
        m, a, s = wb[members], wb[activities], wb[K.SHEET_SELF]
        m[f"{col(m, '党员类别')}3"] = None  # a required choice left blank
        m[f"{col(m, '本年度集中学习学时')}4"] = 600  # out of range
        m[f"{col(m, '民主评议等次')}5"] = "良"  # not one of the choices
        a[f"{col(a, '日期')}3"] = "19.6.20"  # a two-digit year, typed as text
        a[f"{col(a, '应到人数')}4"], a[f"{col(a, '实到人数')}4"] = 10, 12
        a[f"{col(a, '日期')}5"] = "2020-01-05"  # after the period
        s["D3"] = "（改过的指标内容）"  # a locked cell changed anyway

    (c,) = validate(edited(clean, tmp_path, edit))
    ind = CHECKLIST.indicators[0]  # the row of 自评表!D3: its findings name the indicator
    cm, ca = {}, {}
    wb = openpyxl.load_workbook(clean)
    for name, store in ((members, cm), (activities, ca)):
        store.update({h.value: h.column_letter for h in wb[name][K.HEADER_ROW] if h.value})
    basic = openpyxl.load_workbook(clean)[K.SHEET_BASIC]
    full = basic[basic_cell(basic, "正式党员人数")]
    assert sorted(messages(c, "error")) == sorted([
        f"{members}!{cm['党员类别']}3：“党员类别”没有填写。请补填。",
        # the blank category also leaves the roster one 正式党员 short of 基本信息
        f"{K.SHEET_BASIC}!{full.coordinate}：填写的正式党员人数为 {full.value} 人，但党员名册中正式党员有 {full.value - 1} 人。"
        "请核对后使两处一致。",
        f"{members}!{cm['本年度集中学习学时']}4：“600”超出合理范围，“本年度集中学习学时”应在 0 至 500 之间。请核对后重新填写。",
        f"{members}!{cm['民主评议等次']}5：“良”不在可选项中。请从下拉列表中选择以下之一：优秀、合格、基本合格、不合格、未评议。",
        f"{activities}!{ca['日期']}3：“19.6.20”的年份只有两位，无法确定是哪一年。请写出四位年份，例如 2019年6月20日。",
        f"{activities}!{ca['实到人数']}4：实到人数“12”多于同一行的应到人数。请核对签到记录后更正。",
        f"{activities}!{ca['日期']}5：日期“2020-01-05”不在 2019-01-01 至 2019-12-31 之间。"
        "只填写 2019-01-01 至 2019-12-31 统计期间内的情况。",
        f"{K.SHEET_SELF}!D3（指标 {ind.code} {ind.short}）：指标内容被改动，与下发的建设要点清单不一致。灰色格子不能修改，请恢复原文，或改用下发的原始填报表。",
    ])


def test_committee_size(clean, tmp_path):
    def with_committee(has: str, size):
        def edit(wb):
            ws = wb[K.SHEET_BASIC]
            ws[basic_cell(ws, "是否设支部委员会")] = has
            ws[basic_cell(ws, "支委会委员人数")] = size
        return edit

    (no_committee,) = validate(edited(clean, tmp_path, with_committee("否", 0)))
    assert not any(f.code in ("V233", "V237") for f in no_committee.report.findings)
    (zero,) = validate(edited(clean, tmp_path, with_committee("是", 0)))
    cell = basic_cell(openpyxl.load_workbook(clean)[K.SHEET_BASIC], "支委会委员人数")
    assert f"{K.SHEET_BASIC}!{cell}：已选择设支部委员会，请填写支委会委员人数。" in messages(zero, "error")


def test_counts_must_agree_with_the_member_roster(clean, tmp_path):
    def edit(wb):
        ws = wb[K.SHEET_BASIC]
        cell = basic_cell(ws, "正式党员人数")
        ws[cell] = ws[cell].value + 2

    path = edited(clean, tmp_path, edit)
    wb = openpyxl.load_workbook(path)
    cell = basic_cell(wb[K.SHEET_BASIC], "正式党员人数")
    stated = wb[K.SHEET_BASIC][cell].value
    m = wb[K.SHEET_MEMBERS]
    listed = sum(1 for r in range(3, m.max_row + 1) if m[f"{col(m, '党员类别')}{r}"].value == "正式党员")
    (c,) = validate(path)
    assert f"{K.SHEET_BASIC}!{cell}：填写的正式党员人数为 {stated} 人，但党员名册中正式党员有 {listed} 人。请核对后使两处一致。" \
        in messages(c, "error")


def test_an_indicator_row_emptied_and_a_rating_without_a_measure(clean, tmp_path):
    def edit(wb):
        s = wb[K.SHEET_SELF]
        for c in "ABCDEFGH":
            s[f"{c}46"] = None  # the last indicator's row cleared
        s["F3"] = "基本达标"  # downgraded, but no line in the 问题清单
        p = wb[K.SHEET_PROBLEMS]
        for r in range(3, p.max_row + 1):
            if p[f"{col(p, '对应指标编码')}{r}"].value == CHECKLIST.indicators[0].code:
                for c in "BCDEFG":
                    p[f"{c}{r}"] = None

    (c,) = validate(edited(clean, tmp_path, edit))
    last = CHECKLIST.indicators[-1]
    assert f"工作表“{K.SHEET_SELF}”缺少指标 {last.code}（{last.short}）。每一项指标都要自评，请使用下发的原始填报表。" \
        in messages(c, "error")
    first = CHECKLIST.indicators[0]
    assert f"{K.SHEET_SELF}!F3（指标 {first.code} {first.short}）：自评为“基本达标”，但问题清单中没有这项指标的问题和整改措施。" \
           "请在“问题清单”中补充。" \
        in messages(c, "warning")


def test_structure_problems(clean, tmp_path):
    def edit(wb):
        wb[K.SHEET_ACTIVISTS].title = "积极分子"  # renamed: found by its headers
        m = wb[K.SHEET_MEMBERS]
        m["J2"], m["J3"] = "备注", "调入"  # an extra column with content
        a = wb[K.SHEET_ACTIVITIES]
        a[f"{col(a, '主题')}2"] = "内容"  # a header overwritten
        ws = wb[K.SHEET_BASIC]
        ws[f"A{basic_cell(ws, '党小组个数')[1:]}"] = "小组数"  # a label changed
        del wb[K.SHEET_PROBLEMS]

    (c,) = validate(edited(clean, tmp_path, edit))
    # each structural problem once: no "not filled in" for every row of a missing column, and no
    # "missing measure" for every downgraded indicator when the whole 问题清单 sheet is gone
    assert sorted(messages(c)) == sorted([
        "工作表“入党积极分子”被改名为“积极分子”，已按表头识别并读取。以后请不要修改工作表名称。",
        "工作表“三会一课”缺少“主题”列（表头被改动或删除）。请恢复原来的表头后重新提交，或改用下发的原始填报表。",
        f"{K.SHEET_MEMBERS}!J2：多出的“备注”列不属于填报表，其中的内容没有被读取。如有需要说明的情况，请写在规定的栏目中。",
        f"{K.SHEET_ACTIVITIES}!D2：多出的“内容”列不属于填报表，其中的内容没有被读取。如有需要说明的情况，请写在规定的栏目中。",
        "缺少工作表“问题清单”。请使用下发的原始填报表填写，不要删除或改名工作表。",
        "工作表“基本信息”中找不到“党小组个数”一项。请恢复该行后重新提交，或改用下发的原始填报表。",
    ])


def test_a_batch_keeps_each_files_findings_apart(clean, tmp_path):
    def edit(wb):
        wb[K.SHEET_SELF]["F4"] = "良好"

    bad = edited(clean, tmp_path, edit)
    first, second, third = validate(clean, bad, clean)
    assert first.report.valid and third.report.valid
    ind = CHECKLIST.indicators[1]  # row 4 of 自评表
    assert messages(second) == [f"{K.SHEET_SELF}!F4（指标 {ind.code} {ind.short}）：“良好”不在可选项中。请从下拉列表中选择以下之一：达标、基本达标、未达标、不适用。"]


def test_every_required_basic_field_left_blank_is_reported(clean, tmp_path):
    """Each required line of 基本信息, emptied one at a time, is named by its own message."""
    from xlflow.validate import field_specs

    required = [f.key for f in field_specs(CAMPAIGN)["basic"] if f.required]
    assert "secretary" in required and "filled_on" in required

    def edit(wb):
        ws = wb[K.SHEET_BASIC]
        for key in required:
            ws[basic_cell(ws, K.BASIC_FIELDS[key])] = None

    (c,) = validate(edited(clean, tmp_path, edit))
    ws = openpyxl.load_workbook(clean)[K.SHEET_BASIC]
    blank = [f"{K.SHEET_BASIC}!{basic_cell(ws, K.BASIC_FIELDS[k])}：“{K.BASIC_FIELDS[k]}”没有填写。请补填。" for k in required]
    assert [m for m in messages(c, "error") if "没有填写" in m] == blank


def test_records_that_cannot_be_true_name_their_row(clean, tmp_path):
    """Issue 10 item 4: a meeting dated after the form's 填表日期 (planned, entered as held) and the
    same member entered twice on the roster are errors that name the row."""
    import datetime as dt

    wb = openpyxl.load_workbook(clean)
    basic, m, a = wb[K.SHEET_BASIC], wb[K.SHEET_MEMBERS], wb[K.SHEET_ACTIVITIES]
    filled = basic[basic_cell(basic, "填表日期")].value.date()
    later = filled + dt.timedelta(days=3)
    name = m[f"{col(m, '姓名')}3"].value
    elected = basic_cell(basic, "本届支委会（书记）选举日期")

    def edit(wb):
        wb[K.SHEET_ACTIVITIES][f"{col(a, '日期')}7"] = later
        wb[K.SHEET_MEMBERS][f"{col(m, '姓名')}6"] = name
        wb[K.SHEET_BASIC][elected] = later  # 基本信息 too: an election after the form was filled

    (c,) = validate(edited(clean, tmp_path, edit))
    assert later <= SETTINGS.period_end  # inside the period: only the 填表日期 makes it impossible
    assert sorted(messages(c, "error")) == sorted([
        f"{K.SHEET_ACTIVITIES}!{col(a, '日期')}7：第 7 行的日期“{later:%Y-%m-%d}”晚于填表日期 {filled:%Y-%m-%d}。"
        "还没有发生的事项（如计划召开的会议）请不要填写；如果是填表日期写错了，请更正“基本信息”中的填表日期。",
        f"{K.SHEET_BASIC}!{elected}：第 {elected[1:]} 行的本届支委会（书记）选举日期“{later:%Y-%m-%d}”晚于填表日期 "
        f"{filled:%Y-%m-%d}。还没有发生的事项（如计划召开的会议）请不要填写；如果是填表日期写错了，请更正“基本信息”中的填表日期。",
        f"{K.SHEET_MEMBERS}!{col(m, '姓名')}6：第 6 行的姓名“{name}”与第 3 行重复，同一个人只能填写一行。"
        f"请删除重复的一行；如确有两人同名，请在姓名后注明以便区分，例如“{name}（大）”。",
    ])


def test_a_finding_on_a_problem_line_names_its_indicator(clean, tmp_path):
    wb = openpyxl.load_workbook(clean)
    p = wb[K.SHEET_PROBLEMS]
    code = p[f"{col(p, '对应指标编码')}3"].value
    ind = CHECKLIST.indicator(code)

    def edit(wb):
        wb[K.SHEET_PROBLEMS][f"{col(p, '整改措施')}3"] = None

    (c,) = validate(edited(clean, tmp_path, edit))
    assert messages(c, "error") == [
        f"{K.SHEET_PROBLEMS}!{col(p, '整改措施')}3（指标 {ind.code} {ind.short}）：“整改措施”没有填写。请补填。"]


def test_no_message_to_a_branch_names_the_tool():
    from xlflow.messages import Code, Stage
    # the file, identity, cell and evidence findings a branch reads (R4xx speak to the college's own
    # clerk, who does run the tool: one names its settings file)
    to_branch = {c.name: c.template for c in Code if c.stage is not Stage.REVIEW}
    assert len(to_branch) > 40 and [code for code, text in to_branch.items() if "xlflow" in text.lower()] == []


@pytest.mark.parametrize("year", [2019, 2021])
def test_one_date_example_in_the_guide_the_input_messages_and_the_findings(tmp_path, year):
    """Issue 10 item 5: 填表说明, every date cell's input message and the date findings show the
    same example, in the campaign's year."""
    from dataclasses import replace
    import datetime as dt

    settings = replace(SETTINGS, year=year, period_start=dt.date(year, 1, 1), period_end=dt.date(year, 12, 31))
    campaign = Campaign(CHECKLIST, settings, BRANCHES)
    wb = openpyxl.load_workbook(build_workbook(tmp_path / "wb.xlsx", BRANCH, campaign))
    example = f"{year}-06-20"
    guide = "".join(str(c.value or "") for row in wb[K.SHEET_GUIDE].iter_rows() for c in row)
    assert f"日期请写成 {example} 的形式" in guide
    prompts = [dv.prompt for ws in wb.worksheets for dv in ws.data_validations.dataValidation if dv.type == "date"]
    assert len(prompts) == 7 and all(p.endswith(f"，如 {example}。") for p in prompts)
    assert {y for p in prompts + [guide] for y in re.findall(r"如 (\d{4}-\d\d-\d\d)", p)} == {example}
    raw = read_workbook(fill_and_break(tmp_path, campaign))
    branch, found = identify(raw, campaign)
    (c,) = Validator(campaign).validate([(raw, branch, found)])
    assert any(m.endswith(f"例如 {example} 或 {year}年6月20日。") for m in messages(c, "error"))


def fill_and_break(tmp_path: Path, campaign: Campaign) -> Path:
    """A filled return for the campaign with one date that is not a date."""
    template = build_workbook(tmp_path / "t.xlsx", BRANCH, campaign)
    fill_workbook(template, tmp_path / "f.xlsx", BRANCH, campaign, seed=2)
    wb = openpyxl.load_workbook(tmp_path / "f.xlsx")
    a = wb[K.SHEET_ACTIVITIES]
    a[f"{col(a, '日期')}3"] = "六月二十日上午"
    wb.save(tmp_path / "broken.xlsx")
    return tmp_path / "broken.xlsx"
