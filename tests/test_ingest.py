"""One pass over the inbox, checked as the 组织部 clerk checks it: where every original went, what the
ledger says, and what the branch gets back. Real .xlsx files (built from the repository's checklist
and roster, filled by sample.py), a real SQLite ledger, no mocks of the core."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlflow import constants as K
from xlflow import ingest, ledger
from xlflow.feedback import ERROR_FILL, FEEDBACK_SHEET, HEADER_ROW
from xlflow.ingest import candidates, run_pass, settled
from xlflow.workbook import build_workbook, handout_path, template_version
from xlflow.workspace import init_workspace

from helpers import basic_cell, fill_workbook, ledger_problems, save_as_of

NOW = dt.datetime(2019, 11, 28, 9, 0, 0)
LATER = dt.datetime(2019, 11, 29, 10, 30, 0)
IGNORED = ("~$x.xlsx", ".~lock.x.xlsx#", "x.tmp", "x.crdownload")
TAIL = {  # the fixed second half of a few catalogue messages, spelled out as the branch reads them
    "D101": "与此前收到的文件完全相同，已作为重复文件存档，不再重复处理。",
    "F101": "是旧版 Excel（.xls）或 WPS 表格（.et）格式，无法读取。请用 Excel 或 WPS 打开后“另存为”Excel 工作簿（*.xlsx）格式再提交。",
    "F105": "是Word 文档，这不是支部填报的 Excel 工作簿。请确认是否交错了文件，找到填写好的 Excel 工作簿（*.xlsx）重新提交。",
}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def typed(cell, text: str) -> None:
    """Text typed by a secretary: a string cell even when it starts with '=' (Excel: a leading ')."""
    cell.value = text
    cell.data_type = "s"


def columns(ws) -> dict[str, int]:
    return {c.value: c.column for c in ws[K.HEADER_ROW] if c.value}


class Campaign:
    """A working folder made by init_workspace, the branches' templates and a desk to fill them on."""

    def __init__(self, root: Path):
        self.ws, _ = init_workspace(root / "work")
        self.campaign = self.ws.campaign()
        self.roster = self.campaign.branches
        self.desk = root / "desk"
        self.desk.mkdir()

    def branch(self, i: int):
        return self.roster[i]

    def template(self, branch) -> Path:
        path = handout_path(self.ws.handout, branch)
        return path if path.exists() else build_workbook(path, branch, self.campaign)

    def fill(self, branch, name: str, seed: int = 1, mistakes=(), *, modified: dt.datetime | None = None,
             edit=None) -> Path:
        """A branch's return on the desk: filled, optionally edited by hand and saved at `modified`."""
        dest = self.desk / name
        fill_workbook(self.template(branch), dest, branch, self.campaign, seed, frozenset(mistakes))
        if edit or modified:
            wb = openpyxl.load_workbook(dest)
            if edit:
                edit(wb)
            save_as_of(wb, dest, modified or dt.datetime(2019, 11, 25, 8, 0))
        return dest

    def drop(self, path: Path, name: str | None = None) -> Path:
        """The clerk copies a file into inbox/."""
        return Path(shutil.copyfile(path, self.ws.inbox / (name or path.name)))

    def run(self, now: dt.datetime = NOW):
        return run_pass(self.ws, candidates(self.ws.inbox), now)

    def db(self):
        return ledger.open_ledger(self.ws.ledger)

    def files(self) -> dict[str, dict]:
        with contextlib.closing(self.db()) as conn:
            return {r["original_name"]: dict(r) for r in conn.execute("SELECT * FROM files ORDER BY id")}

    def findings(self, name: str) -> list[tuple[str, str]]:
        with contextlib.closing(self.db()) as conn:
            return [(r["code"], r["message"]) for r in conn.execute(
                "SELECT code, message FROM findings JOIN files f ON f.id = file_id WHERE f.original_name = ?"
                " ORDER BY findings.rowid", (name,))]

    def current(self, code: str) -> str | None:
        """The original name of the branch's current return."""
        with contextlib.closing(self.db()) as conn:
            row = conn.execute("SELECT f.original_name FROM returns r JOIN files f ON f.id = r.file_id"
                               " WHERE r.branch_code = ? AND r.current = 1", (code,)).fetchone()
            return row[0] if row else None

    def snapshot(self) -> dict[str, list]:
        """Every table of the ledger, for 'unchanged' checks."""
        with contextlib.closing(self.db()) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: [tuple(r) for r in conn.execute(f'SELECT * FROM "{t}"')] for t in tables}

    def inbox_top(self) -> set[str]:
        return {p.name for p in self.ws.inbox.iterdir() if p.is_file()}

    def folder(self, name: str) -> list[Path]:
        return sorted(getattr(self.ws, name).iterdir())


