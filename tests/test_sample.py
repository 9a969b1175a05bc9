"""The sample stage: a generated branch workbook filled in as a secretary would, with chosen mistakes."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from openpyxl import load_workbook

from xlflow import constants as K
from xlflow.campaign import Campaign
from xlflow.checklist import load_checklist
from xlflow.normalize import parse_date, parse_number
from xlflow.roster import load_roster
from xlflow.sample import FORMULA_TEXT, MISTAKES, fill_workbook, plan_demo
from xlflow.settings import Settings
from xlflow.workbook import build_workbook

ROOT = Path(__file__).resolve().parent.parent
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    checklist = load_checklist(ROOT / "templates" / "checklist.yaml")
    roster = load_roster(ROOT / "templates" / "branches.xlsx")
    settings = Settings()
    out = tmp_path_factory.mktemp("sample")
    by_type = {}
    for b in roster:
        by_type.setdefault(b.type, b)
    templates = {}
    for b in by_type.values():
        templates[b.code] = build_workbook(out / f"{b.code}.xlsx", b, Campaign(checklist, settings))

    def fill(branch, seed=1, mistakes=frozenset(), name=None):
        dest = out / (name or f"{branch.code}_{seed}_{'-'.join(sorted(mistakes)) or 'clean'}.xlsx")
        fill_workbook(templates[branch.code], dest, branch, Campaign(checklist, settings), seed, frozenset(mistakes))
        return dest

    return {"checklist": checklist, "roster": roster, "settings": settings, "branches": list(by_type.values()),
            "student": by_type["学生党支部"], "templates": templates, "fill": fill}


def table(ws, columns: dict[str, str]) -> list[dict]:
    """The data rows of a table sheet as dicts keyed like `columns`, up to the first blank row."""
    header = {c.value: c.column for c in ws[K.HEADER_ROW]}
    rows = []
    for r in range(K.HEADER_ROW + 1, ws.max_row + 1):
        row = {k: ws.cell(r, header[title]).value for k, title in columns.items()}
        if all(v is None for k, v in row.items() if k != "seq"):
            break
        rows.append(row)
    return rows


def basic(ws) -> dict:
    labels = {v: k for k, v in K.BASIC_FIELDS.items()}
    return {labels[ws.cell(r, 1).value]: ws.cell(r, 2).value
            for r in range(K.BASIC_FIRST_ROW, ws.max_row + 1) if ws.cell(r, 1).value in labels}


def values(path: Path) -> dict:
    wb = load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def day(v):
    return v.date() if isinstance(v, dt.datetime) else v


# ---- the workbook survives openpyxl intact ----

def test_identity_validations_and_protection_survive(env):
    b = env["student"]
    before, after = load_workbook(env["templates"][b.code]), load_workbook(env["fill"](b))
    assert after.sheetnames == before.sheetnames
    assert after[K.SHEET_IDENTITY].sheet_state == "veryHidden"
    assert after[K.SHEET_LISTS].sheet_state == "hidden"
    assert [r for r in after[K.SHEET_IDENTITY].values] == [r for r in before[K.SHEET_IDENTITY].values]
    props = {p.name: p.value for p in after.custom_doc_props.props}
    assert props == {p.name: p.value for p in before.custom_doc_props.props}
    assert props["xlflow_branch_code"] == b.code
    assert set(after.defined_names) == set(before.defined_names)

    def rules(ws):
        return sorted((str(v.sqref), v.type, v.formula1, v.formula2, v.prompt, v.error)
                      for v in ws.data_validations.dataValidation)

    for name in before.sheetnames:
        assert rules(after[name]) == rules(before[name]), name
        assert after[name].protection.sheet, name
    assert len(after[K.SHEET_SELF].data_validations.dataValidation) == 1
    # input cells stay unlocked and keep their date format
    members = after[K.SHEET_MEMBERS]
    col = list(K.MEMBER_COLUMNS).index("last_life") + 1
    cell = members.cell(K.HEADER_ROW + 1, col)
    assert isinstance(cell.value, dt.datetime) and cell.number_format == "yyyy-mm-dd"
    assert not cell.protection.locked


# ---- clean returns are consistent ----

def test_clean_workbooks_are_consistent(env):
    s, checklist = env["settings"], env["checklist"]
    for b in env["branches"]:
        for seed in (1, 2, 3):
            wb = load_workbook(env["fill"](b, seed))
            info = basic(wb[K.SHEET_BASIC])
            members = table(wb[K.SHEET_MEMBERS], K.MEMBER_COLUMNS)
            acts = table(wb[K.SHEET_ACTIVITIES], K.ACTIVITY_COLUMNS)
            where = f"{b.code} seed {seed}"
            assert 8 <= len(members) <= 40, where
            cats = [m["category"] for m in members]
            assert info["full_members"] == cats.count("正式党员"), where
            assert info["probationary_members"] == cats.count("预备党员"), where
            assert info["type"] == b.type and info["secretary"] == b.secretary
            assert info["has_committee"] == ("是" if info["full_members"] >= 7 else "否"), where
            if info["has_committee"] == "是":
                assert info["committee_size"] in (3, 5)
            assert info["groups"] == len({m["group"] for m in members if m["group"]}), where
            assert isinstance(info["election_date"], dt.datetime) and isinstance(info["filled_on"], dt.datetime)
            assert all(isinstance(m["study_hours"], (int, float)) and 0 < m["study_hours"] <= 60 for m in members)
            assert all(m["evaluation"] in K.EVALUATION_GRADES and 0 <= m["dues_months"] <= 12 for m in members)
            assert acts, where
            for a in acts:
                assert s.period_start <= day(a["date"]) <= s.period_end, where
                assert a["type"] in K.ACTIVITY_TYPES and a["topic"] and not a["topic"].startswith("=")
                assert 0 < a["actual"] <= a["expected"], where
            lectures = [a for a in acts if a["type"] == "党课"]
            assert any(a["secretary_lecture"] == "是" and a["presenter"] == b.secretary for a in lectures)
            selfs = table(wb[K.SHEET_SELF], K.SELF_COLUMNS)
            assert len(selfs) == len(checklist.indicators)
            assert all(r["rating"] in checklist.rating_names for r in selfs), where
            weak = {r["code"] for r in selfs if r["rating"] in ("基本达标", "未达标")}
            problems = table(wb[K.SHEET_PROBLEMS], K.PROBLEM_COLUMNS)
            assert {p["indicator"] for p in problems} == weak, where
            assert all(p["status"] in K.PROBLEM_STATUS and p["measure"] for p in problems)
            for a in table(wb[K.SHEET_ACTIVISTS], K.ACTIVIST_COLUMNS):
                assert a["designated"] <= a["last_review"]


def test_student_branch_marks_teacher_only_indicators_not_applicable(env):
    wb = load_workbook(env["fill"](env["student"]))
    selfs = {r["code"]: r for r in table(wb[K.SHEET_SELF], K.SELF_COLUMNS)}
    double = [i.code for i in env["checklist"].indicators if "双带头人" in i.short]
    assert double and all(selfs[c]["rating"] == "不适用" for c in double)


# ---- mistakes ----

@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_mistake_appears_and_nothing_else_changes(env, mistake):
    b, s = env["student"], env["settings"]
    clean_path, faulty_path = env["fill"](b, 5), env["fill"](b, 5, {mistake})
    wb = load_workbook(faulty_path)
    members = table(wb[K.SHEET_MEMBERS], K.MEMBER_COLUMNS)
    acts = table(wb[K.SHEET_ACTIVITIES], K.ACTIVITY_COLUMNS)
    ratings = [r["rating"] for r in table(wb[K.SHEET_SELF], K.SELF_COLUMNS)]
    hours = [m["study_hours"] for m in members]
    dates = [a["date"] for a in acts]
    if mistake == "two_digit_year":
        texts = [d for d in dates if isinstance(d, str)]
        assert len(texts) == 1 and re.fullmatch(r"\d{2}\.\d{1,2}\.\d{1,2}", texts[0])
        assert parse_date(texts[0]).problem is not None
    elif mistake == "text_number":
        assert "三十二" in hours and parse_number("三十二").problem is not None
    elif mistake == "actual_gt_expected":
        assert sum(a["actual"] > a["expected"] for a in acts) == 1
    elif mistake == "missing_rating":
        assert ratings.count(None) == 3
    elif mistake == "bad_choice":
        assert ratings.count("良好") == 1
    elif mistake == "date_outside_period":
        assert day(dates[0]) < s.period_start and all(day(d) >= s.period_start for d in dates[1:])
    elif mistake == "formula_text":
        assert [a["topic"] for a in acts].count(FORMULA_TEXT) == 1
    elif mistake == "fullwidth":
        wide = [h for h in hours if isinstance(h, str)]
        assert len(wide) == 1 and re.search("[０-９]", wide[0]) and parse_number(wide[0]).ok
        texts = [d for d in dates if isinstance(d, str)]
        assert len(texts) == 1 and "年" in texts[0] and parse_date(texts[0]).ok
    elif mistake == "member_count_mismatch":
        info = basic(wb[K.SHEET_BASIC])
        assert info["full_members"] != [m["category"] for m in members].count("正式党员")

    # Apart from the mistake, the workbook is the clean one (the extra row shifts 三会一课 down).
    clean, faulty = values(clean_path), values(faulty_path)
    if mistake == "date_outside_period":
        rows = faulty[K.SHEET_ACTIVITIES]
        first = K.HEADER_ROW  # 0-based index of the first data row
        faulty[K.SHEET_ACTIVITIES] = rows[:first] + [
            [clean_row[0], *row[1:]] for clean_row, row in zip(clean[K.SHEET_ACTIVITIES][first:], rows[first + 1:])]
    changed = [(name, r, c) for name in clean for r, (x, y) in enumerate(zip(clean[name], faulty[name]))
               for c, (u, v) in enumerate(zip(x, y)) if u != v]
    assert (not changed) if mistake == "date_outside_period" else 1 <= len(changed) <= 6, changed


def test_formula_text_is_stored_as_a_string(env):
    path = env["fill"](env["student"], 5, {"formula_text"})
    found = []
    with zipfile.ZipFile(path) as zf:
        shared = []
        if "xl/sharedStrings.xml" in zf.namelist():
            shared = ["".join(si.itertext()) for si in ET.fromstring(zf.read("xl/sharedStrings.xml"))]
        for name in zf.namelist():
            if not name.startswith("xl/worksheets/sheet"):
                continue
            root = ET.fromstring(zf.read(name))
            assert root.find(".//m:f", NS) is None, f"{name} has a formula"
            for c in root.iterfind(".//m:c", NS):
                kind = c.get("t")
                if kind == "inlineStr":
                    text = "".join(c.find("m:is", NS).itertext()) if c.find("m:is", NS) is not None else ""
                elif kind == "s":
                    text = shared[int(c.find("m:v", NS).text)]
                else:
                    continue
                if text == FORMULA_TEXT:
                    found.append((name, c.get("r")))
    assert len(found) == 1
    cell = load_workbook(path)[K.SHEET_ACTIVITIES][found[0][1]]
    assert cell.data_type == "s" and cell.value == FORMULA_TEXT and cell.quotePrefix


def test_unknown_mistake_is_refused(env):
    with pytest.raises(ValueError):
        env["fill"](env["student"], 1, {"typo"})


# ---- determinism ----

def test_same_seed_same_values(env):
    b = env["student"]
    one = env["fill"](b, 11, MISTAKES, name="one.xlsx")
    two = env["fill"](b, 11, MISTAKES, name="two.xlsx")
    other = env["fill"](b, 12, MISTAKES, name="other.xlsx")
    assert values(one) == values(two)
    assert values(one) != values(other)


def test_plan_demo(env):
    roster = env["roster"]
    plan = plan_demo(roster, 2019)
    assert plan == plan_demo(roster, 2019)
    assert list(plan) == [b.code for b in roster if b.code in plan]  # roster order
    assert abs(len(plan) - 0.8 * len(roster)) <= 1
    assert all(m <= set(MISTAKES) for m in plan.values())
    faulty = [m for m in plan.values() if m and m != {"fullwidth"}]
    assert sum(not m for m in plan.values()) >= 0.7 * len(plan)
    assert 0.1 * len(plan) <= len(faulty) <= 0.2 * len(plan)
    assert all(1 <= len(m) <= 2 and "fullwidth" not in m for m in faulty)
    assert any(m == {"fullwidth"} for m in plan.values())
    assert len(set().union(*faulty)) >= 6  # the demo shows most kinds of mistake
