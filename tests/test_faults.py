"""kill -9 at any point of a pass: no file lost, no half-written ledger or output; the next pass
completes the work and ends where an uninterrupted pass ends.

A working folder with a dozen arrivals (good and bad returns, a byte copy, a re-saved copy, an
older version, files that are not workbooks) is processed by a real `xlflow` process that is
SIGKILLed after a seeded random delay, again and again; after every kill the folder and the ledger
are checked, and each round ends with a pass run to completion, compared with a run without kills.

Each pass is a process forked from a warm one that has imported xlflow already, so the random
delay measures the pass itself, not the interpreter's start-up; the forked process runs the same
run_pass as `xlflow ingest` (minus the command's one-second settle wait) and is SIGKILLed. The last
round is completed by the real command, `python -m xlflow ingest --root DIR`.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from xlflow import ledger
from xlflow.feedback import FEEDBACK_SHEET
from xlflow.intake import is_ignored
from xlflow.workbook import build_workbook, handout_path
from xlflow.workspace import Workspace, init_workspace

from helpers import fill_workbook, ledger_problems, save_as_of

SEED = 20191128
KILLS = 20               # SIGKILLs in all: the test ends when they are done, not after a number of seconds
MAX_KILLS_PER_ROUND = 7  # then the round's pass is let finish
MAX_ROUNDS = 20          # a pass that always ends before its kill would otherwise loop for ever
LOCK_FILE = "~$一支部.xlsx"  # Excel's owner file: must stay where it is, untouched

# The warm process: `start DIR` forks a pass over DIR, which says "done" when it has finished;
# `kill` SIGKILLs the pass, `wait` lets it finish; either way the warm process then reaps it and
# prints its exit code (-9: killed). The pass stays unreaped (a zombie at worst) until that
# command, so the SIGKILL can never reach any other process.
FORKER = r"""
import datetime as dt, os, signal, sys, traceback
from pathlib import Path
from xlflow.ingest import candidates, run_pass
from xlflow.workspace import Workspace

def one_pass(root):
    try:
        ws = Workspace(Path(root))
        run_pass(ws, candidates(ws.inbox), dt.datetime.now().replace(microsecond=0))
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    os.write(1, b"done\n")
    os._exit(0)

