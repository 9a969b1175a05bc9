"""Issue 12: no file can stop the inbox. Each hostile or odd arrival found by the fault audit is
dropped into a real working folder among good returns; the pass (a real `xlflow ingest` process
where the old code aborted the interpreter) must take it in or send it back with a Chinese
message, and take every other file as usual."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import hostile
from test_ingest import LATER, Campaign
from xlflow import intake, ledger
from xlflow.messages import Code

FAR = ("文件“{file}”的工作表“三会一课”中，单元格 XFD1048576 有内容，远在填报区域之外（从 A1 到该单元格共 "
       "1,048,576 行 × 16,384 列，超过 1,000,000 个单元格的上限），无法接收。请在 Excel 或 WPS 中打开该工作表，"
       "按 Ctrl+End 跳到最后一个有内容的单元格，删除填报区域以外的内容（或整行、整列删除）后保存，再重新提交。")


@pytest.fixture
def camp(tmp_path) -> Campaign:
    return Campaign(tmp_path)


def ingest(camp: Campaign) -> subprocess.CompletedProcess:
    """The clerk's own command, in a process of its own (the old code aborted it)."""
    return subprocess.run([sys.executable, "-m", "xlflow", "ingest", "--root", str(camp.ws.root)],
                          capture_output=True, text=True, timeout=300)


def outcomes(camp: Campaign) -> dict[str, str]:
    return {name: r["outcome"] for name, r in camp.files().items()}


def first_message(camp: Campaign, name: str) -> str:
    return camp.findings(name)[0][1]


def test_a_far_cell_in_any_form_is_measured_and_formatting_costs_nothing(tmp_path):
    """The reader allocates the block from A1 to the farthest cell holding data: a cell written in
    any of the forms a zip may hold is measured; cells holding no data and the declared
    <dimension> are not (the reader ignores them)."""
    from test_intake import SHEET_HEAD, SHEET_TAIL, bounded, raw_xlsx

    def sheet(*rows: str, dimension: str = "A1:C2") -> str:
        return SHEET_HEAD.format(ref=dimension) + '<row r="1"><c r="A1"><v>1</v></c></row>' + "".join(rows) + SHEET_TAIL

    far = {
        "plain": '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
        "r not first": '<row r="1048576"><c t="n" r="XFD1048576"><v>1</v></c></row>',
        "prefixed": '<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="1048576">'
                    '<x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>',
    }
    for label, row in far.items():
        path = raw_xlsx(tmp_path / f"{label}.xlsx", **{"xl/worksheets/sheet1.xml": sheet(row)})
        [f] = bounded(intake.inspect, path)
        assert (f.code, f.sheet, f.cell) == ("F117", "党员名册", "XFD1048576"), label
    # no r="…": the cell takes the place after the one before it, in row 1048576; each such cell
    # may widen the block by a column, so it is counted as one (an upper bound)
    path = raw_xlsx(tmp_path / "loose.xlsx", **{"xl/worksheets/sheet1.xml": sheet('<row r="1048576"><c><v>1</v></c></row>')})
    assert [(f.code, f.cell) for f in bounded(intake.inspect, path)] == [("F117", "B1048576")]
    # formatting only, and a dimension that only declares: read at no cost
    for label, content in {"styled": sheet('<row r="1048576"><c r="XFD1048576" s="1"/></row>'),
                           "declared": sheet(dimension="A1:XFD1048576")}.items():
        path = raw_xlsx(tmp_path / f"{label}.xlsx", **{"xl/worksheets/sheet1.xml": content})
        assert bounded(intake.inspect, path) == [], label
        from xlflow.read import read_workbook
        bounded(read_workbook, path)


def test_a_cell_at_xfd1048576_is_sent_back_and_the_pass_goes_on(camp):
    """The audit's poison cell on 三会一课 (the <dimension> left as it was): `xlflow ingest` used to
    abort ("memory allocation of 549755813888 bytes failed", exit 134) on every pass."""
    good, bad = camp.branch(0), camp.branch(1)
    camp.drop(camp.fill(good, "一支部.xlsx"))
    poisoned = camp.desk / "二支部.xlsx"
    poisoned.write_bytes(hostile.far_cell(camp.fill(bad, "二支部原件.xlsx").read_bytes()))
    camp.drop(poisoned)

    done = ingest(camp)

    assert done.returncode == 0, done.stderr[-2000:]
    assert outcomes(camp) == {"一支部.xlsx": ledger.ACCEPTED, "二支部.xlsx": ledger.REJECTED}
    assert first_message(camp, "二支部.xlsx") == FAR.format(file="二支部.xlsx")
    assert camp.inbox_top() == set() and (camp.ws.master).is_file()
    assert "二支部.xlsx" in done.stdout and "退回" in done.stdout


