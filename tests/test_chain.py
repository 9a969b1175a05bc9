"""The acceptance chain (seed 第一阶段 5. 达标验收): 初验 by the 总支 → 申请 → 复验 by the college, with a
recorded random spot check → the committee's 认定 and 样板. No document confers a title before the
committee's decision is recorded. Real workbooks through the inbox, a real ledger, LibreOffice's PDF.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import shutil
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from xlflow import constants as K
from xlflow import documents as D
from xlflow import ledger
from xlflow.campaign import Campaign
from xlflow.chain import Conclusion, Decision, Facts, draw, load_facts, standing
from xlflow.ingest import candidates, run_pass
from xlflow.reports import write_reports
from xlflow.results import load_results
from xlflow.review import review_round
from xlflow.review_read import read_review
from xlflow.sample import fill_decision, fill_review
from xlflow.status import campaign_status, format_status
from xlflow.workbook import build_workbook, handout_path
from xlflow.workspace import Workspace, init_workspace

from helpers import fill_workbook

AGREE, DISAGREE, RECTIFY = K.REVIEW_CONCLUSIONS
JD, MY = "机电工程学院党总支", "马克思主义学院党总支"
DAY = dt.date(2019, 12, 15)
MEETING, DECIDED = "学院党委2019年第12次会议", dt.date(2019, 12, 24)


# ---- the chain, pure ------------------------------------------------------------------------------

def _facts(**kw) -> Facts:
    return Facts(**{"returned": {"A": dt.datetime(2019, 11, 28, 9)}, **kw})


@pytest.mark.parametrize("facts, stage", [
    (Facts(), K.STAGE_MISSING),
    (Facts(rejected={"A"}), K.STAGE_REJECTED),
    (_facts(), K.STAGE_AWAIT_FIRST),
    (_facts(first={"A": Conclusion(DISAGREE, dt.date(2019, 12, 5))}), K.STAGE_FIRST_FAILED),
    (_facts(first={"A": Conclusion(RECTIFY, dt.date(2019, 12, 5), dt.date(2020, 1, 5))}), K.STAGE_FIRST_RECTIFY),
    (_facts(returned={"A": dt.datetime(2019, 12, 8)}, first={"A": Conclusion(RECTIFY, dt.date(2019, 12, 5))}),
     K.STAGE_FIRST_RECHECK),
    (_facts(first={"A": Conclusion(AGREE)}), K.STAGE_AWAIT_SECOND),
    (_facts(drawn={"A": 1}), K.STAGE_AWAIT_SECOND),
    (_facts(first={"A": Conclusion(AGREE)}, second={"A": Conclusion(DISAGREE)}), K.STAGE_SECOND_FAILED),
    (_facts(first={"A": Conclusion(AGREE)}, second={"A": Conclusion(RECTIFY, dt.date(2019, 12, 20))}),
     K.STAGE_SECOND_RECTIFY),
    (_facts(first={"A": Conclusion(AGREE)}, second={"A": Conclusion(AGREE)}), K.STAGE_AWAIT_DECISION),
    (_facts(first={"A": Conclusion(AGREE)}, second={"A": Conclusion(AGREE)},
            decision=Decision(MEETING, DECIDED, {"A": ("认定达标", True, "")})), K.STAGE_RECOGNIZED),
    (_facts(first={"A": Conclusion(AGREE)}, second={"A": Conclusion(AGREE)},
            decision=Decision(MEETING, DECIDED, {"A": ("不予认定", False, "台账不实")})), K.STAGE_NOT_RECOGNIZED),
])
def test_each_stage_follows_from_the_recorded_conclusions(facts, stage):
    assert standing(facts, "A", DAY).stage == stage


def test_only_the_committee_recognizes_and_only_after_a_counted_second_review():
    agreed = Conclusion(AGREE, dt.date(2019, 12, 20))
    decided = Decision(MEETING, DECIDED, {"A": ("认定达标", True, "")})
    # a 复验 of a branch neither put forward nor drawn does not count, whatever the committee wrote
    st = standing(_facts(first={"A": Conclusion(DISAGREE)}, second={"A": agreed}, decision=decided), "A", DAY)
    assert st.stage == K.STAGE_FIRST_FAILED and not st.recognized and not st.model
    # a 复验 不同意达标 never yields 认定
    st = standing(_facts(first={"A": Conclusion(AGREE)}, second={"A": Conclusion(DISAGREE)}, decision=decided), "A", DAY)
    assert st.stage == K.STAGE_SECOND_FAILED and not st.recognized
    st = standing(_facts(drawn={"A": 1}, second={"A": agreed}, decision=decided), "A", DAY)
    assert st.recognized and st.model and st.decided_on == DECIDED and st.label.startswith("经随机抽查")


def test_a_rectification_past_its_deadline_is_overdue():
    facts = _facts(first={"A": Conclusion(RECTIFY, dt.date(2019, 12, 5), dt.date(2019, 12, 12))})
    assert not standing(facts, "A", dt.date(2019, 12, 12)).overdue
    late = standing(facts, "A", dt.date(2019, 12, 13))
    assert late.overdue and late.deadline == dt.date(2019, 12, 12)


def test_the_spot_check_is_reproducible_from_its_seed():
    pool = [f"B{n:02d}" for n in range(23)]
    first = draw(pool, 0.1, "2019-2019-1")
    assert first == draw(list(reversed(pool)), 0.1, "2019-2019-1")  # the pool's order does not matter
    assert len(first) == 3 and set(first) <= set(pool)  # ceil(10% of 23)
    assert draw(pool, 0.1, "2019-2019-2") != first or draw(pool, 0.1, "other") != first
    assert draw(pool, 0, "s") == [] and draw([], 0.5, "s") == [] and len(draw(pool[:1], 0.1, "s")) == 1


# ---- the chain on real files ----------------------------------------------------------------------

def _run(ws: Workspace, when: dt.datetime):
    return run_pass(ws, candidates(ws.inbox), when)


def _snap(ws: Workspace, root: Path, name: str) -> Workspace:
    return Workspace(shutil.copytree(ws.root, root / name))


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """机电 (7 branches) and 马院 (4) return. 机电 returns its 初验 (one 不同意达标, one 整改后再验); 马院 lets
    the deadline pass. The 复验 covers the branches put forward and a spot check of the others, and
    finds one of them 不同意达标; the committee decides. A snapshot of the folder after each step."""
    base = tmp_path_factory.mktemp("chain")
    ws, _ = init_workspace(base / "work")
    inputs = ws.campaign()
    roster = inputs.branches
    jd = [b for b in roster if b.general == JD]
    my = [b for b in roster if b.general == MY]
    for n, b in enumerate(jd + my):
        fill_workbook(build_workbook(handout_path(ws.handout, b), b, inputs), ws.inbox / f"{b.code}.xlsx",
                      b, inputs, 300 + n)
    assert {o.outcome for o in _run(ws, dt.datetime(2019, 11, 28, 9)).outcomes} == {"accepted"}
    snaps = {"returned": _snap(ws, base, "returned")}
    first = next(p for p in review_round(ws, dt.datetime(2019, 12, 1, 9)) if p.stem.endswith(JD))
    overrides = {jd[0].code: DISAGREE, jd[1].code: RECTIFY}
    fill_review(first, ws.inbox / "机电初验.xlsx", 11, inputs.checklist, overrides, day=dt.date(2019, 12, 5))
    assert [o.outcome for o in _run(ws, dt.datetime(2019, 12, 6, 9)).outcomes] == ["accepted"]
    snaps["first"] = _snap(ws, base, "first")
    paths = review_round(ws, dt.datetime(2019, 12, 11, 9))  # the 初验 deadline has passed: the spot check is drawn
    second = next(p for p in paths if p.name.startswith("复验"))
    wb = openpyxl.load_workbook(second)
    head = {c.value: c.column for c in wb[K.REVIEW_SHEET_CONCLUSION][K.HEADER_ROW]}
    applied = [wb[K.REVIEW_SHEET_CONCLUSION].cell(r, head["支部编码"]).value
               for r in range(3, wb[K.REVIEW_SHEET_CONCLUSION].max_row + 1)
               if wb[K.REVIEW_SHEET_CONCLUSION].cell(r, head["验收类别"]).value == K.CATEGORY_APPLIED]
    failed = applied[0]
    fill_review(second, ws.inbox / "学院复验.xlsx", 12, inputs.checklist, {failed: DISAGREE}, day=dt.date(2019, 12, 19))
    assert [o.outcome for o in _run(ws, dt.datetime(2019, 12, 20, 9)).outcomes] == ["accepted"]
    snaps["second"] = _snap(ws, base, "second")
    decision = next(p for p in review_round(ws, dt.datetime(2019, 12, 21, 9)) if p.name.startswith("认定"))
    shutil.copyfile(decision, base / "认定_blank.xlsx")
    fill_decision(decision, ws.inbox / "党委认定.xlsx", MEETING, DECIDED)
    assert [o.outcome for o in _run(ws, dt.datetime(2019, 12, 25, 9)).outcomes] == ["accepted"]
    snaps["decided"] = ws
    return {"snaps": snaps, "jd": jd, "my": my, "failed_second": failed, "blank_decision": base / "认定_blank.xlsx",
            "base": base}


def _results(ws: Workspace, today=dt.date(2019, 12, 26)):
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        return load_results(conn, ws.campaign(), today=today)


def _docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode()
    return "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml))


def _reports(ws: Workspace, out: Path):
    res = _results(ws)
    write_reports(res, ws.templates, out, workers=1, today=dt.date(2019, 12, 26))
    return res


@pytest.mark.parametrize("step", ["returned", "first", "second"])
def test_no_document_confers_a_title_before_the_committee_decides(chain, step, tmp_path):
    ws = chain["snaps"][step]
    res = _reports(ws, tmp_path)
    assert not any(r.standing.recognized for r in res.branches)
    assert not list(tmp_path.glob("证书/*.docx")), "no certificate before the decision"
    assert not (tmp_path / "2019年度表彰决定.docx").exists(), "no final decision before the decision"
    for p in tmp_path.glob("验收意见书/*.docx"):
        text = _docx_text(p)
        assert "认定为达标党支部" not in text and "样板党支部”" not in text and "尚未认定" in text, p.name
    drafts = list((tmp_path / D.DRAFTS).glob("*.docx"))
    awaiting = [r for r in res.branches if r.standing.stage == K.STAGE_AWAIT_DECISION]
    assert len(drafts) == (1 if awaiting else 0)


def test_the_draft_says_it_is_a_draft_and_carries_no_number(chain, tmp_path, libreoffice):
    ws = chain["snaps"]["second"]
    res = _reports(ws, tmp_path)
    [draft] = (tmp_path / D.DRAFTS).glob("*.docx")
    assert draft.name == "2019年度表彰决定（草稿）.docx"
    pdf = libreoffice.to_pdf(draft, tmp_path / "draft.pdf")
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                                             text=True, check=True).stdout)
    assert "（草稿）中共鹤壁职业技术学院委员会关于认定2019年度达标党支部的决定" in text
    assert "草稿：未经学院党委会议决定，不作为正式文件印发" in text and "〔2019〕" not in text
    assert "拟提请学院党委认定为达标党支部" in text and D.PENDING in text
    assert "鹤职院党发〔2019〕4号" not in text  # never the plan's own number
    for r in res.branches:
        assert (r.branch.name in text) == (r.standing.stage == K.STAGE_AWAIT_DECISION)


def test_after_the_decision_exactly_the_decided_branches_have_certificates(chain, tmp_path, libreoffice):
    ws = chain["snaps"]["decided"]
    res = _reports(ws, tmp_path)
    recognized = sorted(r.branch.code for r in res.branches if r.standing.recognized)
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        _, rows = ledger.current_decision(conn)
    assert recognized == sorted(r["branch_code"] for r in rows if r["decision"] == "认定达标") and recognized
    assert sorted(p.name.split("_")[0] for p in tmp_path.glob("证书/*.docx")) == recognized
    assert not (tmp_path / D.DRAFTS).exists() and (tmp_path / "2019年度表彰决定.docx").is_file()
    pdf = libreoffice.to_pdf(tmp_path / "2019年度表彰决定.docx", tmp_path / "d.pdf")
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                                             text=True, check=True).stdout)
    assert "草稿" not in text and "（请在xlflow.toml中设置发文机关代字）〔2019〕1号" in text
    assert f"经{MEETING}研究，认定为达标党支部" in text and "2019年12月24日印发" in text
    assert "本年度为达标阶段，按三年行动计划树立标准、鼓励创建，不评定校级“样板党支部”" in text
    for r in res.branches:
        assert (r.branch.name in text) == r.standing.recognized, r.branch.name
    # the 复验 不同意达标 branch: never 认定, its 意见书 says where it stands
    failed = next(r for r in res.branches if r.branch.code == chain["failed_second"])
    assert failed.standing.stage == K.STAGE_SECOND_FAILED and not failed.standing.recognized
    text = _docx_text(next(tmp_path.glob(f"验收意见书/{failed.branch.code}_*.docx")))
    assert "结论：不同意达标" in text and "认定为达标党支部" not in text
    assert "尚未认定。目前进度：学院复验结论为不同意达标。" in text


def test_second_review_covers_the_branches_put_forward_and_a_recorded_spot_check(chain):
    ws = chain["snaps"]["second"]
    res = _results(ws)
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        [d] = ledger.draws(conn, 2019)
    pool, drawn = json.loads(d["pool"]), json.loads(d["drawn"])
    assert d["seed"] == "2019-2019-1" and d["share"] == 0.1 and d["drawn_at"].startswith("2019-12-11")
    assert draw(pool, d["share"], d["seed"]) == drawn, "anyone can repeat the draw from what was recorded"
    put_forward = {r.branch.code for r in res.branches if r.first.conclusion == AGREE}
    assert set(pool) == {r.branch.code for r in res.branches} - put_forward
    assert {b.code for b in chain["my"]} <= set(pool)  # 马院 never returned its 初验
    wb = openpyxl.load_workbook(ws.review / "复验_鹤壁职业技术学院.xlsx")
    sheet = wb[K.REVIEW_SHEET_CONCLUSION]
    head = {c.value: c.column for c in sheet[K.HEADER_ROW]}
    listed = {sheet.cell(r, head["支部编码"]).value: sheet.cell(r, head["验收类别"]).value
              for r in range(3, sheet.max_row + 1)}
    assert listed == {**{c: K.CATEGORY_APPLIED for c in put_forward}, **{c: K.CATEGORY_DRAWN for c in drawn}}
    guide = " ".join(str(c.value) for c in wb[K.REVIEW_SHEET_GUIDE]["A"] if c.value)
    assert f"随机种子 {d['seed']}" in guide and f"从未经党总支推荐申请复验的{len(pool)}个支部中按10%随机抽取{len(drawn)}个" in guide
    # a branch neither put forward nor drawn is not 复验-ed and cannot be 认定 this round
    left = set(pool) - set(drawn)
    assert left and all(not res.standing(c).in_second for c in left)


def test_a_rectification_is_rechecked_by_the_same_reviewer(chain, tmp_path):
    ws = Workspace(shutil.copytree(chain["snaps"]["first"].root, tmp_path / "w"))
    b = chain["jd"][1]
    st = _results(ws, dt.date(2019, 12, 7)).standing(b.code)
    assert st.stage == K.STAGE_FIRST_RECTIFY and st.deadline == dt.date(2020, 1, 4) and not st.overdue
    assert _results(ws, dt.date(2020, 1, 5)).standing(b.code).overdue
    fill_workbook(handout_path(ws.handout, b), ws.inbox / "整改后.xlsx", b, ws.campaign(), 999)
    assert [o.outcome for o in _run(ws, dt.datetime(2019, 12, 8, 9)).outcomes] == ["accepted"]
    assert _results(ws).standing(b.code).stage == K.STAGE_FIRST_RECHECK
    [first] = [p for p in review_round(ws, dt.datetime(2019, 12, 8, 10)) if p.stem.endswith(JD)]
    sheet = openpyxl.load_workbook(first)[K.REVIEW_SHEET_CONCLUSION]
    head = {c.value: c.column for c in sheet[K.HEADER_ROW]}
    row = next(r for r in range(3, sheet.max_row + 1) if sheet.cell(r, head["支部编码"]).value == b.code)
    assert sheet.cell(row, head["验收类别"]).value == "再验（上次：整改后再验，整改期限2020-01-04）"
    assert sheet.cell(row, head["初验结论"]).value is None and sheet.cell(row, head["验收日期"]).value is None
    fill_review(first, ws.inbox / "再验.xlsx", 11, ws.checklist(), {chain["jd"][0].code: DISAGREE},
                day=dt.date(2019, 12, 9))
    assert [o.outcome for o in _run(ws, dt.datetime(2019, 12, 9, 12)).outcomes] == ["accepted"]
    assert _results(ws).standing(b.code).stage in (K.STAGE_AWAIT_SECOND, K.STAGE_FIRST_FAILED, K.STAGE_FIRST_RECTIFY)
    assert not _results(ws).standing(b.code).recheck


def test_status_shows_every_step(chain):
    ws = chain["snaps"]["first"]
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        text = format_status(campaign_status(conn, ws.roster(), ws.settings(), dt.date(2019, 12, 11)))
    lines = text.splitlines()
    assert lines[0].split() == ["党总支", "应报", "已收", "退回待改", "未报", "初验", "待复验", "整改中", "待认定", "认定达标"]
    jd = next(line for line in lines if line.startswith(JD)).split()
    my = next(line for line in lines if line.startswith(MY)).split()
    assert jd[1:6] == ["7", "7", "0", "0", "已交"] and my[5] == "逾期"
    assert f"{MY} 初验逾期：" + "、".join(b.name for b in chain["my"]) in lines
    assert "退回待改（" not in text  # nobody here was sent back


# ---- the committee's decision workbook: bad input ----------------------------------------------------

def _edited_decision(chain, tmp_path, rows: dict[int, dict[str, str]], meeting=(MEETING, DECIDED), ident=None):
    """The blank 认定 workbook with rows (0-based data row -> header -> value) and the meeting filled."""
    wb = openpyxl.load_workbook(chain["blank_decision"])
    ws = wb[K.DECISION_SHEET]
    head = {c.value: c.column for c in ws[K.HEADER_ROW]}
    for n, values in rows.items():
        for h, v in values.items():
            ws.cell(K.HEADER_ROW + 1 + n, head[h]).value = v
    m = wb[K.DECISION_MEETING_SHEET]
    m["A3"].value, m["B3"].value = meeting
    for row in wb[K.SHEET_IDENTITY].iter_rows():
        if ident and row[0].value in ident:
            row[1].value = ident[row[0].value]
    path = tmp_path / "认定.xlsx"
    wb.save(path)
    return path, {h: openpyxl.utils.get_column_letter(c) for h, c in head.items()}, ws


def _check(chain, path, campaign=None):
    ws = chain["snaps"]["second"]
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        facts = load_facts(conn, 2019)
    return read_review(path, campaign or ws.campaign(), facts)


def test_a_decision_for_a_branch_not_in_the_workbook_or_not_agreed_at_second_review(chain, tmp_path):
    code = openpyxl.load_workbook(chain["blank_decision"])[K.DECISION_SHEET].cell(3, 1).value
    path, col, _ = _edited_decision(chain, tmp_path, {0: {"支部编码": "XX-T99", "认定结论": "认定达标"}})
    [f] = _check(chain, path).report.findings
    assert f.message == (f"认定结论!{col['支部编码']}3：支部编码“XX-T99”不在下发的本认定工作簿中（灰色的支部编码不能修改，"
                         "也不能增加新的行）。请删除这一行或恢复原来的编码。")
    # the 复验 changed after the workbook was issued: the committee cannot 认定 that branch any more
    ws = chain["snaps"]["second"]
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        facts = load_facts(conn, 2019)
    facts.second[code] = Conclusion(DISAGREE, dt.date(2019, 12, 22))
    path, col, _ = _edited_decision(chain, tmp_path, {0: {"认定结论": "认定达标"}})
    checked = read_review(path, ws.campaign(), facts)
    name = next(b.name for b in ws.roster() if b.code == code)
    assert [f.message for f in checked.report.findings] == [
        f"认定结论!{col['认定结论']}3：{name}（{code}）的认定结论为“认定达标”，但该支部目前学院复验结论为不同意达标，"
        "还没有经学院复验同意达标，党委不能认定。请清空这一格，待复验同意达标后再认定。"]


def test_no_model_in_the_dabiao_year_and_never_over_the_quota(chain, tmp_path):
    path, col, _ = _edited_decision(chain, tmp_path, {0: {"认定结论": "认定达标", "评为校级样板党支部": "是"}})
    [f] = _check(chain, path).report.findings
    assert f.message == (f"认定结论!{col['评为校级样板党支部']}3：2019年为达标阶段，按三年行动计划本年度不评定校级样板党支部，"
                         "“评为校级样板党支部”请选“否”或留空。如党委决定本年度评定样板，请在 xlflow.toml 中设置 "
                         "models_in_dabiao = true，重新生成认定工作簿后再填写。")
    ws = chain["snaps"]["second"]
    roster = ws.roster()[:20]  # 20 branches: 2 places at 1/10
    tizhi = Campaign(ws.checklist(), replace(ws.settings(), phase="提质"), roster)
    yes = {"认定结论": "认定达标", "评为校级样板党支部": "是"}
    path, col, _ = _edited_decision(chain, tmp_path, {0: yes, 1: yes, 2: yes})
    [f] = _check(chain, path, tizhi).report.findings
    assert f.message == (f"认定结论!{col['评为校级样板党支部']}5：评为校级样板党支部的支部超过了本年度名额 2 个"
                         "（样板总数可达全院 20 个党支部的1/10，往年已评定 0 个）。名额是上限，请把多出的改为“否”；得分并列处在名额边缘的，请党委会议确定其中一个。")
    path, col, sheet = _edited_decision(chain, tmp_path, {0: {"认定结论": "不予认定", "评为校级样板党支部": "是"}})
    name = next(b.name for b in roster if b.code == sheet.cell(3, 1).value)
    [f] = _check(chain, path, tizhi).report.findings
    assert f.message == (f"认定结论!{col['评为校级样板党支部']}3：{name}评为校级样板党支部，但认定结论不是“认定达标”。"
                         "只有认定达标的支部才能评为样板党支部，请改为“否”，或先把认定结论改为“认定达标”。")


def test_a_decision_needs_its_meeting_and_belongs_to_this_year_and_college(chain, tmp_path):
    path, _, _ = _edited_decision(chain, tmp_path, {0: {"认定结论": "认定达标"}}, meeting=(MEETING, None))
    assert [f.message for f in _check(chain, path).report.findings] == [
        "党委会议!B3：已填写认定结论，但没有填写会议日期。请填写作出决定的党委会议的会议日期（如 2019-12-25）。"]
    path, _, _ = _edited_decision(chain, tmp_path, {0: {"认定结论": "认定达标"}}, ident={"year": "2018"})
    assert [f.message for f in _check(chain, path).report.findings] == [
        "文件“认定.xlsx”是2018年的认定工作簿，请使用2019年下发的认定工作簿。"]
    path, _, _ = _edited_decision(chain, tmp_path, {0: {"认定结论": "认定达标"}}, ident={"unit": "外校"})
    assert [f.message for f in _check(chain, path).report.findings] == [
        "文件“认定.xlsx”是认定工作簿，但其中的验收单位“外校”不是学院（鹤壁职业技术学院），无法确定是谁的认定。"
        "请使用组织部下发给本单位的认定工作簿填写，不要复制其他单位的工作簿。"]


def test_a_bad_newer_decision_is_sent_back_and_the_older_stays_current(chain, tmp_path):
    ws = Workspace(shutil.copytree(chain["snaps"]["decided"].root, tmp_path / "w"))
    before = {c: st.stage for c, st in _results(ws).standings.items()}
    path, _, _ = _edited_decision(chain, tmp_path, {0: {"认定结论": "认定", "评为校级样板党支部": "否"}})
    shutil.copyfile(path, ws.inbox / "认定（改）.xlsx")
    [o] = _run(ws, dt.datetime(2019, 12, 27, 9)).outcomes
    assert o.outcome == "rejected" and o.feedback and (ws.feedback / o.feedback).is_file()
    assert "认定结论“认定”不在可选项中" in o.message
    assert {c: st.stage for c, st in _results(ws).standings.items()} == before
    assert (ws.rejected / next(p.name for p in ws.rejected.iterdir() if p.name.endswith("认定（改）.xlsx"))).is_file()


# ---- the 样板 register: the quota is a stock over the years ---------------------------------------------

def _frozen_decision(root: Path, year: int, rows: list[tuple[str, str, str]]) -> None:
    """history/<year>/xlflow.db holding a committee decision (code, 认定结论, 样板) as years.py freezes it."""
    path = root / "history" / str(year) / "xlflow.db"
    path.parent.mkdir(parents=True)
    with contextlib.closing(ledger.open_ledger(path)) as conn:
        rec = ledger.FileRecord(sha256=f"{year}", original_name="认定.xlsx", size=1,
                                arrived_at=dt.datetime(year, 12, 25), outcome=ledger.ACCEPTED, stored_as="x",
                                branch_code="学院", kind=K.KIND_DECISION, content_hash=f"{year}")
        ledger.record(conn, rec, [], tables={
            "decision": [{"_row": 3 + n, "branch_code": c, "decision": d, "model": m} for n, (c, d, m) in enumerate(rows)],
            "decision_meeting": [{"_row": 3, "meeting": "党委会议", "decided_on": dt.date(year, 12, 24)}]})


def test_the_register_counts_the_models_of_every_earlier_year(tmp_path):
    from xlflow.chain import model_room
    from xlflow.register import held, model_register

    _frozen_decision(tmp_path, 2019, [("A", "认定达标", "否"), ("B", "认定达标", "否")])
    _frozen_decision(tmp_path, 2020, [("A", "认定达标", "是"), ("C", "认定达标", "是"), ("D", "不予认定", None)])
    assert [(e.code, e.year, e.level) for e in model_register(tmp_path)] == [("A", 2020, "校级"), ("C", 2020, "校级")]
    assert held(tmp_path, ["A", "B", "E"]) == {"A": 2020}  # C left the roster (merged away): no longer counted
    # 2021 (创优, 1/5): 23 branches → 4 样板 in all; 2 held since 2020 → 2 may still be named
    assert model_room(23, 5, 2) == 2 and model_room(23, 5, 5) == 0 and model_room(23, 0, 0) == 0
    # the ledger of the year being run finds its history beside it
    with contextlib.closing(ledger.open_ledger(tmp_path / "xlflow.db")) as conn:
        assert load_facts(conn, 2021).held == {"A": 2020, "C": 2020}


def test_a_model_already_in_the_register_is_not_named_again(chain, tmp_path):
    code = openpyxl.load_workbook(chain["blank_decision"])[K.DECISION_SHEET].cell(3, 1).value
    ws = chain["snaps"]["second"]
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        facts = load_facts(conn, 2019)
    facts.held = {code: 2018}
    path, col, _ = _edited_decision(chain, tmp_path, {0: {"认定结论": "认定达标", "评为校级样板党支部": "是"}})
    checked = read_review(path, replace(ws.campaign(), settings=replace(ws.settings(), phase="提质")), facts)
    name = next(b.name for b in ws.roster() if b.code == code)
    assert [f.message for f in checked.report.findings] == [
        f"认定结论!{col['评为校级样板党支部']}3：{name}已在2018年评为校级样板党支部，已在样板名册中，不必重复评定，请选“否”。"]


def test_the_master_shows_the_same_status_as_the_documents(chain, tmp_path):
    from xlflow.outputs import rebuild_outputs

    ws = Workspace(shutil.copytree(chain["snaps"]["decided"].root, tmp_path / "w"))
    done = rebuild_outputs(ws, dt.datetime(2019, 12, 26, 9))
    res = done.results
    wb = openpyxl.load_workbook(done.master, data_only=True)
    scores = wb[K.MASTER_SCORES]
    head = {c.value: c.column for c in scores[K.HEADER_ROW] if c.value}
    shown = {scores.cell(r, head["支部编码"]).value: (scores.cell(r, head["验收状态"]).value,
                                                  scores.cell(r, head["党委评定样板"]).value)
             for r in range(K.HEADER_ROW + 1, scores.max_row + 1) if scores.cell(r, head["支部编码"]).value}
    certified = {p.name.split("_")[0] for p in ws.reports.glob("证书/*.docx")}
    assert shown and set(shown) == {r.branch.code for r in res.branches}
    for code, (stage, _) in shown.items():
        st = res.standing(code)
        assert stage == st.stage
        assert (stage == K.STAGE_RECOGNIZED) == (code in certified)
        text = _docx_text(next(ws.reports.glob(f"验收意见书/{code}_*.docx")))
        assert (st.stage == K.STAGE_RECOGNIZED) == ("认定为达标党支部" in text)
    roster = wb[K.MASTER_ROSTER]
    rhead = {c.value: c.column for c in roster[K.HEADER_ROW] if c.value}
    every = {roster.cell(r, rhead["支部编码"]).value: roster.cell(r, rhead["验收状态"]).value
             for r in range(K.HEADER_ROW + 1, roster.max_row + 1) if roster.cell(r, rhead["支部编码"]).value}
    assert every == {c: st.stage for c, st in res.standings.items()}