print("ready", flush=True)
pid = None
for line in sys.stdin:
    cmd, _, arg = line.rstrip("\n").partition(" ")
    if cmd == "start":
        pid = os.fork()
        if pid == 0:
            one_pass(arg)
        print("started", flush=True)
    else:
        if cmd == "kill":
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
"""


class Forker:
    def __init__(self, log: Path):
        self.log = log
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        with open(log, "wb") as err:  # unbuffered stdout: select() sees every line
            self.proc = subprocess.Popen([sys.executable, "-c", FORKER], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err, env=env, bufsize=0)
        assert self._read() == "ready"

    def _read(self) -> str:
        answer = self.proc.stdout.readline().decode().strip()
        assert answer, self.log.read_text(encoding="utf-8", errors="replace")
        return answer

    def _send(self, command: str) -> None:
        self.proc.stdin.write(f"{command}\n".encode())

    def _reaped(self, command: str) -> tuple[bool, int]:
        """(the pass said it was done, its exit code) after `kill` or `wait`."""
        self._send(command)
        done, line = False, self._read()
        while line == "done":
            done, line = True, self._read()
        return done, int(line)

    def start(self, root: Path) -> float:
        self._send(f"start {root}")
        assert self._read() == "started"
        return time.monotonic()

    def kill_after(self, delay: float) -> bool:
        """SIGKILL the pass after `delay` seconds; False if it finished first."""
        if select.select([self.proc.stdout], [], [], max(0.0, delay))[0]:
            assert self._read() == "done"
            assert self._reaped("wait") == (False, 0), self.log.read_text(encoding="utf-8", errors="replace")
            return False
        done, code = self._reaped("kill")
        assert code in (0, -signal.SIGKILL), self.log.read_text(encoding="utf-8", errors="replace")
        return not done

    def wait(self) -> None:
        done, code = self._reaped("wait")
        assert (done, code) == (True, 0), self.log.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A working folder with 12 arrivals in inbox/ (and an owner file); returns it and name → sha256."""
    base = tmp_path_factory.mktemp("faults")
    ws, _ = init_workspace(base / "pristine")
    inputs = ws.campaign()
    roster = inputs.branches
    desk = base / "desk"
    desk.mkdir()

    def fill(i: int, name: str, seed: int, mistakes=()) -> Path:
        b = roster[i]
        template = build_workbook(handout_path(ws.handout, b), b, inputs)
        fill_workbook(template, desk / name, b, inputs, seed, frozenset(mistakes))
        return desk / name

    names = [f"{roster[i].code}_{roster[i].name}.xlsx" for i in range(7)]
    for i, name in enumerate(names[:5]):  # five good returns
        fill(i, name, seed=10 + i)
    fill(5, names[5], 15, ("two_digit_year", "actual_gt_expected"))  # two bad ones
    fill(6, names[6], 16, ("bad_choice", "missing_rating", "formula_text"))
    for name in names:
        shutil.copyfile(desk / name, ws.inbox / name)
    shutil.copyfile(desk / names[0], ws.inbox / f"副本 - {names[0]}")  # the same file twice
    save_as_of(openpyxl.load_workbook(desk / names[1]), ws.inbox / f"{roster[1].name}（再次保存）.xlsx",
                dt.datetime(2019, 11, 29, 8, 0))  # the same content saved again
    older = fill(2, "older.xlsx", seed=99)  # an earlier version of a branch's return
    save_as_of(openpyxl.load_workbook(older), ws.inbox / f"{roster[2].name}（初稿）.xlsx",
                dt.datetime(2019, 11, 1, 8, 0))
    (ws.inbox / "机电学院支部材料.xlsx").write_text(  # a web page renamed .xlsx
        "<html><body><table><tr><td>支部</td></tr></table></body></html>", encoding="utf-8")
    import xlwt
    book = xlwt.Workbook()
    book.add_sheet("党员名册").write(0, 0, "姓名")
    book.save(str(ws.inbox / "党员名册.xls"))  # Excel 97–2003
    (ws.inbox / LOCK_FILE).write_bytes(b"\x0b\xe7\xbb\x84\xe7\xbb\x87\xe9\x83\xa8" + bytes(155))
    arrivals = {p.name: sha(p) for p in ws.inbox.iterdir() if p.is_file() and not is_ignored(p.name)}
    assert len(arrivals) == 12
    return ws.root, arrivals


def copy_of(pristine: Path, dest: Path) -> Workspace:
    shutil.copytree(pristine, dest)
    return Workspace(dest)


def stored(ws: Workspace) -> dict[str, list[Path]]:
    """Where the originals are: inbox top level (not ignored files) and the three archive folders."""
    return {
        "inbox": [p for p in ws.inbox.iterdir() if p.is_file() and not is_ignored(p.name)],
        **{k: sorted(getattr(ws, k).iterdir()) if getattr(ws, k).exists() else []
           for k in ("accepted", "rejected", "duplicates")},
    }


FOLDER = {"accepted": ledger.ACCEPTED, "rejected": ledger.REJECTED, "duplicates": ledger.DUPLICATE}


