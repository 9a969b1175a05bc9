"""The edge that runs for weeks: the watch loop (schedule), its log file, the single-watcher lock, Ctrl-C.

Real files, a real ledger, real sleeping (every=1): the loop runs in a thread or in a real process.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlflow import watch as watching
from xlflow.cli import main
from xlflow.errors import XlflowError
from xlflow.outputs import outputs_stale
from xlflow.roster import generals, load_roster
from xlflow.watch import Poller, acquire, session, watch
from xlflow.workbook import handout_path, write_handout
from xlflow.workspace import Workspace, init_workspace

from helpers import fill_workbook, wait_for, write_roster

BUSY = "已有一个 xlflow 正在处理收件箱（xlflow watch 或 xlflow ingest），请等它结束，或先关闭它。"


@pytest.fixture
def ws(tmp_path) -> Workspace:
    """A working folder with a 3-branch roster and its workbooks handed out."""
    ws, _ = init_workspace(tmp_path / "2019年支部建设")
    full = load_roster(ws.roster_path)
    write_roster(ws.roster_path, [b for b in full if b.general == generals(full)[0]][:3])
    write_handout(ws.campaign(), ws.handout, workers=1)
    return ws


def filled(ws: Workspace, index: int, name: str | None = None, mistakes=frozenset(), where: Path | None = None) -> Path:
    """A branch's filled return, written outside the inbox (as on the clerk's desktop)."""
    b = ws.roster()[index]
    dest = (where or ws.root.parent / "desktop") / (name or f"{b.name}.xlsx")
    fill_workbook(handout_path(ws.handout, b), dest, b, ws.campaign(), 11 + index, frozenset(mistakes))
    return dest


def drop(path: Path, ws: Workspace) -> Path:
    """The clerk drags the file into the inbox."""
    dest = ws.inbox / path.name
    dest.write_bytes(path.read_bytes())
    return dest


def query(ws: Workspace, sql: str) -> list[tuple]:
    """Read the ledger while the watcher may be writing it (not there yet: no rows)."""
    if not ws.ledger.exists():
        return []
    conn = sqlite3.connect(f"{ws.ledger.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError as exc:  # the watcher has only just created the file
        if "no such table" in str(exc):
            return []
        raise
    finally:
        conn.close()


def current_returns(ws: Workspace) -> set[str]:
    return {r[0] for r in query(ws, "SELECT branch_code FROM returns WHERE current = 1")}


def outcomes(ws: Workspace) -> dict[str, str]:
    return dict(query(ws, "SELECT original_name, outcome FROM files"))


def log_text(ws: Workspace) -> str:
    return ws.log.read_text(encoding="utf-8") if ws.log.exists() else ""


class Watcher(threading.Thread):
    """watch() in a thread, the way `xlflow watch` runs it (lock and log file held); stop() ends the
    loop at its next tick, so a test ends as soon as what it waits for has happened."""

    def __init__(self, ws: Workspace, quiet: float | None = None):
        super().__init__(daemon=True)
        self.ws, self.results, self.errors, self.waiting, self.quiet = ws, [], [], [], quiet
        self.stopping = threading.Event()

    def run(self):
        with session(self.ws):
            watch(self.ws, 1, on_result=self.results.append, on_error=self.errors.append,
                  on_waiting=lambda *names: self.waiting.append(names), stop=self.stopping.is_set, quiet=self.quiet)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)
        assert not self.is_alive()


# ---- the loop ------------------------------------------------------------------------------------

def test_a_file_dropped_while_watching_is_taken_in(ws):
    b = ws.roster()[0]
    ready = filled(ws, 0)
    w = Watcher(ws)
    w.start()
    wait_for(lambda: "开始监视收件箱" in log_text(ws), what="the watcher to start")
    drop(ready, ws)
    wait_for(lambda: b.code in current_returns(ws), what="the return in the ledger")
    w.stop()

    assert [p.name for p in ws.inbox.iterdir() if p.is_file()] == []
    (kept,) = ws.accepted.iterdir()
    assert kept.name.endswith(ready.name) and kept.read_bytes() == ready.read_bytes()
    assert outcomes(ws) == {ready.name: "accepted"}
    assert [o.outcome for r in w.results for o in r.outcomes] == ["accepted"]
    log = log_text(ws)
    assert f"INFO {ready.name}：接收\n" in log  # the outcome in Chinese, no empty （）
    assert w.waiting == [([ready.name], [])]  # said once, as soon as the copy was seen
    assert "本次处理完毕：接收 1 份，退回 0 份，重复 0 份" in log
    assert log.rstrip().endswith("停止监视收件箱")


def test_a_burst_of_returns_costs_one_rebuild_once_the_inbox_is_quiet(ws, monkeypatch):
    rebuilds, real = [], watching.rebuild_outputs  # the branches in the ledger at each rebuild
    monkeypatch.setattr(watching, "rebuild_outputs", lambda *args: rebuilds.append(current_returns(ws)) or real(*args))
    returns = [filled(ws, i) for i in range(3)]
    w = Watcher(ws, quiet=4)
    w.start()
    wait_for(lambda: "开始监视收件箱" in log_text(ws), what="the watcher to start")
    for n, ready in enumerate(returns, start=1):  # one after another: each taken by a pass of its own
        drop(ready, ws)
        wait_for(lambda: len(outcomes(ws)) == n, what=f"return {n} in the ledger")
    wait_for(lambda: rebuilds and not outputs_stale(ws), timeout=60, what="the outputs rebuilt")
    w.stop()

    assert [len(r.outcomes) for r in w.results if r.outcomes] == [1, 1, 1]
    assert rebuilds == [{b.code for b in ws.roster()}]  # once, after the last return
    [rebuilt] = [r.rebuilt for r in w.results if r.rebuilt is not None]
    assert sorted(br.branch.code for br in rebuilt.results.branches) == sorted(b.code for b in ws.roster())
    assert ws.master.exists() and "收件箱安静 4 秒后更新汇总表和文书" in log_text(ws)


def test_a_partial_download_is_mentioned_and_taken_once_complete(ws):
    ready = filled(ws, 0)
    w = Watcher(ws)
    w.start()
    wait_for(lambda: "开始监视收件箱" in log_text(ws), what="the watcher to start")
    partial = ws.inbox / f"{ready.name}.crdownload"  # the browser is still downloading it
    partial.write_bytes(ready.read_bytes()[:1000])
    wait_for(lambda: w.waiting, what="the partial download to be mentioned")
    assert w.waiting == [([], [partial.name])]
    assert f"等待文件复制完成：{partial.name}" in log_text(ws) and not outcomes(ws)
    partial.write_bytes(ready.read_bytes())
    partial.rename(ws.inbox / ready.name)  # the download ends
    wait_for(lambda: outcomes(ws) == {ready.name: "accepted"}, what="the completed file to be taken")
    w.stop()
    assert w.waiting == [([], [partial.name]), ([ready.name], [])]  # each said once, not once per poll


def test_a_failing_pass_is_logged_and_the_loop_goes_on(ws, monkeypatch):
    passes, real = [], watching.run_pass
    monkeypatch.setattr(watching, "run_pass", lambda *args: passes.append(1) or real(*args))
    b = ws.roster()[1]
    ready = filled(ws, 1)
    good = ws.checklist_path.read_text(encoding="utf-8")
    ws.checklist_path.write_text(good.replace("categories:", "categories: [", 1), encoding="utf-8")
    w = Watcher(ws)
    w.start()
    returned = drop(ready, ws)
    wait_for(lambda: "本次处理未完成" in log_text(ws), what="the failed pass in the log")
    assert returned.is_file() and not current_returns(ws)  # nothing taken, nothing lost
    wait_for(lambda: len(passes) >= 3, what="more polls failing the same way while the checklist stays broken")
    assert w.is_alive()

    fixed = ws.checklist_path.with_name("checklist.yaml.saving")  # the clerk's editor saves the fixed checklist
    fixed.write_text(good, encoding="utf-8")  # (whole, as editors do: a poll never reads it half-written)
    fixed.replace(ws.checklist_path)
    wait_for(lambda: b.code in current_returns(ws), what="the return once the checklist is fixed")
    wait_for(lambda: "已恢复正常处理。" in log_text(ws), what="the recovery in the log")
    w.stop()

    log = log_text(ws)
    assert log.count("ERROR 本次处理未完成：指标清单“checklist.yaml”") == 1  # once, not once per poll
    assert "已恢复正常处理。" in log
    assert log.index("本次处理未完成") < log.index("本次处理完毕：接收 1 份") < log.index("已恢复正常处理。")
    assert len(w.errors) == 1 and w.errors[0].startswith("本次处理未完成：指标清单“checklist.yaml”")
    assert not returned.exists() and outcomes(ws) == {returned.name: "accepted"}


def test_an_unexpected_exception_is_logged_with_its_traceback_and_retried(ws, monkeypatch):
    real = watching.run_pass
    calls = []

    def flaky(*args):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("磁盘暂时不可用")
        return real(*args)

    monkeypatch.setattr(watching, "run_pass", flaky)
    returned = drop(filled(ws, 2), ws)
    handler = watching.setup_logging(ws)
    try:
        poller = Poller(ws)
        poller.safe_poll()  # first look
        poller.safe_poll()  # settled: the pass raises
        assert returned.is_file()
        poller.safe_poll()  # tried again
    finally:
        watching.teardown_logging(handler)
    assert len(calls) == 2 and not returned.exists()
    log = log_text(ws)
    from xlflow.messages import UNEXPECTED  # Chinese for the clerk (issue 12), the traceback below it

    assert f"ERROR 本次处理出错，下次将重试：{UNEXPECTED.format(kind='RuntimeError', log=ws.root / 'xlflow.log')}" in log
    assert "Traceback" in log and "已恢复正常处理。" in log


def test_the_log_records_each_outcome(ws):
    good = filled(ws, 0)
    bad = filled(ws, 1, mistakes={"missing_rating"})
    drop(good, ws)
    drop(bad, ws)
    (ws.inbox / "副本.xlsx").write_bytes(good.read_bytes())
    w = Watcher(ws)  # all three are there from the start: one pass takes them
    w.start()
    wait_for(lambda: len(outcomes(ws)) == 3, what="three outcomes")
    wait_for(lambda: "本次处理完毕" in log_text(ws), what="the pass to end")
    w.stop()
    log = log_text(ws).splitlines()
    for name in (good.name, bad.name, "副本.xlsx"):
        assert sum(f"INFO {name}：" in line for line in log) == 1, name
    assert any("本次处理完毕：接收 1 份，退回 1 份，重复 1 份" in line for line in log)
    taken = outcomes(ws)
    assert taken[bad.name] == "rejected"
    assert sorted([taken[good.name], taken["副本.xlsx"]]) == ["accepted", "duplicate"]  # one of the two copies


def test_each_working_folder_logs_to_its_own_file(ws, tmp_path):
    other, _ = init_workspace(tmp_path / "另一个工作目录")
    (other.inbox / "网页.xlsx").write_text("<html></html>", encoding="utf-8")
    drop(filled(ws, 0), ws)
    for root in (ws.root, other.root):
        assert CliRunner().invoke(main, ["ingest", "--root", str(root)]).exit_code == 0
    assert "网页.xlsx" in log_text(other) and "网页.xlsx" not in log_text(ws)
    assert ws.roster()[0].name in log_text(ws) and ws.roster()[0].name not in log_text(other)
    assert not [h for h in watching.log.handlers if h.__class__.__name__ == "FileHandler"]  # nothing left open


def test_an_interval_below_one_second_is_refused_not_a_hang(ws):
    with pytest.raises(XlflowError, match="检查间隔应为不小于 1 的整数"):
        watch(ws, 0, stop_after=1)


# ---- one watcher per working folder ----------------------------------------------------------------

def test_a_second_watcher_or_ingest_is_refused_while_the_lock_is_held(ws):
    returned = drop(filled(ws, 0), ws)
    lk = acquire(ws)
    try:
        for args in (["ingest"], ["watch", "--every", "1"]):
            result = CliRunner().invoke(main, [*args, "--root", str(ws.root)])
            assert result.exit_code == 2, result.output
            assert result.stderr == f"错误：工作目录“{ws.root}”{BUSY}\n"
            assert result.stdout == ""
        assert returned.is_file()  # untouched
    finally:
        lk.release()
    result = CliRunner().invoke(main, ["ingest", "--root", str(ws.root)])
    assert result.exit_code == 0 and "接收" in result.output


def _start_watcher(root: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen([sys.executable, "-m", "xlflow", "watch", "--root", str(root), "--every", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", env=env)
    first = proc.stdout.readline()
    assert first.startswith("正在监视 "), first + proc.stderr.read()
    assert first.rstrip().endswith("每 1 秒检查一次；按 Ctrl-C 停止。")
    return proc


@pytest.mark.skipif(sys.platform == "win32", reason="sends a POSIX SIGINT")
def test_real_watcher_takes_a_file_holds_the_lock_and_stops_on_ctrl_c(ws):
    toml = ws.root / "xlflow.toml"  # the outputs once the inbox has been quiet for 1 s (default 5)
    toml.write_text(toml.read_text(encoding="utf-8").replace("quiet_seconds = 5", "quiet_seconds = 1"), encoding="utf-8")
    proc = _start_watcher(ws.root)
    try:
        returned = drop(filled(ws, 2), ws)
        wait_for(lambda: ws.roster()[2].code in current_returns(ws), what="the watcher to take the file")
        # the inbox then quiet for quiet_seconds: the outputs are rebuilt
        wait_for(lambda: not outputs_stale(ws), timeout=60, what="the outputs rebuilt")

        second = subprocess.run([sys.executable, "-m", "xlflow", "ingest", "--root", str(ws.root)],
                                capture_output=True, text=True, encoding="utf-8", timeout=60)
        assert second.returncode == 2
        assert second.stderr == f"错误：工作目录“{ws.root}”{BUSY}\n"
        assert "Traceback" not in second.stderr

        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert err == ""  # no traceback, no "Aborted!"
    lines = out.splitlines()
    assert lines[-1] == "已停止监视。"
    taken = next(i for i, line in enumerate(lines) if line.startswith("[") and line.endswith(f"接收  {returned.name}"))
    seen = next(i for i, line in enumerate(lines) if line.endswith(f"收到新文件，确认复制完成后（约 2 秒）处理：{returned.name}"))
    assert seen < taken  # the clerk is told at once what the watcher is waiting for
    assert not returned.exists()
    assert log_text(ws).rstrip().endswith("停止监视收件箱")

    # the lock went with the watcher: the folder can be processed again
    again = subprocess.run([sys.executable, "-m", "xlflow", "ingest", "--root", str(ws.root)],
                           capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert again.returncode == 0 and again.stdout == "收件箱中没有待处理的文件。\n"


@pytest.mark.skipif(sys.platform == "win32", reason="sends a POSIX SIGINT")
def test_ctrl_c_right_after_start(ws):
    proc = _start_watcher(ws.root)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.splitlines()[-1] == "已停止监视。" and err == ""
