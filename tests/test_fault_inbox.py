"""Issue 12: no file can stop the inbox. Each hostile or odd arrival found by the fault audit is
dropped into a real working folder among good returns; the pass (a real `xlflow ingest` process
where the old code aborted the interpreter) must take it in or send it back with a Chinese
message, and take every other file as usual."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest

import hostile
from test_ingest import Campaign
from xlflow import intake, ledger

FAR = ("文件“{file}”的工作表“三会一课”中，单元格 XFD1048576 有内容，远在填报区域之外（从 A1 到该单元格共 "
       "1,048,576 行 × 16,384 列，超过 1,000,000 个单元格的上限），xlflow 拒绝读取。请在 Excel 或 WPS 中打开该工作表，"
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
        [f] = bounded(intake.inspect, path, seconds=1.0)
        assert (f.code, f.sheet, f.cell) == ("F117", "党员名册", "XFD1048576"), label
    # no r="…": the cell takes the place after the one before it, in row 1048576; each such cell
    # may widen the block by a column, so it is counted as one (an upper bound)
    path = raw_xlsx(tmp_path / "loose.xlsx", **{"xl/worksheets/sheet1.xml": sheet('<row r="1048576"><c><v>1</v></c></row>')})
    assert [(f.code, f.cell) for f in bounded(intake.inspect, path, seconds=1.0)] == [("F117", "B1048576")]
    # formatting only, and a dimension that only declares: read at no cost
    for label, content in {"styled": sheet('<row r="1048576"><c r="XFD1048576" s="1"/></row>'),
                           "declared": sheet(dimension="A1:XFD1048576")}.items():
        path = raw_xlsx(tmp_path / f"{label}.xlsx", **{"xl/worksheets/sheet1.xml": content})
        assert bounded(intake.inspect, path, seconds=1.0) == [], label
        from xlflow.read import read_workbook
        bounded(read_workbook, path, seconds=1.0)


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