def check_invariants(ws: Workspace, arrivals: dict[str, str], lock_sha: str) -> None:
    """What must hold whenever the process dies, at whatever point."""
    places = stored(ws)
    # every arrival's bytes are in exactly one place (a byte copy is an arrival of its own)
    found = collections.Counter(sha(p) for paths in places.values() for p in paths)
    assert found == collections.Counter(arrivals.values())
    for p in places["inbox"]:  # what is still in the inbox is untouched, under its own name
        assert arrivals.get(p.name) == sha(p)
    assert sha(ws.inbox / LOCK_FILE) == lock_sha
    # outputs: every feedback workbook is whole; only temporary files may be half-written
    for p in ws.feedback.iterdir() if ws.feedback.exists() else []:
        if p.name.startswith(".") and p.suffix == ".tmp":
            continue
        assert p.suffix == ".xlsx"
        assert openpyxl.load_workbook(p).sheetnames[0] == FEEDBACK_SHEET, p.name
    if not ws.ledger.exists():
        assert places["inbox"] and not any(places[k] for k in FOLDER)
        return
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        assert ledger_problems(conn) == []
        rows = conn.execute("SELECT * FROM files").fetchall()
        names = collections.Counter(r["original_name"] for r in rows)
        assert max(names.values(), default=1) == 1, names  # no arrival recorded twice
        assert set(names) <= set(arrivals)
        by_place = {}
        for r in rows:
            assert r["sha256"] == arrivals[r["original_name"]]
            # a whole transaction or nothing: the findings counted are the findings stored
            n = conn.execute("SELECT COUNT(*) FROM findings WHERE file_id = ?", (r["id"],)).fetchone()[0]
            assert n == r["errors"] + r["warnings"]
            assert n > 0 or r["outcome"] == ledger.ACCEPTED
            if r["outcome"] == ledger.ACCEPTED:
                assert conn.execute("SELECT COUNT(*) FROM t_basic b JOIN returns t ON t.id = b.return_id"
                                    " WHERE t.file_id = ?", (r["id"],)).fetchone()[0] == 1
            dest = ws.root / r["stored_as"]
            if r["moved"] == 1:
                assert sha(dest) == r["sha256"]
            else:  # recorded, not yet moved: the original is in the inbox (or just renamed into place)
                assert r["moved"] == 0
                src = ws.inbox / r["original_name"]
                assert (src.exists() and sha(src) == r["sha256"]) or sha(dest) == r["sha256"]
            if r["feedback_done"]:
                assert (ws.root / r["feedback"]).exists()
            by_place[r["stored_as"]] = r["outcome"]
        # nothing is archived without a ledger record that says so
        for folder, outcome in FOLDER.items():
            for p in places[folder]:
                assert by_place.get(p.relative_to(ws.root).as_posix()) == outcome, p.name
        feedback = {r["feedback"] for r in rows if r["feedback"]}
        for p in ws.feedback.iterdir() if ws.feedback.exists() else []:
            if p.suffix == ".xlsx":
                assert p.relative_to(ws.root).as_posix() in feedback, p.name


def summary(ws: Workspace) -> dict:
    """The ledger as the clerk reads it, without times and stored names."""
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        name_of = {r["id"]: r["original_name"] for r in conn.execute("SELECT id, original_name FROM files")}
        outcomes = {}
        for r in conn.execute("SELECT * FROM files"):
            codes = sorted(x[0] for x in conn.execute("SELECT code FROM findings WHERE file_id = ?", (r["id"],)))
            outcomes[r["original_name"]] = (r["outcome"], r["branch_code"], codes, name_of.get(r["duplicate_of"]),
                                            r["content_hash"], r["saved_at"])
        current = {}
        for r in conn.execute("SELECT * FROM returns WHERE current = 1"):
            counts = tuple(conn.execute(f"SELECT COUNT(*) FROM t_{t} WHERE return_id = ?", (r["id"],)).fetchone()[0]
                           for t in ("basic", "members", "activities", "activists", "self", "problems"))
            current[r["branch_code"]] = (name_of[r["file_id"]], r["content_hash"], counts)
        returns = sorted((r["branch_code"], name_of[r["file_id"]], r["current"])
                         for r in conn.execute("SELECT * FROM returns"))
    return {"outcomes": outcomes, "current": current, "returns": returns}


def stage(ws: Workspace) -> str:
    """What a kill left behind, for the figures: how far the pass had got."""
    if not ws.ledger.exists():
        return "nothing recorded"
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        recorded = conn.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        owed = len(ledger.pending_moves(conn)) + len(ledger.pending_feedback(conn))
    if owed:
        return "moves or feedback owed"
    return "nothing recorded" if recorded == 0 else "part recorded"