@pytest.fixture
def camp(tmp_path) -> Campaign:
    return Campaign(tmp_path)


def feedback_table(path: Path) -> list[tuple]:
    """(工作表, 单元格, 问题说明, 类别) of every row of the 退回说明 sheet."""
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == FEEDBACK_SHEET
    ws = wb[FEEDBACK_SHEET]
    return [tuple(ws.cell(r, c).value for c in (2, 3, 4, 5))
            for r in range(HEADER_ROW + 1, ws.max_row + 1) if ws.cell(r, 1).value is not None]


def has_formula(path: Path) -> list[str]:
    """Sheet parts of an .xlsx that contain a formula element."""
    with zipfile.ZipFile(path) as z:
        return [n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")
                and re.search(rb"<(?:\w+:)?f[\s>/]", z.read(n))]


# ---------------------------------------------------------------------------------------------
# a good return, a bad one, the same file twice, the same content saved again
# ---------------------------------------------------------------------------------------------

def test_good_return_is_accepted_and_recorded_once(camp):
    b = camp.branch(0)
    name = f"{b.name}（报送）.xlsx"
    original = camp.fill(b, name)  # on the clerk's desk; a copy goes into the inbox
    digest = sha(camp.drop(original))

    result = camp.run()

    assert [(o.name, o.outcome, o.branch_code, o.errors) for o in result.outcomes] == [(name, "accepted", b.code, 0)]
    assert camp.inbox_top() == set()
    [kept] = camp.folder("accepted")
    assert kept.name.endswith("_" + name) and kept.name != name  # a unique name that keeps the original one
    assert sha(kept) == digest
    assert camp.folder("rejected") == camp.folder("duplicates") == []
    assert list(camp.ws.feedback.iterdir()) == []
    row = camp.files()[name]
    assert (row["outcome"], row["moved"], row["branch_code"], row["sha256"]) == ("accepted", 1, b.code, digest)
    assert row["stored_as"] == kept.relative_to(camp.ws.root).as_posix()
    with contextlib.closing(camp.db()) as conn:
        returns = conn.execute("SELECT * FROM returns WHERE branch_code = ?", (b.code,)).fetchall()
        assert [(r["current"], r["file_id"]) for r in returns] == [(1, row["id"])]
        rid = returns[0]["id"]
        basic = conn.execute("SELECT * FROM t_basic WHERE return_id = ?", (rid,)).fetchone()
        assert (basic["code"], basic["name"], basic["general"]) == (b.code, b.name, b.general)
        members = conn.execute("SELECT * FROM t_members WHERE return_id = ? ORDER BY row", (rid,)).fetchall()
        activities = conn.execute("SELECT * FROM t_activities WHERE return_id = ? ORDER BY row", (rid,)).fetchall()
        assert ledger_problems(conn) == []
    # the rows are the ones in the workbook the branch sent, row for row
    wb = openpyxl.load_workbook(original)
    sheet = wb[K.SHEET_MEMBERS]
    col = columns(sheet)[K.MEMBER_COLUMNS["name"]]
    names = [sheet.cell(r, col).value for r in range(K.HEADER_ROW + 1, sheet.max_row + 1)]
    names = [n for n in names if n]
    assert [m["name"] for m in members] == names and len(names) >= 8
    assert int(basic["full_members"]) + int(basic["probationary_members"]) == len(names)
    sheet = wb[K.SHEET_ACTIVITIES]
    col = columns(sheet)[K.ACTIVITY_COLUMNS["topic"]]
    topics = [(r, sheet.cell(r, col).value) for r in range(K.HEADER_ROW + 1, sheet.max_row + 1)
              if sheet.cell(r, col).value]
    assert [(a["row"], a["topic"]) for a in activities] == topics and len(topics) >= 12