# ---------------------------------------------------------------- long names (defect 2)
def fits_everywhere(path: Path) -> bool:
    """ext4 (255 bytes of UTF-8), NTFS (255 UTF-16 units) and a Windows path of 259 characters."""
    name = path.name
    return (len(name.encode()) <= 255 and len(name.encode("utf-16-le")) // 2 <= 255
            and len(str(path.absolute())) <= 259)


def test_long_file_names_are_archived_under_names_that_fit_and_kept_whole_in_the_ledger(tmp_path):
    """The audit's names: 83 Chinese characters (254 bytes, legal on ext4) for a good return, and 76
    (228 bytes) for a file that gets a feedback note. Before, the move raised "File name too long"
    on every pass and nothing after it was archived. The working folder sits deep, as on a clerk's
    desktop, so the Windows path limit counts too."""
    from xlflow.watch import ingest_once

    camp = Campaign(tmp_path / ("二零一九年党支部标准化规范化建设" * 3))
    good_name = "机电工程学院党总支第一党支部" * 5 + "二零一九年度自查表格最终版.xlsx"
    odd_name = "请查收" * 25 + "件.xlsx"
    assert len(good_name.encode()) == 254 and len(odd_name.encode()) == 233
    camp.drop(camp.fill(camp.branch(0), "a.xlsx"), good_name)
    (camp.ws.inbox / odd_name).write_text("<html><table><tr><td>支部</td></tr></table></html>", encoding="utf-8")
    camp.drop(camp.fill(camp.branch(1), "b.xlsx"), "二支部.xlsx")

    result = ingest_once(camp.ws, settle_seconds=0)

    assert sorted((o.name, o.outcome) for o in result.outcomes) == sorted(
        [(good_name, "accepted"), (odd_name, "rejected"), ("二支部.xlsx", "accepted")])
    assert camp.inbox_top() == set()
    files = camp.files()
    assert set(files) == {good_name, odd_name, "二支部.xlsx"}  # the original names, whole
    for r in files.values():
        assert r["moved"] == 1 and fits_everywhere(camp.ws.root / r["stored_as"]), r["stored_as"]
    stored = camp.ws.root / files[good_name]["stored_as"]
    assert stored.suffix == ".xlsx" and good_name.startswith(Path(stored.name.split("_", 2)[2]).stem)  # a cut of it
    note = camp.ws.root / files[odd_name]["feedback"]
    assert note.is_file() and fits_everywhere(note) and "_退回说明_" in note.name
    assert result.rebuilt is not None and camp.ws.master.is_file()


def test_a_record_left_with_a_name_too_long_is_moved_under_a_fitted_name(camp):
    """A ledger written before names were fitted holds a stored name the disk refuses: the next
    pass shortens it and completes the move."""
    name = "第一党支部" * 16 + ".xlsx"  # 245 bytes; with the time and hash before it, 270
    camp.drop(camp.fill(camp.branch(0), "a.xlsx"), name)
    camp.run()
    r = camp.files()[name]
    stored = camp.ws.root / r["stored_as"]
    stored.rename(camp.ws.inbox / name)  # as it was before the move
    too_long = f"{stored.parent.relative_to(camp.ws.root).as_posix()}/20191128-090000_{r['sha256'][:8]}_{name}"
    with contextlib.closing(camp.db()) as conn:
        conn.execute("UPDATE files SET moved = 0, stored_as = ?", (too_long,))

    camp.run()

    r = camp.files()[name]
    assert r["moved"] == 1 and r["stored_as"] != too_long and (camp.ws.root / r["stored_as"]).is_file()
    assert camp.inbox_top() == set()


def test_fit_filename_cuts_whole_characters_and_keeps_the_extension(tmp_path):
    from xlflow.files import fit_filename

    name = fit_filename("支" * 200 + ".xlsx")
    assert name == "支" * 83 + ".xlsx" and len(name.encode()) == 254
    assert fit_filename("a" * 300, tail="_退回说明_1.xlsx").endswith("a_退回说明_1.xlsx")
    assert len(fit_filename("a" * 300, tail="_退回说明_1.xlsx").encode()) <= 255
    assert fit_filename("😀" * 200 + ".xlsx") == "😀" * 62 + ".xlsx"  # 4 bytes, 2 UTF-16 units each
    deep = tmp_path / ("d" * (240 - len(str(tmp_path))))
    assert len(str(deep / fit_filename("x" * 100 + ".xlsx", deep))) == 259


