"""The three-year campaign end to end: `xlflow demo --years 3` (2019 达标, 2020 提质, 2021 创优), each
year started from the last, on real workbooks, ledgers and the frozen history."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from xlflow import constants as K
from xlflow import ledger
from xlflow.carry import carried
from xlflow.results import history_results, ledger_results
from xlflow.trajectory import general_years, roads
from xlflow.workbook import handout_path
from xlflow.workspace import Workspace


@pytest.fixture(scope="module")
def campaign(demo_years):
    return demo_years  # tests/conftest.py: the demo's first year is the session's, run once per suite


def _results(ws: Workspace, year: int):
    return ledger_results(ws.ledger, ws.campaign(), today=dt.date(year, 12, 31))


def test_the_demo_walks_three_years_and_says_so(campaign):
    text = "\n".join(campaign["lines"])
    assert "== 2020 年度（提质引领）：由 2019 年度开始" in text and "== 2021 年度（创优引领）：由 2020 年度开始" in text
    assert campaign["lines"][-1] == f"三年演示完成。各年度的工作目录在：{campaign['root'].resolve()}"
    for y, ws in campaign["years"].items():
        assert ws.settings().year == y and (ws.root / "outbox" / "master.xlsx").is_file()
    assert [y for y, _ in history_results(campaign["years"][2021].root)] == [2019, 2020]


def test_the_register_stock_drives_the_2021_quota(campaign):
    r2020, r2021 = _results(campaign["years"][2020], 2020), _results(campaign["years"][2021], 2021)
    named_2020 = {c for c, st in r2020.standings.items() if st.model}
    assert 1 <= len(named_2020) <= 60 // 10  # 提质: 1/10 of all branches
    held = {c for c, st in r2021.standings.items() if st.model_since}
    assert held == named_2020 and all(r2021.standings[c].model_since == 2020 for c in held)
    named_2021 = {c for c, st in r2021.standings.items() if st.model}
    assert not named_2021 & held and len(named_2021) <= 60 // 5 - len(held)  # 创优: 1/5 in all, the stock counted
    wb = openpyxl.load_workbook(campaign["years"][2021].review / "认定_鹤壁职业技术学院.xlsx")
    guide = " ".join(str(c.value) for c in wb[K.REVIEW_SHEET_GUIDE]["A"] if c.value)
    assert f"往年已评定 {len(held)} 个，本年度还可评定 {60 // 5 - len(held)} 个" in guide


def test_a_branch_not_recognized_in_2019_is_recognized_in_2020(campaign):
    r2019, r2020 = _results(campaign["years"][2019], 2019), _results(campaign["years"][2020], 2020)
    turned = [c for c, st in r2019.standings.items()
              if st.stage != K.STAGE_RECOGNIZED and r2020.standings[c].stage == K.STAGE_RECOGNIZED]
    assert turned
    c = carried(campaign["years"][2020].root, [turned[0]])[turned[0]]
    assert c.history[0] == (2019, r2019.standings[turned[0]].stage)


def test_the_2020_handout_carries_each_branchs_open_problems(campaign):
    ws = campaign["years"][2020]
    before = carried(ws.root, [b.code for b in ws.roster()])
    with contextlib.closing(ledger.open_ledger(campaign["years"][2019].ledger)) as conn:
        current = ledger.current_returns(conn)
        some = next(code for code, rid in current.items()
                    if any(p["status"] != "已完成" for p in ledger.return_rows(conn, rid, "problems")))
        open_ = [p["problem"] for p in ledger.return_rows(conn, current[some], "problems") if p["status"] != "已完成"]
    branch = next(b for b in ws.roster() if b.code == some)
    sheet = openpyxl.load_workbook(handout_path(ws.handout, branch))[K.SHEET_PROBLEMS]
    head = {c.value: c.column for c in sheet[K.HEADER_ROW] if c.value}
    shown = [sheet.cell(r, head["存在问题"]).value for r in range(3, 3 + len(open_))]
    assert shown == open_ == [p["problem"] for p in before[some].problems]


def test_the_road_travelled_per_branch_and_per_general(campaign):
    ws = campaign["years"][2021]
    now = _results(ws, 2021)
    road = roads(now, 2021, now.marks, dt.date(2021, 12, 31))
    assert len(road) == 60 and all(sorted(r.years) == [2019, 2020, 2021] for r in road)
    assert any(r.improved for r in road) and any(r.closed for r in road)
    for r in road:
        assert not set(r.improved) & set(r.declined)
    g = general_years(road)
    for general, years in g.items():
        assert sorted(years) == [2019, 2020, 2021]
        assert years[2021][1] == sum(1 for r in road if r.general == general and r.years[2021].stage == K.STAGE_RECOGNIZED)


def test_the_register_records_higher_levels_and_revocations(campaign, tmp_path):
    import shutil

    from xlflow.ingest import candidates, run_pass
    from xlflow.register import held, model_register

    from xlflow.review import review_round

    ws = Workspace(shutil.copytree(campaign["years"][2021].root, tmp_path / "2021"))
    [path] = [p for p in review_round(ws, dt.datetime(2021, 12, 27, 9)) if p.name.startswith("样板名册")]
    wb = openpyxl.load_workbook(path)
    sheet = wb[K.REGISTER_SHEET]
    head = {c.value: c.column for c in sheet[K.HEADER_ROW] if c.value}
    listed = {sheet.cell(r, head["支部编码"]).value: r for r in range(3, sheet.max_row + 1)}
    earlier = [e.code for e in model_register(ws.root)]
    named_2021 = {c for c, st in _results(ws, 2021).standings.items() if st.model}
    assert set(listed) == set(earlier) | named_2021 and set(earlier)
    a, b = earlier[0], earlier[1]
    letter = {h: openpyxl.utils.get_column_letter(c) for h, c in head.items()}
    bad = openpyxl.load_workbook(path)
    bs = bad[K.REGISTER_SHEET]
    bs.cell(listed[a], head["省级评定结果"]).value = "已评定"  # without the recommendation
    bs.cell(listed[b], head["撤销"]).value = "是"  # without date and reason
    bad.save(ws.inbox / "名册（有误）.xlsx")
    sheet.cell(listed[a], head["推荐省级"]).value = "是"
    sheet.cell(listed[a], head["省级评定结果"]).value = "已评定"
    sheet.cell(listed[b], head["撤销"]).value = "是"
    sheet.cell(listed[b], head["撤销日期"]).value = dt.date(2021, 6, 30)
    sheet.cell(listed[b], head["撤销原因"]).value = "支部组织生活长期不正常，经党委研究撤销"
    wb.save(ws.inbox / "名册.xlsx")
    outcomes = {o.name: o for o in run_pass(ws, candidates(ws.inbox), dt.datetime(2021, 12, 28, 9)).outcomes}
    assert outcomes["名册.xlsx"].outcome == "accepted" and outcomes["名册（有误）.xlsx"].outcome == "rejected"
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        messages = [r[0] for r in conn.execute("SELECT message FROM findings JOIN files f ON f.id = file_id "
                                               "WHERE f.original_name = '名册（有误）.xlsx' ORDER BY findings.rowid")]
    assert messages == [
        f"样板党支部名册!{letter['省级评定结果']}{listed[a]}：填写了省级评定结果“已评定”，但“推荐省级”不是“是”。"
        "请先在“推荐省级”中选“是”，或清空评定结果。",
        f"样板党支部名册!{letter['撤销日期']}{listed[b]}：撤销样板称号的，请填写撤销日期。",
        f"样板党支部名册!{letter['撤销原因']}{listed[b]}：撤销样板称号的，请填写撤销原因。"]
    entries = {e.code: e for e in model_register(ws.root)}
    assert entries[a].level == "省级" and entries[b].revoked and entries[b].reason.startswith("支部组织生活")
    assert b not in held(ws.root, [x.code for x in ws.roster()])  # a revoked 样板 leaves the stock


def test_benchmark_generals_are_judged_on_the_three_years(campaign):
    from xlflow.documents import decided_benchmarks

    ws = campaign["years"][2021]
    res, settings = _results(ws, 2021), ws.settings()
    assert sorted(res.earlier) == [2019, 2020]
    chosen = decided_benchmarks(res)
    for general in {b.general for b in ws.roster()}:
        codes = [b.code for b in ws.roster() if b.general == general]
        now = [res.standings[c] for c in codes]
        ok = (all(st.recognized for st in now)
              and sum(bool(st.model or st.model_since) for st in now) >= settings.benchmark_share * len(codes)
              and all(sum(then[c].recognized for c in codes) >= settings.benchmark_rate * len(codes)
                      for then in res.earlier.values()))
        assert (general in chosen) == ok, general
    # the demo's 2021: the 总支 that led in 2019 and 2020 takes every branch to 认定 and is chosen
    assert chosen == ["机关党总支"]
    assert "标杆院系：机关党总支" in "\n".join(campaign["lines"])


def test_the_2021_documents_include_the_three_year_summary(campaign, libreoffice, tmp_path):
    import re
    import subprocess

    ws = campaign["years"][2021]
    res = _results(ws, 2021)
    college = ws.reports / "三年总结" / "鹤壁职业技术学院_三年总结.docx"
    assert college.is_file()
    assert len(list((ws.reports / "三年总结").glob("*.docx"))) == 1 + len({b.general for b in ws.roster()})
    pdf = libreoffice.to_pdf(college, tmp_path / "s.pdf")
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                                             text=True, check=True).stdout)
    counts = {y: sum(st.stage == K.STAGE_RECOGNIZED for st in sts.values())
              for y, sts in {**res.earlier, 2021: res.standings}.items()}
    assert f"认定达标的党支部由2019年的{counts[2019]}个" in text and f"到2021年的{counts[2021]}个" in text
    for y in (2019, 2020, 2021):
        assert f"{y}年60{counts[y]}" in text  # the table row: year, branches, 认定
    assert "特此报告。" in text and "三年行动总结（2019—2021年）" in text
    years = {**res.earlier, 2021: res.standings}
    for y in (2020, 2021):
        listed = [c for c, st in years[y - 1].items() if not st.recognized]
        turned = sum(years[y][c].recognized for c in listed if c in years[y])
        assert f"{y}年将上年度未认定达标的{len(listed)}个党支部列入整顿转化，当年认定达标{turned}个" in text
    assert not (campaign["years"][2020].reports / "三年总结").exists()  # only in the 创优 year


@pytest.fixture(scope="module")
def recalculated_2021(campaign, libreoffice, tmp_path_factory) -> Path:
    """The 2021 master recomputed by LibreOffice, once for the tests that compare it with xlflow's."""
    master = campaign["years"][2021].root / "outbox" / "master.xlsx"
    return libreoffice.recalc(master, tmp_path_factory.mktemp("recalc") / "recalc.xlsx")