def test_bad_return_is_rejected_with_its_own_workbook_annotated(camp):
    b = camp.branch(1)
    cells = {}

    def mistakes(wb):  # what secretaries really type: a two-digit year, more present than expected
        ws = wb[K.SHEET_ACTIVITIES]
        col = columns(ws)
        date = ws.cell(K.HEADER_ROW + 3, col[K.ACTIVITY_COLUMNS["date"]])
        typed(date, f"{date.value.year % 100}.{date.value.month}.{date.value.day}")
        expected = ws.cell(K.HEADER_ROW + 5, col[K.ACTIVITY_COLUMNS["expected"]]).value
        actual = ws.cell(K.HEADER_ROW + 5, col[K.ACTIVITY_COLUMNS["actual"]])
        actual.value = expected + 2
        cells.update(date=(date.coordinate, date.value), actual=(actual.coordinate, actual.value))

    name = "二支部.xlsx"
    camp.drop(camp.fill(b, name, edit=mistakes))
    result = camp.run()

    [o] = result.outcomes
    assert (o.name, o.outcome, o.branch_code, o.errors) == (name, "rejected", b.code, 2)
    date_cell, date_text = cells["date"]
    actual_cell, actual = cells["actual"]
    expected = [
        ("三会一课", date_cell, f"三会一课!{date_cell}：“{date_text}”的年份只有两位，无法确定是哪一年。"
                                "请写出四位年份，例如 2019年6月20日。", "错误"),
        ("三会一课", actual_cell, f"三会一课!{actual_cell}：实到人数“{actual}”多于同一行的应到人数。"
                                  "请核对签到记录后更正。", "错误"),
    ]
    assert sorted(m for _, m in camp.findings(name)) == sorted(e[2] for e in expected)
    [kept] = camp.folder("rejected")
    assert kept.name.endswith("_" + name) and camp.inbox_top() == set() and camp.folder("accepted") == []
    [fb] = list(camp.ws.feedback.iterdir())
    assert fb.name == o.feedback and fb.name.startswith(f"{b.code}_{b.name}_退回说明_") and fb.suffix == ".xlsx"
    assert sorted(feedback_table(fb)) == sorted(expected)
    wb = openpyxl.load_workbook(fb)
    for cell, _ in (cells["date"], cells["actual"]):  # the branch finds its wrong cells red, with a comment
        c = wb[K.SHEET_ACTIVITIES][cell]
        assert c.fill.fgColor.rgb == ERROR_FILL and "【错误】" in c.comment.text
    assert wb[K.SHEET_IDENTITY].sheet_state == "veryHidden"  # still its own workbook: it is recognised again
    row = camp.files()[name]
    assert (row["moved"], row["feedback_done"], row["errors"]) == (1, 1, 2)
    with contextlib.closing(camp.db()) as conn:
        assert conn.execute("SELECT COUNT(*) FROM returns").fetchone()[0] == 0  # nothing of it counts


def test_same_bytes_again_are_a_duplicate(camp):
    b = camp.branch(0)
    first = camp.fill(b, "一支部.xlsx")
    camp.drop(first)
    camp.run()
    before = camp.snapshot()

    copy = camp.drop(first, "一支部 - 副本.xlsx")
    result = camp.run(LATER)

    assert [(o.name, o.outcome) for o in result.outcomes] == [(copy.name, "duplicate")]
    assert camp.findings(copy.name) == [("D101", f"文件“{copy.name}”{TAIL['D101']}")]
    [kept] = camp.folder("duplicates")
    assert kept.name.endswith("_" + copy.name) and sha(kept) == sha(first) and camp.inbox_top() == set()
    files = camp.files()
    assert files[copy.name]["duplicate_of"] == files[first.name]["id"]
    after = camp.snapshot()
    assert after["returns"] == before["returns"] and after["t_members"] == before["t_members"]
    assert camp.current(b.code) == first.name
    assert list(camp.ws.feedback.iterdir()) == []


def test_two_copies_in_one_pass_keep_the_first_and_point_to_it(camp):
    b = camp.branch(0)
    original = camp.fill(b, "一支部.xlsx")
    camp.drop(original)
    camp.drop(original, "副本 - 一支部.xlsx")
    result = camp.run()
    assert sorted((o.name, o.outcome) for o in result.outcomes) == [
        ("一支部.xlsx", "accepted"), ("副本 - 一支部.xlsx", "duplicate")]
    files = camp.files()
    assert files["副本 - 一支部.xlsx"]["duplicate_of"] == files["一支部.xlsx"]["id"]
    assert files["副本 - 一支部.xlsx"]["id"] > files["一支部.xlsx"]["id"]  # recorded after the one it repeats


