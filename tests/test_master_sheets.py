"""The master workbook as a clerk meets it: columns that can be added without breaking a formula,
edits that are never lost, data sheets with 是/否 and real dates, and every sheet set up to print."""

import datetime as dt
from dataclasses import replace
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import xlflow.master as master
from xlflow import constants as K
from xlflow.cli import main
from xlflow.ingest import candidates, run_pass
from xlflow.keep import manifest_path
from xlflow.ledger import open_ledger
from xlflow.master import Col, Columns, build
from xlflow.messages import master_edit_kept
from xlflow.outputs import rebuild_master
from xlflow.results import load_results
from xlflow.sample import plan_demo
from xlflow.sheetstyle import display_width
from xlflow.workbook import handout_path, write_handout
from xlflow.workspace import Workspace, init_workspace

from helpers import fill_workbook

NOW = dt.datetime(2019, 11, 28, 10, 0)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """A working folder with a dozen returns ingested and its master built (with the manifest)."""
    ws, _ = init_workspace(tmp_path_factory.mktemp("campaign"))
    inputs = ws.campaign()
    chosen = inputs.branches[:12]
    write_handout(replace(inputs, branches=chosen), ws.handout, workers=2)
    plan = plan_demo(chosen, 7)  # some branches make mistakes: the log and the missing list have rows
    for n, b in enumerate(chosen):
        if b.code in plan:
            fill_workbook(handout_path(ws.handout, b), ws.inbox / f"{b.code}.xlsx", b, inputs, n, plan[b.code])
    run_pass(ws, candidates(ws.inbox), NOW)
    rebuild_master(ws, NOW)
    return ws


def copy_of(ws: Workspace, tmp_path: Path) -> Workspace:
    return Workspace(shutil.copytree(ws.root, tmp_path / "copy"))


def heads(sheet) -> dict[str, int]:
    """header -> 1-based column, from row 2."""
    return {c.value: c.column for c in sheet[2] if c.value}


def column(sheet, header: str) -> list:
    col = heads(sheet)[header]
    return [r[col - 1] for r in sheet.iter_rows(min_row=3, values_only=True) if r[0] is not None]


def formulas_agree(path: Path, judged: Path) -> tuple[int, list]:
    formulas = openpyxl.load_workbook(path)
    cached, recalced = openpyxl.load_workbook(path, data_only=True), openpyxl.load_workbook(judged, data_only=True)
    cells = [(s.title, c.coordinate) for s in formulas.worksheets for row in s.iter_rows() for c in row
             if c.data_type == "f"]

    def same(a, b):
        a, b = ("" if a is None else a), ("" if b is None else b)
        return abs(a - b) < 1e-6 if isinstance(a, (int, float)) and isinstance(b, (int, float)) else a == b

    return len(cells), [(s, c, cached[s][c].value, recalced[s][c].value) for s, c in cells
                        if not same(cached[s][c].value, recalced[s][c].value)]


# -- columns by name -------------------------------------------------------------------------------

def insert(cols: Columns, before: str, col: Col) -> Columns:
    i = cols[before]
    return Columns([*cols.cols[:i], col, *cols.cols[i:]])


def test_an_inserted_column_breaks_no_formula_in_libreoffice(campaign, libreoffice, tmp_path, monkeypatch):
    """A column added in the middle of every sheet that has formulas (detail, scores, roster, the
    overview's tables) moves every reference: LibreOffice recomputes each formula to its cached value
    and the scores are those xlflow computed."""
    ws = campaign
    monkeypatch.setattr(master, "DETAIL", insert(insert(master.DETAIL, "points", Col("note", "备注")),
                                                 "factor", Col("note2", "备注二")))
    monkeypatch.setattr(master, "SCORE_TAIL", (Col("inserted", "插入的列"), *master.SCORE_TAIL))
    monkeypatch.setattr(master, "SCORE_HEAD", (*master.SCORE_HEAD[:1], Col("x", "插入列"), *master.SCORE_HEAD[1:]))
    monkeypatch.setattr(master, "ROSTER", insert(master.ROSTER, "general", Col("x", "插入列")))
    monkeypatch.setattr(master, "GENERALS", insert(master.GENERALS, "expected", Col("x", "插入列")))
    monkeypatch.setattr(master, "PROFILE", insert(master.PROFILE, "weight", Col("x", "插入列")))
    monkeypatch.setattr(master, "GRADE_COUNTS", insert(master.GRADE_COUNTS, "grade", Col("x", "插入列")))
    conn = open_ledger(ws.ledger)
    results = load_results(conn, ws.campaign())
    path = tmp_path / "master.xlsx"
    build(path, results, conn)
    conn.close()
    wb = openpyxl.load_workbook(path, read_only=True)
    assert [c.value for c in next(wb[K.MASTER_DETAIL].iter_rows(min_row=2, max_row=2))][3:7] == [
        "指标编码", "类别", "备注", "分值"]
    count, wrong = formulas_agree(path, libreoffice.recalc(path, tmp_path / "judged.xlsx"))
    assert count > 44 * len(results.branches) * 6 and wrong == []
    scores = openpyxl.load_workbook(path, data_only=True)[K.MASTER_SCORES]
    got = dict(zip(column(scores, "支部编码"), column(scores, "总分")))
    assert got == {b.branch.code: b.score.total for b in results.branches}


