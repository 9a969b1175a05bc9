"""Benchmark: what a clerk waits for when ONE corrected return arrives — `xlflow ingest` run as a
whole process (start, imports, the pass, the master workbook, the documents), at 1,000 and 5,000
branches. Goal (issue 13): at most 3 s at 1,000 branches and 10 s at 5,000, with outbox/master.xlsx
and the documents current afterwards.

Preparation (not timed, cached in the temp folder by size): a working folder whose roster has N
branches (the sample roster extended as in templates_bench.py); a real campaign of 24 returns
(templates, filled returns, one ingest pass) whose ledger is cloned inside SQLite to every roster
branch (as bench/master_bench.py does); then the outputs are built once, as after the pass that
took the last return. The corrected return is the first branch's workbook filled again with other
data (so its scores, documents and record rows change).

Each run copies that folder, drops the corrected return into inbox/ and times
`xlflow ingest --root <copy>` under /usr/bin/time -v (wall clock and peak RSS of the process).
Same-run baselines, in the same copies:
  floor     `python -c "import xlflow.cli"`: the process start and the imports alone;
  cold      the same ingest with the master's block cache (outbox/.master-cache.db) deleted first:
            every block of the master regenerated, as every pass did before the cache;
and afterwards each run checks that master.xlsx holds the corrected return (its new 自评 ratings
in 指标明细) and that the outputs are stamped current (outputs.outputs_stale is false).

Usage: python bench/corrected_bench.py [sizes=1000,5000] [runs=5]
       python bench/corrected_bench.py split [sizes]   (where a warm run's time goes, in-process)

Before it is timed, the prepared folder's outputs and caches are brought up to the code under test
(refresh: untimed, dated today), and the processes keep their compiled modules as an installed
xlflow does. The corrected return is copied into inbox/ just before the command starts, so each
figure includes `xlflow ingest`'s settle wait for a file copied a moment ago (≈0.9 s: the split's
"other").

Figures, issue 13 item 1 (this 2-core machine shared with two other agents; medians of 3, min–max;
the corrected return is the first branch's, so every later block of the record sheets moves):
  before (this branch's base, main at 5ef84e5, the same protocol):
    1,000 branches (load 2.4):  4.05 s (3.91–6.41), 186 MB; cold 10.58 s: ratio 0.38
    5,000 branches (load 1.9): 14.96 s (14.77–15.54), 439 MB; cold 48.22 s: ratio 0.31
  on main at 751ab33 (3 runs, load 0.8–1.0): 1,000 branches 2.66 s (2.59–2.71), 174 MB, cold 9.32 s;
    5,000 branches 7.34 s (7.25–7.40), 410 MB, cold 40.96 s: ratio 0.18; floor 0.10 s
  after (branch perf):
    1,000 branches (load 1.7):  2.65 s (2.58–2.74), 176 MB; cold 9.32 s: ratio 0.28; floor 0.10 s
    5,000 branches (load 2.2):  7.69 s (7.59–7.99), 415 MB; cold 41.55 s: ratio 0.19; floor 0.10 s
  Goals (3 s / 10 s) met: 0.65× and 0.51× the time before. In-process split of a warm run (split
  mode; 7 documents written: the corrected branch's 意见书 and the 年度报告 of the six 总支 whose
  branches' ranks moved):
    1,000 (load 1.3): pass 0.29 s, results 0.19, master 0.45 (splice 0.17), documents 0.54 (render
           0.29), other 1.06 (the settle wait ≈0.9), the command 2.53 s
    5,000 (load 2.3): pass 0.75 s, results 1.22, master 1.98 (splice 0.72), documents 2.32 (render
           1.43), other 1.26, the command 7.54 s
  (the split runs in the bench's process, which has imported the pipeline already: a process pays
  ≈1 s more for it, `python -X importtime`: pandas and pandera for validation ≈0.55 s of it)
  What did it: blocks of the master's sheets without formulas carry no row numbers (a moved block
  is reused as it was deflated); a branch's blocks keyed by its return's part in the memo, not by
  its values; a branch's 意见书/证书 made from the same inputs as last time not even planned (their
  inputs' digest in the documents' manifest); rank by bisection (was quadratic: 1.5 s at 5,000);
  Word's listing marks resolved only around the few listing characters (0.3 s an annual report of
  600 rows); openpyxl imported only to send a file back.

Earlier (before the cache, and before this issue's first steps; load 5.5, the test suite beside):
22.1 s at 1,000 and 104 s at 5,000 (issue 13's own measurement); then 12.08 s / 48.6 s with the
master's block cache; then 4.31 s at 1,000 (load 2.0).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]

from templates_bench import roster  # noqa: E402

NOW = dt.datetime(2019, 11, 28, 10, 0)
BASE = 24
SEED = 2019
TIME = "/usr/bin/time"


def write_roster(path: Path, branches) -> None:
    import openpyxl

    from xlflow import constants as K

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = K.ROSTER_SHEET
    keys = list(K.ROSTER_COLUMNS)
    ws.append([K.ROSTER_COLUMNS[k] for k in keys])
    for b in branches:
        ws.append(["、".join(v) if isinstance(v, tuple) else v for v in (getattr(b, k) for k in keys)])
    wb.save(path)


def cache_dir(n: int) -> Path:
    return Path(tempfile.gettempdir()) / f"xlflow-corrected-bench-{n}"


def clone(db: Path, codes: list[str]) -> None:
    """Clone the ledger's BASE current branch returns (in place) until every code has one."""
    conn = sqlite3.connect(db)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 't_%'")]
    cols = {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")][1:] for t in tables}
    base = conn.execute("SELECT id, file_id, branch_code FROM returns WHERE current = 1 AND kind = 'branch'"
                        " ORDER BY id").fetchall()
    have = {code for _, _, code in base}
    conn.execute("BEGIN")
    for i, code in enumerate(c for c in codes if c not in have):
        rid, fid, _ = base[i % len(base)]
        new_fid = conn.execute("INSERT INTO files (sha256, original_name, size, arrived_at, outcome, stored_as, moved,"
                               " branch_code, kind, content_hash, saved_at) SELECT sha256 || ?, original_name, size,"
                               " arrived_at, outcome, stored_as, moved, ?, kind, content_hash, saved_at FROM files"
                               " WHERE id = ?", (code, code, fid)).lastrowid
        new_rid = conn.execute("INSERT INTO returns (file_id, branch_code, kind, saved_at, received_at, content_hash,"
                               " current) SELECT ?, ?, kind, saved_at, received_at, content_hash, 1 FROM returns"
                               " WHERE id = ?", (new_fid, code, rid)).lastrowid
        for t in tables:
            c = ", ".join(f'"{x}"' for x in cols[t])
            conn.execute(f"INSERT INTO {t} (return_id, {c}) SELECT ?, {c} FROM {t} WHERE return_id = ?", (new_rid, rid))
        conn.execute("UPDATE t_basic SET code = ? WHERE return_id = ?", (code, new_rid))
    conn.execute("COMMIT")
    conn.close()


def prepare(n: int) -> tuple[Path, Path]:
    """(the working folder with its outputs current, the corrected return); built once and cached."""
    from xlflow.campaign import Campaign
    from xlflow.ingest import candidates, run_pass
    from xlflow.outputs import rebuild_outputs
    from xlflow.sample import fill_workbook
    from xlflow.workbook import handout_path, write_handout
    from xlflow.workspace import init_workspace

    cache = cache_dir(n)
    base, corrected = cache / "base", cache / "corrected.xlsx"
    if (cache / "done").exists():
        return base, corrected
    if cache.exists():
        shutil.rmtree(cache)
    print(f"preparing a {n}-branch working folder in {cache} (once) …", flush=True)
    start = time.perf_counter()
    ws, _ = init_workspace(base)
    branches = roster(n)
    write_roster(ws.roster_path, branches)
    inputs = Campaign(ws.checklist(), ws.settings())
    chosen = branches[:BASE]
    write_handout(Campaign(inputs.checklist, inputs.settings, chosen), ws.handout, workers=2)
    for i, b in enumerate(chosen):
        fill_workbook(handout_path(ws.handout, b), ws.inbox / f"{b.code}.xlsx", b, inputs, SEED + i)
    run_pass(ws, candidates(ws.inbox), NOW)
    clone(ws.ledger, [b.code for b in branches])
    rebuild_outputs(ws, NOW)
    first = branches[0]
    for attempt in range(10):  # a random filling may break a rule by chance: it must be accepted
        fill_workbook(handout_path(ws.handout, first), corrected, first, inputs, SEED + 7777 + attempt)
        with tempfile.TemporaryDirectory() as d:
            trial = Path(d) / "w"
            shutil.copytree(base, trial)
            shutil.copyfile(corrected, trial / "inbox" / corrected.name)
            out = subprocess.run([sys.executable, "-m", "xlflow", "ingest", "--root", str(trial)],
                                 capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.startswith("接收"):
                break
    else:
        raise SystemExit("could not make an accepted corrected return")
    (cache / "done").write_text(json.dumps({"n": n, "seconds": time.perf_counter() - start}))
    print(f"  prepared in {time.perf_counter() - start:.0f} s", flush=True)
    return base, corrected


def timed(argv: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one process under /usr/bin/time -v."""
    out = subprocess.run([TIME, "-v", *argv], capture_output=True, text=True, env=ENV)
    if out.returncode != 0:
        raise SystemExit(f"{argv} failed:\n{out.stdout}\n{out.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", out.stderr).group(1)
    parts = [float(x) for x in wall.split(":")]
    seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1)) / 1024
    return seconds, rss, out.stdout


def check_current(root: Path, code: str) -> None:
    """The outputs are stamped current and the master shows the corrected return's self ratings."""
    import openpyxl

    from xlflow import constants as K
    from xlflow.ledger import open_ledger
    from xlflow.master import DETAIL
    from xlflow.outputs import outputs_stale
    from xlflow.workspace import Workspace

    ws = Workspace(root)
    assert not outputs_stale(ws), "outputs not current after the pass"
    conn = open_ledger(ws.ledger)
    rid = conn.execute("SELECT id FROM returns WHERE current = 1 AND branch_code = ?", (code,)).fetchone()[0]
    want = {k: v or None for k, v in conn.execute("SELECT code, rating FROM t_self WHERE return_id = ?", (rid,))}
    conn.close()
    wb = openpyxl.load_workbook(ws.master, read_only=True)
    got = {}
    for row in wb[K.MASTER_DETAIL].iter_rows(min_row=3, values_only=True):
        if row[DETAIL["branch_code"]] == code:
            got[row[DETAIL["indicator"]]] = row[DETAIL["self"]]
        elif got:
            break
    wb.close()
    assert got == want, "the master does not show the corrected return"


def fmt(xs: list[float], unit: str = "s") -> str:
    return f"{statistics.median(xs):6.2f} {unit} ({min(xs):.2f}–{max(xs):.2f})"


# As a clerk's installed xlflow: Python keeps the compiled modules (this machine's agents run with
# PYTHONDONTWRITEBYTECODE set, which made every process compile xlflow's 60 modules again: 0.2 s)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def refresh(base: Path) -> None:
    """Bring the prepared folder's outputs and caches up to this code, today (not timed): as after the
    pass that took the last return, earlier the same day. (Without it a cache filled by older code
    is not used, and the 催报通知, dated today, would all be written again.)"""
    subprocess.run([sys.executable, "-c", "import datetime as dt, sys\n"
                    "from xlflow.outputs import rebuild_outputs\nfrom xlflow.workspace import Workspace\n"
                    "rebuild_outputs(Workspace(sys.argv[1]), dt.datetime.now())", str(base)], check=True, env=ENV)


def bench(n: int, runs: int) -> None:
    base, corrected = prepare(n)
    refresh(base)
    py = sys.executable
    floor, warm, cold, rss_w, rss_c = [], [], [], [], []
    with tempfile.TemporaryDirectory() as d:
        for i in range(runs):
            for mode in ("warm", "cold"):
                run = Path(d) / f"run-{mode}-{i}"
                shutil.copytree(base, run)
                if mode == "cold":
                    (run / "outbox" / ".master-cache.db").unlink(missing_ok=True)
                shutil.copyfile(corrected, run / "inbox" / corrected.name)
                t, rss, out = timed([py, "-m", "xlflow", "ingest", "--root", str(run)])
                assert out.startswith("接收"), out
                (warm if mode == "warm" else cold).append(t)
                (rss_w if mode == "warm" else rss_c).append(rss)
                if i == 0:
                    check_current(run, roster(1)[0].code)
                shutil.rmtree(run)
            floor.append(timed([py, "-c", "import xlflow.cli"])[0])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    goal = 3 if n <= 1000 else 10
    w = statistics.median(warm)
    print(f"one corrected return, `xlflow ingest`, {n} branches, {runs} runs (load {load:.1f}):")
    print(f"  xlflow ingest         {fmt(warm)}, peak {max(rss_w):.0f} MB   goal ≤ {goal} s: "
          f"{'met' if w <= goal else 'NOT met'}")
    print(f"  cold (no block cache) {fmt(cold)}, peak {max(rss_c):.0f} MB   ratio {w / statistics.median(cold):.2f}")
    print(f"  floor (import cli)    {fmt(floor)}                  ratio {w / statistics.median(floor):.2f}")


STAGES = [("xlflow.watch", "run_pass", "pass"), ("xlflow.outputs", "load_results", "results"),
          ("xlflow.outputs", "write_master", "master"), ("xlflow.master", "splice", "  of which splice"),
          ("xlflow.outputs", "write_reports", "documents"), ("xlflow.reports", "_render_batch", "  of which render")]


def split(n: int) -> None:
    """Where one warm corrected return's time goes, in this process (the command as `xlflow ingest`
    runs it, each stage's function wrapped with a clock)."""
    import functools
    import importlib

    base, corrected = prepare(n)
    refresh(base)
    with tempfile.TemporaryDirectory() as d:
        run = Path(d) / "run"
        shutil.copytree(base, run)
        shutil.copyfile(corrected, run / "inbox" / corrected.name)
        start = time.perf_counter()
        from xlflow.cli import main as cli
        spent = {"imports (cli)": time.perf_counter() - start}
        for module, name, label in STAGES:
            mod = importlib.import_module(module)

            def clocked(*a, _f=getattr(mod, name), _label=label, **k):
                t = time.perf_counter()
                try:
                    return _f(*a, **k)
                finally:
                    spent[_label] = spent.get(_label, 0.0) + time.perf_counter() - t
            setattr(mod, name, functools.wraps(getattr(mod, name))(clocked))
        start = time.perf_counter()
        cli(["ingest", "--root", str(run)], standalone_mode=False)
        spent["the command"] = whole = time.perf_counter() - start
    # the rest: the settle wait for a file copied a moment ago (watch.ingest_once), lock, log, checks
    spent["other"] = whole - sum(spent.get(label, 0.0) for _, _, label in STAGES if not label.startswith(" "))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    order = ["imports (cli)", *(label for _, _, label in STAGES), "other", "the command"]
    print(f"in-process split, {n} branches (load {load:.1f}): "
          + ", ".join(f"{k.strip()} {spent.get(k, 0.0):.2f} s" for k in order))


def main() -> None:
    if sys.argv[1:2] == ["split"]:
        for n in (int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "1000,5000").split(",")):
            split(n)
        return
    sizes = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "1000,5000").split(",")]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    for n in sizes:
        bench(n, runs)


if __name__ == "__main__":
    main()