def test_the_master_shows_the_road_travelled_and_libreoffice_agrees(campaign, recalculated_2021):
    from xlflow.register import year_marks

    ws = campaign["years"][2021]
    res = _results(ws, 2021)
    marks = year_marks(ws.root)
    assert sorted(marks) == [2019, 2020]
    master = ws.root / "outbox" / "master.xlsx"
    recalculated = recalculated_2021
    cached = openpyxl.load_workbook(master, data_only=True)[K.MASTER_YEARS]
    again = openpyxl.load_workbook(recalculated, data_only=True)[K.MASTER_YEARS]
    head = {c.value: c.column for c in cached[K.HEADER_ROW] if c.value}
    assert list(head)[3:9] == ["2019年得分", "2019年验收状态", "2020年得分", "2020年验收状态", "2021年得分", "2021年验收状态"]
    scored = {r.branch.code: r.score.total for r in res.branches}
    rows = 0
    for r in range(K.HEADER_ROW + 1, cached.max_row + 1):
        code = cached.cell(r, head["支部编码"]).value
        if not code:
            continue
        rows += 1
        assert cached.cell(r, head["2020年验收状态"]).value == marks[2020][code]["stage"]
        assert cached.cell(r, head["2021年验收状态"]).value == res.standings[code].stage
        now, last = scored.get(code), marks[2020][code].get("total")
        want = round(now - last, 2) if now is not None and last is not None else None
        for sheet in (cached, again):  # the cached value, and what LibreOffice computes from the formulas
            got = sheet.cell(r, head["较上年"]).value
            assert (got in (None, "") if want is None else abs(got - want) < 1e-9), (code, got, want)
            assert (sheet.cell(r, head["2021年得分"]).value or None) == now
    assert rows == 60


