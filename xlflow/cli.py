"""The command line: a thin shell over the stages (sqlite-utils style). Every command has
Chinese help with an example; errors a clerk can fix are printed as one clear message.

Each command imports the stages it runs inside its own body: `xlflow ingest` for one corrected
return must not pay for docxtpl, tqdm or the review and year modules it does not use
(bench/corrected_bench.py times the whole process)."""

from __future__ import annotations

import difflib
import importlib
import sys
from contextlib import closing
from pathlib import Path

import click

from xlflow import messages as M
from xlflow.errors import XlflowError, explain
from xlflow.workspace import Workspace, init_workspace


def _speak_chinese() -> None:
    """Click words its usage errors and help headings through gettext (`_` and `ngettext` in each
    of its modules); point those at messages.CLICK_TEXT. Done before any click type is built,
    since click.Path names itself ("directory") when constructed."""
    def gettext(message: str) -> str:
        return M.CLICK_TEXT.get(message, message)

    def ngettext(singular: str, plural: str, n: int) -> str:
        return gettext(singular if n == 1 else plural)

    for name in ("core", "exceptions", "types", "parser", "decorators", "formatting", "termui", "utils"):
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # a click version without this module
            continue
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext


_speak_chinese()


def quoted(path: Path | str) -> str:
    """A folder name as it must be typed in a command: in double quotes when it has a space or a
    shell character (double quotes read right in cmd.exe, PowerShell and POSIX shells alike)."""
    text = str(path)
    return f'"{text}"' if not text or any(c.isspace() or c in "&|;<>()^$`'\"!*?[]{}%" for c in text) else text


def _existing_root(ctx, param, root: Path) -> Path:
    """A mistyped --root must not silently create a new, empty working folder, and a folder that
    is not one must not grow a lock, a log or an inbox: refuse both before the command runs."""
    if not root.is_dir():
        raise XlflowError(M.CLI_NO_FOLDER.format(root=root, quoted=quoted(root)))
    if not Workspace(root).is_working_folder():
        where = M.CLI_HERE if root == Path(".") else M.CLI_THERE
        raise XlflowError(M.CLI_NOT_A_FOLDER.format(where=where, root=root.resolve(), command=ctx.info_name,
                                                    quoted=quoted(root.resolve() if root == Path(".") else root)))
    from xlflow.files import claim_scratch, sweep_scratch

    global _root_seen
    _root_seen = root
    outbox = Workspace(root).outbox
    sweep_scratch(outbox)  # what runs killed before this one left half-written
    claim_scratch(outbox)  # this run's own temporary files, found by the next sweep if it is killed
    return root


def _positive(ctx, param, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise XlflowError(M.CLI_NOT_POSITIVE.format(name=param.name, value=value))
    return value


ROOT = click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
                    metavar="目录", callback=_existing_root,
                    help="工作目录（含 xlflow.toml、templates/、inbox/、outbox/），默认为当前目录。")


class _Formatter(click.HelpFormatter):
    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")  # a Chinese colon after 选项, 命令


class _Context(click.Context):
    formatter_class = _Formatter


class _Chinese:
    """Click's own help scaffolding (usage line, section titles, -h) and usage errors in Chinese."""

    context_class = _Context

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)

    def format_usage(self, ctx, formatter):
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), "用法：")

    def parse_args(self, ctx, args):
        """Click words a bad or missing value with the parameter in ASCII quotes and an English
        full stop: say it again the Chinese way (the value's own message is already translated)."""
        try:
            return super().parse_args(ctx, args)
        except click.BadParameter as exc:
            p = exc.param
            arg = isinstance(p, click.Argument)
            name = p.human_readable_name if arg else " / ".join(p.opts) if p is not None else ""
            if isinstance(exc, click.MissingParameter):
                message = M.CLI_MISSING.format(what="参数" if arg else "选项", name=name)
            else:
                message = M.CLI_BAD_VALUE.format(name=name, message=exc.message)
            raise click.UsageError(message, ctx) from None

    def format_options(self, ctx, formatter):
        opts = [r for p in self.get_params(ctx) if (r := p.get_help_record(ctx))]
        if opts:
            with formatter.section("选项"):
                formatter.write_dl(opts)


