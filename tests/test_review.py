"""The review round: 初验 workbooks per 党总支 and the college's 复验, written from the ledger, filled by
reviewers and taken back through inbox/ like branch returns. Real workbooks, a real ledger, a real pass."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from xlflow import constants as K
from xlflow import ledger
from xlflow.evidence import verdict_of
from xlflow.feedback import ERROR_FILL, FEEDBACK_SHEET
from xlflow.identify import identify
from xlflow.ingest import candidates, run_pass
from xlflow.read import read_workbook
from xlflow.results import load_results
from xlflow.review import evidence_text, review_round
from xlflow.review_read import covered_codes, read_review, review_version
from xlflow.sample import fill_review
from xlflow.scoring import score_branch
from xlflow.workbook import build_workbook, handout_path
from xlflow.workspace import Workspace, init_workspace

from helpers import fill_workbook, ledger_problems, save_as_of

GENERAL, OTHER = "机电工程学院党总支", "马克思主义学院党总支"
NOW = dt.datetime(2019, 11, 28, 9, 0)
FIRST_DAY, SECOND_DAY = dt.datetime(2019, 12, 6, 9, 0), dt.datetime(2019, 12, 20, 9, 0)
INPUT_FILL = "FFFFF2CC"
ITEMS, CONCLUSION = K.REVIEW_SHEET_ITEMS, K.REVIEW_SHEET_CONCLUSION
FIRST_FILE, SECOND_FILE = f"初验_{GENERAL}.xlsx", "复验_鹤壁职业技术学院.xlsx"


def headers(ws) -> dict[str, int]:
    return {c.value: c.column for c in ws[K.HEADER_ROW] if c.value}


def table(ws) -> list[dict]:
    """The data rows of a review sheet as header -> value (with the Excel row under '_row')."""
    cols = headers(ws)
    return [{"_row": r, **{h: ws.cell(r, c).value for h, c in cols.items()}}
            for r in range(K.HEADER_ROW + 1, ws.max_row + 1) if ws.cell(r, 1).value]


class Campaign:
    def __init__(self, root: Path):
        self.ws = Workspace(root)

    @property
    def checklist(self):
        return self.ws.checklist()

    def db(self):
        return contextlib.closing(ledger.open_ledger(self.ws.ledger))

    def results(self):
        with self.db() as conn:
            return load_results(conn, self.ws.campaign())

    def drop(self, path: Path, name: str | None = None) -> Path:
        return Path(shutil.copyfile(path, self.ws.inbox / (name or path.name)))

    def run(self, now: dt.datetime):
        return run_pass(self.ws, candidates(self.ws.inbox), now)

    def review(self, name: str) -> Path:
        return self.ws.review / name

    def current_review(self, unit: str, kind: str = ledger.REVIEW_FIRST) -> str | None:
        with self.db() as conn:
            row = conn.execute("SELECT f.original_name FROM returns r JOIN files f ON f.id = r.file_id"
                               " WHERE r.kind = ? AND r.branch_code = ? AND r.current = 1", (kind, unit)).fetchone()
            return row[0] if row else None

    def findings(self, name: str) -> list[tuple[str, str]]:
        with self.db() as conn:
            return [(r["code"], r["message"]) for r in conn.execute(
                "SELECT code, message FROM findings JOIN files f ON f.id = file_id WHERE f.original_name = ?"
                " ORDER BY findings.rowid", (name,))]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The 机电 总支: five clean returns, one sent back, one missing; the 马院 总支: two returns.
    Ingested, then the review workbooks written."""
    root = tmp_path_factory.mktemp("review") / "work"
    ws, _ = init_workspace(root)
    inputs = ws.campaign()
    roster = inputs.branches
    jd = [b for b in roster if b.general == GENERAL]
    other = [b for b in roster if b.general == OTHER][:2]
    plan = {b.code: frozenset() for b in (*jd[:5], *other)} | {jd[5].code: frozenset({"bad_choice"})}
    for n, b in enumerate(roster):
        if b.code in plan:
            template = build_workbook(handout_path(ws.handout, b), b, inputs)
            fill_workbook(template, ws.inbox / f"{b.code}.xlsx", b, inputs, 40 + n, plan[b.code])
    outcomes = {o.name: o.outcome for o in run_pass(ws, candidates(ws.inbox), NOW).outcomes}
    assert outcomes[f"{jd[5].code}.xlsx"] == "rejected" and list(outcomes.values()).count("accepted") == 7
    review_round(ws, NOW)
    return root


