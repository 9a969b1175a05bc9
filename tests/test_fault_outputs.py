"""Issue 12: after any crash the next run rebuilds the outputs, and leaves no temporary file.

Real `xlflow` processes are SIGKILLed (after their log says the pass is done, or at random points of
`ingest`, `master` and `reports`); one normal `xlflow ingest` afterwards must leave master.xlsx and
every document as a run without kills does, and no temporary file anywhere under outbox/."""

from __future__ import annotations

import datetime as dt

import random
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlflow import constants as K

from test_ingest import Campaign
from xlflow.ingest import candidates, run_pass



def xlflow(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "xlflow", *args, "--root", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return out


_CLOCK = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d|\d{8}-\d{6}")


def untimed(value):
    """A cell without the clock time of the run that wrote it (arrival times, stored names)."""
    if isinstance(value, dt.datetime):  # the master's 报送记录 holds real date-time cells
        return "<time>"
    return _CLOCK.sub("<time>", value) if isinstance(value, str) else value


def outputs(root: Path) -> dict[str, object]:
    """What the clerk files: every cell of the master and the text of every document."""
    out: dict[str, object] = {}
    master = root / "outbox" / "master.xlsx"
    if master.exists():
        wb = openpyxl.load_workbook(master)
        out["master.xlsx"] = {ws.title: [tuple(map(untimed, r)) for r in ws.iter_rows(values_only=True)] for ws in wb}
    for doc in sorted((root / "outbox" / "reports").rglob("*.docx")):
        with zipfile.ZipFile(doc) as z:
            out[doc.relative_to(root).as_posix()] = z.read("word/document.xml")
    return out


def temp_files(root: Path) -> list[str]:
    """Anything under outbox/ that is not an output a clerk should see."""
    found = []
    for p in (root / "outbox").rglob("*"):
        rel = p.relative_to(root / "outbox").as_posix()
        if p.is_file() and (p.suffix == ".tmp" or p.name.startswith("tmp") or ".xlflow-tmp" in rel):
            found.append(rel)
    return found


@pytest.fixture(scope="module")
def arrivals(tmp_path_factory) -> Path:
    """A working folder with four returns (three good, one bad) in inbox/, never processed."""
    camp = Campaign(tmp_path_factory.mktemp("outputs"))
    for i in range(3):
        camp.drop(camp.fill(camp.branch(i), f"{i + 1}支部.xlsx", seed=i))
    camp.drop(camp.fill(camp.branch(3), "4支部.xlsx", mistakes=("actual_gt_expected",)))
    return camp.ws.root


@pytest.fixture(scope="module")
def reference(arrivals, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("reference") / "work"
    shutil.copytree(arrivals, root)
    finish(xlflow(root, "ingest"))
    done = outputs(root)
    assert "master.xlsx" in done and len(done) > 5, sorted(done)
    return done


def same(got: dict, want: dict) -> None:
    assert sorted(got) == sorted(want)
    for key in want:
        if key == "master.xlsx":
            for sheet, rows in want[key].items():
                mine = got[key][sheet]
                if sheet == K.MASTER_LOG:  # files in the order they were recorded: a kill may change that order
                    mine, rows = sorted(mine, key=repr), sorted(rows, key=repr)
                diff = [(i, a, b) for i, (a, b) in enumerate(zip(mine, rows)) if a != b]
                assert not diff and len(got[key][sheet]) == len(rows), (sheet, diff[:3])
        else:
            assert got[key] == want[key], key


def copy(arrivals: Path, tmp_path: Path) -> Path:
    root = tmp_path / "work"
    shutil.copytree(arrivals, root)
    return root


def test_a_pass_that_died_before_the_outputs_is_completed_by_the_next_ingest(arrivals, reference, tmp_path):
    """Everything recorded and filed away, then the process died before the master and the
    documents: the next `xlflow ingest` (the inbox now empty) used to say 收件箱中没有待处理的文件
    and leave no master.xlsx and no document."""
    from xlflow.workspace import Workspace

    root = copy(arrivals, tmp_path)
    ws = Workspace(root)
    run_pass(ws, candidates(ws.inbox), __import__("datetime").datetime.now().replace(microsecond=0))
    assert not ws.master.exists() and not any(ws.reports.rglob("*.docx"))

    out = finish(xlflow(root, "ingest"))

    assert f"汇总表已更新：{ws.master}" in out and "文书已更新" in out
    same(outputs(root), reference)
    again = finish(xlflow(root, "ingest"))  # now all is up to date: nothing is rebuilt again
    assert "汇总表已更新" not in again and "收件箱中没有待处理的文件。" in again


def test_a_deleted_master_or_document_is_rebuilt_by_the_next_ingest(arrivals, reference, tmp_path):
    root = copy(arrivals, tmp_path)
    finish(xlflow(root, "ingest"))
    (root / "outbox" / "master.xlsx").unlink()
    next((root / "outbox" / "reports").rglob("*.docx")).unlink()
    finish(xlflow(root, "ingest"))
    same(outputs(root), reference)


def test_killed_right_after_the_log_says_done(arrivals, reference, tmp_path):
    """The audit's kill: just after 本次处理完毕 is logged, while the outputs are being written."""
    root = copy(arrivals, tmp_path)
    proc = xlflow(root, "ingest")
    log = root / "xlflow.log"
    deadline = time.monotonic() + 120
    while not (log.exists() and "本次处理完毕" in log.read_text(encoding="utf-8")):
        assert proc.poll() is None and time.monotonic() < deadline, "the pass ended before it was killed"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    finish(xlflow(root, "ingest"))

    same(outputs(root), reference)
    assert temp_files(root) == []


SEED = 20191201


def test_kills_at_random_points_of_ingest_master_and_reports_leave_nothing_behind(arrivals, reference, tmp_path):
    """Each round deletes the outputs (or keeps the inbox full) and SIGKILLs one command at a seeded
    random point of its writing (once a temporary file of it is there, after a random delay); after
    all the kills one normal `xlflow ingest` must leave the outputs of a run without kills and no
    temporary file (before: .master.*.tmp and xlsxwriter tmp* files piled up in outbox/, 53 of them
    after 21 kills)."""
    root = copy(arrivals, tmp_path)
    rng = random.Random(SEED)
    outbox = root / "outbox"
    commands = {"ingest": ["ingest"], "master": ["master"], "reports": ["reports", "--force"]}
    kills = left = 0
    for command in ["ingest", "master", "reports", "master", "reports", "master", "reports", "master"]:
        if command != "ingest":  # the outputs it rebuilds are gone, as if never written
            shutil.rmtree(outbox / "reports", ignore_errors=True)
            (outbox / "master.xlsx").unlink(missing_ok=True)
        proc = xlflow(root, *commands[command])
        deadline = time.monotonic() + 120
        while proc.poll() is None and not temp_files(root):  # the command is writing its outputs
            assert time.monotonic() < deadline, f"{command} wrote nothing for 120 s"
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.4))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate()
        left += len(temp_files(root))
    assert kills >= 4, kills
    assert left > 0  # the kills did fall inside the writing (else this test proves nothing)

    finish(xlflow(root, "ingest"))

    same(outputs(root), reference)
    assert temp_files(root) == []


def test_the_sweep_leaves_the_temporary_files_of_a_run_still_at_work(tmp_path):
    """`xlflow master` while `xlflow watch` writes the documents: neither removes the other's files."""
    from xlflow.files import SCRATCH, sweep_scratch

    outbox = tmp_path / "outbox"
    busy = subprocess.Popen([sys.executable, "-c", "import sys, time; from xlflow.files import claim_scratch; "
                             "d = claim_scratch(sys.argv[1]); (d / '.master.abc.tmp').write_text('x'); "
                             "print(d, flush=True); time.sleep(60)", str(outbox)], stdout=subprocess.PIPE, text=True)
    try:
        folder = Path(busy.stdout.readline().strip())
        assert sweep_scratch(outbox) == 0 and (folder / ".master.abc.tmp").is_file()
    finally:
        busy.kill()
        busy.wait()
    assert sweep_scratch(outbox) == 1 and not folder.exists() and not any((outbox / SCRATCH).iterdir())