class _Command(_Chinese, click.Command):
    pass


class _Group(_Chinese, click.Group):
    command_class = _Command

    def __init__(self, *args, **kwargs):
        super().__init__(*args, subcommand_metavar="命令 [参数]...", **kwargs)

    def resolve_command(self, ctx, args):
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, list(self.commands), n=1)
            hint = M.CLI_DID_YOU_MEAN.format(name=close[0]) if close else ""
            raise click.UsageError(M.CLI_NO_COMMAND.format(name=name, hint=hint), ctx)
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx):
        return list(self.commands)  # in the order of the workflow, not alphabetical

    def format_options(self, ctx, formatter):
        super().format_options(ctx, formatter)
        rows = [(name, cmd.get_short_help_str(formatter.width - 6 - max(map(len, self.commands))))
                for name, cmd in self.commands.items() if not cmd.hidden]
        if rows:
            with formatter.section("命令"):
                formatter.write_dl(rows)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except XlflowError as exc:
            click.secho(M.CLI_ERROR.format(message=exc), fg="red", err=True)
            sys.exit(2)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # no traceback reaches a clerk: it goes to xlflow.log, the message is Chinese
            _log_traceback(exc)
            click.secho(M.CLI_ERROR.format(message=explain(exc, _root_seen)), fg="red", err=True)
            sys.exit(2)


_root_seen: Path | None = None  # the --root of this command, for messages about its folders


def _log_traceback(exc: BaseException) -> None:
    import logging
    import traceback

    log = logging.getLogger("xlflow")
    text = "".join(traceback.format_exception(exc))
    if _root_seen is not None:
        try:
            with open(_root_seen / "xlflow.log", "a", encoding="utf-8") as f:
                f.write(M.CLI_LOG_HEAD.format(traceback=text))
            return
        except OSError:  # the folder cannot be written (a full or read-only disk): nowhere to keep it
            pass
    log.debug(text)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xlflow", message="xlflow %(version)s", help="显示版本号并退出。")
def main():
    """xlflow：党支部标准化规范化建设（两化一创）填报、收件校验、汇总和公文工具。

    每个命令的用法见 xlflow 命令 -h，例如 xlflow ingest -h。

    \b
    示例（常用流程）：
      xlflow init 2019年支部建设                 建立工作目录
      xlflow templates --root 2019年支部建设     生成各支部填报表（outbox/templates/）
      xlflow watch --root 2019年支部建设         持续处理交回的填报表（inbox/）
      xlflow status --root 2019年支部建设        查看报送进度
      xlflow review --root 2019年支部建设        生成初验、复验工作簿（outbox/review/）
      xlflow master --root 2019年支部建设        重新生成汇总表（outbox/master.xlsx）
      xlflow reports --root 2019年支部建设       生成验收意见书、证书、表彰决定等文书（outbox/reports/）
      xlflow demo                                用示例数据把全流程走一遍
    """


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), metavar="目录")
@click.option("--from", "previous", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="上年目录",
              help="从上一年度的工作目录开始新年度：沿用支部名册、指标清单和设置，年度、阶段和日期顺延；"
                   "上一年度归档到 history/（只读取，不改动原目录）。")
