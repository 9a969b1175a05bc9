"""The master workbook: LibreOffice is the judge of every formula and of what a clerk can change."""

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from xlflow import constants as K
from xlflow.ingest import candidates, run_pass
from xlflow.ledger import open_ledger
from xlflow.master import DETAIL_COLUMNS, SCORE_FIXED, SCORE_TAIL, write_master
from xlflow.results import load_results
from xlflow.sample import plan_demo
from xlflow.scoring import Params, benchmark_generals, rank_all, score_branch
from xlflow.workbook import handout_path, write_handout
from xlflow.workspace import init_workspace

from helpers import fill_workbook

NOW = dt.datetime(2019, 11, 28, 10, 0)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    ws, _ = init_workspace(tmp_path_factory.mktemp("campaign"))
    inputs = ws.campaign()
    checklist, branches, settings = inputs.checklist, inputs.branches, inputs.settings
    write_handout(inputs, ws.handout, workers=2)
    plan = plan_demo(branches, 7)
    for n, b in enumerate(branches):
        if b.code in plan:
            fill_workbook(handout_path(ws.handout, b), ws.inbox / f"{b.code}.xlsx", b, inputs, n, plan[b.code])
    run_pass(ws, candidates(ws.inbox), NOW)
    conn = open_ledger(ws.ledger)
    results = load_results(conn, inputs)
    written = write_master(conn, results, ws.master, NOW)
    conn.close()
    assert written.in_place and written.path == ws.master and written.kept is None
    return ws, results, checklist, settings, branches


def formula_cells(path: Path):
    """(sheet, cell) -> formula text, for every formula in the workbook."""
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate): c.value for ws in wb.worksheets for row in ws.iter_rows()
            for c in row if c.data_type == "f"}


def same(a, b) -> bool:
    a, b = ("" if a is None else a), ("" if b is None else b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) < 1e-6
    return a == b


def test_every_formula_recomputes_in_libreoffice_to_the_cached_value(campaign, libreoffice, tmp_path):
    ws = campaign[0]
    recalculated = libreoffice.recalc(ws.master, tmp_path / "recalc.xlsx")
    formulas = formula_cells(ws.master)
    assert len(formulas) > 44 * 40 * 6  # the detail alone has 6 formulas per branch × indicator
    cached = openpyxl.load_workbook(ws.master, data_only=True)
    judged = openpyxl.load_workbook(recalculated, data_only=True)
    wrong = [(s, c, cached[s][c].value, judged[s][c].value) for s, c in formulas
             if not same(cached[s][c].value, judged[s][c].value)]
    assert wrong == []


def test_sheets_and_scores_match_the_results(campaign):
    ws, results = campaign[0], campaign[1]
    wb = openpyxl.load_workbook(ws.master, data_only=True)
    for name in (K.MASTER_OVERVIEW, K.MASTER_SCORES, K.MASTER_DETAIL, K.MASTER_EVIDENCE, K.MASTER_PROBLEMS,
                 K.MASTER_BASIC, K.MASTER_MEMBERS, K.MASTER_ACTIVITIES, K.MASTER_ACTIVISTS, K.MASTER_MISSING,
                 K.MASTER_LOG, K.MASTER_CHECKLIST, K.MASTER_PARAMS, K.MASTER_ROSTER):
        assert name in wb.sheetnames
    scores = wb[K.MASTER_SCORES]
    heads = [c.value for c in scores[2]]
    rows = {r[0]: dict(zip(heads, r)) for r in scores.iter_rows(min_row=3, values_only=True) if r[0]}
    assert set(rows) == {b.branch.code for b in results.branches}
    for b in results.branches:
        row = rows[b.branch.code]
        assert row["总分"] == b.score.total and row["等次"] == b.score.grade and row["排名"] == b.score.rank
        assert (row["样板候选"] == "是") == b.score.model
    detail = wb[K.MASTER_DETAIL]
    assert detail.max_row == 2 + 44 * len(results.branches)
    assert [c.value for c in detail[2]] == DETAIL_COLUMNS
    missing = [r[0] for r in wb[K.MASTER_MISSING].iter_rows(min_row=3, values_only=True) if r[0]]
    assert set(missing) >= {b.code for b in results.missing}


def test_branch_text_stays_text(campaign):
    """A topic typed as '=HYPERLINK(…)' by a branch is a string in the master, never a formula."""
    ws = campaign[0]
    formulas = formula_cells(ws.master)
    assert not any(s == K.MASTER_ACTIVITIES for s, _ in formulas)
    topics = [r[6] for r in openpyxl.load_workbook(ws.master)[K.MASTER_ACTIVITIES].iter_rows(min_row=3, values_only=True)]
    assert any(isinstance(t, str) and t.startswith("=") for t in topics)


