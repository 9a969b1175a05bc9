"""The command line as a clerk meets it: Chinese help with examples, init/templates/ingest/status on real
files and a real SQLite ledger, clear errors (exit code 2, no traceback), and real `python -m xlflow` runs."""

from __future__ import annotations

import importlib.metadata
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from xlflow import constants as K
from xlflow.cli import main
from xlflow.files import safe_filename
from xlflow.roster import generals, load_roster
from xlflow.workbook import handout_path
from xlflow.workspace import Workspace, init_workspace

from helpers import fill_workbook, write_roster

CJK = re.compile(r"[\u4e00-\u9fff]")


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, [str(a) for a in args], prog_name="xlflow")
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def xlflow(*args, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    """A real process, as the clerk starts it."""
    return subprocess.run([sys.executable, "-m", "xlflow", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)


@pytest.fixture
def small(tmp_path) -> Workspace:
    """A working folder made by `xlflow init`, its roster cut to 5 branches under 2 党总支."""
    root = tmp_path / "2019年支部建设"
    run("init", root)
    ws = Workspace(root)
    full = load_roster(ws.roster_path)
    first, last = generals(full)[0], generals(full)[-1]
    write_roster(ws.roster_path, [b for b in full if b.general == first][:3] + [b for b in full if b.general == last][:2])
    return ws


@pytest.fixture
def handed_out(small) -> Workspace:
    run("templates", "--root", small.root)
    return small


def fill(ws: Workspace, branch, name: str | None = None, mistakes=frozenset(), seed: int = 7) -> Path:
    """The branch secretary fills the workbook handed out and a clerk drops it into the inbox."""
    dest = ws.inbox / (name or f"{branch.name}.xlsx")
    fill_workbook(handout_path(ws.handout, branch), dest, branch, ws.campaign(), seed,
                  frozenset(mistakes))
    return dest


# ---- help --------------------------------------------------------------------------------------

def _assert_chinese_help(text: str) -> None:
    assert CJK.search(text)
    assert "示例" in text
    assert "用法：" in text and "选项" in text
    for english in ("Usage:", "Options:", "Commands:", "Show this message", "Show the version", "[default"):
        assert english not in text


def test_main_help_is_chinese_with_examples():
    for flag in ("--help", "-h"):
        out = run(flag).output
        _assert_chinese_help(out)
        assert "命令" in out
        for name in main.commands:
            assert f"  {name} " in out  # every command listed


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_help_is_chinese_with_an_example(command):
    out = run(command, "--help").output
    _assert_chinese_help(out)
    assert f"xlflow {command}" in out.split("示例", 1)[1]  # the example shows the command itself
    doc_first_line = main.commands[command].help.strip().splitlines()[0]
    assert doc_first_line in out
    assert run(command, "-h").output == out


def test_version_in_a_real_process(tmp_path):
    p = xlflow("--version", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"xlflow {importlib.metadata.version('xlflow')}"


# ---- init --------------------------------------------------------------------------------------

def test_init_lays_out_a_working_folder(tmp_path):
    root = tmp_path / "2019年支部建设"
    out = run("init", root).output
    for rel in ("xlflow.toml", "templates/checklist.yaml", "templates/branches.xlsx"):
        assert (root / rel).is_file(), rel
        assert f"新建 {Path(rel)}" in out
    for rel in ("inbox", "inbox/accepted", "inbox/rejected", "inbox/duplicates", "outbox"):
        assert (root / rel).is_dir(), rel
    assert f"工作目录已就绪：{root.resolve()}" in out
    assert "xlflow templates --root" in out  # tells the clerk what to do next
    assert Workspace(root).checklist() and Workspace(root).roster()  # what it copied is usable


def test_init_never_overwrites_an_existing_file(tmp_path):
    root = tmp_path / "ws"
    run("init", root)
    toml, checklist, roster = root / "xlflow.toml", root / "templates/checklist.yaml", root / "templates/branches.xlsx"
    toml.write_text(toml.read_text(encoding="utf-8").replace("year = 2019 ", "year = 2020 "), encoding="utf-8")
    checklist.write_text(checklist.read_text(encoding="utf-8") + "\n# 组织部 2019-10 修改\n", encoding="utf-8")
    full = load_roster(roster)
    write_roster(roster, full[:2])
    before = {p: p.read_bytes() for p in (toml, checklist, roster)}
    (root / "inbox" / "某支部.xlsx").write_bytes(b"returned")

    out = run("init", root).output
    assert "新建" not in out
    assert {p: p.read_bytes() for p in before} == before
    assert (root / "inbox" / "某支部.xlsx").read_bytes() == b"returned"
    assert Workspace(root).settings().year == 2020 and len(Workspace(root).roster()) == 2


def test_init_fills_in_only_what_is_missing(tmp_path):
    ws, _ = init_workspace(tmp_path / "ws")
    ws.checklist_path.unlink()
    out = run("init", ws.root).output
    assert f"新建 {Path('templates', 'checklist.yaml')}" in out
    assert out.count("新建") == 1


# ---- templates ---------------------------------------------------------------------------------

def test_templates_one_workbook_per_branch_and_one_zip_per_general(small):
    branches = small.roster()
    out = run("templates", "--root", small.root).output
    names = generals(branches)
    assert f"已生成 {len(branches)} 份填报表（{len(names)} 个党总支）" in out
    assert str(small.handout.resolve()) in out

    for b in branches:
        path = small.handout / safe_filename(b.general) / safe_filename(f"{b.code}_{b.name}.xlsx")
        assert path.is_file()
        assert load_workbook(path, read_only=True).sheetnames  # a real workbook
    workbooks = sorted(p.relative_to(small.handout) for p in small.handout.rglob("*.xlsx"))
    assert len(workbooks) == len(branches)

    zips = sorted(small.handout.glob("*.zip"))
    assert [z.name for z in zips] == sorted(safe_filename(f"{g}.zip") for g in names)
    for g in names:
        z = small.handout / safe_filename(f"{g}.zip")
        count = sum(b.general == g for b in branches)
        assert f"  {z.name}（{count} 份）" in out  # where the zips are, and what is in each
        with zipfile.ZipFile(z) as zf:
            inside = sorted(zf.namelist())
        assert inside == sorted(f"{safe_filename(g)}/{p.name}" for p in (small.handout / safe_filename(g)).glob("*.xlsx"))
        assert len(inside) == count


def test_broken_checklist_exits_2_with_the_chinese_message(handed_out):
    ws = handed_out
    returned = fill(ws, ws.roster()[0])
    ws.checklist_path.write_text("version: '2019.1'\ntitle: [未闭合\n", encoding="utf-8")
    for command in ("templates", "ingest"):
        result = run(command, "--root", ws.root, ok=False)
        assert result.exit_code == 2
        assert result.stderr == "错误：指标清单“checklist.yaml”第 3 行附近格式有误（缩进、冒号或引号），无法读取。\n"
        assert isinstance(result.exception, SystemExit)  # not a traceback
    assert returned.is_file()  # the return waits in the inbox for the fixed checklist
    assert "本次处理未完成：指标清单“checklist.yaml”第 3 行附近格式有误" in ws.log.read_text(encoding="utf-8")


def test_broken_roster_exits_2_with_the_chinese_message_in_a_real_process(small):
    full = small.roster()
    write_roster(small.roster_path, [full[0], full[1], full[0]])  # a code twice
    p = xlflow("templates", "--root", small.root, cwd=small.root.parent)
    assert p.returncode == 2
    assert p.stderr.strip() == f"错误：{K.ROSTER_SHEET} 第 4 行：支部编码“{full[0].code}”与第 2 行重复。"
    assert "Traceback" not in p.stdout + p.stderr
    assert not small.handout.exists() or not any(small.handout.rglob("*.xlsx"))

    p = xlflow("status", "--root", small.root, cwd=small.root.parent)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "与第 2 行重复" in p.stderr


def test_a_roster_without_a_required_column(small):
    wb = Workbook()
    wb.active.title = K.ROSTER_SHEET
    wb.active.append(["支部名称", "所属总支"])
    wb.save(small.roster_path)
    result = run("templates", "--root", small.root, ok=False)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"错误：{K.ROSTER_SHEET} 第 1 行：缺少“支部编码”列")


def test_a_mistyped_root_is_not_created(tmp_path):
    for command in ("templates", "ingest", "status", "watch"):
        result = run(command, "--root", tmp_path / "2019年支部建没", ok=False)
        assert result.exit_code == 2
        assert result.stderr == (f"错误：找不到工作目录“{tmp_path / '2019年支部建没'}”。请用 --root 指定已有的工作目录，"
                                 f"或先运行 xlflow init {tmp_path / '2019年支部建没'} 建立一个。\n")
    assert not (tmp_path / "2019年支部建没").exists()


def test_a_broken_settings_file_exits_2(small):
    toml = small.root / "xlflow.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("year = 2019 ", 'year = "2019" '), encoding="utf-8")
    result = run("templates", "--root", small.root, ok=False)
    assert result.exit_code == 2
    assert result.stderr == "错误：设置文件“xlflow.toml”有问题：\n设置项“year”的值“2019”类型不对，应为整数。\n"


# ---- ingest and status -------------------------------------------------------------------------

def test_ingest_on_an_empty_inbox(small):
    out = run("ingest", "--root", small.root).output
    assert out == "收件箱中没有待处理的文件。\n"
    assert not small.ledger.exists()


def test_status_before_anything_was_ingested_says_so_and_creates_nothing(small):
    out = run("status", "--root", small.root).output
    assert out.startswith("还没有处理过任何交回的填报表（台账 xlflow.db 尚未建立）。")
    assert "合计" in out
    assert not small.ledger.exists()
    assert not list(small.root.glob("xlflow.db*"))


def test_ingest_then_status(handed_out):
    ws = handed_out
    branches = ws.roster()
    good, bad = branches[0], branches[1]
    fill(ws, good)
    fill(ws, bad, mistakes={"missing_rating"})
    (ws.inbox / "~$临时.xlsx").write_bytes(b"\x00" * 165)  # Excel's own lock file: left alone

    out = run("ingest", "--root", ws.root).output
    assert f"接收  {good.name}.xlsx" in out
    assert re.search(rf"退回  {re.escape(bad.name)}\.xlsx：自评表!F\d+（指标 \w+ [^）]+）：“自评等次”没有填写。请补填。  → 退回说明：", out)
    assert "合计：接收 1 份，退回 1 份，重复 0 份；退回说明在 outbox/feedback/，请发回相应支部。" in out
    assert [p.name for p in ws.inbox.iterdir() if p.is_file()] == ["~$临时.xlsx"]
    assert len(list(ws.accepted.iterdir())) == 1 and len(list(ws.rejected.iterdir())) == 1
    assert len(list(ws.feedback.glob("*.xlsx"))) == 1
    assert "收件箱中没有待处理的文件" not in out

    status = run("status", "--root", ws.root).output
    lines = status.splitlines()
    assert lines[0].split() == ["党总支", "应报", "已收", "退回待改", "未报", "初验", "待复验", "整改中", "待认定", "认定达标"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:] if len(line.split()) == 10}
    first, last = generals(branches)
    # the campaign's 初验 deadline (2019-12-10) is long past on the machine's clock: the 初验 is overdue
    assert rows[first] == ["3", "1", "1", "1", "逾期", "0", "0", "0", "0"]
    assert rows[last] == ["2", "0", "0", "2", "未交", "0", "0", "0", "0"]
    assert rows["合计"] == ["5", "1", "1", "3", "0/2", "0", "0", "0", "0"]
    missing = [b.name for b in branches if b not in (good, bad)]
    assert f"{first} 退回待改（已报送但被退回，待修改后重新报送）：{bad.name}" in status
    assert f"{first} 未报：{missing[0]}" in status
    assert f"{last} 未报：{'、'.join(missing[1:])}" in status
    assert f"{first} 初验逾期：{good.name}" in status

    # the same file again: a duplicate, and the counts do not move
    (ws.inbox / "再交一次.xlsx").write_bytes(next(ws.accepted.iterdir()).read_bytes())
    assert "重复  再交一次.xlsx" in run("ingest", "--root", ws.root).output
    assert run("status", "--root", ws.root).output == status

    log = ws.log.read_text(encoding="utf-8")
    assert f"{good.name}.xlsx" in log and f"{bad.name}.xlsx" in log and "再交一次.xlsx" in log


def test_status_lists_a_file_that_could_not_be_tied_to_a_branch(handed_out):
    (handed_out.inbox / "机电学院支部材料.xlsx").write_text("<html><table></table></html>", encoding="utf-8")
    out = run("ingest", "--root", handed_out.root).output
    assert "退回  机电学院支部材料.xlsx" in out
    assert "无法识别支部的退回文件：机电学院支部材料.xlsx：" in run("status", "--root", handed_out.root).output


def test_ingest_and_status_in_real_processes(handed_out):
    ws = handed_out
    b = ws.roster()[-1]
    fill(ws, b, name="保卫处 填报表（终稿）.xlsx")
    p = xlflow("ingest", "--root", ws.root, cwd=ws.root.parent)
    assert p.returncode == 0, p.stderr
    assert "接收  保卫处 填报表（终稿）.xlsx" in p.stdout
    p = xlflow("status", cwd=ws.root)  # --root defaults to the current folder
    assert p.returncode == 0, p.stderr
    assert f"初验逾期：{b.name}" in p.stdout and "合计" in p.stdout


def test_watch_rejects_a_zero_interval(small):
    result = run("watch", "--root", small.root, "--every", "0", ok=False)
    assert result.exit_code == 2
    assert result.stderr == "错误：--every 应为不小于 1 的整数（现为 0）。\n"


# ---- demo --------------------------------------------------------------------------------------

def test_demo_end_to_end_in_a_real_process(demo, tmp_path):
    root, p = demo
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    assert p.stdout.splitlines()[0] == f"演示工作目录：{root.resolve()}"
    assert f"演示完成。输出目录：{(root / 'outbox').resolve()}" in p.stdout
    ws = Workspace(root)
    assert ws.ledger.is_file()
    assert len(list(ws.handout.glob("*.zip"))) == len(generals(ws.roster()))
    assert any(ws.accepted.iterdir()) and any(ws.rejected.iterdir()) and any(ws.duplicates.iterdir())
    assert any(ws.feedback.glob("*.xlsx"))
    # what the demo left is a normal working folder: the clerk's commands work on it
    status = xlflow("status", "--root", root, cwd=tmp_path)
    assert status.returncode == 0 and "合计" in status.stdout


def test_the_wheel_ships_the_default_templates(tmp_path):
    """`pip install .` (the README's first command) must carry the checklist, the roster and the
    Word templates, or `xlflow init` and `xlflow demo` fail on a clerk's machine."""
    import shutil

    root = Path(__file__).resolve().parent.parent
    source = tmp_path / "source"  # pip builds in the tree it is given: a copy, so the clone stays clean
    shutil.copytree(root, source, ignore=shutil.ignore_patterns(".*", "__pycache__", "*.egg-info", "build"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path), str(source)], check=True, capture_output=True)  # setuptools: a test extra
    (wheel,) = tmp_path.glob("xlflow-*.whl")
    shipped = {Path(n).name for n in zipfile.ZipFile(wheel).namelist() if n.startswith("xlflow/defaults/")}
    expected = {p.name for p in (root / "templates").iterdir() if p.suffix in (".yaml", ".xlsx", ".docx")}
    assert expected and shipped == expected
    # installed (not editable), xlflow finds them there
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    found = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                            "from xlflow.workspace import defaults_dir; print(defaults_dir())", str(site)],
                           check=True, capture_output=True, text=True, cwd=tmp_path).stdout.strip()
    assert Path(found) == site / "xlflow" / "defaults" and (Path(found) / "checklist.yaml").is_file()