@pytest.fixture
def camp(base, tmp_path) -> Campaign:
    """A private copy of the base working folder: each test may take files in."""
    return Campaign(Path(shutil.copytree(base, tmp_path / "work")))


@pytest.fixture(scope="module")
def base_camp(base) -> Campaign:
    """The base folder itself, for tests that only read."""
    return Campaign(base)


# ---- writing -------------------------------------------------------------------------------------

def test_one_first_review_per_general_with_accepted_branches_and_no_second_review_before_any_first(base_camp):
    """复验 goes to the branches their 总支 put forward: before any 初验 (and before the spot check is
    due) there is nobody to 复验."""
    names = sorted(p.name for p in base_camp.ws.review.iterdir() if p.suffix == ".xlsx")
    assert names == sorted([FIRST_FILE, f"初验_{OTHER}.xlsx"])


def test_first_review_lists_exactly_the_accepted_branches_with_self_rating_and_evidence(base_camp):
    results, checklist = base_camp.results(), base_camp.checklist
    mine = [r for r in results.branches if r.branch.general == GENERAL]
    assert len(mine) == 5  # the one sent back and the one missing are not listed
    wb = openpyxl.load_workbook(base_camp.review(FIRST_FILE))
    assert wb.sheetnames == [K.REVIEW_SHEET_GUIDE, ITEMS, CONCLUSION, K.SHEET_LISTS, K.SHEET_IDENTITY]
    rows = table(wb[ITEMS])
    cols = K.REVIEW_LAYOUTS[K.KIND_REVIEW_FIRST]["review"][1]
    assert list(headers(wb[ITEMS])) == list(cols.values())
    assert [(r["支部编码"], r["指标编码"]) for r in rows] == [
        (r.branch.code, i.code) for r in mine for i in checklist.indicators]
    assert len(rows) == 5 * 44
    by = {(r.branch.code, i): r for r in mine for i in r.self_ratings}
    flagged = 0
    for row in rows:
        res = by[row["支部编码"], row["指标编码"]]
        code = row["指标编码"]
        assert row["支部名称"] == res.branch.name
        assert row["自评等次"] == res.self_ratings[code]
        assert row["分值"] == checklist.indicator(code).points
        verdict = verdict_of(code, res.evidence)
        assert row["记录核验"] == evidence_text(code, res.evidence)[1]
        assert row["记录核验"].startswith(f"{verdict}：" if verdict else "（无台账核验项）")
        assert (row["自评与记录不符"] == "是") == (code in res.mismatches)
        flagged += row["自评与记录不符"] == "是"
        assert row["初验等次"] is None and row["初验意见"] is None  # nothing returned yet
    assert flagged == sum(len(r.mismatches) for r in mine)
    concl = table(wb[CONCLUSION])
    assert [r["支部编码"] for r in concl] == [r.branch.code for r in mine]
    for row, res in zip(concl, mine):
        assert row["自评总分"] == score_branch(res.branch.code, checklist, results.params, res.self_ratings).total
        assert row["初验结论"] is None


