"""Benchmark: the documents, as a clerk waits for them (`xlflow reports`, a process of its own).

A real campaign of N branches (bench/ladder.py's returns: real workbooks, taken in by one
`xlflow ingest`, untimed) and then, medians (min–max) over several runs, each timed from outside
(bench/proc.py: wall time, peak RSS of the largest process and of the process tree):
  zip floor      re-zipping every document the run writes (python zipfile, one core);
  docxtpl        the plain way, one core: the same ledger loaded and planned, then
                 DocxTemplate(path).render(context, autoescape=True).save() for every document;
  --force        `xlflow reports --force`: every document again, on every core;
  one missing    one document deleted, `xlflow reports` (renders that one; the template check,
                 loading, planning and hashing of all the others included);
  unchanged      `xlflow reports` with nothing to do.
Ratios are given per CPU too, since --force uses every core and the floors one.
Goals (issue 13): --force within 2× the zip floor per CPU… and under 400 MB at 5,000.

Figures (main at 751ab33, 1,000 branches, 1,016 documents, 3 runs, load 1.1): zip floor 2.52 s;
plain docxtpl 52.54 s (20.9×); --force 3.89 s (3.87–3.96), 1.55× the floor (3.09× per CPU), tree
144 MB; one missing 0.90 s; unchanged 0.86 s (2.23 s before `reports` read the result memo).

Usage: python bench/reports_bench.py [branches=1000] [runs=3]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]

from ladder import FLOOR_ZIP, fresh, prepare  # noqa: E402
from proc import XLFLOW, measure, spread  # noqa: E402

DOCXTPL = """
import sys, datetime as dt
from pathlib import Path
from docxtpl import DocxTemplate
from xlflow import documents as D
from xlflow.results import ledger_results
from xlflow.workspace import Workspace
ws, out = Workspace(Path(sys.argv[1])), Path(sys.argv[2])
results = ledger_results(ws.ledger, ws.campaign())
for n, d in enumerate(D.plan(results, dt.date.today())):
    tpl = DocxTemplate(str(ws.templates / D.TEMPLATES[d.kind]))
    tpl.render(d.context, autoescape=True)
    tpl.save(out / f"{n}.docx")
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    cores = os.cpu_count() or 1
    base, returns = prepare(n)
    with tempfile.TemporaryDirectory(prefix="xlflow-reports-bench-") as tmp:
        tmp = Path(tmp)
        root = fresh(base, returns, tmp)
        measure([*XLFLOW, "ingest", "--root", str(root)])  # the campaign: its ledger and documents
        reports = root / "outbox" / "reports"
        docs = sorted(reports.rglob("*.docx"))
        got: dict[str, list] = {k: [] for k in ("zip floor", "docxtpl", "--force", "one missing", "unchanged")}
        for k in range(runs):
            for name, cmd in (("zip floor", [sys.executable, "-c", FLOOR_ZIP, str(reports)]),
                              ("docxtpl", [sys.executable, "-c", DOCXTPL, str(root)])):
                out = tmp / f"{name}{k}"
                out.mkdir()
                got[name].append(measure([*cmd, str(out)]))
            got["--force"].append(measure([*XLFLOW, "reports", "--root", str(root), "--force"]))
            docs[(k * 97) % len(docs)].unlink()
            got["one missing"].append(measure([*XLFLOW, "reports", "--root", str(root)]))
            got["unchanged"].append(measure([*XLFLOW, "reports", "--root", str(root)]))
    floor = statistics.median(m.wall for m in got["zip floor"])
    print(f"{len(docs)} documents of {n:,} branches, {runs} runs, {cores} cores; median (min–max), each a process")
    for name, ms in got.items():
        wall = statistics.median(m.wall for m in ms)
        cpus = cores if name in ("--force",) else 1
        print(f"  {name:<12} {spread([m.wall for m in ms], '{:.2f}'):>22} s  {wall / floor:5.2f}× the zip floor "
              f"({wall * cpus / floor:5.2f}× per CPU)   largest process {spread([m.peak_mb for m in ms], '{:.0f}'):>14} MB"
              f"   tree {spread([m.tree_mb for m in ms], '{:.0f}'):>14} MB")


if __name__ == "__main__":
    main()