def init(directory: Path, previous: Path | None):
    """建立新的工作目录：设置文件、指标清单、支部名册、收件箱和输出目录。

    已有的文件不会被覆盖。新的一年用 --from 接着上一年度开始。

    \b
    示例：
      xlflow init 2019年支部建设
      xlflow init 2020年支部建设 --from 2019年支部建设
    """
    if previous is not None:
        import datetime as dt

        from xlflow.years import start_year

        done = start_year(directory, previous, dt.datetime.now().replace(microsecond=0))
        s, p = done.settings, done.previous
        click.echo(f"已从 {p.year} 年度（{previous}）开始 {s.year} 年度（{s.phase}引领）：{done.workspace.root.resolve()}")
        click.echo(f"  沿用 templates/（支部名册、指标清单、公文模板）和 xlflow.toml；年度、阶段和各项日期已顺延一年，"
                   f"报送截止日期 {s.deadline:%Y-%m-%d}，发文序号从 1 开始")
        click.echo(f"  {p.year} 年度已归档：{done.history.relative_to(done.workspace.root).as_posix()}/"
                   f"（台账快照和 {done.files} 个文件的 sha256 清单）；原目录没有任何改动")
        click.echo("下一步：核对 xlflow.toml 中的日期和发文机关代字，然后运行 xlflow templates --root " + quoted(directory))
        return
    ws, created = init_workspace(directory)
    click.echo(f"工作目录已就绪：{ws.root.resolve()}")
    for p in created:
        click.echo(f"  新建 {p.relative_to(ws.root)}")
    click.echo("下一步：核对 templates/branches.xlsx（支部名册）和 xlflow.toml（年度、截止日期），"
               "然后运行 xlflow templates --root " + quoted(directory))


@main.command()
@ROOT
@click.option("--workers", type=int, default=None, metavar="个数", callback=_positive,
              help="并行进程数（默认使用全部 CPU 核）。")
def templates(root: Path, workers: int | None):
    """按支部名册为每个党支部生成填报表，并为每个党总支打一个压缩包。

    输出在 outbox/templates/<党总支>/ 下，压缩包在 outbox/templates/ 下。

    \b
    示例：
      xlflow templates --root 2019年支部建设
    """
    from xlflow.carry import carried
    from xlflow.files import safe_filename
    from xlflow.roster import generals
    from xlflow.workbook import write_handout

    from xlflow.years import check_lineage

    ws = Workspace(root)
    campaign = ws.campaign()
    branches = campaign.branches
    for notice in check_lineage(ws):  # a later year: every branch's history follows its code
        click.secho(notice, fg="yellow")
    origins = {b.code: b.origin for b in branches if b.origin}
    before = carried(ws.root, [b.code for b in branches], origins)  # the earlier years in history/, if any
    from tqdm import tqdm

    with tqdm(total=len(branches), desc="生成填报表", unit="份", disable=None) as bar:
        paths = write_handout(campaign, ws.handout, workers, progress=bar.update, carried=before)
    names = generals(branches)
    if before:
        problems = sum(len(c.problems) for c in before.values())
        click.echo(f"已带上各支部上一年度报送的基本信息、党员名册、入党积极分子和尚未完成的问题 {problems} 个，"
                   "支部在其基础上更新即可")
    click.echo(f"已生成 {len(paths)} 份填报表（{len(names)} 个党总支），位置：{ws.handout.resolve()}")
    click.echo(f"按党总支打包的压缩包 {len(names)} 个（发给各党总支转发所属支部），位置：{ws.handout.resolve()}")
    for g in names:
        count = sum(b.general == g for b in branches)
        click.echo(f"  {safe_filename(f'{g}.zip')}（{count} 份）")


@main.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="目录", help="演示用的工作目录（默认新建一个临时目录）。")
@click.option("--years", type=click.IntRange(1, 3), default=1, metavar="年数",
              help="演示几个年度（1 至 3，默认 1）：3 即 2019 达标、2020 提质、2021 创优，每年由上一年开始。")
def demo(directory: Path | None, years: int):
    """用内置示例数据演示全流程：生成填报表、模拟各支部填报、收件校验、退回与改正、初验、申请复验、复验和随机抽查、党委认定、汇总表、公文。

    \b
    示例：
      xlflow demo
      xlflow demo --dir 演示
      xlflow demo --years 3
    """
    from xlflow.demo import run_demo

    run_demo(directory, echo=click.echo, years=years)


def _need_ledger(ws: Workspace) -> None:
    """Commands that rebuild outputs from the ledger: say plainly when there is none yet (or when it
    has gone while originals sit archived: then how to rebuild it)."""
    from xlflow.ledger import guard_ledger

    guard_ledger(ws)
    if not ws.ledger.exists():
        raise XlflowError(M.CLI_NO_LEDGER.format(ledger=ws.ledger.name, root=quoted(ws.root)))


