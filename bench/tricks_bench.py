"""Benchmark: do the code's performance tricks still pay? Each is timed with and without it in the
same run (alternating, median of several runs), and reported as the share of the work it saves:

- gc.freeze during an ingest pass (ingest._set_aside): run_pass over 180 returns of the sample
  college's 60 branches (three each, as if sent again; 10 faulty: rejected, with feedback copies),
  against the same pass with _set_aside a no-op;
- xlsxwriter's private cell writers (sheetstyle.put): the master workbook of that campaign, against
  the same build with put() calling the public ws.write_string/write_number/write_formula;
- the class-level template caches of the Word documents (doccheck._Env._compiled,
  reports._Compiled._cache): rendering every Word template with its specimen context, against
  the same renders with both caches emptied before each one.

Times are the process's CPU time (time.process_time: every part runs in this one process), which a
machine busy with other work disturbs far less than the wall clock. A trick whose saving stays
within the noise (a few %) is not worth its code. The figures are quoted in the comments beside
each trick.

Usage: python bench/tricks_bench.py [runs=5]
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xlflow import doccheck, ingest, ledger, master, reports, sheetstyle  # noqa: E402
from xlflow.ingest import candidates, run_pass  # noqa: E402
from xlflow.results import load_results  # noqa: E402
from xlflow.sample import MISTAKES, fill_workbook  # noqa: E402
from xlflow.workbook import handout_path, write_handout  # noqa: E402
from xlflow.workspace import Workspace, init_workspace  # noqa: E402

NOW = dt.datetime(2019, 11, 28, 9, 0)
FAULTY = 10
COPIES = 3  # returns per branch


def prepare(tmp: Path) -> tuple[Workspace, list[Path]]:
    """A working folder with its workbooks handed out, and the returns to drop in (not timed)."""
    ws, _ = init_workspace(tmp / "base")
    inputs = ws.campaign()
    branches = inputs.branches
    write_handout(inputs, ws.handout, workers=1)
    desk, typical = tmp / "desk", [m for m in MISTAKES if m != "fullwidth"]
    desk.mkdir()
    returns = []
    for copy in range(COPIES):
        for n, b in enumerate(branches):
            mistakes = frozenset({typical[n % len(typical)]}) if n < FAULTY and copy == 0 else frozenset()
            dest = desk / f"{b.code}_{copy}.xlsx"
            fill_workbook(handout_path(ws.handout, b), dest, b, inputs, 100 * copy + n + 1, mistakes)
            returns.append(dest)
    return ws, returns


def one_pass(base: Workspace, returns: list[Path], scratch: Path) -> tuple[float, Workspace]:
    root = Path(tempfile.mkdtemp(dir=scratch))
    shutil.copytree(base.root, root, dirs_exist_ok=True)
    ws = Workspace(root)
    for r in returns:
        shutil.copyfile(r, ws.inbox / r.name)
    ready = candidates(ws.inbox)
    t0 = time.process_time()
    run_pass(ws, ready, NOW)
    return time.process_time() - t0, ws


def _public_put(ws, r, c, kind, fmt, v) -> None:
    """sheetstyle.put through xlsxwriter's public writers (their A1-notation wrapper included)."""
    t = type(v)
    if t is str:
        if not v:
            return
        if kind in sheetstyle._DATES and (serial := sheetstyle._date_serial(v)) is not None:
            ws.write_number(r, c, serial, fmt)
        else:
            ws.write_string(r, c, v, fmt)
    elif t is sheetstyle.F:
        ws.write_formula(r, c, v.text, fmt, v.value)
    elif v is None:
        return
    elif t is bool or kind == "yesno" and t is int:
        ws.write_string(r, c, "是" if v else "否", fmt)
    elif t is int or t is float:
        ws.write_number(r, c, v, fmt)
    elif kind in sheetstyle._DATES and (serial := sheetstyle._date_serial(v)) is not None:
        ws.write_number(r, c, serial, fmt)
    else:
        ws.write_string(r, c, str(v), fmt)


def build_master(ws: Workspace, dest: Path) -> float:
    with closing(ledger.open_ledger(ws.ledger)) as conn:
        results = load_results(conn, ws.campaign(), today=NOW.date())
        t0 = time.process_time()
        master.build(dest, results, conn)
        return time.process_time() - t0


def render_all(ws: Workspace, out: Path, clear: bool) -> float:
    contexts = doccheck.specimen(ws.campaign())
    jobs = [(ROOT / "templates" / f"{kind}.docx", ctx) for kind, ctx in contexts.items()
            if (ROOT / "templates" / f"{kind}.docx").exists()]
    assert jobs, "no Word template matches a specimen kind"
    t0 = time.process_time()
    for n, (template, ctx) in enumerate(jobs * 5):
        if clear:
            doccheck._Env._compiled.clear()
            reports._Compiled._cache.clear()
        reports.render(template, ctx, out / f"{n}.docx")
    return time.process_time() - t0


def report(name: str, with_: list[float], without: list[float]) -> None:
    a, b = statistics.median(with_), statistics.median(without)
    print(f"{name}: {a:.3f} s CPU with it, {b:.3f} s without (median of {len(with_)}): saves {(b - a) / b:.0%}",
          flush=True)


def main(runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base, returns = prepare(tmp)
        real_aside, real_put = ingest._set_aside, sheetstyle.put
        one_pass(base, returns, tmp)  # warm-up: imports, caches
        frozen, unfrozen, done = [], [], None
        for n in range(runs):
            for off in ((False, True) if n % 2 == 0 else (True, False)):
                ingest._set_aside = (lambda frozen: None) if off else real_aside
                seconds, ws = one_pass(base, returns, tmp)
                (unfrozen if off else frozen).append(seconds)
                done = ws
        ingest._set_aside = real_aside
        report(f"gc.freeze in an ingest pass ({len(returns)} returns, {FAULTY} rejected)", frozen, unfrozen)

        private, public = [], []
        for n in range(runs):
            for off in ((False, True) if n % 2 == 0 else (True, False)):
                sheetstyle.put = _public_put if off else real_put
                (public if off else private).append(build_master(done, tmp / f"master-{n}-{off}.xlsx"))
        sheetstyle.put = real_put
        report("xlsxwriter's private writers in the master (60 branches)", private, public)

        out = tmp / "docs"
        out.mkdir()
        render_all(done, out, False)  # warm-up
        cached, uncached = [], []
        for n in range(runs):
            for off in ((False, True) if n % 2 == 0 else (True, False)):
                (uncached if off else cached).append(render_all(done, out, off))
        report("template caches in Word rendering", cached, uncached)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
