"""A new campaign year starts from the last (`xlflow init NEWDIR --from OLDDIR`): settings advanced,
inputs carried, the old year frozen (ledger snapshot, sha256 manifest) and the old folder only read."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlflow import constants as K
from xlflow import ledger
from xlflow.campaign import Campaign
from xlflow.cli import main as cli
from xlflow.errors import XlflowError
from xlflow.ingest import candidates, run_pass
from xlflow.settings import load_settings
from xlflow.workbook import build_workbook, handout_path
from xlflow.workspace import Workspace, init_workspace
from xlflow.years import HISTORY, MANIFEST, start_year, years_held

from helpers import fill_workbook

NOW = dt.datetime(2020, 1, 10, 9, 0)


def _tree(root: Path) -> dict[str, tuple[str, float]]:
    """Every file under root: its sha256 and modification time (to see that nothing was touched)."""
    return {p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def year2019(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("years") / "2019年支部建设"
    ws, _ = init_workspace(root)
    inputs = ws.campaign()
    for n, b in enumerate(inputs.branches[:3]):
        fill_workbook(build_workbook(handout_path(ws.handout, b), b, inputs), ws.inbox / f"{b.code}.xlsx",
                      b, inputs, 500 + n)
    assert [o.outcome for o in run_pass(ws, candidates(ws.inbox), dt.datetime(2019, 11, 28, 9)).outcomes] == \
        ["accepted"] * 3
    toml = (root / "xlflow.toml").read_text(encoding="utf-8")
    (root / "xlflow.toml").write_text(toml.replace('decision_prefix = "（请在xlflow.toml中设置发文机关代字）"',
                                                   'decision_prefix = "鹤职院党发"').replace(
        "decision_number = 1", "decision_number = 17"), encoding="utf-8")
    return ws


def test_a_new_year_starts_from_the_last_and_the_old_folder_is_only_read(year2019, tmp_path):
    before = _tree(year2019.root)
    done = start_year(tmp_path / "2020年支部建设", year2019.root, NOW)
    assert _tree(year2019.root) == before, "nothing in the old folder is written, not even SQLite's -shm"
    s, new = done.settings, done.workspace
    assert (s.year, s.phase, s.deadline, s.first_review_deadline, s.period_start, s.period_end) == (
        2020, "提质", dt.date(2020, 11, 30), dt.date(2020, 12, 10), dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    assert s.decision_prefix == "鹤职院党发" and s.decision_number == 1  # the clerk's prefix kept, numbers anew
    text = (new.root / "xlflow.toml").read_text(encoding="utf-8")
    assert "year = 2020                 # 年度" in text and "# 各支部报送截止日期" in text  # comments kept in place
    for name in ("checklist.yaml", "branches.xlsx", "表彰决定.docx"):
        assert (new.templates / name).read_bytes() == (year2019.templates / name).read_bytes()
    assert years_held(new.root) == [2019]


def test_the_frozen_year_can_be_shown_as_it_was(year2019, tmp_path):
    done = start_year(tmp_path / "2020", year2019.root, NOW)
    manifest = json.loads((done.history / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["year"] == 2019 and manifest["frozen_at"] == "2020-01-10T09:00:00"
    listed = {e["path"]: e["sha256"] for e in manifest["files"]}
    old = _tree(year2019.root)
    for path, sha in listed.items():
        if path != "xlflow.db":
            assert old[path][0] == sha, path
    assert {p for p in old if p.startswith(("inbox/accepted/", "outbox/", "templates/"))} <= set(listed)
    assert hashlib.sha256((done.history / "xlflow.db").read_bytes()).hexdigest() == listed["xlflow.db"]
    with contextlib.closing(ledger.open_ledger(year2019.ledger)) as a, \
            contextlib.closing(ledger.open_ledger(done.history / "xlflow.db")) as b:
        assert ledger.branch_returns(a) == ledger.branch_returns(b) and len(ledger.branch_returns(b)) == 3


def test_three_years_hold_the_history_of_both_earlier_ones(year2019, tmp_path):
    y2020 = start_year(tmp_path / "2020", year2019.root, NOW).workspace
    y2021 = start_year(tmp_path / "2021", y2020.root, NOW.replace(year=2021))
    assert years_held(y2021.workspace.root) == [2019, 2020]
    assert (y2021.settings.year, y2021.settings.phase) == (2021, "创优")
    assert (y2021.workspace.root / HISTORY / "2019" / "xlflow.db").is_file()
    later = start_year(tmp_path / "2022", y2021.workspace.root, NOW.replace(year=2022))
    assert later.settings.phase == "创优"  # past the plan's three years the last phase goes on


@pytest.mark.parametrize("make, message", [
    (lambda tmp, old: (tmp / "空目录").mkdir(),
     "“{tmp}/空目录”不是 xlflow 工作目录（没有 xlflow.toml 和 templates/），无法从它开始新年度。"
     "请用 --from 指定上一年度的工作目录，例如 xlflow init 2020年支部建设 --from 2019年支部建设。"),
])
def test_from_a_folder_that_is_not_a_working_folder(year2019, tmp_path, make, message):
    make(tmp_path, year2019.root)
    with pytest.raises(XlflowError) as err:
        start_year(tmp_path / "新", tmp_path / "空目录", NOW)
    assert str(err.value) == message.format(tmp=tmp_path)
    assert not (tmp_path / "新").exists()


def test_a_year_already_started_is_left_alone(year2019, tmp_path):
    done = start_year(tmp_path / "2020", year2019.root, NOW)
    before = _tree(done.workspace.root)
    result = CliRunner().invoke(cli, ["init", str(done.workspace.root), "--from", str(year2019.root)])
    assert result.exit_code != 0
    assert f"“{done.workspace.root}”已经是一个工作目录（已有 xlflow.toml），新年度已经开始，没有改动任何文件。" in result.output
    assert _tree(done.workspace.root) == before


def test_the_command_says_what_was_carried_and_frozen(year2019, tmp_path):
    new = tmp_path / "2020年 支部建设"
    result = CliRunner().invoke(cli, ["init", str(new), "--from", str(year2019.root)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"已从 2019 年度（{year2019.root}）开始 2020 年度（提质引领）：{new.resolve()}"
    assert "2019 年度已归档：history/2019/（台账快照和" in result.output and "原目录没有任何改动" in result.output
    assert load_settings(new).year == 2020


def test_a_damaged_old_ledger_stops_before_anything_is_made(year2019, tmp_path):
    old = Path(shutil.copytree(year2019.root, tmp_path / "old"))
    (old / "xlflow.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(XlflowError) as err:
        start_year(tmp_path / "new", old, NOW)
    assert str(err.value).startswith(f"上一年度的台账 {old / 'xlflow.db'} 无法读取（")
    assert str(err.value).endswith("新年度没有建立。请先修复上一年度的台账后再试。")
    assert not (tmp_path / "new").exists()


def test_each_branch_carries_its_basics_roster_and_open_problems_into_the_new_year(year2019, tmp_path):
    from xlflow.carry import carried
    from xlflow.chain import history_standings
    from xlflow.rectify import rectify_items
    from xlflow.register import year_marks

    done = start_year(tmp_path / "2020", year2019.root, NOW)
    codes = [b.code for b in done.workspace.roster()]
    got = carried(done.workspace.root, codes)
    with contextlib.closing(ledger.open_ledger(year2019.ledger)) as conn:
        returned = ledger.current_returns(conn)
        for code, rid in returned.items():
            c = got[code]
            basic = ledger.return_rows(conn, rid, "basic")[0]
            assert c.year == 2019 and c.basic["secretary"] == basic["secretary"] and "filled_on" not in c.basic
            assert [m["name"] for m in c.members] == [m["name"] for m in ledger.return_rows(conn, rid, "members")]
            assert set(c.members[0]) == {"name", "category", "group"}  # not last year's hours, dues or evaluation
            open_ = [p["problem"] for p in ledger.return_rows(conn, rid, "problems") if p["status"] != "已完成"]
            assert [p["problem"] for p in c.problems] == open_ and all(p["raised"] == 2019 for p in c.problems)
            assert c.history == [(2019, K.STAGE_AWAIT_FIRST)] and c.standing_text == "2019年：待初验"
    missing = [c for c in codes if c not in returned]
    assert got[missing[0]].history == [(2019, K.STAGE_MISSING)] and not got[missing[0]].members
    root, roster = done.workspace.root, done.workspace.roster()
    todo = rectify_items(roster, 2020, {}, history_standings(root), year_marks(root), {}, NOW.date())
    assert [it.branch.code for it in todo] == codes  # nobody was 认定 in 2019 here: all on the 整顿 list


def test_the_frozen_year_keeps_the_inputs_it_was_decided_with(year2019, tmp_path):
    from xlflow.years import INPUTS

    done = start_year(tmp_path / "2020", year2019.root, NOW)
    then = Workspace(done.history / INPUTS)
    assert then.settings() == year2019.settings() and then.roster() == year2019.roster()
    assert then.checklist().fingerprint == year2019.checklist().fingerprint


def test_status_of_a_new_year_lists_last_years_unrecognized_branches_for_rectification(year2019, tmp_path):
    done = start_year(tmp_path / "2020", year2019.root, NOW)
    result = CliRunner().invoke(cli, ["status", "--root", str(done.workspace.root)])
    assert result.exit_code == 0, result.output
    from xlflow.register import year_marks

    first = done.workspace.roster()[0]
    failed = year_marks(done.workspace.root)[2019][first.code]["failed"]  # its self-ratings below 达标
    assert failed
    assert (f"整顿转化（上年度未认定达标 {sum(b.general == first.general for b in done.workspace.roster())} 个，已认定 0 个）："
            f"{first.name}（2019年待初验；未达标指标 {'、'.join(failed)}；待制定整顿措施；今年：未报）") in result.output
    last = done.workspace.roster()[-1]  # never reported in 2019
    assert f"{last.name}（2019年未报；待制定整顿措施；今年：未报）" in result.output
    assert "整顿转化：上年度未认定达标的 60 个党支部中，本年度已认定达标 0 个，整顿中 60 个" in result.output
    assert "全部达标进度：经学院党委认定达标 0 个 / 全院 60 个党支部（0%）" in result.output


def test_last_years_form_gets_one_clear_message(year2019, tmp_path):
    done = start_year(tmp_path / "2020", year2019.root, NOW)
    ws = done.workspace
    [old] = list(year2019.accepted.glob("*.xlsx"))[:1]
    shutil.copyfile(old, ws.inbox / "去年的表.xlsx")
    [o] = run_pass(ws, candidates(ws.inbox), dt.datetime(2020, 11, 20, 9)).outcomes
    assert o.outcome == "rejected" and o.errors == 1
    assert o.message == ("文件“去年的表.xlsx”是2019年的填报表，请使用2020年下发的填报表。"
                         "新年度的填报表已带上支部去年报送的基本信息、党员名册和未完成的问题，在其基础上修改即可。")


def test_an_earlier_year_is_read_back_as_it_was_decided(year2019, tmp_path):
    from xlflow.results import history_results, ledger_results

    done = start_year(tmp_path / "2020", year2019.root, NOW)
    ws = year2019
    now = ledger_results(ws.ledger, ws.campaign(), today=dt.date(2019, 12, 31))
    [(year, then)] = history_results(done.workspace.root)
    assert year == 2019
    assert [(r.branch.code, r.score.total, r.standing.stage) for r in then.branches] == \
        [(r.branch.code, r.score.total, r.standing.stage) for r in now.branches]


@pytest.fixture(scope="module")
def year2020(year2019, tmp_path_factory):
    """The 2020 folder started from 2019, with its handed-out workbooks pre-filled from last year."""
    from xlflow.carry import carried
    from xlflow.workbook import write_handout

    done = start_year(tmp_path_factory.mktemp("y2020") / "2020年支部建设", year2019.root, NOW)
    ws = done.workspace
    before = carried(ws.root, [b.code for b in ws.roster()])
    write_handout(ws.campaign(), ws.handout, workers=1, carried=before)
    code = next(c for c, v in before.items() if len(v.problems) >= 2)
    return {"ws": ws, "carried": before, "branch": next(b for b in ws.roster() if b.code == code)}


def _problem_rows(path: Path) -> list[dict]:
    import openpyxl

    ws = openpyxl.load_workbook(path)[K.SHEET_PROBLEMS]
    head = {c.value: c.column for c in ws[K.HEADER_ROW] if c.value}
    out = []
    for r in range(K.HEADER_ROW + 1, ws.max_row + 1):
        if ws.cell(r, head["存在问题"]).value:
            out.append({h: ws.cell(r, c) for h, c in head.items()})
    return out


def test_the_new_years_workbook_carries_last_years_data_for_the_secretary_to_update(year2020):
    import openpyxl

    ws, b = year2020["ws"], year2020["branch"]
    c = year2020["carried"][b.code]
    path = handout_path(ws.handout, b)
    wb = openpyxl.load_workbook(path)
    guide = " ".join(str(x.value) for x in wb[K.SHEET_GUIDE]["A"] if x.value)
    assert "本支部历年情况：2019年：待初验。" in guide and f"尚未完成的{len(c.problems)}个问题" in guide
    basic = {wb[K.SHEET_BASIC].cell(r, 1).value: wb[K.SHEET_BASIC].cell(r, 2).value
             for r in range(K.BASIC_FIRST_ROW, wb[K.SHEET_BASIC].max_row + 1)}
    assert basic["支部书记姓名"] == c.basic["secretary"] and basic["正式党员人数"] == c.basic["full_members"]
    assert basic["填表日期"] is None  # this year's to fill
    members = wb[K.SHEET_MEMBERS]
    names = [members.cell(r, 2).value for r in range(3, 3 + len(c.members))]
    assert names == [m["name"] for m in c.members] and members.cell(3, 5).value is None  # not last year's hours
    rows = _problem_rows(path)
    assert [(r["提出年度"].value, r["存在问题"].value) for r in rows] == [(2019, p["problem"]) for p in c.problems]
    for r in rows:
        assert r["存在问题"].protection.locked is not False and r["对应指标编码"].protection.locked is not False
        assert r["整改状态"].protection.locked is False and r["完成时限"].protection.locked is False


def test_a_carried_problem_survives_a_libreoffice_save_with_its_locked_text(year2020, libreoffice, tmp_path):
    from xlflow.read import read_workbook

    ws, b = year2020["ws"], year2020["branch"]
    saved = libreoffice.resave(handout_path(ws.handout, b), tmp_path / "LibreOffice另存.xlsx")
    rows = _problem_rows(saved)
    assert [r["存在问题"].value for r in rows] == [p["problem"] for p in year2020["carried"][b.code].problems]
    assert all(r["存在问题"].protection.locked is not False for r in rows)
    raw = read_workbook(saved)
    assert [v["problem"] for _, v in raw.tables["problems"].rows] == [r["存在问题"].value for r in rows]


def test_a_return_that_deletes_a_carried_problem_is_sent_back_naming_the_row(year2020, tmp_path):
    import openpyxl

    ws, b = year2020["ws"], year2020["branch"]
    work = Workspace(shutil.copytree(ws.root, tmp_path / "w"))
    filled = work.root / "filled.xlsx"
    fill_workbook(handout_path(work.handout, b), filled, b, work.campaign(), 7)
    wb = openpyxl.load_workbook(filled)
    sheet = wb[K.SHEET_PROBLEMS]
    head = {c.value: c.column for c in sheet[K.HEADER_ROW] if c.value}
    gone = sheet.cell(4, head["存在问题"]).value  # the second carried problem: its row emptied
    indicator = sheet.cell(4, head["对应指标编码"]).value
    for col in head.values():
        if col > 1:
            sheet.cell(4, col).value = None
    wb.save(work.inbox / "删了一行.xlsx")
    shutil.copyfile(filled, work.inbox / "原样.xlsx")
    outcomes = {o.name: o for o in run_pass(work, candidates(work.inbox), dt.datetime(2020, 11, 20, 9)).outcomes}
    assert outcomes["原样.xlsx"].outcome == "accepted"  # carried problems kept (statuses updated): taken in
    bad = outcomes["删了一行.xlsx"]
    assert bad.outcome == "rejected"
    short = work.checklist().indicator(indicator).short
    letter = openpyxl.utils.get_column_letter(head["存在问题"])
    with contextlib.closing(ledger.open_ledger(work.ledger)) as conn:
        messages = [r["message"] for r in conn.execute(
            "SELECT message FROM findings JOIN files f ON f.id = file_id WHERE f.original_name = '删了一行.xlsx'")]
    assert (f"问题清单!{letter}4（指标 {indicator} {short}）：第 4 行2019年提出的问题“{gone}”被删除或改动了。往年的问题不能删除，"
            "完成整改的请把“整改状态”改为“已完成”来销号。请恢复这一行（可从下发的填报表中复制）后再提交。") in messages


def test_a_renamed_split_or_merged_branch_keeps_its_history_through_its_code(year2019, tmp_path):
    from openpyxl import load_workbook

    from xlflow.carry import carried

    done = start_year(tmp_path / "2020", year2019.root, NOW)
    ws = done.workspace
    roster = ws.roster()
    a, b, c = roster[0], roster[1], roster[2]  # all three returned in 2019
    wb = load_workbook(ws.roster_path)
    sheet = wb[K.ROSTER_SHEET]
    head = {cell.value: cell.column for cell in sheet[1] if cell.value}
    assert K.ROSTER_COLUMNS["origin"] in head  # the shipped roster has the column, and says how to use it
    assert "支部改名：只改“支部名称”，保留原来的“支部编码”。" in [c.value for c in wb["填写说明"]["A"]]
    rows = {sheet.cell(r, head["支部编码"]).value: r for r in range(2, sheet.max_row + 1)}
    sheet.cell(rows[a.code], head["支部名称"]).value = a.name + "（更名）"  # a rename keeps the code
    sheet.cell(rows[b.code], head["支部编码"]).value = "JD-X01"  # b and c merged into a new code …
    sheet.delete_rows(rows[c.code])
    wb.save(ws.roster_path)
    result = CliRunner().invoke(cli, ["templates", "--root", str(ws.root), "--workers", "1"])
    assert result.exit_code != 0
    assert ("支部编码“JD-X01”（" + b.name + "）是2020年新出现的，请在“原支部编码”一栏填写它由哪个（哪些）支部"
            "拆分或合并而来，新成立的支部填“新建”。如果只是改了名称，请保留原来的支部编码。") in result.output
    wb = load_workbook(ws.roster_path)  # … recorded as such
    sheet = wb[K.ROSTER_SHEET]
    new_row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, head["支部编码"]).value == "JD-X01")
    sheet.cell(new_row, head[K.ROSTER_COLUMNS["origin"]]).value = f"{b.code}、{c.code}"
    wb.save(ws.roster_path)
    merged = next(x for x in ws.roster() if x.code == "JD-X01")
    assert merged.origin == (b.code, c.code)
    got = carried(ws.root, [x.code for x in ws.roster()], {"JD-X01": merged.origin})
    before = carried(ws.root, [b.code, c.code])
    assert [p["problem"] for p in got["JD-X01"].problems] == \
        [p["problem"] for p in before[b.code].problems + before[c.code].problems]
    assert got[a.code].basic == carried(ws.root, [a.code])[a.code].basic and got[a.code].basic
    result = CliRunner().invoke(cli, ["templates", "--root", str(ws.root), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "在2020年的名册中没有了" not in result.output  # both old codes are named as 原支部编码


# ---- 整顿转化: the 总支's plan for each branch not 认定 last year (整顿 workbook, through the inbox) ----

def _fill_rectify(path: Path, dest: Path, rows: dict[int, dict]) -> None:
    """Fill data rows (0-based among the data rows) of a 整顿 workbook: header text -> value."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb[K.RECTIFY_SHEET]
    head = {c.value: c.column for c in ws[K.HEADER_ROW] if c.value}
    for n, values in rows.items():
        for h, v in values.items():
            ws.cell(K.HEADER_ROW + 1 + n, head[h]).value = v
    wb.save(dest)