def test_review_workbook_has_dropdowns_protection_and_its_identity(base_camp):
    path = base_camp.review(FIRST_FILE)
    wb = openpyxl.load_workbook(path)
    items, concl = wb[ITEMS], wb[CONCLUSION]
    last = items.max_row
    col = {h: openpyxl.utils.get_column_letter(c) for h, c in headers(items).items()}
    rating, comment = col["初验等次"], col["初验意见"]
    dvs = {dv.formula1: str(dv.sqref) for dv in items.data_validations.dataValidation}
    assert dvs == {"xl_rating": f"{rating}3:{rating}{last}"}
    assert wb.defined_names["xl_rating"].attr_text == f"'{K.SHEET_LISTS}'!$A$2:$A$5"
    assert [c.value for c in wb[K.SHEET_LISTS]["A"][1:5]] == base_camp.checklist.rating_names
    assert [c.value for c in wb[K.SHEET_LISTS]["B"][1:4]] == list(K.REVIEW_CONCLUSIONS)
    ccol = {h: openpyxl.utils.get_column_letter(c) for h, c in headers(concl).items()}
    dvs = sorted((dv.type, dv.formula1 if dv.type == "list" else "", str(dv.sqref))
                 for dv in concl.data_validations.dataValidation)
    assert dvs == sorted([("list", "xl_conclusion", f"{ccol['初验结论']}3:{ccol['初验结论']}7"),
                          ("date", "", f"{ccol['验收日期']}3:{ccol['验收日期']}7"),
                          ("date", "", f"{ccol['整改期限']}3:{ccol['整改期限']}7")])
    for ws in (wb[K.REVIEW_SHEET_GUIDE], items, concl, wb[K.SHEET_LISTS], wb[K.SHEET_IDENTITY]):
        assert ws.protection.sheet
    assert items.protection.autoFilter is False  # the filter stays usable in the protected sheet
    for ws, inputs, fixed in ((items, (rating, comment), (col["支部编码"], col["自评等次"], col["记录核验"])),
                              (concl, (ccol["初验结论"], ccol["整改期限"], ccol["验收意见"], ccol["验收人"],
                                       ccol["验收日期"]), (ccol["支部编码"], ccol["验收类别"], ccol["自评总分"]))):
        for c in inputs:
            cell = ws[f"{c}3"]
            assert cell.protection.locked is False and cell.fill.fgColor.rgb == INPUT_FILL
        for c in fixed:
            assert ws[f"{c}3"].protection.locked is not False
        assert ws.freeze_panes == "C3"
        assert ws.auto_filter.ref.startswith("A2:")
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
        assert ws.print_title_rows == "$2:$2"
    assert wb[K.SHEET_LISTS].sheet_state == "hidden" and wb[K.SHEET_IDENTITY].sheet_state == "veryHidden"
    codes = [r.branch.code for r in base_camp.results().branches if r.branch.general == GENERAL]
    ident = {r[0]: r[1] for r in wb[K.SHEET_IDENTITY].iter_rows(values_only=True)}
    assert ident == {"kind": K.KIND_REVIEW_FIRST, "unit": GENERAL, "year": "2019",
                     "template_version": review_version(base_camp.checklist),
                     "checklist_fingerprint": base_camp.checklist.fingerprint, "branches": json.dumps(codes)}
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert {k[len("xlflow_"):]: v for k, v in props.items()} == ident
    raw = read_workbook(path)
    assert raw.identity["unit"] == GENERAL and covered_codes(raw.identity) == codes
    assert not raw.findings  # the review layout is read by header: nothing missing, nothing extra


def test_second_review_covers_the_branches_put_forward_and_shows_the_first(camp):
    fill_review(camp.review(FIRST_FILE), camp.ws.inbox / "机电初验.xlsx", 7, camp.checklist)
    assert [o.outcome for o in camp.run(FIRST_DAY).outcomes] == ["accepted"]
    review_round(camp.ws, FIRST_DAY)  # before the 初验 deadline, with one 总支 still out: no spot check yet
    put_forward = [r.branch.code for r in camp.results().branches if r.first.conclusion == "同意达标"]
    assert put_forward and len(put_forward) < 7
    wb = openpyxl.load_workbook(camp.review(SECOND_FILE))
    cols = K.REVIEW_LAYOUTS[K.KIND_REVIEW_SECOND]["review"][1]
    assert list(headers(wb[ITEMS])) == list(cols.values())
    rows = table(wb[ITEMS])
    assert sorted({r["支部编码"] for r in rows}) == sorted(put_forward) and len(rows) == len(put_forward) * 44
    assert {r["验收类别"] for r in table(wb[CONCLUSION])} == {K.CATEGORY_APPLIED}
    col = {h: openpyxl.utils.get_column_letter(c) for h, c in headers(wb[ITEMS]).items()}
    assert wb[ITEMS][f"{col['初验等次']}3"].protection.locked is not False  # shown, not an input
    assert wb[ITEMS][f"{col['复验等次']}3"].protection.locked is False
    assert {dv.formula1: str(dv.sqref) for dv in wb[ITEMS].data_validations.dataValidation} == {
        "xl_rating": f"{col['复验等次']}3:{col['复验等次']}{2 + len(rows)}"}