# -- a clerk's edits are never lost ------------------------------------------------------------------

def edit(path: Path) -> None:
    """What the issue saw: 参数!B3 80 → 88 and a 复验 rating typed into 指标明细."""
    wb = openpyxl.load_workbook(path)
    params = wb[K.MASTER_PARAMS]
    assert params["A3"].value == "达标分数线" and params["B3"].value == 80
    params["B3"] = 88
    detail = wb[K.MASTER_DETAIL]
    detail.cell(3, heads(detail)["复验等次"], "未达标")
    wb.save(path)


def test_an_edited_master_is_kept_beside_the_rebuilt_one(campaign, tmp_path, caplog):
    ws = copy_of(campaign, tmp_path)
    edit(ws.master)
    saved = dt.datetime.fromtimestamp(ws.master.stat().st_mtime)
    with caplog.at_level(logging.WARNING, logger="xlflow"):
        done = rebuild_master(ws, NOW)
    kept = ws.outbox / f"master（已修改-{saved:%Y%m%d-%H%M}）.xlsx"
    assert done.master == ws.master and done.master_in_place and done.master_kept == kept
    edited = openpyxl.load_workbook(kept)
    assert edited[K.MASTER_PARAMS]["B3"].value == 88
    assert edited[K.MASTER_DETAIL].cell(3, heads(edited[K.MASTER_DETAIL])["复验等次"]).value == "未达标"
    assert openpyxl.load_workbook(ws.master)[K.MASTER_PARAMS]["B3"].value == 80  # rebuilt from the ledger
    message = master_edit_kept("master.xlsx", kept.name)
    assert done.kept_message == message and message in caplog.messages
    assert "另存为 master（已修改-" in message and "templates/checklist.yaml" in message
    # an unedited master is simply replaced: no copy on the next rebuilds
    rebuild_master(ws, NOW)
    rebuild_master(ws, NOW)
    assert sorted(p.name for p in ws.outbox.glob("*.xlsx")) == sorted(["master.xlsx", kept.name])


def test_xlflow_master_says_where_the_edited_copy_is(campaign, tmp_path):
    ws = copy_of(campaign, tmp_path)
    edit(ws.master)
    result = CliRunner().invoke(main, ["master", "--root", str(ws.root)])
    assert result.exit_code == 0, result.output
    kept = [p for p in ws.outbox.glob("master（已修改-*）.xlsx")]
    assert len(kept) == 1 and master_edit_kept("master.xlsx", kept[0].name) in result.output


def test_a_master_saved_by_libreoffice_is_kept_and_a_second_edit_gets_its_own_copy(campaign, tmp_path, libreoffice):
    """A save in a real spreadsheet application (without a change xlflow could know of) counts as an
    edit; two edits saved in the same minute each keep their copy."""
    ws = copy_of(campaign, tmp_path)
    libreoffice.resave(ws.master, tmp_path / "resaved.xlsx")
    shutil.copyfile(tmp_path / "resaved.xlsx", ws.master)
    first = rebuild_master(ws, NOW).master_kept
    shutil.copyfile(tmp_path / "resaved.xlsx", ws.master)
    stamp = dt.datetime.fromtimestamp(first.stat().st_mtime)
    os.utime(ws.master, (stamp.timestamp(), stamp.timestamp()))  # saved in the same minute
    second = rebuild_master(ws, NOW).master_kept
    assert first != second and second.name == first.name.replace("）.xlsx", "）-2.xlsx")
    assert first.read_bytes() == second.read_bytes() == (tmp_path / "resaved.xlsx").read_bytes()


def test_a_master_without_a_record_is_kept(campaign, tmp_path):
    """A master.xlsx that xlflow has no record of writing (from an older version, or put there by
    hand) may hold a person's work: it is kept too."""
    ws = copy_of(campaign, tmp_path)
    manifest_path(ws.master).unlink()
    before = ws.master.read_bytes()
    kept = rebuild_master(ws, NOW).master_kept
    assert kept is not None and kept.read_bytes() == before


# -- data sheets and printing -------------------------------------------------------------------------