def test_the_2020_rectify_list_has_plans_and_a_2019_failure_is_recognized(campaign):
    from xlflow.rectify import DONE, items_of

    ws = campaign["years"][2020]
    res = _results(ws, 2020)
    todo = items_of(res, ws.roster(), 2020)
    r2019 = _results(campaign["years"][2019], 2019)
    assert [it.branch.code for it in todo] == [c for c, st in r2019.standings.items() if not st.recognized]
    assert all(it.plan and it.owner and it.deadline for it in todo)  # every 总支 returned its plans
    turned = [it for it in todo if it.last_stage == K.STAGE_FIRST_FAILED and it.done]
    assert turned
    text = "\n".join(campaign["lines"])
    assert f"   例：{turned[0].branch.name}，2019年初验不同意达标" in text and "2020年：认定达标" in text
    assert "其中一份漏填责任人被退回：整顿清单!G3：" in text
    sheet = openpyxl.load_workbook(ws.root / "outbox" / "master.xlsx", data_only=True)[K.RECTIFY_SHEET]
    head = {c.value: c.column for c in sheet[K.HEADER_ROW] if c.value}
    rows = {sheet.cell(r, head["支部编码"]).value: r for r in range(K.HEADER_ROW + 1, sheet.max_row + 1)}
    assert list(rows) == [it.branch.code for it in todo]
    row = rows[turned[0].branch.code]
    assert sheet.cell(row, head["整顿措施"]).value == turned[0].plan
    assert (sheet.cell(row, head["本年度验收状态"]).value, sheet.cell(row, head["整顿进展"]).value) == (
        K.STAGE_RECOGNIZED, DONE)


