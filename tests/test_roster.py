"""The roster stage: the sample roster loads, and every broken roster is refused with all its problems."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from xlflow.constants import BRANCH_TYPES, ROSTER_COLUMNS, ROSTER_SHEET
from xlflow.errors import RosterError
from xlflow.roster import Branch, by_code, generals, load_roster

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "templates" / "branches.xlsx"
HEADERS = list(ROSTER_COLUMNS.values())
ALLOWED = "、".join(BRANCH_TYPES)

GOOD = [
    ["JD-T01", "机电工程学院第一教师党支部", "机电工程学院党总支", "教师党支部", "王建国", "0392-5550101"],
    ["JD-S01", "机电工程学院2017级学生党支部", "机电工程学院党总支", "学生党支部", "刘晓燕", ""],
    ["JG-G01", "党政办公室党支部", "机关党总支", "机关党支部", None, None],
]


def write(path: Path, rows, headers=HEADERS, sheet=ROSTER_SHEET) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    if headers is not None:
        ws.append(headers)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(RosterError) as info:
        load_roster(path)
    return str(info.value).splitlines()


# ---- the sample roster ----

def test_sample_roster_is_reproducible(tmp_path):
    out = tmp_path / "branches.xlsx"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_roster.py"), str(out)], check=True)
    assert out.read_bytes() == SAMPLE.read_bytes(), "templates/branches.xlsx is stale: run scripts/make_roster.py"


def test_sample_roster_loads():
    branches = load_roster(SAMPLE)
    assert 55 <= len(branches) <= 65
    assert 7 <= len(generals(branches)) <= 9
    assert {b.type for b in branches} == set(BRANCH_TYPES)
    assert len(by_code(branches)) == len(branches)
    for b in branches:
        assert re.fullmatch(r"[A-Z]{2}-[TSGHRU]\d{2}", b.code), b.code
        assert b.name.endswith("党支部") and b.general.endswith("党总支")
        assert b.secretary  # the sample names every secretary
    # the code's type letter agrees with the type column
    letters = dict(zip(BRANCH_TYPES, "TSGHRU"))
    assert all(b.code[3] == letters[b.type] for b in branches)


def test_sample_roster_looks_finished():
    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb[ROSTER_SHEET]
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.freeze_panes == "A2"
    assert all(c.font.b for c in ws[1])
    assert ws.column_dimensions["B"].width > 30


def test_generals_and_by_code(tmp_path):
    branches = load_roster(write(tmp_path / "r.xlsx", GOOD))
    assert generals(branches) == ["机电工程学院党总支", "机关党总支"]
    assert by_code(branches)["JG-G01"] == Branch("JG-G01", "党政办公室党支部", "机关党总支", "机关党支部", "", "")
    assert branches[0].phone == "0392-5550101"


# ---- reading is forgiving about layout ----

def test_column_order_and_extra_columns(tmp_path):
    order = [5, 3, 0, 2, 4, 1]
    headers = ["备注"] + [HEADERS[i] for i in order]
    rows = [["说明"] + [r[i] for i in order] for r in GOOD]
    assert load_roster(write(tmp_path / "r.xlsx", rows, headers)) == load_roster(write(tmp_path / "g.xlsx", GOOD))


def test_optional_columns_may_be_absent(tmp_path):
    branches = load_roster(write(tmp_path / "r.xlsx", [r[:4] for r in GOOD], HEADERS[:4]))
    assert [b.secretary for b in branches] == ["", "", ""]


def test_whitespace_stripped_and_empty_rows_skipped(tmp_path):
    rows = [
        [" JD-T01 ", "机电工程学院第一教师党支部\u3000", " 机电工程学院党总支", "教师党支部 ", " 王建国", 13000000101],
        [],
        [None, "  ", None, None, None, None],
        GOOD[1],
    ]
    path = write(tmp_path / "r.xlsx", rows, [f" {h} " for h in HEADERS])
    branches = load_roster(path)
    assert [b.code for b in branches] == ["JD-T01", "JD-S01"]
    assert branches[0] == Branch("JD-T01", "机电工程学院第一教师党支部", "机电工程学院党总支", "教师党支部", "王建国", "13000000101")


def test_row_numbers_survive_empty_rows(tmp_path):
    # Data in row 2, rows 3-5 empty, the duplicate in row 6, then a row with only column C filled.
    rows = [GOOD[0], [], [], [], GOOD[0], [None, None, "机关党总支"]]
    assert problems(write(tmp_path / "r.xlsx", rows)) == [
        f"{ROSTER_SHEET} 第 6 行：支部编码“JD-T01”与第 2 行重复。",
        f"{ROSTER_SHEET} 第 7 行：支部编码为空。",
        f"{ROSTER_SHEET} 第 7 行：支部名称为空。",
        f"{ROSTER_SHEET} 第 7 行：支部类型为空（应为：{ALLOWED}）。",
    ]


def test_table_may_start_in_column_b(tmp_path):
    rows = [[None] + r for r in GOOD]
    assert load_roster(write(tmp_path / "r.xlsx", rows, [None] + HEADERS)) == load_roster(write(tmp_path / "g.xlsx", GOOD))


# ---- every broken roster is refused, naming the row ----

def test_missing_file(tmp_path):
    path = tmp_path / "没有这个文件.xlsx"
    assert problems(path) == [f"找不到支部名册文件：{path}"]


def test_not_an_xlsx(tmp_path):
    path = tmp_path / "branches.xlsx"
    path.write_text("not a workbook", encoding="utf-8")
    assert problems(path)[0].startswith(f"支部名册文件无法打开：{path}（")


def test_missing_sheet(tmp_path):
    path = write(tmp_path / "branches.xlsx", GOOD, sheet="Sheet1")
    assert problems(path) == [f"支部名册文件 branches.xlsx 中没有名为“{ROSTER_SHEET}”的工作表（现有工作表：Sheet1）。"]


def test_missing_required_columns(tmp_path):
    headers = ["支部编码", "支部名称", "总支", "支部书记"]
    path = write(tmp_path / "r.xlsx", [r[:4] for r in GOOD], headers)
    assert problems(path) == [
        f"{ROSTER_SHEET} 第 1 行：缺少“所属总支”列（现有表头：支部编码、支部名称、总支、支部书记）。",
        f"{ROSTER_SHEET} 第 1 行：缺少“支部类型”列（现有表头：支部编码、支部名称、总支、支部书记）。",
    ]


def test_empty_sheet(tmp_path):
    path = write(tmp_path / "r.xlsx", [], headers=None)
    assert problems(path)[0] == f"{ROSTER_SHEET} 第 1 行：缺少“支部编码”列（现有表头：（空））。"


def test_no_branches(tmp_path):
    assert problems(write(tmp_path / "r.xlsx", [[], []])) == [
        f"{ROSTER_SHEET} 中没有任何支部：请从第 2 行起每行填写一个党支部。"
    ]


@pytest.mark.parametrize(
    ("column", "value", "line"),
    [
        (0, None, "支部编码为空。"),
        (1, "  ", "支部名称为空。"),
        (2, None, "所属总支为空。"),
        (3, None, f"支部类型为空（应为：{ALLOWED}）。"),
        (3, "教工党支部", f"支部类型“教工党支部”不是规定的类型（应为：{ALLOWED}）。"),
    ],
)
def test_bad_cell(tmp_path, column, value, line):
    rows = [list(r) for r in GOOD]
    rows[2][column] = value  # Excel row 4
    assert problems(write(tmp_path / "r.xlsx", rows)) == [f"{ROSTER_SHEET} 第 4 行：{line}"]


def test_duplicate_code_ignores_case(tmp_path):
    rows = [list(r) for r in GOOD] + [["jd-t01", "重复的支部", "机关党总支", "机关党支部"]]
    assert problems(write(tmp_path / "r.xlsx", rows)) == [f"{ROSTER_SHEET} 第 5 行：支部编码“jd-t01”与第 2 行重复。"]


def test_all_problems_listed_at_once(tmp_path):
    rows = [list(r) for r in GOOD] + [
        [None, None, "机关党总支", "机关党支部"],  # row 5
        ["JD-T01", "某党支部", None, "党小组"],  # row 6
    ]
    assert problems(write(tmp_path / "r.xlsx", rows)) == [
        f"{ROSTER_SHEET} 第 5 行：支部编码为空。",
        f"{ROSTER_SHEET} 第 5 行：支部名称为空。",
        f"{ROSTER_SHEET} 第 6 行：支部编码“JD-T01”与第 2 行重复。",
        f"{ROSTER_SHEET} 第 6 行：所属总支为空。",
        f"{ROSTER_SHEET} 第 6 行：支部类型“党小组”不是规定的类型（应为：{ALLOWED}）。",
    ]