@pytest.mark.parametrize("command", ["master", "reports", "review"])
def test_outputs_before_anything_was_ingested_say_so(small, command):
    result = run(command, "--root", small.root, ok=False)
    assert result.exit_code == 2
    assert result.output.strip() == (f"错误：还没有台账（xlflow.db）：请先把各支部交回的填报表放入 inbox/，"
                                     f"运行 xlflow ingest --root {small.root} 后再试。")
    assert not small.ledger.exists()


def test_ingest_updates_the_master_and_the_documents(handed_out):
    ws = handed_out
    branch = load_roster(ws.roster_path)[0]
    fill(ws, branch)
    result = run("ingest", "--root", ws.root)
    assert f"汇总表已更新：{ws.master}" in result.output
    assert "文书已更新" in result.output
    scores = load_workbook(ws.master, data_only=True)[K.MASTER_SCORES]
    assert [r[0] for r in scores.iter_rows(min_row=3, values_only=True) if r[0]] == [branch.code]
    assert any(branch.code in p.name for p in ws.reports.rglob("*.docx"))
    again = run("ingest", "--root", ws.root)  # nothing new: nothing rebuilt
    assert "汇总表已更新" not in again.output and "收件箱中没有待处理的文件。" in again.output


# ---- outside a working folder, usage errors, quoting (issue 10 items 8–10) -------------------------