def check_completed(ws: Workspace, arrivals: dict[str, str], lock_sha: str, reference: dict | None) -> dict:
    check_invariants(ws, arrivals, lock_sha)
    assert {p.name for p in ws.inbox.iterdir() if p.is_file()} == {LOCK_FILE}  # only the ignored file is left
    assert not list(ws.outbox.rglob("*.tmp"))  # the pass removed what a killed one left half-written
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn:
        rows = conn.execute("SELECT * FROM files").fetchall()
        assert sorted(r["original_name"] for r in rows) == sorted(arrivals)  # every arrival, exactly once
        assert all(r["moved"] == 1 for r in rows)
        rejected = [r for r in rows if r["outcome"] == ledger.REJECTED]
        assert all(r["feedback_done"] == 1 for r in rejected)
        assert {r["feedback"] for r in rejected} == {
            p.relative_to(ws.root).as_posix() for p in ws.feedback.iterdir()}  # each its own, no strays
    result = summary(ws)
    if reference is not None:
        assert result == reference
    return result


def test_kill_9_at_random_points_of_a_pass(prepared, tmp_path):
    pristine, arrivals = prepared
    lock_sha = sha(pristine / "inbox" / LOCK_FILE)
    started = time.monotonic()
    forker = Forker(tmp_path / "stderr.log")
    try:
        # the run without kills: what every interrupted run must end with, and how long a pass takes
        ws = copy_of(pristine, tmp_path / "reference")
        t0 = forker.start(ws.root)
        forker.wait()
        first = full = time.monotonic() - t0
        reference = check_completed(ws, arrivals, lock_sha, None)
        outcomes = collections.Counter(v[0] for v in reference["outcomes"].values())
        assert outcomes == {"accepted": 6, "rejected": 4, "duplicate": 2}, reference["outcomes"]
        assert len(reference["current"]) == 5

        rng = random.Random(SEED)
        kills, rounds, finished, half_written, stages = 0, 0, 0, 0, collections.Counter()
        while kills < KILLS and rounds < MAX_ROUNDS:
            rounds += 1
            ws = copy_of(pristine, tmp_path / f"round{rounds}")
            for n in range(MAX_KILLS_PER_ROUND):
                t0 = forker.start(ws.root)
                if not forker.kill_after(rng.uniform(0.05, full) - (time.monotonic() - t0)):
                    finished += 1  # it was done before the kill: this round is complete
                    if n == 0:  # a whole pass was quicker than measured (the machine is less busy now)
                        full = time.monotonic() - t0
                    break
                kills += 1
                check_invariants(ws, arrivals, lock_sha)
                stages[stage(ws)] += 1
                half_written += any(ws.feedback.glob(".*.tmp"))  # killed while writing a feedback
                if kills >= KILLS:
                    break
            if kills >= KILLS or rounds >= MAX_ROUNDS:
                # the last round is completed by the clerk's own command
                done = subprocess.run([sys.executable, "-m", "xlflow", "ingest", "--root", str(ws.root)],
                                      capture_output=True, text=True, timeout=120)
                assert done.returncode == 0, done.stderr
            else:
                forker.start(ws.root)
                forker.wait()
            check_completed(ws, arrivals, lock_sha, reference)
    finally:
        forker.close()
    elapsed = time.monotonic() - started
    print(f"\n{kills} kills in {rounds} rounds ({finished} passes finished before their kill); "
          f"left behind: {dict(stages)}, {half_written} times a half-written feedback; a full pass takes {first:.2f} s (lately {full:.2f} s); "
          f"{elapsed:.1f} s in all")
    assert kills == KILLS, f"only {kills} kills in {rounds} rounds"
    assert stages["part recorded"] + stages["moves or feedback owed"] >= 3, stages  # kills inside the writes