def test_data_sheets_show_yes_no_and_date_cells(campaign):
    wb = openpyxl.load_workbook(campaign.master)
    basic = wb[K.MASTER_BASIC]
    assert set(column(basic, K.BASIC_FIELDS["has_committee"])) <= {"是", "否"}
    assert set(column(basic, K.BASIC_FIELDS["secretary_trained"])) == {"是", "否"}
    lectures = column(wb[K.MASTER_ACTIVITIES], K.ACTIVITY_COLUMNS["secretary_lecture"])
    assert set(lectures) - {None} == {"是", "否"}
    for sheet, header in ((K.MASTER_BASIC, K.BASIC_FIELDS["election_date"]), (K.MASTER_BASIC, K.BASIC_FIELDS["filled_on"]),
                          (K.MASTER_ACTIVITIES, K.ACTIVITY_COLUMNS["date"]), (K.MASTER_MEMBERS, K.MEMBER_COLUMNS["last_life"]),
                          (K.MASTER_PROBLEMS, K.PROBLEM_COLUMNS["deadline"]), (K.MASTER_LOG, "收到时间")):
        ws = wb[sheet]
        col = heads(ws)[header]
        cells = [ws.cell(r, col) for r in range(3, ws.max_row + 1) if ws.cell(r, col).value is not None]
        assert cells and all(c.is_date and isinstance(c.value, dt.datetime) for c in cells), (sheet, header)
        assert all(c.value.year >= 1980 for c in cells)
        assert cells[0].number_format.startswith("yyyy-mm-dd")


def test_columns_are_as_wide_as_their_content(campaign):
    wb = openpyxl.load_workbook(campaign.master)
    branches = campaign.roster()
    roster = wb[K.MASTER_ROSTER]
    name = openpyxl.utils.get_column_letter(heads(roster)["支部名称"])
    assert roster.column_dimensions[name].width >= max(display_width(b.name) for b in branches)
    acts = wb[K.MASTER_ACTIVITIES]
    col = heads(acts)["主题"]
    topics = [t for t in column(acts, "主题") if t]
    width = acts.column_dimensions[openpyxl.utils.get_column_letter(col)].width
    assert width >= min(50, max(display_width(t) for t in topics[:2000]))
    assert width > 20  # the issue: 10.7-wide columns clipped topics


def test_every_sheet_prints_on_a4_one_page_wide_with_page_numbers(campaign):
    wb = openpyxl.load_workbook(campaign.master)
    for ws in wb.worksheets:
        assert ws.page_setup.paperSize == 9 and ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth in (1, None) and ws.page_setup.orientation == "landscape", ws.title
        assert "&P" in (ws.oddFooter.center.text or ""), ws.title
    # (1, the default, is left out of the file: None)
    tall = {ws.title: 1 if ws.page_setup.fitToHeight is None else ws.page_setup.fitToHeight for ws in wb.worksheets}
    assert tall[K.MASTER_PARAMS] == tall[K.MASTER_OVERVIEW] == 1 and tall[K.MASTER_DETAIL] == 0
    params = wb[K.MASTER_PARAMS]
    labels = [params.cell(r, 1).value for r in range(3, 8)]
    assert all(display_width(x) <= params.column_dimensions["A"].width for x in labels)


def test_the_params_sheet_says_what_is_a_what_if_and_where_to_change_for_good(campaign):
    params = openpyxl.load_workbook(campaign.master)[K.MASTER_PARAMS]
    text = "\n".join(str(c.value) for row in params.iter_rows() for c in row if isinstance(c.value, str))
    assert "只是在 Excel/WPS 中试算" in text and "下次生成汇总表时恢复" in text and "master（已修改-" in text
    assert "长期修改：templates/checklist.yaml 中的 pass_line" in text
    assert "长期修改：xlflow.toml 中的 phase" in text and "outbox/review/" in text


def test_the_master_renders_with_the_params_sheet_on_one_page(campaign, libreoffice, tmp_path):
    """Through LibreOffice's PDF: the 参数 sheet is one page holding every label and both notes;
    the log shows its times as dates and times, not ISO text with a T."""
    pdf = libreoffice.to_pdf(campaign.master, tmp_path / "master.pdf")
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    params = [p for p in pages if "计分参数（" in p]
    assert len(params) == 1
    page = re.sub(r"\s+", "", params[0])  # wrapped notes read as one line
    for label in ("达标分数线", "样板比例（支部总数的几分之一，0为不评）", "标杆院系：样板占本总支支部数不低于",
                  "计分规则：", "否决项的采用等次系数为0时，总分再高也认定为未达标。", "长期修改：等次和计分系数"):
        assert label in page
    log = next(p for p in pages if "报送记录（" in p)
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", log) and "T09" not in log and "T10" not in log