def test_long_branch_lists_are_split_across_custom_properties():
    codes = [f"XY-T{n:03d}" for n in range(80)]
    text = json.dumps(codes)
    ident = {f"branches_{i // 200 + 1}": text[i:i + 200] for i in range(0, len(text), 200)}
    assert len(ident) > 2 and covered_codes(ident) == codes
    assert covered_codes({"branches": "not json"}) is None and covered_codes({}) is None


# ---- taking reviews back -------------------------------------------------------------------------

def test_a_filled_review_is_accepted_and_its_ratings_count_second_over_first_over_self(camp):
    checklist = camp.checklist
    filled = camp.ws.inbox / "机电总支初验.xlsx"
    fill_review(camp.review(FIRST_FILE), filled, 7, checklist)
    wb = openpyxl.load_workbook(filled)
    given = {(r["支部编码"], r["指标编码"]): (r["初验等次"], r["初验意见"]) for r in table(wb[ITEMS])}
    verdicts = {r["支部编码"]: r for r in table(wb[CONCLUSION])}
    assert all(rating for rating, _ in given.values())
    assert any(comment for _, comment in given.values())  # the filler downgraded something, with a reason

    [outcome] = camp.run(FIRST_DAY).outcomes
    assert (outcome.name, outcome.outcome, outcome.branch_code) == ("机电总支初验.xlsx", "accepted", GENERAL)
    assert camp.current_review(GENERAL) == "机电总支初验.xlsx"
    assert len(list(camp.ws.accepted.glob("*_机电总支初验.xlsx"))) == 1 and not filled.exists()
    with camp.db() as conn:
        stored = {(r["branch_code"], r["indicator"]): (r["rating"], r["comment"]) for r in conn.execute(
            "SELECT v.* FROM t_review v JOIN returns r ON r.id = v.return_id WHERE r.kind = ?", (ledger.REVIEW_FIRST,))}
        concl = {r["branch_code"]: dict(r) for r in conn.execute("SELECT * FROM t_review_conclusion")}
    assert stored == given
    assert {c: (v["conclusion"], v["opinion"], v["reviewer"], v["reviewed_on"]) for c, v in concl.items()} == {
        c: (r["初验结论"], r["验收意见"], r["验收人"], r["验收日期"].date().isoformat()) for c, r in verdicts.items()}

    results = camp.results()
    for res in results.branches:
        first = {i: rating for (c, i), (rating, _) in given.items() if c == res.branch.code}
        assert res.first.ratings == first
        assert res.first.conclusion == (verdicts[res.branch.code]["初验结论"] if first else "")
        expected = {i: "初验" if i in first else "自评" for i in res.score.used}
        assert res.score.source == expected
        assert res.score.used == {i: first.get(i) or res.self_ratings[i] for i in res.score.used}

    # The next round is pre-filled: the 总支 edits its 初验, the college sees it beside its 复验.
    review_round(camp.ws, FIRST_DAY)
    again = {(r["支部编码"], r["指标编码"]): (r["初验等次"], r["初验意见"])
             for r in table(openpyxl.load_workbook(camp.review(FIRST_FILE))[ITEMS])}
    assert again == given
    second = openpyxl.load_workbook(camp.review(SECOND_FILE))
    shown = {(r["支部编码"], r["指标编码"]): (r["初验等次"], r["初验意见"]) for r in table(second[ITEMS])}
    assert {k: v for k, v in shown.items() if k in given} == given
    assert all(v == (None, None) for k, v in shown.items() if k not in given)
    shown = {r["支部编码"]: r["初验结论"] for r in table(second[CONCLUSION])}
    assert shown == {c: r["初验结论"] for c, r in verdicts.items() if r["初验结论"] == "同意达标"}

    fill_review(camp.review(SECOND_FILE), camp.ws.inbox / "学院复验.xlsx", 8, checklist)
    [outcome] = camp.run(SECOND_DAY).outcomes
    assert (outcome.outcome, outcome.branch_code) == ("accepted", camp.ws.settings().college)
    results = camp.results()
    sources = set()
    for res in results.branches:
        for i, source in res.score.source.items():
            want = "复验" if res.second.ratings.get(i) else "初验" if res.first.ratings.get(i) else "自评"
            assert source == want
            assert res.score.used[i] == (res.second.ratings.get(i) or res.first.ratings.get(i) or res.self_ratings[i])
            sources.add(source)
    assert sources == {"复验", "自评"} or sources == {"复验", "初验", "自评"}
    assert any(res.second.conclusion for res in results.branches)