def test_a_clerk_changes_parameters_and_a_rating_and_libreoffice_agrees_with_xlflow(campaign, libreoffice, tmp_path):
    ws, results, checklist, settings, branches = campaign
    wb = openpyxl.load_workbook(ws.master)
    # the clerk raises the pass line, makes 基本达标 worth 0.5, and the college downgrades one veto
    # indicator of the best branch in 复验
    params = wb[K.MASTER_PARAMS]
    assert params["A3"].value == "达标分数线"
    params["B3"] = 92
    factor_row = next(r for r in range(10, 20) if params[f"A{r}"].value == "基本达标")
    params[f"B{factor_row}"] = 0.5
    best = min(results.branches, key=lambda b: b.score.rank)
    veto = checklist.veto[0]
    detail = wb[K.MASTER_DETAIL]
    row = next(r for r in range(3, detail.max_row + 1)
               if detail[f"A{r}"].value == best.branch.code and detail[f"D{r}"].value == veto)
    detail[f"K{row}"] = "未达标"
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    judged = openpyxl.load_workbook(libreoffice.recalc(edited, tmp_path / "judged.xlsx"), data_only=True)

    # the parameters as the clerk left them: the pass line (and the 达标 grade's minimum, which the
    # 参数 sheet takes from it) at 92, 基本达标 worth 0.5
    p = Params(pass_line=92, factors=(("达标", 1), ("基本达标", 0.5), ("未达标", 0), ("不适用", None)),
               grades=(("优秀", 90), ("达标", 92), ("基本达标", 60), ("未达标", 0)), veto=checklist.veto,
               quota_denominator=settings.quota_denominator, benchmark_share=settings.benchmark_share)
    scores = []
    for b in results.branches:
        second = dict(b.second.ratings)
        if b is best:
            second[veto] = "未达标"
        scores.append(score_branch(b.branch.code, checklist, p, b.self_ratings, b.first.ratings, second))
    rank_all(scores, len(branches), p)
    sheet = judged[K.MASTER_SCORES]
    heads = [c.value for c in sheet[2]]
    got = {r[0]: dict(zip(heads, r)) for r in sheet.iter_rows(min_row=3, values_only=True) if r[0]}
    for s in scores:
        assert got[s.code]["总分"] == pytest.approx(s.total)
        assert got[s.code]["等次"] == s.grade
        assert got[s.code]["是否达标"] == ("是" if s.passed else "否")
        assert (got[s.code]["样板候选"] or "") == ("是" if s.model else "")
    assert got[best.branch.code]["等次"] == "未达标"  # the veto bites whatever the total
    overview = judged[K.MASTER_OVERVIEW]
    bench = {r[0]: r[9] for r in overview.iter_rows(min_row=7, values_only=True) if r[0] and r[1] is not None}
    expected = benchmark_generals(scores, {b.code: b.general for b in branches}, p)
    assert sorted(g for g, v in bench.items() if v == "是") == sorted(expected)
    assert SCORE_FIXED[0] == heads[0] and heads[-len(SCORE_TAIL):] == [c.head for c in SCORE_TAIL]


def test_a_full_sheet_continues_on_the_next(campaign, tmp_path, monkeypatch):
    """Excel holds 1,048,576 rows; the record sheets continue on numbered sheets rather than fail,
    each branch's rows kept together on one sheet. The limit is lowered here so that the sample
    campaign crosses it."""
    ws, results, checklist, settings, branches = campaign
    monkeypatch.setattr(K, "EXCEL_MAX_ROWS", 200)
    conn = open_ledger(ws.ledger)
    path = write_master(conn, results, tmp_path / "master.xlsx", NOW).path
    total = conn.execute("SELECT COUNT(*) FROM t_activities a JOIN returns r ON r.id = a.return_id "
                         "WHERE r.current = 1").fetchone()[0]
    conn.close()
    wb = openpyxl.load_workbook(path, read_only=True)
    parts = [n for n in wb.sheetnames if n.startswith(K.MASTER_ACTIVITIES)]
    assert len(parts) >= -(-total // 198) and parts[1] == f"{K.MASTER_ACTIVITIES}(2)"
    codes = [[r[0] for r in wb[n].iter_rows(min_row=3, values_only=True) if r[0]] for n in parts]
    assert sum(map(len, codes)) == total and all(wb[n].max_row <= 200 for n in parts)
    on = [set(c) for c in codes]
    assert all(not (on[i] & on[j]) for i in range(len(on)) for j in range(i + 1, len(on)))  # not split


def test_a_locked_master_is_written_beside_it(campaign, tmp_path, monkeypatch):
    """On Windows a workbook open in Excel cannot be replaced; the new one goes beside it.
    os.replace is made to fail as Windows' would for the master only (tests run as root here,
    where no file can be locked against replacement)."""
    import xlflow.keep as keep

    ws, results, checklist, settings, branches = campaign
    dest = tmp_path / "master.xlsx"
    dest.write_bytes(b"open in Excel")
    real = keep.os.replace

    def locked(src, dst):  # Windows: a file open in Excel can be neither renamed nor replaced
        if dest in (Path(src), Path(dst)):
            raise PermissionError(13, "文件被占用", str(dst))
        return real(src, dst)

    monkeypatch.setattr(keep.os, "replace", locked)
    conn = open_ledger(ws.ledger)
    written = write_master(conn, results, dest, NOW)
    conn.close()
    path = written.path
    assert not written.in_place and path == tmp_path / "master_20191128-100000.xlsx"
    assert dest.read_bytes() == b"open in Excel" and openpyxl.load_workbook(path, read_only=True).sheetnames
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_the_demo_master_recomputes_in_libreoffice_including_review_ratings(demo, tmp_path, libreoffice):
    """`xlflow demo` ends with a master in which 初验 and 复验 ratings override self-ratings; every
    formula of it, recalculated by LibreOffice, equals the value xlflow cached."""
    root, done = demo
    assert done.returncode == 0, done.stderr
    master = root / "outbox" / "master.xlsx"
    detail = openpyxl.load_workbook(master, data_only=True)[K.MASTER_DETAIL]
    sources = {r[12] for r in detail.iter_rows(min_row=3, values_only=True)}
    assert {"自评", "初验", "复验"} <= sources  # the review round really reached the scoring
    judged = openpyxl.load_workbook(libreoffice.recalc(master, tmp_path / "judged.xlsx"), data_only=True)
    cached = openpyxl.load_workbook(master, data_only=True)
    formulas = formula_cells(master)
    wrong = [(s, c, cached[s][c].value, judged[s][c].value) for s, c in formulas
             if not same(cached[s][c].value, judged[s][c].value)]
    assert formulas and wrong == []
