"""The whole pipeline on the embedded sample college, in a fresh working folder.

It plays the branch secretaries (sample.py fills about 80% of the workbooks, some with the
usual mistakes, and a few clerks drop the wrong kind of file), then runs xlflow on the inbox
as the 组织部 clerk would.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import zipfile
from collections import Counter
from contextlib import closing
from pathlib import Path

from xlflow import constants as K
from xlflow import ledger
from xlflow.campaign import Campaign
from xlflow.ingest import candidates, run_pass
from xlflow.outputs import rebuild_outputs
from xlflow.ledger import open_ledger
from xlflow.review import review_round
from xlflow.sample import fill_decision, fill_review, fill_workbook, plan_demo
from xlflow.status import campaign_status, format_status
from xlflow.workbook import handout_path, write_handout
from xlflow.carry import carried
from xlflow.chain import history_standings
from xlflow.files import atomic_path
from xlflow.rectify import items_of
from xlflow.results import ledger_results
from xlflow.documents import decided_benchmarks
from xlflow.settings import Settings
from xlflow.workspace import Workspace, init_workspace
from xlflow.years import start_year

SEED = 2019
AGREE = K.REVIEW_CONCLUSIONS[0]
YEAR_FOLDER = "{year}年支部建设"
DISAGREE, RECTIFY = K.REVIEW_CONCLUSIONS[1:]


def _odd_files(inbox: Path, some_return: Path) -> None:
    """What clerks really drop besides good returns."""
    shutil.copyfile(some_return, inbox / f"副本 - {some_return.name}")  # the same file twice
    (inbox / f"~${some_return.name}").write_bytes(b"\x00" * 165)  # Excel's lock file: left alone
    (inbox / "机电学院支部材料.xlsx").write_text("<html><body><table><tr><td>支部</td></tr></table></body></html>",
                                           encoding="utf-8")  # a web page saved as .xlsx
    with zipfile.ZipFile(inbox / "支部工作总结.docx", "w") as z:  # the wrong file altogether
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml", "<w:document/>")


def fill_rectify(path: Path, dest: Path, plans: dict[str, tuple]) -> None:
    """Fill a 总支's 整顿 workbook as its clerk would: code -> (整顿措施, 责任人, 完成期限, 进展情况), any of
    them None to leave blank; save to dest atomically."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    sheet, heads = K.REVIEW_LAYOUTS[K.KIND_RECTIFY]["rectify"]
    ws = wb[sheet]
    found = {c.value: c.column for c in ws[K.HEADER_ROW] if c.value}
    col = {key: found[head] for key, head in heads.items()}
    for row in range(K.HEADER_ROW + 1, ws.max_row + 1):
        code = ws.cell(row, col["branch_code"]).value
        for key, value in zip(("plan", "owner", "deadline", "progress"), plans.get(code, ())):
            ws.cell(row, col[key]).value = value
    with atomic_path(dest) as tmp:
        wb.save(tmp)