def test_a_pass_larger_than_a_chunk_accounts_for_every_file(camp, monkeypatch, gc_unfrozen):
    """Files are taken a chunk at a time (memory bounded by design): nothing is lost across chunks,
    a copy of a file of an earlier chunk is still a duplicate of it, a bad one is still sent back.
    With the collector as a command has it: ingest sets each chunk's data aside and lets it go."""
    monkeypatch.setattr(ingest, "CHUNK", 2)
    good = [camp.fill(camp.branch(i), f"{i + 1}_支部.xlsx", seed=i + 1) for i in range(3)]
    for f in good:
        camp.drop(f)
    camp.drop(camp.fill(camp.branch(3), "4_支部（有错）.xlsx", mistakes={"missing_rating"}))
    camp.drop(good[0], "5_副本.xlsx")  # the last chunk: a copy of the first chunk's first file
    result = camp.run()

    assert sorted((o.name, o.outcome) for o in result.outcomes) == [
        ("1_支部.xlsx", "accepted"), ("2_支部.xlsx", "accepted"), ("3_支部.xlsx", "accepted"),
        ("4_支部（有错）.xlsx", "rejected"), ("5_副本.xlsx", "duplicate")]
    files = camp.files()
    assert files["5_副本.xlsx"]["duplicate_of"] == files["1_支部.xlsx"]["id"]
    assert all(f["moved"] == 1 for f in files.values()) and camp.inbox_top() == set()
    assert len(camp.folder("accepted")) == 3 and len(camp.folder("rejected")) == 1
    assert [p.name for p in camp.folder("feedback")][0].startswith(camp.branch(3).code)
    assert {camp.current(camp.branch(i).code) for i in range(3)} == {f.name for f in good}


def test_same_content_saved_again_is_a_duplicate_and_changes_nothing(camp):
    b = camp.branch(2)
    first = camp.fill(b, "三支部.xlsx")
    camp.drop(first)
    camp.run()
    before = camp.snapshot()

    # the secretary opens the file and saves it again unchanged: other bytes, same content
    resaved = save_as_of(openpyxl.load_workbook(first), camp.desk / "三支部（再次保存）.xlsx",
                         dt.datetime(2019, 11, 28, 20, 0))
    assert sha(resaved) != sha(first)
    camp.drop(resaved)
    result = camp.run(LATER)

    assert [(o.name, o.outcome) for o in result.outcomes] == [(resaved.name, "duplicate")]
    assert camp.findings(resaved.name) == [
        ("D102", f"文件“{resaved.name}”的填报内容与{b.name}当前有效的报送完全相同，已作为重复文件存档。")]
    [kept] = camp.folder("duplicates")
    assert sha(kept) == sha(resaved)
    after = camp.snapshot()
    assert {t: rows for t, rows in after.items() if t not in ("files", "findings")} == \
           {t: rows for t, rows in before.items() if t not in ("files", "findings")}
    assert camp.current(b.code) == first.name


def test_lock_temp_and_partial_files_are_left_alone(camp):
    for name in IGNORED:
        (camp.ws.inbox / name).write_bytes(b"PK\x03\x04 owner or partial file " + name.encode())
    b = camp.branch(0)
    camp.drop(camp.fill(b, "一支部.xlsx"))
    before = {n: sha(camp.ws.inbox / n) for n in IGNORED}

    result = camp.run()

    assert [o.name for o in result.outcomes] == ["一支部.xlsx"]
    assert {n: sha(camp.ws.inbox / n) for n in IGNORED} == before
    assert camp.inbox_top() == set(IGNORED)
    assert set(camp.files()) == {"一支部.xlsx"}
    assert camp.run(LATER).outcomes == []  # and they stay there, pass after pass
    assert camp.inbox_top() == set(IGNORED)


# ---------------------------------------------------------------------------------------------
# the wrong file altogether: an unreadable-note feedback
# ---------------------------------------------------------------------------------------------

def _xls(path: Path) -> Path:
    import xlwt  # the `test` extra
    book = xlwt.Workbook()
    book.add_sheet("党员名册").write(0, 0, "姓名")
    book.save(str(path))
    return path


def _html(path: Path) -> Path:  # Excel's "save as web page", renamed .xlsx
    path.write_text("<html><body><table><tr><td>支部名称</td><td>党员人数</td></tr></table></body></html>",
                    encoding="utf-8")
    return path


def _docx(path: Path) -> Path:
    import docx  # python-docx, through docxtpl
    doc = docx.Document()
    doc.add_paragraph("第一党支部2019年度工作总结")
    doc.save(str(path))
    return path