def test_a_bad_rating_or_an_unknown_branch_is_sent_back_with_the_exact_message(camp):
    filled = camp.ws.root / "filled.xlsx"
    fill_review(camp.review(FIRST_FILE), filled, 7, camp.checklist)
    wb = openpyxl.load_workbook(filled)
    ws = wb[ITEMS]
    col = headers(ws)
    ws.cell(5, col["初验等次"]).value = "良好"
    extra = ws.max_row + 1
    ws.cell(extra, col["支部编码"]).value = "XX-T99"
    ws.cell(extra, col["指标编码"]).value = "SZ01"
    ws.cell(extra, col["初验等次"]).value = "达标"
    wb[CONCLUSION].cell(3, headers(wb[CONCLUSION])["初验结论"]).value = "同意"
    save_as_of(wb, camp.ws.inbox / "机电初验（有误）.xlsx", dt.datetime(2019, 12, 5, 17, 0))

    [outcome] = camp.run(FIRST_DAY).outcomes
    assert outcome.outcome == "rejected" and outcome.branch_code == GENERAL
    rating_col = openpyxl.utils.get_column_letter(col["初验等次"])
    concl_col = openpyxl.utils.get_column_letter(headers(wb[CONCLUSION])["初验结论"])
    errors = camp.findings("机电初验（有误）.xlsx")
    assert errors == [
        ("R406", f"逐项验收!{rating_col}5：初验等次“良好”不在可选项中。请从下拉列表中选择以下之一：达标、基本达标、未达标、不适用。"),
        ("R404", f"逐项验收!A{extra}：支部编码“XX-T99”、指标编码“SZ01”这一行不在下发的本初验工作簿中"
                 "（灰色的支部编码、指标编码不能修改，也不能增加新的行）。请删除这一行或恢复原来的编码；"
                 "需要初验其他支部的，请向组织部索取新的初验工作簿。"),
        ("R406", f"总体结论!{concl_col}3：初验结论“同意”不在可选项中。请从下拉列表中选择以下之一：同意达标、不同意达标、整改后再验。"),
    ]
    assert camp.current_review(GENERAL) is None  # nothing of it is stored
    [note] = camp.ws.feedback.glob(f"初验_{GENERAL}_退回说明_*.xlsx")
    assert note.name == outcome.feedback
    back = openpyxl.load_workbook(note)
    assert back.sheetnames[0] == FEEDBACK_SHEET
    assert back[FEEDBACK_SHEET]["A1"].value == f"{GENERAL} 初验工作簿退回说明"
    bad = back[ITEMS][f"{rating_col}5"]
    assert bad.fill.fgColor.rgb == ERROR_FILL and "良好" in bad.comment.text
    assert back[ITEMS][f"A{extra}"].fill.fgColor.rgb == ERROR_FILL
    # the copy is still the 总支's review workbook: fixed and resubmitted, it is recognised
    assert read_workbook(note).identity["kind"] == K.KIND_REVIEW_FIRST