def test_the_2021_master_charts_the_generals_road_and_libreoffice_agrees(campaign, recalculated_2021):
    import zipfile

    from xlflow.master_years import MASTER_CHANGES, MASTER_GENERAL_YEARS

    ws = campaign["years"][2021]
    res = _results(ws, 2021)
    master = ws.root / "outbox" / "master.xlsx"
    with zipfile.ZipFile(master) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        titles = "".join(z.read(n).decode("utf-8") for n in charts)
    assert "各党总支认定达标率（历年）" in titles and "各党总支平均分（历年）" in titles
    recalculated = recalculated_2021
    cached = openpyxl.load_workbook(master, data_only=True)
    again = openpyxl.load_workbook(recalculated, data_only=True)
    sheet, other = cached[MASTER_GENERAL_YEARS], again[MASTER_GENERAL_YEARS]
    recognized = sum(st.recognized for st in res.standings.values())
    assert (sheet["B2"].value, other["B2"].value) == (recognized, recognized)  # 全部达标进度
    generals = list(dict.fromkeys(b.general for b in ws.roster()))
    formulas = 0
    for r in range(1, sheet.max_row + 1):
        for c in range(1, 6):
            want = sheet.cell(r, c).value
            if isinstance(want, (int, float)):
                got = other.cell(r, c).value
                assert abs(got - want) < 1e-6, (r, c, got, want)
                formulas += c == 5
    assert formulas >= 4 * (len(generals) + 1)  # this year's column of the four tables
    rows = {sheet.cell(r, 1).value: r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value in generals}
    g = generals[0]
    # the first table (认定达标) holds the 总支's count of this year in column E
    first = min(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == g)
    assert sheet.cell(first, 5).value == sum(1 for b in ws.roster() if b.general == g and res.standings[b.code].recognized)
    assert rows
    changes = cached[MASTER_CHANGES]
    head = {c.value: c.column for c in changes[K.HEADER_ROW] if c.value}
    road = {r.code: r for r in roads(res, 2021, res.marks, dt.date(2021, 12, 31))}
    shown = 0
    for r in range(K.HEADER_ROW + 1, changes.max_row + 1):
        code = changes.cell(r, head["支部编码"]).value
        improved = changes.cell(r, head["改进指标"]).value or ""
        assert [x for x in improved.split("、") if x] == road[code].improved
        assert changes.cell(r, head["改进项数"]).value == len(road[code].improved)
        shown += bool(improved)
    assert shown
    todo, redone = cached[K.RECTIFY_SHEET], again[K.RECTIFY_SHEET]  # 整顿清单: this year's stage looked up live
    head = {c.value: c.column for c in todo[K.HEADER_ROW] if c.value}
    listed = [r for r in range(K.HEADER_ROW + 1, todo.max_row + 1) if todo.cell(r, head["支部编码"]).value]
    assert listed
    for r in listed:
        code = todo.cell(r, head["支部编码"]).value
        for key in ("本年度验收状态", "整顿进展"):
            assert todo.cell(r, head[key]).value == redone.cell(r, head[key]).value, (code, key)
        assert todo.cell(r, head["本年度验收状态"]).value == res.standings[code].stage
    params = " ".join(str(c.value) for row in cached[K.MASTER_PARAMS].iter_rows() for c in row if c.value is not None)
    assert "标杆院系：往年每年认定达标率不低于" in params and "benchmark_rate" in params