def test_the_rectify_workbook_takes_plan_person_and_deadline_and_status_tracks_them(year2019, tmp_path):
    from xlflow.documents import REMINDER, plan
    from xlflow.results import ledger_results
    from xlflow.status import campaign_status, format_status

    done = start_year(tmp_path / "2020", year2019.root, NOW)
    ws = done.workspace
    result = CliRunner().invoke(cli, ["review", "--root", str(ws.root)])
    assert result.exit_code == 0, result.output
    roster = ws.roster()
    generals = list(dict.fromkeys(b.general for b in roster))
    assert f"已生成验收工作簿 {len(generals)} 份（整顿 {len(generals)} 份）" in result.output
    g = roster[0].general
    path = ws.review / f"整顿_{g}.xlsx"
    import openpyxl

    sheet = openpyxl.load_workbook(path)[K.RECTIFY_SHEET]
    head = {c.value: c.column for c in sheet[K.HEADER_ROW] if c.value}
    mine = [b for b in roster if b.general == g]
    assert [sheet.cell(K.HEADER_ROW + 1 + n, head["支部名称"]).value for n in range(len(mine))] == [b.name for b in mine]
    assert sheet.cell(K.HEADER_ROW + 1, head["上年度验收状态"]).value == K.STAGE_AWAIT_FIRST  # returned, never reviewed
    assert sheet.cell(K.HEADER_ROW + 1, head["整顿措施"]).protection.locked is False
    assert sheet.cell(K.HEADER_ROW + 1, head["支部名称"]).protection.locked is not False

    # bad: a plan without its person; a deadline outside the year
    _fill_rectify(path, ws.inbox / "整顿（漏填）.xlsx", {
        0: {"整顿措施": "补齐三会一课记录", "完成期限": dt.datetime(2020, 9, 30)},
        1: {"整顿措施": "配齐支委", "责任人": "王明", "完成期限": dt.datetime(2021, 3, 1)}})
    [o] = run_pass(ws, candidates(ws.inbox), dt.datetime(2020, 3, 10, 9)).outcomes
    assert o.outcome == "rejected" and o.errors == 2
    assert o.details[:2] == [
        f"整顿清单!G3：{mine[0].name}的责任人没有填写。整顿转化的每个支部要写明整顿措施、责任人和完成期限，"
        "三项缺一不可；暂时定不下来的支部，本行浅黄色格子请全部留空。",
        f"整顿清单!H4：{mine[1].name}的完成期限“2021-03-01”不在本年度（2020-01-01 至 2020-12-31）内。"
        "整顿要在本年度完成，请填写2020年内的日期（如 2020-11-10）。"]
    _fill_rectify(path, ws.inbox / "整顿（空）.xlsx", {})
    [o] = run_pass(ws, candidates(ws.inbox), dt.datetime(2020, 3, 10, 10)).outcomes
    assert o.outcome == "rejected" and o.details == [
        "文件“整顿（空）.xlsx”中还没有填写任何支部的整顿措施，没有可以接收的内容。请在“整顿清单”表的浅黄色格子中"
        "填写整顿措施、责任人和完成期限后再提交。"]

    # good: two plans; the rest of the 总支's branches stay without one
    _fill_rectify(path, ws.inbox / "整顿（已填）.xlsx", {
        0: {"整顿措施": "补齐三会一课记录", "责任人": "李红", "完成期限": dt.datetime(2020, 9, 30)},
        1: {"整顿措施": "配齐支委", "责任人": "王明", "完成期限": dt.datetime(2020, 12, 20), "进展情况": "已选出组织委员"}})
    [o] = run_pass(ws, candidates(ws.inbox), dt.datetime(2020, 3, 11, 9)).outcomes
    assert o.outcome == "accepted", o.details
    assert o.details == [f"整顿清单!H4：{mine[1].name}的完成期限 2020-12-20 晚于本年度初验截止日期 2020-12-10，"
                         "整顿完成前该支部难以通过初验。如确需这样安排，可不必修改。"]
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        plans = ledger.rectify_plans(conn)
        assert plans[mine[0].code]["owner"] == "李红" and plans[mine[1].code]["progress"] == "已选出组织委员"
        assert len(plans) == 2
        text = format_status(campaign_status(conn, roster, ws.settings(), dt.date(2020, 10, 15), ws.root))
    from xlflow.register import year_marks

    failed = "、".join(year_marks(ws.root)[2019][mine[0].code]["failed"])
    assert (f"{mine[0].name}（2019年待初验；未达标指标 {failed}；整顿措施：补齐三会一课记录，责任人：李红，"
            "完成期限：2020-09-30；今年：未报）") in text
    assert f"{g} 整顿逾期：{mine[0].name}（完成期限 2020-09-30，责任人 李红，今年：未报）" in text
    assert f"{mine[1].name}（完成期限" not in text  # not due yet

    # re-issued, the workbook carries what was returned; the 催报通知 names the overdue plan
    CliRunner().invoke(cli, ["review", "--root", str(ws.root)])
    again = openpyxl.load_workbook(path)[K.RECTIFY_SHEET]
    assert again.cell(K.HEADER_ROW + 2, head["进展情况"]).value == "已选出组织委员"
    res = ledger_results(ws.ledger, Campaign(ws.checklist(), ws.settings(), roster), today=dt.date(2020, 10, 15))
    [doc] = [d for d in plan(res, dt.date(2020, 10, 15), kinds=[REMINDER])
             if d.path.startswith(f"催报通知/{g}")]
    assert [(m["name"], m["owner"], m["deadline"], m["now"]) for m in doc.context["plans"]] == [
        (mine[0].name, "李红", "2020-09-30", K.STAGE_MISSING)]
    assert doc.context["progress"].startswith("截至2020年10月15日，全院经学院党委认定达标的党支部0个，占全院60个党支部的0%")