@pytest.mark.parametrize("edit, code, message", [
    ({"template_version": "2018.1-r1"}, "R402",
     "文件“x.xlsx”是旧版初验工作簿（版本 2018.1-r1），现行版本为 2019.1-r2（指标清单或表格格式已调整）。"
     "请在组织部重新下发的初验工作簿中填写（可将已填的等次和意见复制过去）后重新提交。"),
    ({"unit": "外校党总支"}, "R401",
     "文件“x.xlsx”是初验工作簿，但其中的验收单位“外校党总支”不是本年度支部名册中的党总支，无法确定是谁的初验。"
     "请使用组织部下发给本单位的初验工作簿填写，不要复制其他单位的工作簿。"),
    ({}, "R409",
     "文件“x.xlsx”中还没有填写任何初验等次、初验意见或初验结论，没有可以接收的内容。"
     "请在“逐项验收”和“总体结论”两张工作表的浅黄色格子中填写后再提交。"),
])
def test_review_identity_and_empty_returns_are_refused(base_camp, tmp_path, edit, code, message):
    wb = openpyxl.load_workbook(base_camp.review(FIRST_FILE))
    for row in wb[K.SHEET_IDENTITY].iter_rows():
        if row[0].value in edit:
            row[1].value = edit[row[0].value]
    wb.save(tmp_path / "x.xlsx")
    ws = base_camp.ws
    checked = read_review(tmp_path / "x.xlsx", ws.campaign())
    assert [(f.code, f.message) for f in checked.report.findings] == [(code, message)]
    assert not checked.report.valid


def test_identify_refuses_review_workbooks_as_branch_returns(base_camp):
    raw = read_workbook(base_camp.review(FIRST_FILE))
    ws = base_camp.ws
    branch, found = identify(raw, ws.campaign())
    assert branch is None and [f.code for f in found] == ["I107"]
    raw.identity["kind"] = "master"
    assert [f.code for f in identify(raw, ws.campaign())[1]] == ["I108"]


def test_a_second_return_of_the_same_general_becomes_current(camp):
    fill_review(camp.review(FIRST_FILE), camp.ws.root / "r1.xlsx", 7, camp.checklist)
    save_as_of(openpyxl.load_workbook(camp.ws.root / "r1.xlsx"), camp.ws.inbox / "初验第一轮.xlsx",
               dt.datetime(2019, 12, 5, 16, 0))  # the ledger's current one is the one saved last
    assert [o.outcome for o in camp.run(FIRST_DAY).outcomes] == ["accepted"]
    review_round(camp.ws, FIRST_DAY)  # the second round starts from the first
    wb = openpyxl.load_workbook(camp.review(FIRST_FILE))
    ws = wb[ITEMS]
    col = headers(ws)
    code, ind = ws.cell(3, col["支部编码"]).value, ws.cell(3, col["指标编码"]).value
    before = ws.cell(3, col["初验等次"]).value
    after = next(r for r in camp.checklist.rating_names if r not in (before, "不适用"))
    ws.cell(3, col["初验等次"]).value = after
    ws.cell(3, col["初验意见"]).value = "复核后调整"
    save_as_of(wb, camp.ws.inbox / "初验第二轮.xlsx", dt.datetime(2019, 12, 8, 10, 0))
    [outcome] = camp.run(FIRST_DAY + dt.timedelta(days=2)).outcomes
    assert outcome.outcome == "accepted"
    assert camp.current_review(GENERAL) == "初验第二轮.xlsx"
    res = next(r for r in camp.results().branches if r.branch.code == code)
    assert res.first.ratings[ind] == after and res.first.comments[ind] == "复核后调整"
    assert res.score.used[ind] == after and res.score.source[ind] == "初验"
    with camp.db() as conn:
        assert not ledger_problems(conn)
        assert conn.execute("SELECT COUNT(*) FROM returns WHERE kind = ? AND branch_code = ?",
                            (ledger.REVIEW_FIRST, GENERAL)).fetchone()[0] == 2
    # the same content again (saved anew) is a duplicate of the current one
    [kept] = camp.ws.accepted.glob("*_初验第二轮.xlsx")
    save_as_of(openpyxl.load_workbook(kept), camp.ws.inbox / "初验第二轮（再交一次）.xlsx", dt.datetime(2019, 12, 9, 10, 0))
    [outcome] = camp.run(FIRST_DAY + dt.timedelta(days=3)).outcomes
    assert outcome.outcome == "duplicate"
    assert camp.findings("初验第二轮（再交一次）.xlsx")[0][0] == "D102"
    assert camp.current_review(GENERAL) == "初验第二轮.xlsx"