@pytest.mark.parametrize("make, name, code, message", [
    (_xls, "一支部.xls", "F101", "文件“一支部.xls”" + TAIL["F101"]),
    (_html, "机电学院支部材料.xlsx", "F103", "文件“机电学院支部材料.xlsx”实际是网页（HTML）文件，不是 Excel 工作簿（*.xlsx），无法读取"
                             "（可能是改了扩展名，或是从网页、其他系统导出的）。请用 Excel 或 WPS 打开后“另存为”Excel 工作簿"
                             "（*.xlsx）格式再提交；如果不是在下发的模板中填写的，请使用下发的模板重新填写。"),
    (_docx, "支部工作总结.docx", "F105", "文件“支部工作总结.docx”" + TAIL["F105"]),
], ids=["xls", "html-renamed-xlsx", "docx"])
def test_wrong_kind_of_file_is_rejected_with_a_note(camp, make, name, code, message):
    original = make(camp.desk / name)
    camp.drop(original)
    result = camp.run()

    [o] = result.outcomes
    assert (o.outcome, o.branch_code, o.message) == ("rejected", None, message)
    assert camp.findings(name) == [(code, message)]
    [kept] = camp.folder("rejected")
    assert sha(kept) == sha(original) and camp.inbox_top() == set()
    [fb] = list(camp.ws.feedback.iterdir())
    wb = openpyxl.load_workbook(fb)
    assert wb.sheetnames == [FEEDBACK_SHEET]  # a note: the file itself could not be annotated
    ws = wb[FEEDBACK_SHEET]
    assert ws["A1"].value == f"“{name}”退回说明"
    assert ws["A2"].value == f"文件：{name}（无法读取）"
    assert feedback_table(fb) == [("（整个文件）", "—", message, "错误")]
    assert camp.files()[name]["feedback_done"] == 1


# ---------------------------------------------------------------------------------------------
# identity: whose return is it?
# ---------------------------------------------------------------------------------------------

def _set_identity(key: str, value: str):
    def edit(wb):
        for row in wb[K.SHEET_IDENTITY].iter_rows():
            if row[0].value == key:
                row[1].value = value
                return
        raise AssertionError(key)
    return edit


def test_unknown_branch_is_rejected(camp):
    b = camp.branch(3)
    camp.drop(camp.fill(b, "新支部.xlsx", edit=_set_identity("branch_code", "XX-999")))
    [o] = camp.run().outcomes
    message = (f"文件“新支部.xlsx”中的支部编码“XX-999”（{b.name}）不在本年度支部名册中。"
               "请确认是否交错了文件；如支部有调整，请联系组织部更新支部名册。")
    assert (o.outcome, o.branch_code, o.message) == ("rejected", None, message)
    assert camp.findings("新支部.xlsx") == [("I104", message)]
    [fb] = list(camp.ws.feedback.iterdir())
    assert feedback_table(fb) == [("（整个文件）", "—", message, "错误")]


def test_old_template_version_is_rejected(camp):
    b = camp.branch(4)
    camp.drop(camp.fill(b, "旧表.xlsx", edit=_set_identity("template_version", "2018.1-1")))
    [o] = camp.run().outcomes
    current = template_version(camp.campaign.checklist)
    message = (f"文件“旧表.xlsx”是旧版填报表（版本 2018.1-1），现行版本为 {current}。"
               "请在新下发的本支部填报表中填写（可将已填内容复制过去）后重新提交。")
    assert (o.outcome, o.branch_code, o.message) == ("rejected", b.code, message)
    assert camp.findings("旧表.xlsx") == [("I102", message)]
    [fb] = list(camp.ws.feedback.iterdir())
    assert ("（整个文件）", "—", message, "错误") in feedback_table(fb)


def test_branch_code_typed_over_on_the_basic_sheet_is_rejected(camp):
    b, other = camp.branch(5), camp.branch(6)
    where = {}

    def retype(wb):
        cell = wb[K.SHEET_BASIC][basic_cell(wb[K.SHEET_BASIC], K.BASIC_IDENTITY_FIELDS["code"])]
        cell.value = other.code
        where["cell"] = cell.coordinate

    camp.drop(camp.fill(b, "抄来的表.xlsx", edit=retype))
    [o] = camp.run().outcomes
    cell = where["cell"]
    message = (f"基本信息!{cell}：支部编码被改成了“{other.code}”，但这份填报表是下发给{b.name}（{b.code}）的。"
               "每个支部请使用自己的填报表，不要复制其他支部的表格。")
    assert (o.outcome, o.branch_code, o.message) == ("rejected", b.code, message)
    assert ("I105", message) in camp.findings("抄来的表.xlsx")
    [fb] = list(camp.ws.feedback.iterdir())
    assert ("基本信息", cell, message, "错误") in feedback_table(fb)
    assert openpyxl.load_workbook(fb)[K.SHEET_BASIC][cell].fill.fgColor.rgb == ERROR_FILL