def _print_pass(result, stamp: bool = False) -> None:
    import datetime as dt

    from xlflow.constants import OUTCOME_NAMES as names

    when = f"[{dt.datetime.now():%H:%M:%S}] " if stamp else ""
    for o in result.outcomes:
        extra = f"  → 退回说明：{o.feedback}" if o.feedback else ""
        tail = f"：{o.message}" if o.outcome != "accepted" and o.message else ""
        warn = f"（{o.warnings} 条提醒）" if o.outcome == "accepted" and o.warnings else ""
        click.echo(f"{when}{names[o.outcome]}  {o.name}{warn}{tail}{extra}")
        rest = o.details[1:] if tail else o.details  # every finding, not only the first
        for n, message in enumerate(rest, start=2 if tail else 1):
            click.echo(f"{when}    {n}. {message}" if tail else f"{when}    提醒：{message}")
    if result.outcomes:
        counts = "，".join(f"{name} {sum(o.outcome == k for o in result.outcomes)} 份" for k, name in names.items())
        where = "；退回说明在 outbox/feedback/，请发回相应支部" if any(o.feedback for o in result.outcomes) else ""
        click.echo(f"{when}合计：{counts}{where}。")
    if result.waiting:
        click.echo(f"{when}暂未处理（文件仍在复制或被占用，下次再试）：{'、'.join(result.waiting)}")
    if result.rebuilt is not None:
        moved = "" if result.rebuilt.master_in_place else "（master.xlsx 正被打开，新表另存于此）"
        click.echo(f"{when}汇总表已更新：{result.rebuilt.master}{moved}")
        if result.rebuilt.kept_message:
            click.echo(f"{when}{result.rebuilt.kept_message}")
        run = result.rebuilt.reports
        if run is not None and (run.written or run.locked):
            busy = f"，{len(run.locked)} 份正被打开、下次再写" if run.locked else ""
            click.echo(f"{when}文书已更新 {len(run.written)} 份{busy}（outbox/reports/）")
            if any(p.parent.name == "草稿" for p in run.written):
                click.echo(f"{when}表彰决定尚待学院党委会议决定，只更新了草稿（outbox/reports/草稿/，无发文字号）")


def _print_arriving(copying: list[str], partial: list[str], settle: int) -> None:
    import datetime as dt

    when = f"[{dt.datetime.now():%H:%M:%S}] "
    if copying:
        click.echo(f"{when}收到新文件，确认复制完成后（约 {settle} 秒）处理：{'、'.join(copying)}")
    if partial:
        click.echo(f"{when}文件尚未复制或下载完整，完成后才会处理：{'、'.join(partial)}")


@main.command()
@ROOT
@click.option("--rebuild-ledger", is_flag=True,
              help="台账损坏或丢失时使用：由 inbox/accepted、inbox/rejected、inbox/duplicates 中归档的原件，"
                   "按收到的先后重建台账 xlflow.db（原台账改名保留，不会删除），然后照常处理收件箱。")
def ingest(root: Path, rebuild_ledger: bool):
    """处理一遍收件箱：校验 inbox/ 中的每个文件，合格的记入台账，不合格的生成退回说明。

    原文件按结果移入 inbox/accepted、inbox/rejected 或 inbox/duplicates，从不删除；
    退回说明在 outbox/feedback/。有新接收的文件时，汇总表 outbox/master.xlsx 随之更新。
    每次处理后台账备份在 backups/ 中（保留最近 10 份）。

    \b
    示例：
      xlflow ingest --root 2019年支部建设
      xlflow ingest --root 2019年支部建设 --rebuild-ledger    台账损坏或丢失时，由归档原件重建
    """
    import datetime as dt

    from xlflow.watch import ingest_once, session

    ws = Workspace(root)
    with session(ws):
        if rebuild_ledger:
            from xlflow.rebuild import rebuild_ledger as rebuild

            done = rebuild(ws, dt.datetime.now().replace(microsecond=0))
            click.echo(done.message(ws))
            for p in done.skipped:
                click.echo(f"  未能重建（文件名中没有收到时间，不是 xlflow 归档的文件）：{p.relative_to(ws.root)}")
        result = ingest_once(ws)
    _print_pass(result)
    if not result.outcomes and not result.waiting and result.rebuilt is None:
        click.echo("收件箱中没有待处理的文件。")