def test_libreoffice_round_trip_keeps_the_review_identity(camp, libreoffice, tmp_path):
    filled = tmp_path / "filled.xlsx"
    fill_review(camp.review(FIRST_FILE), filled, 7, camp.checklist)
    blank_lo, filled_lo = tmp_path / "blank_lo.xlsx", tmp_path / "filled_lo.xlsx"
    libreoffice.resave_many([(camp.review(FIRST_FILE), blank_lo), (filled, filled_lo)])
    ws = camp.ws
    original = read_review(filled, ws.campaign())
    for path in (blank_lo, filled_lo):
        raw = read_workbook(path)
        assert {k: raw.identity[k] for k in K.REVIEW_IDENTITY_KEYS} == \
               {k: read_workbook(camp.review(FIRST_FILE)).identity[k] for k in K.REVIEW_IDENTITY_KEYS}
    again = read_review(filled_lo, ws.campaign())
    assert again.report.valid and (again.kind, again.unit, again.covered) == (original.kind, original.unit,
                                                                              original.covered)
    assert again.tables == original.tables
    camp.drop(filled_lo, "机电初验（WPS另存）.xlsx")
    [outcome] = camp.run(FIRST_DAY).outcomes
    assert outcome.outcome == "accepted" and camp.current_review(GENERAL) == "机电初验（WPS另存）.xlsx"


def test_duplicates_dates_lost_rows_and_inconsistent_conclusions_are_reported(base_camp, tmp_path):
    ws_ = base_camp.ws
    filled = tmp_path / "filled.xlsx"
    fill_review(base_camp.review(FIRST_FILE), filled, 7, ws_.checklist())
    wb = openpyxl.load_workbook(filled)
    items, concl = wb[ITEMS], wb[CONCLUSION]
    col, ccol = headers(items), headers(concl)
    rows = table(items)
    items.cell(4, col["指标编码"]).value = rows[0]["指标编码"]  # row 4 now repeats row 3; its own pair is lost
    code = concl.cell(5, ccol["支部编码"]).value  # this branch: 同意达标 although a veto indicator fails
    veto = next(r["_row"] for r in rows if r["支部编码"] == code and r["指标编码"] == ws_.checklist().veto[0])
    items.cell(veto, col["初验等次"]).value = "未达标"
    concl.cell(5, ccol["初验结论"]).value = "同意达标"
    concl.cell(3, ccol["验收日期"]).value = "19.12.5"
    concl.cell(4, ccol["验收日期"]).value = dt.datetime(2018, 5, 1)
    concl.cell(6, ccol["初验结论"]).value = None
    gone = concl.cell(7, ccol["支部编码"]).value
    concl.delete_rows(7)
    wb.save(tmp_path / "x.xlsx")
    checked = read_review(tmp_path / "x.xlsx", ws_.campaign())
    got = {(f.code, f.cell or f.sheet) for f in checked.report.findings}
    L = {h: openpyxl.utils.get_column_letter(c) for h, c in {**col, **{f"c{h}": c for h, c in ccol.items()}}.items()}
    first_code = rows[0]["支部编码"]
    assert got == {
        ("R405", f"{L['指标编码']}4"), ("R410", ITEMS), ("V202", f"{L['c验收日期']}3"), ("R408", f"{L['c验收日期']}4"),
        ("R412", f"{L['c初验结论']}5"), ("R413", f"{L['c初验结论']}6"), ("R411", CONCLUSION)}
    messages = {f.code: f.message for f in checked.report.findings}
    names = {b.code: b.name for b in ws_.roster()}
    assert messages["R410"] == (f"工作表“逐项验收”中缺少{names[first_code]}（{first_code}）的 1 项指标（{rows[1]['指标编码']}），"
                                "可能被删除了行。这些指标按未初验处理；如需初验，请使用重新下发的初验工作簿。")
    assert messages["R411"] == f"工作表“总体结论”中缺少{names[gone]}（{gone}）这一行，该支部的初验结论按未填写处理。"
    assert messages["R408"] == f"总体结论!{L['c验收日期']}4：验收日期“2018-05-01”不在 2019-01-01 至 2020-12-31 之间。请填写实际的验收日期。"
    assert not checked.report.valid  # R405, V202 and R408 are errors; the rest are warnings
    assert {f.code for f in checked.report.warnings} == {"R410", "R411", "R412", "R413"}
