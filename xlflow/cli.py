"""The command line: a thin shell over the stages (sqlite-utils style). Every command has
Chinese help with an example; errors a clerk can fix are printed as one clear message."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from tqdm import tqdm

from xlflow.errors import XlflowError
from xlflow.workspace import Workspace, init_workspace

ROOT = click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
                    show_default=True, help="工作目录（含 xlflow.toml、templates/、inbox/、outbox/）。")


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except XlflowError as exc:
            click.secho(f"错误：{exc}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xlflow", message="xlflow %(version)s")
def main():
    """xlflow：党支部标准化规范化建设（两化一创）填报、收件校验、汇总和公文工具。

    \b
    常用流程：
      xlflow init 工作目录        建立工作目录
      xlflow templates            生成各支部填报表（outbox/templates/）
      xlflow demo                 用示例数据把全流程走一遍
    """


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path):
    """建立新的工作目录：设置文件、指标清单、支部名册、收件箱和输出目录。

    已有的文件不会被覆盖。

    \b
    示例：
      xlflow init 2019年支部建设
    """
    ws, created = init_workspace(directory)
    click.echo(f"工作目录已就绪：{ws.root.resolve()}")
    for p in created:
        click.echo(f"  新建 {p.relative_to(ws.root)}")
    click.echo("下一步：核对 templates/branches.xlsx（支部名册）和 xlflow.toml（年度、截止日期），"
               "然后运行 xlflow templates --root " + str(directory))


@main.command()
@ROOT
@click.option("--workers", type=int, default=None, help="并行进程数（默认使用全部 CPU 核）。")
def templates(root: Path, workers: int | None):
    """按支部名册为每个党支部生成填报表，并为每个党总支打一个压缩包。

    输出在 outbox/templates/<党总支>/ 下，压缩包在 outbox/templates/ 下。

    \b
    示例：
      xlflow templates --root 2019年支部建设
    """
    from xlflow.workbook import write_handout

    ws = Workspace(root)
    checklist, branches, settings = ws.checklist(), ws.roster(), ws.settings()
    with tqdm(total=len(branches), desc="生成填报表", unit="份", disable=None) as bar:
        paths = write_handout(branches, checklist, settings, ws.handout, workers, progress=bar.update)
    generals = {b.general for b in branches}
    click.echo(f"已生成 {len(paths)} 份填报表（{len(generals)} 个党总支），位置：{ws.handout.resolve()}")


@main.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="演示用的工作目录（默认新建一个临时目录）。")
def demo(directory: Path | None):
    """用内置示例数据演示全流程：生成填报表，模拟各支部填写后放入收件箱。

    \b
    示例：
      xlflow demo
      xlflow demo --dir 演示
    """
    from xlflow.demo import run_demo

    run_demo(directory, echo=click.echo)


def _print_pass(result) -> None:
    names = {"accepted": "接收", "rejected": "退回", "duplicate": "重复"}
    for o in result.outcomes:
        extra = f"，退回说明：{o.feedback}" if o.feedback else ""
        tail = f"：{o.message}" if o.outcome != "accepted" and o.message else ""
        warn = f"（{o.warnings} 条提醒）" if o.outcome == "accepted" and o.warnings else ""
        click.echo(f"{names[o.outcome]}  {o.name}{warn}{tail}{extra}")
    if result.waiting:
        click.echo(f"暂未处理（文件仍在复制或被占用，下次再试）：{'、'.join(result.waiting)}")


@main.command()
@ROOT
def ingest(root: Path):
    """处理一遍收件箱：校验 inbox/ 中的每个文件，合格的记入台账，不合格的生成退回说明。

    原文件按结果移入 inbox/accepted、inbox/rejected 或 inbox/duplicates，从不删除；
    退回说明在 outbox/feedback/。

    \b
    示例：
      xlflow ingest --root 2019年支部建设
    """
    from xlflow.watch import acquire, ingest_once, setup_logging

    ws = Workspace(root)
    lk = acquire(ws)
    try:
        setup_logging(ws)
        result = ingest_once(ws)
    finally:
        lk.release()
    _print_pass(result)
    if not result.outcomes and not result.waiting:
        click.echo("收件箱中没有待处理的文件。")


@main.command()
@ROOT
@click.option("--every", type=int, default=None, help="检查间隔（秒），默认取 xlflow.toml 中的 poll_seconds。")
def watch(root: Path, every: int | None):
    """持续监视收件箱，有新文件就自动处理（按 Ctrl-C 停止）。

    同一工作目录只能运行一个监视程序；运行记录写入 xlflow.log。

    \b
    示例：
      xlflow watch --root 2019年支部建设 --every 30
    """
    from xlflow.watch import acquire, setup_logging, watch as run_watch

    ws = Workspace(root)
    every = every or ws.settings().poll_seconds
    lk = acquire(ws)
    try:
        setup_logging(ws)
        click.echo(f"正在监视 {ws.inbox.resolve()}，每 {every} 秒检查一次；按 Ctrl-C 停止。")
        run_watch(ws, every, on_result=_print_pass)
    finally:
        lk.release()
    click.echo("已停止监视。")


@main.command()
@ROOT
def status(root: Path):
    """按党总支显示报送进度：应报、已收、退回待改、未报，并列出未报的支部。

    \b
    示例：
      xlflow status --root 2019年支部建设
    """
    from xlflow.ledger import open_ledger
    from xlflow.status import campaign_status, format_status, unidentified

    ws = Workspace(root)
    branches = ws.roster()
    conn = open_ledger(ws.ledger)
    try:
        click.echo(format_status(campaign_status(conn, branches)))
        odd = unidentified(conn)
    finally:
        conn.close()
    for name, message in odd:
        click.echo(f"无法识别支部的退回文件：{name}：{message}")