def _rectify_round(ws, campaign: Campaign, echo) -> str | None:
    """整顿转化 at the start of a later year: each 总支 gets its 整顿 workbook (the branches not 认定 last
    year) and returns it with a plan per branch; one leaves a 责任人 out, is sent back, corrects it.
    Returns the code of a branch that failed its 2019 初验, which the year then brings to 认定."""
    checklist, settings, branches = campaign.checklist, campaign.settings, campaign.branches
    start = dt.datetime(settings.year, 3, 2, 9)
    made = [p for p in review_round(ws, start) if p.name.startswith(K.REVIEW_ROUNDS[K.KIND_RECTIFY])]
    if not made:
        return None
    res = ledger_results(ws.ledger, campaign, today=start.date())
    todo = items_of(res, branches, settings.year)
    shorts = {i.code: i.short for i in checklist.indicators}
    plans = {}
    for k, it in enumerate(todo):
        what = "、".join(shorts.get(c, c) for c in it.failed[:3]) or "填报表按时报送、台账规范"
        plans[it.branch.code] = (f"对照上年度验收意见，逐项整改{what}；党总支每月督导一次，{settings.year}年10月前自查合格后报送",
                                 it.branch.secretary or "支部书记", dt.datetime(settings.year, 9 + k % 2, 30),
                                 "已制定整改台账" if k % 3 == 0 else None)
    first = made[0]
    mine = {it.branch.code for it in todo if first.stem.endswith(it.branch.general)}
    slip = {c: (p[0], None, p[2], p[3]) if c == min(mine) else p for c, p in plans.items()}
    fill_rectify(first, ws.inbox / f"{first.stem}（已填）.xlsx", slip)
    sent = run_pass(ws, candidates(ws.inbox), start + dt.timedelta(days=10))
    back = next((d for o in sent.outcomes for d in o.details if "责任人没有填写" in d), "")
    for p in made:
        fill_rectify(p, ws.inbox / f"{p.stem}（整顿措施）.xlsx", plans)
    taken = run_pass(ws, candidates(ws.inbox), start + dt.timedelta(days=12))
    echo(f"   整顿转化：上年度未认定达标的 {len(todo)} 个支部列入整顿，{len(made)} 个党总支各领整顿工作簿，"
         f"填写整顿措施、责任人和完成期限后交回，接收 {_taken(taken)} 份")
    if back:
        echo(f"   其中一份漏填责任人被退回：{back}")
    failed = [it for it in todo if it.last_stage == K.STAGE_FIRST_FAILED] or todo
    return failed[0].branch.code


def _clock(settings, days: int = 0) -> dt.datetime:
    """The demo plays the campaign's own calendar: returns arrive on the deadline, the 初验 ten days
    later, the 复验 after that, so dates in the ledger, the master and the documents agree."""
    return dt.datetime.combine(settings.deadline, dt.time(9, 0)) + dt.timedelta(days=days)


def _taken(result) -> int:
    return sum(o.outcome == "accepted" for o in result.outcomes)


def _acceptance_chain(ws, campaign: Campaign, echo) -> None:
    """The seed's acceptance path, as the people in it would walk it: six of the eight 党总支 return
    their 初验 (one branch 不同意达标, one 整改后再验 that corrects its return and is re-checked), the
    branches put forward apply, the college draws its spot check and does the 复验, the committee
    records its decision. Each workbook comes back through the inbox and is taken in by a pass."""
    checklist, settings, branches, by_code = campaign.checklist, campaign.settings, campaign.branches, campaign.by_code
    paths = review_round(ws, _clock(settings, days=5))
    firsts = sorted(p for p in paths if p.name.startswith(K.REVIEW_ROUNDS[K.KIND_REVIEW_FIRST]))
    echo(f"4. 初验：生成初验工作簿 {len(firsts)} 份（每个党总支一份）→ {ws.review}")
    with closing(open_ledger(ws.ledger)) as conn:
        accepted = ledger.branch_returns(conn)
    units = [p.stem.split("_", 1)[1] for p in firsts]
    returned = units[:6]  # two 总支 let the deadline pass: status and the 催报通知 flag it
    pools = [[b.code for b in branches if b.general == u and b.code in accepted] for u in returned]
    failed, rectify = pools[0][-1], pools[1][-1]  # two different 总支, so each keeps its own conclusion
    overrides = {failed: DISAGREE, rectify: RECTIFY}
    for n, (p, unit) in enumerate(zip(firsts, units)):
        if unit in returned:
            fill_review(p, ws.inbox / f"{p.stem}（已填）.xlsx", SEED + 100 + n, checklist, overrides)
    result = run_pass(ws, candidates(ws.inbox), _clock(settings, days=9))
    echo(f"   {len(returned)} 个党总支交回初验工作簿，接收 {_taken(result)} 份；{by_code[failed].name}初验不同意达标，"
         f"{by_code[rectify].name}初验要求整改后再验；{'、'.join(units[6:])}逾期未交")
    # the branch told to rectify hands in its corrected workbook; its 总支 re-checks it (再验)
    b = by_code[rectify]
    fill_workbook(handout_path(ws.handout, b), ws.inbox / f"{b.name}（整改后）.xlsx", b, campaign, SEED + 999)
    run_pass(ws, candidates(ws.inbox), _clock(settings, days=12))
    again = next(p for p in review_round(ws, _clock(settings, days=13)) if p.stem.endswith(b.general))
    fill_review(again, ws.inbox / f"{again.stem}（再验）.xlsx", SEED + 150, checklist, {failed: DISAGREE},
                day=_clock(settings, days=14).date())
    result = run_pass(ws, candidates(ws.inbox), _clock(settings, days=14))
    echo(f"   {b.name}交回整改后的填报表，{b.general}再验后交回初验工作簿，接收 {_taken(result)} 份")
    # 复验: the branches put forward, plus the spot check drawn (and recorded) when the workbook is made
    second = next(p for p in review_round(ws, _clock(settings, days=15)) if p.name.startswith("复验"))
    with closing(open_ledger(ws.ledger)) as conn:
        draws = ledger.draws(conn, settings.year)
    drawn = [by_code[c].name for d in draws for c in json.loads(d["drawn"])]
    fill_review(second, ws.inbox / f"{second.stem}（已填）.xlsx", SEED + 200, checklist)
    result = run_pass(ws, candidates(ws.inbox), _clock(settings, days=21))
    echo(f"5. 复验：申请复验的支部和随机抽查的 {len(drawn)} 个支部（{'、'.join(drawn) or '无'}，种子记入台账）"
         f"列入复验工作簿，学院复验后交回，接收 {_taken(result)} 份")
    decision = next(p for p in review_round(ws, _clock(settings, days=22)) if p.name.startswith("认定"))
    meeting, day = f"学院党委{settings.year}年第12次会议", _clock(settings, days=24).date()
    fill_decision(decision, ws.inbox / f"{decision.stem}（党委会议决定）.xlsx", meeting, day)
    result = run_pass(ws, candidates(ws.inbox), _clock(settings, days=25))
    echo(f"6. 认定：{meeting}（{day:%Y-%m-%d}）的认定结论录入认定工作簿交回，接收 {_taken(result)} 份")


