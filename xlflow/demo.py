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
from xlflow.ledger import open_ledger
from xlflow.sample import fill_workbook, plan_demo
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
    result = run_pass(ws, candidates(ws.inbox), dt.datetime.now().replace(microsecond=0))
    counts = {k: sum(1 for o in result.outcomes if o.outcome == k) for k in ("accepted", "rejected", "duplicate")}
    echo(f"3. 收件校验：接收 {counts['accepted']} 份，退回 {counts['rejected']} 份（退回说明在 {ws.feedback}），"
         f"重复 {counts['duplicate']} 份；台账 {ws.ledger}")
    conn = open_ledger(ws.ledger)
    try:
        echo(format_status(campaign_status(conn, branches), list_missing=False))
    finally:
        conn.close()
    echo(f"演示完成。输出目录：{ws.outbox.resolve()}")
    return root