OUTSIDE = ("{where}“{root}”不是 xlflow 的工作目录（其中没有 xlflow.toml，也没有 templates/checklist.yaml），"
           "未做任何处理。请用 --root 指定工作目录，例如 xlflow {command} --root 2019年支部建设；"
           "或先运行 xlflow init {quoted} 把它建成工作目录。\n")
FOLDER_COMMANDS = sorted(set(main.commands) - {"init", "demo"})


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_outside_a_working_folder_every_command_says_so_and_creates_nothing(tmp_path, monkeypatch, command):
    desk = tmp_path / "桌面"
    desk.mkdir()
    (desk / "一支部.xlsx").write_bytes(b"PK")  # a clerk's file lying there is not touched either
    monkeypatch.chdir(desk)
    here = run(command, ok=False)
    assert here.exit_code == 2 and here.stdout == ""
    assert here.stderr == "错误：" + OUTSIDE.format(where="当前目录", root=desk, command=command, quoted=desk)
    elsewhere = run(command, "--root", "../桌面", ok=False)
    assert elsewhere.exit_code == 2
    assert elsewhere.stderr == "错误：" + OUTSIDE.format(where="目录", root=desk, command=command, quoted="../桌面")
    assert [p.name for p in desk.iterdir()] == ["一支部.xlsx"]  # no xlflow.lock, xlflow.log, inbox/, outbox/