@main.command()
@ROOT
def review(root: Path):
    """生成验收工作簿：初验（每个党总支一份）、复验（学院一份）、认定（学院党委一份）。

    初验工作簿列出该党总支已接收的每个支部，预填支部自评等次和台账核验结果，由党总支填写初验等次、
    意见和结论（同意达标 即申请复验；整改后再验 须填整改期限）。复验工作簿只列党总支初验同意、申请复验的
    支部，以及随机抽查的支部（初验截止日期过后或各党总支都交回初验后抽取，抽取的种子和名单记入台账）。
    复验有同意达标的支部后，生成学院党委认定工作簿：党委会议决定认定达标和样板后由组织部录入交回，
    证书和表彰决定只在此后生成。第二年起，上年度未认定达标的支部列入整顿转化，每个党总支一份整顿工作簿
    （填写整顿措施、责任人和完成期限），新年度开始即可生成。填好的工作簿放入 inbox/，运行 xlflow ingest。
    输出在 outbox/review/。

    \b
    示例：
      xlflow review --root 2019年支部建设
    """
    from xlflow.review import review_round

    ws = Workspace(root)
    if (ws.root / "history").is_dir():  # a later year issues its 整顿 workbooks before any return
        from xlflow.ledger import guard_ledger

        guard_ledger(ws)
    else:
        _need_ledger(ws)
    paths = review_round(ws)
    if not paths:
        click.echo(M.CLI_NOTHING_TO_REVIEW)
        return
    for p in paths:
        click.echo(f"  {p.name}")
    rounds = {name: sum(1 for p in paths if p.name.startswith(name)) for name in ("初验", "复验", "认定", "整顿")}
    made = "、".join(f"{k} {v} 份" for k, v in rounds.items() if v)
    click.echo(f"已生成验收工作簿 {len(paths)} 份（{made}），位置：{ws.review.resolve()}")
    if not rounds["复验"]:
        click.echo("暂无复验工作簿：还没有党总支初验同意、申请复验的支部，随机抽查在初验截止日期过后抽取。")


@main.command()
@ROOT
@click.option("--every", type=int, default=None, metavar="秒数", callback=_positive,
              help="检查间隔（秒，至少 1），默认取 xlflow.toml 中的 poll_seconds。")
def watch(root: Path, every: int | None):
    """持续监视收件箱，有新文件就自动处理（按 Ctrl-C 停止）。

    同一工作目录只能运行一个监视程序；运行记录写入 xlflow.log。

    \b
    示例：
      xlflow watch --root 2019年支部建设 --every 30
    """
    from xlflow.watch import SETTLE_SECONDS, session, watch as run_watch

    ws = Workspace(root)
    every = every or ws.settings().poll_seconds
    with session(ws):
        try:  # Ctrl-C is the normal way to stop, at any moment (even before the loop has started)
            ws.inbox.mkdir(exist_ok=True)  # the repository root is a working folder without one
            click.echo(f"正在监视 {ws.inbox.resolve()}，每 {every} 秒检查一次；按 Ctrl-C 停止。")
            run_watch(ws, every, on_result=lambda r: _print_pass(r, stamp=True),
                      on_error=lambda m: click.secho(m, fg="red", err=True),
                      on_waiting=lambda copying, partial: _print_arriving(copying, partial, SETTLE_SECONDS))
        except KeyboardInterrupt:
            pass
    click.echo("已停止监视。")