# ---------------------------------------------------------------- replaced after reading (defect 4)
def test_a_file_replaced_after_it_was_read_is_not_archived_under_the_first_record(camp, monkeypatch):
    """The clerk overwrites 一支部.xlsx in the inbox while the pass is recording it: the ledger holds
    the first content; inbox/accepted/ must not hold the second one (before, it did, and the second
    was never recorded); the second is taken in by the next pass."""
    b = camp.branch(0)
    first = camp.fill(b, "first.xlsx", seed=1, modified=__import__("datetime").datetime(2019, 11, 20, 8, 0))
    second = camp.fill(b, "second.xlsx", seed=2, modified=__import__("datetime").datetime(2019, 11, 26, 8, 0))
    camp.drop(first, "一支部.xlsx")
    real = ledger.sync

    def overwrite_then_sync(conn):  # between recording and moving
        (camp.ws.inbox / "一支部.xlsx").write_bytes(second.read_bytes())
        real(conn)

    monkeypatch.setattr(ledger, "sync", overwrite_then_sync)
    result = camp.run()
    monkeypatch.setattr(ledger, "sync", real)

    r = camp.files()["一支部.xlsx"]
    assert (r["outcome"], r["moved"], r["sha256"]) == ("accepted", -1, sha_of(first))
    assert r["note"] == "原文件在归档前已被移走或替换（数据已记入台账）"
    assert camp.folder("accepted") == [] and result.waiting == ["一支部.xlsx"]
    assert sha_of(camp.ws.inbox / "一支部.xlsx") == sha_of(second)

    camp.run(LATER)

    with contextlib.closing(camp.db()) as conn:
        rows = conn.execute("SELECT sha256, outcome, moved FROM files ORDER BY id").fetchall()
    assert [tuple(x) for x in rows] == [(sha_of(first), "accepted", -1), (sha_of(second), "accepted", 1)]
    [archived] = camp.folder("accepted")
    assert sha_of(archived) == sha_of(second) and camp.inbox_top() == set()
    assert camp.current(b.code) == "一支部.xlsx"


def sha_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- a name in another encoding (defect 5)
@pytest.mark.skipif(os.name == "nt", reason="Windows names are always Unicode")
def test_a_gbk_encoded_name_is_taken_in_under_its_readable_name_and_the_raw_name_kept(camp):
    """From a zip or a USB stick mounted with another character set: the name's bytes are GBK.
    Before, every pass said 暂未处理 forever (the reader could not open the path)."""
    raw = "第一党支部.xlsx".encode("gbk")
    src = camp.fill(camp.branch(0), "a.xlsx")
    shutil.copyfile(src, os.path.join(os.fsencode(camp.ws.inbox), raw))
    camp.drop(camp.fill(camp.branch(1), "二支部.xlsx"))

    done = ingest(camp)

    assert done.returncode == 0, done.stderr[-2000:]
    assert "暂未处理" not in done.stdout and "第一党支部.xlsx" in done.stdout
    assert outcomes(camp) == {"第一党支部.xlsx": ledger.ACCEPTED, "二支部.xlsx": ledger.ACCEPTED}
    assert os.listdir(os.fsencode(camp.ws.inbox)).count(raw) == 0 and camp.inbox_top() == set()
    with contextlib.closing(camp.db()) as conn:
        assert [tuple(r)[:2] for r in conn.execute("SELECT raw_name, name FROM renamed")] == [(raw, "第一党支部.xlsx")]


def test_readable_name():
    from xlflow.ingest import readable_name

    assert readable_name("第一党支部.xlsx") is None
    assert readable_name(os.fsdecode("三支部.xlsx".encode("gbk"))) == "三支部.xlsx"
    assert readable_name(os.fsdecode(b"\xff\xfe.xlsx")) == "\ufffd\ufffd.xlsx"


# ---------------------------------------------------------------- a truncated file (defect 6)
def test_a_truncated_xlsx_is_listed_as_waiting_then_sent_back_after_its_grace_period(camp):
    """A copy that broke off: before, it never settled, was never recorded, was not even listed,
    and `xlflow ingest` said the inbox was empty while it sat there."""
    import time

    from click.testing import CliRunner

    from xlflow.cli import main
    from xlflow.ingest import GRACE_SECONDS

    cut = camp.ws.inbox / "一支部.xlsx"
    cut.write_bytes(hostile.truncated(camp.fill(camp.branch(0), "a.xlsx").read_bytes()))
    run = lambda: CliRunner().invoke(main, ["ingest", "--root", str(camp.ws.root)])  # noqa: E731

    first = run()
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "暂未处理（文件仍在复制或被占用，下次再试）：一支部.xlsx"
    assert camp.inbox_top() == {"一支部.xlsx"}

    old = time.time() - GRACE_SECONDS - 5  # nobody has touched it since
    os.utime(cut, (old, old))
    second = run()

    assert second.exit_code == 0, second.output
    assert outcomes(camp) == {"一支部.xlsx": ledger.REJECTED}
    assert first_message(camp, "一支部.xlsx") == Code.F107.text(file="一支部.xlsx")
    assert "没有复制完整" in second.output and camp.inbox_top() == set()