def test_outside_a_working_folder_in_a_real_process(tmp_path):
    p = xlflow("ingest", cwd=tmp_path)
    assert p.returncode == 2 and p.stdout == "" and "Traceback" not in p.stderr
    assert p.stderr == "错误：" + OUTSIDE.format(where="当前目录", root=tmp_path, command="ingest", quoted=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_mistyped_root_with_a_space_is_quoted_in_the_hint(tmp_path):
    result = run("watch", "--root", tmp_path / "2019年 支部建设", ok=False)
    assert result.exit_code == 2
    assert result.stderr == (f"错误：找不到工作目录“{tmp_path / '2019年 支部建设'}”。请用 --root 指定已有的工作目录，"
                             f"或先运行 xlflow init \"{tmp_path / '2019年 支部建设'}\" 建立一个。\n")
    assert list(tmp_path.iterdir()) == []


USAGE = "用法：{prog} [选项]{args}\n用法说明请运行：{prog} --help\n\n错误：{error}\n"


@pytest.mark.parametrize("args, command, usage_args, error", [
    (["statu"], "", " 命令 [参数]...", "没有“statu”这个命令。是不是要用 xlflow status？全部命令见 xlflow -h。"),
    (["bogus"], "", " 命令 [参数]...", "没有“bogus”这个命令。全部命令见 xlflow -h。"),
    (["init"], "init", " 目录", "缺少参数“目录”。"),
    (["init", "2019年", "支部建设"], "init", " 目录",
     "多出了参数：支部建设（名字中有空格的目录请加英文双引号）"),
    (["watch", "--every", "abc"], "watch", "", "--every 的取值有误：“abc”不是整数。"),
    (["templates", "--workers", "两个"], "templates", "", "--workers 的取值有误：“两个”不是整数。"),
    (["status", "--colour"], "status", "", "没有“--colour”这个选项。"),
])
def test_usage_errors_are_chinese(args, command, usage_args, error):
    result = run(*args, ok=False)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == USAGE.format(prog=f"xlflow {command}".strip(), args=usage_args, error=error)


def test_a_root_that_is_a_file_is_a_chinese_usage_error(tmp_path):
    (tmp_path / "名册.xlsx").write_bytes(b"")
    result = run("status", "--root", tmp_path / "名册.xlsx", ok=False)
    assert result.exit_code == 2
    assert result.stderr.endswith(f"错误：--root 的取值有误：“{tmp_path / '名册.xlsx'}”是一个文件，这里要填目录。\n")


def test_an_option_without_its_value_is_a_chinese_usage_error(small):
    result = run("watch", "--root", small.root, "--every", ok=False)
    assert result.exit_code == 2
    assert result.stderr.endswith("错误：选项 --every 后面要跟一个值。\n")


@pytest.mark.parametrize("command", [None, *sorted(main.commands)])
def test_help_has_no_english_metavar_or_heading(command):
    out = run(*([command, "-h"] if command else ["-h"])).output
    for english in ("DIRECTORY", "PATH", "INTEGER", "TEXT", "Usage", "Options", "Commands", "选项:", "命令:"):
        assert english not in out, english
    if command == "demo":
        assert "--dir 目录" in out


def test_init_hint_quotes_a_folder_name_with_a_space(tmp_path, monkeypatch):
    import shlex

    monkeypatch.chdir(tmp_path)
    out = run("init", "2019年 支部建设").output
    hint = out.splitlines()[-1]
    assert hint.endswith('然后运行 xlflow templates --root "2019年 支部建设"')
    command = hint.split("然后运行 ", 1)[1]
    assert shlex.split(command) == ["xlflow", "templates", "--root", "2019年 支部建设"]  # as a shell reads it
    assert run(*shlex.split(command)[1:]).exit_code == 0  # and the hint works


# ---- every finding, files still arriving (issue 10 item 11) ------------------------------------------

def test_ingest_shows_every_finding_of_a_file(handed_out):
    ws = handed_out
    bad = ws.roster()[1]
    fill(ws, bad, mistakes={"missing_rating", "bad_choice"})
    out = run("ingest", "--root", ws.root).output.splitlines()
    conn = sqlite3.connect(ws.ledger)
    messages = [m for (m,) in conn.execute("SELECT message FROM findings ORDER BY rowid")]
    conn.close()
    assert len(messages) >= 2
    head = next(i for i, line in enumerate(out) if line.startswith(f"退回  {bad.name}.xlsx："))
    shown = [out[head].split("：", 1)[1].split("  → ")[0]] + [line.split(". ", 1)[1] for line in out[head + 1:]
                                                                if re.match(r" {4}\d+\. ", line)]
    assert sorted(shown) == sorted(messages)
    assert out[head + 1].startswith("    2. ")


def test_status_mentions_files_waiting_in_the_inbox(handed_out):
    ws = handed_out
    fill(ws, ws.roster()[0], name="一支部.xlsx")
    (ws.inbox / "二支部.xlsx.crdownload").write_bytes(b"PK\x03\x04")
    (ws.inbox / "~$一支部.xlsx").write_bytes(b"\x00" * 165)  # Excel's owner file is no submission
    out = run("status", "--root", ws.root).output.splitlines()
    assert out[-2:] == [
        "收件箱中有 1 份文件等待处理（运行 xlflow ingest，或开着 xlflow watch 即可）：一支部.xlsx",
        "尚未复制或下载完整的文件 1 份（完成后才会处理；若长时间不变，请重新复制）：二支部.xlsx.crdownload"]
    run("ingest", "--root", ws.root)
    out = run("status", "--root", ws.root).output
    assert "等待处理" not in out and "尚未复制或下载完整的文件 1 份" in out


# ---- Windows (issue 10 item 12) -------------------------------------------------------------------

POSIX_MODULES = {"fcntl", "resource", "pwd", "grp", "termios", "tty", "pty", "posix"}
POSIX_CALLS = {"fork", "forkpty", "kill", "killpg", "getpgid", "setsid", "setpgrp", "getuid", "geteuid", "getgid",
               "chown", "lchown", "mkfifo", "symlink", "link", "nice", "wait", "waitpid", "sync", "uname"}


def test_the_package_makes_no_posix_only_calls():
    """The clerks run Windows: no module of xlflow imports a POSIX-only module or calls os.<POSIX-only>."""
    import ast

    found = []
    for path in sorted((Path(__file__).resolve().parent.parent / "xlflow").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}: import {n}" for n in names if n.split(".")[0] in POSIX_MODULES]
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
                    and node.attr in POSIX_CALLS):
                found.append(f"{path.name}:{node.lineno}: os.{node.attr}")
    assert found == []
