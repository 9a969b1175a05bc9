"""The whole pipeline on the embedded sample college, in a fresh working folder.

It plays the branch secretaries (sample.py fills about 80% of the workbooks, some with the
usual mistakes, and a few clerks drop the wrong kind of file), then runs xlflow on the inbox
as the 组织部 clerk would.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import zipfile
from pathlib import Path

from xlflow.ingest import candidates, run_pass
from xlflow.outputs import rebuild_outputs
from xlflow.ledger import open_ledger
from xlflow.review import review_round
from xlflow.sample import fill_review, fill_workbook, plan_demo
from xlflow.status import campaign_status, format_status
from xlflow.workbook import handout_path, write_handout
from xlflow.workspace import init_workspace

SEED = 2019


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


def _clock(settings, days: int = 0) -> dt.datetime:
    """The demo plays the campaign's own calendar: returns arrive on the deadline, the 初验 ten days
    later, the 复验 after that, so dates in the ledger, the master and the documents agree."""
    return dt.datetime.combine(settings.deadline, dt.time(9, 0)) + dt.timedelta(days=days)


def _review_round(ws, checklist, settings, echo) -> None:
    """Two 党总支 fill their 初验 workbooks, then the college its 复验 (which shows the 初验), each
    dropped into the inbox and taken in by a pass, as the acceptance path of the seed runs."""
    paths = review_round(ws)
    firsts = [p for p in paths if p.name.startswith("初验")][:2]
    echo(f"4. 验收：生成验收工作簿 {len(paths)} 份（每个党总支一份初验、学院一份复验）→ {ws.review}")
    for n, p in enumerate(firsts):
        fill_review(p, ws.inbox / f"{p.stem}（已填）.xlsx", SEED + 100 + n, checklist)
    result = run_pass(ws, candidates(ws.inbox), _clock(settings, days=10))
    echo(f"验收：{'、'.join(p.stem.split('_', 1)[1] for p in firsts)} 交回初验工作簿，"
         f"接收 {sum(o.outcome == 'accepted' for o in result.outcomes)} 份")
    second = next(p for p in review_round(ws) if p.name.startswith("复验"))  # now showing the 初验
    fill_review(second, ws.inbox / f"{second.stem}（已填）.xlsx", SEED + 200, checklist)
    result = run_pass(ws, candidates(ws.inbox), _clock(settings, days=25))
    echo(f"验收：学院复验工作簿交回，接收 {sum(o.outcome == 'accepted' for o in result.outcomes)} 份；"
         f"验收工作簿已按最新结果重新生成 {len(review_round(ws))} 份 → {ws.review}")


def run_demo(directory: Path | None, echo=print) -> Path:
    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="xlflow-demo-"))
    ws, _ = init_workspace(root)
    checklist, branches, settings = ws.checklist(), ws.roster(), ws.settings()
    echo(f"演示工作目录：{root.resolve()}")
    paths = write_handout(branches, checklist, settings, ws.handout)
    echo(f"1. 生成填报表 {len(paths)} 份 → {ws.handout}")
    plan = plan_demo(branches, SEED)
    returned = []
    for n, b in enumerate(branches):
        if b.code in plan:
            dest = ws.inbox / f"{b.name}（{b.secretary or '书记'}填报）.xlsx"
            fill_workbook(handout_path(ws.handout, b), dest, b, checklist, settings, SEED + n, plan[b.code])
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
        fill_workbook(handout_path(ws.handout, b), ws.inbox / f"{b.name}（按退回说明修改后）.xlsx", b, checklist,
                      settings, SEED + n)
    again = run_pass(ws, candidates(ws.inbox), _clock(settings, days=3))
    echo(f"   其中 {len(sent_back)} 个支部按退回说明改正后重新提交：接收 "
         f"{sum(o.outcome == 'accepted' for o in again.outcomes)} 份")
    conn = open_ledger(ws.ledger)
    try:
        echo(format_status(campaign_status(conn, branches), list_missing=False))
    finally:
        conn.close()
    # -- 初验 / 复验 (review.py) --
    _review_round(ws, checklist, settings, echo)
    # -- (初验 / 复验 end) --
    # -- 汇总表和 Word 文书 (master.py, reports.py) --
    done = rebuild_outputs(ws, _clock(settings, days=26))
    res = done.results
    echo(f"5. 汇总表（评分为 Excel 公式）：已收 {len(res.branches)} 个支部，达标 {sum(b.score.passed for b in res.branches)} 个，"
         f"样板候选 {sum(b.score.model for b in res.branches)} 个（名额 {res.quota}）→ {done.master}")
    echo(f"6. 文书：生成 {len(done.reports.written)} 份（各支部验收意见书和证书、各党总支年度报告和催报通知、表彰决定）"
         f"→ {ws.reports}")
    echo(f"演示完成。输出目录：{ws.outbox.resolve()}")
    return root