@main.command()
@ROOT
def status(root: Path):
    """按党总支显示验收进度：报送（应报、已收、退回待改、未报）、初验、复验、整改和党委认定。

    列出退回待改、未报、初验逾期、整改逾期和待再验的支部。

    \b
    示例：
      xlflow status --root 2019年支部建设
    """
    from xlflow.ledger import open_ledger
    from xlflow.status import campaign_status, format_status, format_waiting, inbox_waiting, unidentified

    from xlflow.ledger import guard_ledger

    ws = Workspace(root)
    branches = ws.roster()
    guard_ledger(ws)
    waiting = format_waiting(*inbox_waiting(ws.inbox))
    if not ws.ledger.exists():  # nothing processed yet: say so, and create nothing
        click.echo(M.CLI_NOTHING_YET.format(ledger=ws.ledger.name))
        with closing(open_ledger(":memory:")) as empty:
            click.echo(format_status(campaign_status(empty, branches, ws.settings(), root=ws.root), list_missing=False))
        for line in waiting:
            click.echo(line)
        return
    conn = open_ledger(ws.ledger)
    try:
        click.echo(format_status(campaign_status(conn, branches, ws.settings())))
        odd = unidentified(conn)
    finally:
        conn.close()
    for name, message in odd:
        click.echo(M.CLI_UNIDENTIFIED.format(file=name, message=message))
    for line in waiting:
        click.echo(line)


@main.command()
@ROOT
def master(root: Path):
    """由台账重新生成汇总表 outbox/master.xlsx（得分、排名、等次、样板候选均为 Excel 公式）。

    如果汇总表正被 Excel 或 WPS 打开，新表会另存为带时间的文件名，并提示位置。

    \b
    示例：
      xlflow master --root 2019年支部建设
    """
    import datetime as dt

    from xlflow.outputs import rebuild_master

    ws = Workspace(root)
    _need_ledger(ws)
    done = rebuild_master(ws, dt.datetime.now().replace(microsecond=0))
    if not done.master_in_place:
        click.echo(f"master.xlsx 正被其他程序打开，新汇总表另存为：{done.master}")
    if done.kept_message:
        click.echo(done.kept_message)
    res = done.results
    click.echo(f"汇总表已生成：{done.master.resolve()}（已收 {len(res.branches)} 个支部，尚无合格报送 {len(res.missing)} 个，"
               f"样板名额 {res.quota}）")


@main.command()
@ROOT
@click.option("--workers", type=int, default=None, metavar="个数", callback=_positive,
              help="并行进程数（默认使用全部 CPU 核）。")
@click.option("--force", is_flag=True, help="全部重新生成（默认只生成内容有变化或缺失的文书）。")
def reports(root: Path, workers: int | None, force: bool):
    """由台账生成归档用的 Word 文书：验收意见书、证书、表彰决定、年度报告、催报通知。

    输出在 outbox/reports/：验收意见书/、证书/（每个支部）、年度报告/、催报通知/（每个党总支），表彰决定在最上层。

    只重新生成内容或模板有变化的文书；模板在 templates/ 中，可用 Word 或 WPS 修改措辞和版头。

    \b
    示例：
      xlflow reports --root 2019年支部建设
      xlflow reports --root 2019年支部建设 --force
    """
    import datetime as dt

    from xlflow.documents import DRAFTS
    from xlflow.outputs import current_results
    from xlflow.reports import write_reports

    ws = Workspace(root)
    _need_ledger(ws)
    today = dt.date.today()
    results = current_results(ws, today)
    from tqdm import tqdm

    with tqdm(desc="生成文书", unit="份", disable=None) as bar:
        def tick(n: int, total: int) -> None:
            bar.total = total
            bar.update(n)
        run = write_reports(results, ws.templates, ws.reports, workers, tick,
                            today=today, force=force)
    removed = f"，删除不再适用的 {len(run.removed)} 份" if run.removed else ""
    if any(p.parent.name == DRAFTS for p in [*run.written, *run.skipped]):
        click.echo(f"学院党委尚未作出认定决定：表彰决定只生成了草稿（{DRAFTS}/，无发文字号），证书暂不生成。"
                   "党委会议决定后，把认定工作簿（xlflow review 生成）填好放入 inbox/ 即生成正式文书。")
    click.echo(f"文书已生成：新生成 {len(run.written)} 份，未变化 {len(run.skipped)} 份{removed}；位置：{ws.reports.resolve()}")
    for p in run.locked:
        click.secho(M.CLI_DOCUMENT_OPEN.format(path=p), fg="yellow")