def run_demo(directory: Path | None, echo=print, years: int = 1) -> Path:
    """The demo in directory (a fresh temporary folder if None). years > 1: the three-year campaign,
    one working folder a year (2019年支部建设, 2020年…), each started from the last."""
    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="xlflow-demo-"))
    echo(f"演示工作目录：{root.resolve()}")
    if years <= 1:
        _first_year(root, echo)
        return root
    ws = _first_year(root / YEAR_FOLDER.format(year=Settings().year), echo)
    for n in range(1, years):
        ws = _later_year(ws, root / YEAR_FOLDER.format(year=ws.settings().year + 1), n, echo)
    echo(f"三年演示完成。各年度的工作目录在：{root.resolve()}")
    return root


def _first_year(root: Path, echo) -> Workspace:
    ws, _ = init_workspace(root)
    campaign = ws.campaign()
    branches, settings = campaign.branches, campaign.settings
    paths = write_handout(campaign, ws.handout)
    echo(f"1. 生成填报表 {len(paths)} 份 → {ws.handout}")
    plan = plan_demo(branches, SEED)
    returned = []
    for n, b in enumerate(branches):
        if b.code in plan:
            dest = ws.inbox / f"{b.name}（{b.secretary or '书记'}填报）.xlsx"
            fill_workbook(handout_path(ws.handout, b), dest, b, campaign, SEED + n, plan[b.code])
            returned.append(dest)
    _odd_files(ws.inbox, returned[0])
    echo(f"2. 模拟各支部填写：{len(returned)} 个支部交回，其中 {sum(1 for m in plan.values() if m - {'fullwidth'})} "
         f"份有常见错误；另有重复文件、网页文件、Word 文档各一份 → {ws.inbox}")
    result = run_pass(ws, candidates(ws.inbox), _clock(settings))
    counts = {k: sum(1 for o in result.outcomes if o.outcome == k) for k in ("accepted", "rejected", "duplicate")}
    echo(f"3. 收件校验：接收 {counts['accepted']} 份，退回 {counts['rejected']} 份（退回说明在 {ws.feedback}），"
         f"重复 {counts['duplicate']} 份；台账 {ws.ledger}")
    # Two of the branches sent back correct their workbooks and hand them in again.
    by = {b.code: (n, b) for n, b in enumerate(branches)}
    sent_back = [o.branch_code for o in result.outcomes if o.outcome == "rejected" and o.branch_code in by][:2]
    for code in sent_back:
        n, b = by[code]
        fill_workbook(handout_path(ws.handout, b), ws.inbox / f"{b.name}（按退回说明修改后）.xlsx", b, campaign, SEED + n)
    again = run_pass(ws, candidates(ws.inbox), _clock(settings, days=3))
    echo(f"   其中 {len(sent_back)} 个支部按退回说明改正后重新提交：接收 "
         f"{sum(o.outcome == 'accepted' for o in again.outcomes)} 份")
    _acceptance_chain(ws, campaign, echo)
    # -- 汇总表和 Word 文书 (master.py, reports.py), then where the campaign stands --
    done = rebuild_outputs(ws, _clock(settings, days=26))
    res = done.results
    echo(f"7. 汇总表（评分为 Excel 公式）→ {done.master}")
    certificates = sum(1 for p in done.reports.written if p.parent.name == "证书")
    echo(f"   文书：生成 {len(done.reports.written)} 份（验收意见书、证书 {certificates} 份、年度报告、催报通知、"
         f"认定决定）→ {ws.reports}")
    with closing(open_ledger(ws.ledger)) as conn:
        echo(format_status(campaign_status(conn, branches, settings, _clock(settings, days=26).date())))
    stages = Counter(st.stage for st in res.standings.values())
    rest = "，".join(f"{k} {stages[k]} 个" for k in K.STAGES if stages[k] and k != K.STAGE_RECOGNIZED)
    echo(f"结果：{len(branches)} 个党支部中，经学院党委认定达标 {stages[K.STAGE_RECOGNIZED]} 个；"
         f"其余未认定的原因：{rest or '无'}。")
    echo(f"演示完成。输出目录：{ws.outbox.resolve()}")
    return ws