def test_a_branch_split_or_merged_from_one_that_failed_is_on_the_rectification_list():
    """原支部编码 in the roster: the new code takes over its origins' open 整顿 (issue 9)."""
    from xlflow.chain import Standing
    from xlflow.rectify import rectify_items
    from xlflow.roster import Branch

    last = {"A": Standing("A", K.STAGE_FIRST_FAILED, "初验不同意达标"),
            "B": Standing("B", K.STAGE_RECOGNIZED, "认定达标", recognized=True),
            "C": Standing("C", K.STAGE_RECOGNIZED, "认定达标", recognized=True)}
    marks = {2019: {"A": {"failed": ["ZJ02", "ZS01"]}, "B": {"failed": []}}}
    roster = [Branch("A1", "甲一支部", "甲总支", "教师党支部", origin=("A",)),  # split from A, which failed
              Branch("A2", "甲二支部", "甲总支", "教师党支部", origin=("A", "B")),  # merged from A and B
              Branch("BC", "乙丙支部", "乙总支", "学生党支部", origin=("B", "C")),  # both 认定: nothing to rectify
              Branch("N", "新支部", "乙总支", "学生党支部", origin=(K.ROSTER_NEW,))]
    todo = rectify_items(roster, 2020, {}, {2019: last}, marks, {}, dt.date(2020, 3, 1))
    assert [(it.branch.code, it.last_stage, it.failed) for it in todo] == [
        ("A1", K.STAGE_FIRST_FAILED, ["ZJ02", "ZS01"]), ("A2", K.STAGE_FIRST_FAILED, ["ZJ02", "ZS01"])]