def test_file_named_after_another_branch_is_taken_by_its_content(camp):
    b, other = camp.branch(7), camp.branch(8)
    name = f"{other.name}.xlsx"
    camp.drop(camp.fill(b, name))
    [o] = camp.run().outcomes
    message = (f"文件名“{name}”看起来是{other.name}的，但表内识别为{b.name}，已按表内信息作为{b.name}的报送处理。"
               "如交错了文件，请重新提交正确的文件。")
    assert (o.outcome, o.branch_code, o.errors, o.warnings) == ("accepted", b.code, 0, 1)
    assert camp.findings(name) == [("I106", message)]
    assert camp.current(b.code) == name and camp.current(other.code) is None
    assert list(camp.ws.feedback.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# two returns of one branch: the one saved last is current
# ---------------------------------------------------------------------------------------------

OLDER, NEWER = dt.datetime(2019, 11, 20, 16, 0), dt.datetime(2019, 11, 26, 9, 30)


@pytest.mark.parametrize("older_name, newer_name", [
    ("a_一支部.xlsx", "b_一支部（修改后）.xlsx"),   # the older one sorts (and is taken) first
    ("b_一支部.xlsx", "a_一支部（修改后）.xlsx"),   # the newer one sorts first
])
def test_latest_saved_is_current_in_one_pass_whatever_the_order(camp, older_name, newer_name):
    b = camp.branch(0)
    older = camp.fill(b, older_name, seed=1, modified=OLDER)
    newer = camp.fill(b, newer_name, seed=2, modified=NEWER)
    camp.drop(older)
    camp.drop(newer)
    result = camp.run()

    assert sorted(o.outcome for o in result.outcomes) == ["accepted", "accepted"]
    assert camp.current(b.code) == newer_name
    with contextlib.closing(camp.db()) as conn:
        rows = conn.execute("SELECT f.original_name, r.current FROM returns r JOIN files f ON f.id = r.file_id"
                            " WHERE r.branch_code = ? ORDER BY f.original_name", (b.code,)).fetchall()
        assert {r[0]: r[1] for r in rows} == {older_name: 0, newer_name: 1}
        assert ledger_problems(conn) == []


def test_an_older_return_arriving_later_stays_superseded(camp):
    b = camp.branch(0)
    newer = camp.fill(b, "一支部（修改后）.xlsx", seed=2, modified=NEWER)
    older = camp.fill(b, "一支部.xlsx", seed=1, modified=OLDER)
    camp.drop(newer)
    camp.run()
    camp.drop(older)  # found later in someone's e-mail
    [o] = camp.run(LATER).outcomes
    assert o.outcome == "accepted"
    assert camp.current(b.code) == newer.name
    with contextlib.closing(camp.db()) as conn:
        assert ledger_problems(conn) == []
        assert conn.execute("SELECT COUNT(*) FROM returns WHERE branch_code = ?", (b.code,)).fetchone()[0] == 2


# ---------------------------------------------------------------------------------------------
# text that looks like a formula stays text
# ---------------------------------------------------------------------------------------------

FORMULA_LIKE = ("=1+2", '=HYPERLINK("http://example.com","点击")', "+86 志愿服务", "-“两学一做”专题", "@全体党员 集中学习")


def _formula_like_topics(rows: dict):
    def edit(wb):
        ws = wb[K.SHEET_ACTIVITIES]
        col = columns(ws)[K.ACTIVITY_COLUMNS["topic"]]
        for i, text in enumerate(FORMULA_LIKE):
            cell = ws.cell(K.HEADER_ROW + 1 + i, col)
            typed(cell, text)
            rows[text] = cell.coordinate
    return edit


def test_formula_like_text_is_stored_as_text(camp):
    b = camp.branch(0)
    rows = {}
    camp.drop(camp.fill(b, "一支部.xlsx", edit=_formula_like_topics(rows)))
    [o] = camp.run().outcomes
    assert o.outcome == "accepted"
    with contextlib.closing(camp.db()) as conn:
        topics = {r[0]: r[1] for r in conn.execute(
            "SELECT a.row, a.topic FROM t_activities a JOIN returns r ON r.id = a.return_id")}
    for text, cell in rows.items():
        assert topics[int(cell[1:])] == text


def test_formula_like_text_in_feedback_stays_a_string(camp):
    b = camp.branch(1)
    rows = {}
    hours = {}

    def edit(wb):
        _formula_like_topics(rows)(wb)
        ws = wb[K.SHEET_MEMBERS]
        cell = ws.cell(K.HEADER_ROW + 1, columns(ws)[K.MEMBER_COLUMNS["study_hours"]])
        typed(cell, "=32+4")  # a number typed as a formula-looking text: an error that quotes it
        hours["cell"] = cell.coordinate

    camp.drop(camp.fill(b, "二支部.xlsx", edit=edit))
    _html(camp.desk / "=cmd()+A1.xlsx")  # even a file name that looks like a formula
    camp.drop(camp.desk / "=cmd()+A1.xlsx")
    outcomes = {o.name: o for o in camp.run().outcomes}

    assert outcomes["二支部.xlsx"].outcome == "rejected"
    assert any(code == "V204" and "“=32+4”" in m for code, m in camp.findings("二支部.xlsx"))
    notes = sorted(camp.ws.feedback.iterdir())
    assert len(notes) == 2
    for fb in notes:
        assert has_formula(fb) == [], fb.name
    fb = next(p for p in notes if p.name.startswith(b.code))
    wb = openpyxl.load_workbook(fb)
    ws = wb[K.SHEET_ACTIVITIES]
    for text, cell in rows.items():
        assert (ws[cell].value, ws[cell].data_type) == (text, "s")
    cell = wb[K.SHEET_MEMBERS][hours["cell"]]
    assert (cell.value, cell.data_type) == ("=32+4", "s")
    messages = [m for _, _, m, _ in feedback_table(fb)]
    assert any("“=32+4”" in m for m in messages)
    note = next(p for p in notes if p != fb)
    assert openpyxl.load_workbook(note)[FEEDBACK_SHEET]["A1"].value == "“=cmd()+A1.xlsx”退回说明"


# ---------------------------------------------------------------------------------------------
# a file that cannot be moved (open in Excel on Windows)
# ---------------------------------------------------------------------------------------------

@contextlib.contextmanager
def locked(path: Path, monkeypatch):
    """Make renaming `path` fail as Windows does while Excel has the file open.

    As root on Linux, chmod does not stop a rename, but the immutable attribute does (the file can
    still be read, as Excel's lock allows): `chattr +i` makes os.replace raise PermissionError.
    Where chattr is not available (not root, or a file system without it) the fallback patches
    os.replace to raise PermissionError for this one file only — the only patch in these tests."""
    try:
        subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
        chattr = True
    except (OSError, subprocess.CalledProcessError):
        chattr = False
        real = os.replace

        def replace(src, dst, *a, **kw):
            if Path(src) == path:
                raise PermissionError(13, "另一个程序正在使用此文件，进程无法访问。", str(src))
            return real(src, dst, *a, **kw)

        monkeypatch.setattr(os, "replace", replace)
    try:
        yield
    finally:
        if chattr:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            monkeypatch.undo()


@pytest.mark.parametrize("mistakes", [(), ("actual_gt_expected",)], ids=["accepted", "rejected"])
def test_file_locked_by_excel_is_moved_on_a_later_pass(camp, monkeypatch, mistakes):
    b = camp.branch(0)
    name = "一支部.xlsx"
    original = camp.drop(camp.fill(b, name, mistakes=mistakes))
    digest = sha(original)
    outcome = "rejected" if mistakes else "accepted"

    with locked(original, monkeypatch):
        first = camp.run()
        assert [(o.name, o.outcome) for o in first.outcomes] == [(name, outcome)]
        assert camp.inbox_top() == {name} and sha(original) == digest  # still there, untouched
        row = camp.files()[name]
        assert (row["outcome"], row["moved"], row["feedback_done"]) == (outcome, 0, 0)
        assert list(camp.ws.feedback.iterdir()) == []  # the feedback follows once the original is kept
        recorded = camp.snapshot()
        second = camp.run(LATER)  # still open in Excel: nothing new happens to it
        assert second.outcomes == [] and second.waiting == [name]
        assert camp.snapshot() == recorded

    third = camp.run(LATER + dt.timedelta(minutes=5))  # Excel closed
    assert third.outcomes == []  # moved, not taken in again
    assert camp.inbox_top() == set()
    folder = camp.folder("rejected" if mistakes else "accepted")
    assert [p.name for p in folder] == [Path(row["stored_as"]).name] and sha(folder[0]) == digest
    files = camp.files()
    assert list(files) == [name] and files[name]["moved"] == 1
    assert camp.folder("duplicates") == []
    with contextlib.closing(camp.db()) as conn:
        assert ledger_problems(conn) == []
        assert conn.execute("SELECT COUNT(*) FROM returns").fetchone()[0] == (0 if mistakes else 1)
    if mistakes:
        assert [p.name for p in camp.ws.feedback.iterdir()] == [files[name]["feedback"].split("/")[-1]]
        assert files[name]["feedback_done"] == 1
    else:
        assert camp.current(b.code) == name


def test_a_pass_removes_only_its_own_half_written_feedback(camp):
    half = camp.ws.feedback / ".JD-T01_机电工程学院第一教师党支部_退回说明.k3j9x2.tmp"  # left by a killed pass
    half.write_bytes(b"PK\x03\x04 half a workbook")
    other = camp.ws.outbox / ".master.a8f3c1.tmp"  # `xlflow master` writing at this moment
    other.write_bytes(b"PK\x03\x04 the master being built")
    camp.drop(camp.fill(camp.branch(0), "一支部.xlsx"))
    camp.run()
    assert not half.exists()
    assert other.exists()


# ---------------------------------------------------------------------------------------------
# settling: a file still being copied is not taken
# ---------------------------------------------------------------------------------------------

def test_file_still_being_copied_is_not_taken(camp):
    data = camp.fill(camp.branch(0), "一支部.xlsx").read_bytes()
    target = camp.ws.inbox / "一支部.xlsx"
    half = len(data) // 2

    with target.open("wb") as f:  # the copy has started
        f.write(data[:half])
    ready, waiting, snaps = settled(camp.ws.inbox, {})
    assert ready == [] and waiting == [target]
    ready, waiting, snaps = settled(camp.ws.inbox, snaps)  # stalled: same size twice, but the zip is cut
    assert ready == [] and waiting == [target]

    with target.open("ab") as f:  # the copy finishes
        f.write(data[half:])
    ready, waiting, snaps = settled(camp.ws.inbox, snaps)  # the size changed since the last poll
    assert ready == [] and waiting == [target]
    ready, waiting, snaps = settled(camp.ws.inbox, snaps)
    assert ready == [target] and waiting == []

    [o] = run_pass(camp.ws, ready, NOW).outcomes
    assert (o.name, o.outcome) == ("一支部.xlsx", "accepted")


def test_growing_file_is_never_ready_while_it_grows(camp):
    data = camp.fill(camp.branch(0), "一支部.xlsx").read_bytes()
    target = camp.ws.inbox / "一支部.xlsx"
    snaps = {}
    step = len(data) // 5 + 1
    for end in range(step, len(data) + step, step):
        target.write_bytes(data[:end])
        ready, _, snaps = settled(camp.ws.inbox, snaps)
        assert ready == []  # each poll sees a new size
    ready, _, snaps = settled(camp.ws.inbox, snaps)
    assert ready == [target]


def test_a_file_that_breaks_validation_is_sent_back_and_the_others_are_taken(camp, monkeypatch):
    """No known file breaks the validator; the fault is injected for one file's content only, to
    prove one odd file can never block the inbox: it is rejected with F116, the rest go through."""
    import xlflow.validate as validate

    good, odd = camp.branch(0), camp.branch(1)
    camp.drop(camp.fill(good, "好.xlsx"))
    camp.drop(camp.fill(odd, "怪.xlsx"))
    real = validate.Validator.validate

    def fragile(self, items):
        if any(raw.path.name == "怪.xlsx" for raw, _, _ in items):
            raise RuntimeError("pandera fell over")
        return real(self, items)

    monkeypatch.setattr(validate.Validator, "validate", fragile)
    result = camp.run()
    assert sorted((o.name, o.outcome) for o in result.outcomes) == [("好.xlsx", "accepted"), ("怪.xlsx", "rejected")]
    assert camp.findings("怪.xlsx") == [("F116", "文件“怪.xlsx”的内容无法处理（表格结构异常）。"
                                                  "请使用下发的原始填报表重新填写后提交；如仍有问题，请把文件交组织部查看。")]
    assert camp.current(good.code) == "好.xlsx" and camp.inbox_top() == set()


def test_work_a_killed_pass_left_is_finished_even_with_an_empty_inbox(camp):
    """A pass killed after recording and moving a rejected file, but before its feedback was
    written (a half-written .tmp left behind): the next `xlflow ingest` finishes it although the
    inbox is now empty."""
    from xlflow.watch import ingest_once

    b = camp.branch(2)
    camp.drop(camp.fill(b, "三支部.xlsx", edit=lambda wb: typed(wb[K.SHEET_SELF]["F3"], "良好")))
    camp.run()
    [feedback] = list(camp.ws.feedback.glob("*.xlsx"))
    feedback.unlink()  # as if the pass had died while writing it
    half = camp.ws.feedback / f".{feedback.stem}.x1y2z3.tmp"
    half.write_bytes(b"PK\x03\x04 half")
    with contextlib.closing(camp.db()) as conn:
        conn.execute("UPDATE files SET feedback_done = 0")
    assert camp.inbox_top() == set()

    ingest_once(camp.ws, settle_seconds=0)

    assert feedback.is_file() and not half.exists()
    assert [r[3] for r in feedback_table(feedback)] == ["错误"]
    assert camp.files()["三支部.xlsx"]["feedback_done"] == 1