def _leading_general(ws: Workspace, branches, settings: Settings) -> str | None:
    """The 总支 that met the 标杆院系 rule's bar for earlier years (benchmark_rate 认定 each year)
    with the most 认定 over them: in the demo it takes all its branches to 认定 in the last year."""
    years = history_standings(ws.root)
    best: tuple[float, str] | None = None
    for general in dict.fromkeys(b.general for b in branches):
        codes = [b.code for b in branches if b.general == general]
        rates = [sum(bool(st.get(c) and st[c].recognized) for c in codes) / len(codes) for st in years.values()]
        if rates and min(rates) >= settings.benchmark_rate and (best is None or sum(rates) > best[0]):
            best = (sum(rates), general)
    return best[1] if best else None


def _later_year(prev: Workspace, dest: Path, n: int, echo) -> Workspace:
    """A later year of the campaign, started from the last: nearly every branch returns (those sent
    back correct their workbooks), every 总支 returns its 初验, the college its 复验, and the committee
    decides, naming 样板 within what the register leaves (提质 1/10, 创优 1/5 of all branches)."""
    started = start_year(dest, prev.root, _clock(prev.settings(), days=40))
    ws = started.workspace
    campaign = ws.campaign()
    checklist, branches, settings = campaign.checklist, campaign.branches, campaign.settings
    echo(f"== {settings.year} 年度（{settings.phase}引领）：由 {started.previous.year} 年度开始 → {ws.root}；"
         f"{started.previous.year} 年度已归档（{started.files} 个文件的 sha256 清单）")
    before = carried(ws.root, [b.code for b in branches])
    write_handout(campaign, ws.handout, carried=before)
    open_before = sum(len(c.problems) for c in before.values())
    echo(f"   填报表：{len(branches)} 份，已带上各支部上年的基本信息、党员名册和尚未完成的问题 {open_before} 个")
    turned = _rectify_round(ws, campaign, echo)
    plan = plan_demo(branches, SEED + 1000 * n, share=0.95)
    if turned:  # the branch that failed in 2019 rectifies: it returns a clean workbook, both rounds agree
        plan[turned] = frozenset()
    agree = {turned: AGREE} if turned else {}
    if settings.phase == "创优":  # the 总支 that led in the years before takes every branch through this year
        lead = _leading_general(ws, branches, settings)
        plan.update({b.code: frozenset() for b in branches if b.general == lead})
        agree.update({b.code: AGREE for b in branches if b.general == lead})
    for k, b in enumerate(branches):
        if b.code in plan:
            fill_workbook(handout_path(ws.handout, b), ws.inbox / f"{b.name}.xlsx", b, campaign,
                          SEED + 1000 * n + k, plan[b.code])
    result = run_pass(ws, candidates(ws.inbox), _clock(settings))
    by = {b.code: (k, b) for k, b in enumerate(branches)}
    for o in result.outcomes:  # every branch sent back corrects its workbook
        if o.outcome == "rejected" and o.branch_code in by:
            k, b = by[o.branch_code]
            fill_workbook(handout_path(ws.handout, b), ws.inbox / f"{b.name}（修改后）.xlsx", b, campaign,
                          SEED + 1000 * n + k)
    again = run_pass(ws, candidates(ws.inbox), _clock(settings, days=3))
    echo(f"   报送：{len(plan)} 个支部交回，接收 {_taken(result)} 份，退回 {len(result.outcomes) - _taken(result)} 份"
         f"（改正后重交，接收 {_taken(again)} 份）")
    for k, p in enumerate(sorted(x for x in review_round(ws, _clock(settings, days=5)) if x.name.startswith("初验"))):
        fill_review(p, ws.inbox / p.name, SEED + 1000 * n + 100 + k, checklist, agree)
    first = run_pass(ws, candidates(ws.inbox), _clock(settings, days=9))
    second = next(p for p in review_round(ws, _clock(settings, days=11)) if p.name.startswith("复验"))
    fill_review(second, ws.inbox / second.name, SEED + 1000 * n + 200, checklist, agree)
    run_pass(ws, candidates(ws.inbox), _clock(settings, days=20))
    decision = next(p for p in review_round(ws, _clock(settings, days=21)) if p.name.startswith("认定"))
    meeting, day = f"学院党委{settings.year}年第12次会议", _clock(settings, days=24).date()
    fill_decision(decision, ws.inbox / decision.name, meeting, day)
    run_pass(ws, candidates(ws.inbox), _clock(settings, days=25))
    done = rebuild_outputs(ws, _clock(settings, days=26))
    res = done.results
    st = res.standings
    recognized = [c for c, x in st.items() if x.recognized]
    named = [c for c, x in st.items() if x.model]
    held = [c for c, x in st.items() if x.model_since]
    todo = items_of(res, branches, settings.year)
    echo(f"   验收：{len(first.outcomes)} 个党总支交回初验，学院复验、党委认定：认定达标 {len(recognized)} 个 / 全院 "
         f"{len(branches)} 个（{len(recognized) / len(branches):.0%}）；本年度评定校级样板 {len(named)} 个"
         f"（往年已有 {len(held)} 个）")
    echo(f"   整顿转化：上年度未认定的 {len(todo)} 个支部中，本年度认定达标 {sum(it.done for it in todo)} 个，"
         f"逾期未完成 {sum(it.overdue for it in todo)} 个（列入催报通知）")
    for it in todo:
        if it.branch.code == turned:
            echo(f"   例：{it.branch.name}，{it.what_failed}；整顿措施“{it.plan}”，责任人 {it.owner}，完成期限 "
                 f"{it.deadline:%Y-%m-%d}；{settings.year}年：{it.now.stage}")
    old = [p for r in res.branches for p in r.problems if (p.get("raised") or settings.year) < settings.year]
    done_ = sum(1 for p in old if p.get("status") == K.PROBLEM_STATUS[-1])
    echo(f"   问题销号：往年带来的问题 {len(old)} 个，本年度已完成整改 {done_} 个")
    if settings.phase == "创优":
        echo(f"   标杆院系：{'、'.join(decided_benchmarks(res)) or '本年度没有党总支达到标杆院系条件'}")
    return ws
