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