# ---------------------------------------------------------------- smaller ones (defect 10)
@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/styles.xml", "docProps/app.xml"])
def test_a_dtd_after_a_6000_byte_comment_is_found_in_any_part(tmp_path, part):
    """Before, only the first 4 KiB of each part were searched: a DTD after a long comment passed
    in every part defusedxml does not parse here."""
    from test_intake import NAME, UNSAFE, only, raw_xlsx

    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<!--' + " " * 6000 + '-->'
            '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    path = raw_xlsx(tmp_path / NAME, **{part: body})
    assert only(intake.inspect(path)) == UNSAFE.format(reason="XML 文档类型定义或实体声明")
    big = "<!--" + os.urandom(2_200_000).hex() + "-->"  # too big to keep: searched streaming, to its end
    path = raw_xlsx(tmp_path / ("big" + NAME), **{part: body.replace("<!--", big + "<!--", 1)})
    assert [f.code for f in intake.inspect(path)] == ["F114"]


def test_zero_width_joiners_hold_emoji_together_and_stray_ones_go():
    from xlflow.normalize import clean_text

    family, fire, flag = "👨\u200d👩\u200d👧", "❤\ufe0f\u200d🔥", "🏳\ufe0f\u200d🌈"
    assert clean_text(f"支部之家{family}") == f"支部之家{family}"  # before: 👨👩👧, three people
    assert clean_text(f"{fire} {flag}") == f"{fire} {flag}"
    assert clean_text("张\u200d三\u200b") == "张三"  # pasted from a web page: invisible, removed


def test_text_beyond_excels_cell_limit_is_a_finding_not_cut_silently(camp):
    """Only other tools write more than 32,767 characters into a cell (Excel, WPS and openpyxl cut
    it); before, it was accepted and then cut without a word in the master."""
    path = camp.desk / "一支部.xlsx"
    path.write_bytes(hostile.long_text(camp.fill(camp.branch(0), "a.xlsx").read_bytes(), "三会一课", "D3"))
    camp.drop(path)
    camp.run()
    assert outcomes(camp) == {"一支部.xlsx": ledger.REJECTED}
    assert ("三会一课!D3：内容长达 40,000 个字符，超过了 Excel 一个单元格最多 32,767 个字符的上限，"
            "汇总时会被截断。请精简到 32,767 个字符以内（详细材料可另行附上）后重新提交。") in [m for _, m in camp.findings("一支部.xlsx")]


@pytest.mark.parametrize("error, said", [
    (PermissionError(13, "Permission denied"), "NO_PERMISSION"),
    (sqlite3.OperationalError("database is locked"), "LEDGER_BUSY"),
])
def test_watch_logs_and_shows_chinese_not_python_exception_text(camp, monkeypatch, error, said):
    """Before, the watch log and console showed PermissionError(13, 'Permission denied') and
    OperationalError('database is locked')."""
    from xlflow import messages
    from xlflow import watch as watching

    shown = []
    monkeypatch.setattr(watching, "run_pass", lambda *a: (_ for _ in ()).throw(error))
    camp.drop(camp.fill(camp.branch(0), "一支部.xlsx"))
    handler = watching.setup_logging(camp.ws)
    try:
        poller = watching.Poller(camp.ws, on_error=shown.append)
        poller.safe_poll()
        poller.safe_poll()
    finally:
        watching.teardown_logging(handler)
    expected = getattr(messages, said).format(file=camp.ws.root, ledger=camp.ws.root / "xlflow.db")
    assert shown == [f"本次处理出错，下次将重试：{expected}"]
    log = camp.ws.log.read_text(encoding="utf-8")
    assert f"ERROR 本次处理出错，下次将重试：{expected}" in log and repr(error) not in log.splitlines()[-1]


def test_an_immutable_file_is_not_said_to_be_open_in_excel(camp, monkeypatch, caplog):
    import errno

    from xlflow import ingest as ingesting

    real = ingesting.os.replace

    def immutable(src, dest):
        if Path(src).parent == camp.ws.inbox:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(src))
        return real(src, dest)

    camp.drop(camp.fill(camp.branch(0), "一支部.xlsx"))
    monkeypatch.setattr(ingesting.os, "replace", immutable)
    result = camp.run()
    assert camp.inbox_top() == {"一支部.xlsx"} and camp.files()["一支部.xlsx"]["moved"] == 0
    assert "文件“一支部.xlsx”被设为不可修改或没有权限，无法移动；请取消其只读（不可修改）属性，或检查文件权限，下次处理时重试。" in caplog.messages
    assert not any("Excel" in m for m in caplog.messages) and result.outcomes
