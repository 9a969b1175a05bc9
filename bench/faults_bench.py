"""Benchmark: the worst hostile or mutated return (issue 12): every file of a generated corpus is
dropped alone into the inbox of a fresh working folder and taken in by the whole command a clerk
runs, `xlflow ingest` (intake, read, identify, validate, record, move, feedback), timed from
outside as a process (bench/proc.py: wall time, peak RSS); printed per file: the median and worst
over the runs, beside the same command over an empty inbox measured in the same run (the baseline:
start-up, the settle look, the lock and log), and a clean return (accepted: it also rebuilds the
master and the documents, so it is shown, not used as the baseline).

Goal: the worst single file under 1 s and 150 MB above the baseline (the audit found 2.33 s and
+364 MB for the pass alone, and one cell at XFD1048576 that asked for 512 GB and aborted the process).

The corpus (cached in the temp folder; delete it to rebuild): the hostile kinds of
bench/ingest_bench.py (zip and entity bombs, a million rows, 100k styles, 1,205 parts, 55 MB, a
45 MB file under the limits, a truncated return), and mutations of a real filled return made by
tests/hostile.py: a cell at XFD1048576 (plain, with r not first, prefixed, without r), a DTD after
a 6,000-byte comment, 40,000 characters in a cell, truncations at several points, random bit flips.

Usage: python bench/faults_bench.py [runs=3] [bit-flip mutations=12]
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]

import hostile  # noqa: E402
from ingest_bench import fresh_workspace, hostile_files  # noqa: E402
from proc import XLFLOW, measure, spread  # noqa: E402
from xlflow.sample import fill_workbook  # noqa: E402
from xlflow.workbook import build_workbook, handout_path  # noqa: E402
from xlflow.workspace import init_workspace  # noqa: E402

SEED = 20191201
GOAL_S, GOAL_MB = 1.0, 150
NAME = "第一党支部.xlsx"
XFD = {
    "XFD1048576 cell": hostile.XFD_CELL,
    "XFD1048576, r not first": '<row r="1048576"><c t="inlineStr" r="XFD1048576"><is><t>x</t></is></c></row>',
    "XFD1048576, prefixed": '<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                            'r="1048576"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>',
    "A1048576 without r": '<row r="1048576"><c><v>1</v></c></row>',
}


def corpus(cache: Path, flips: int) -> tuple[Path, Path, dict[str, Path]]:
    """(base working folder, the clean return, kind → file)."""
    base = cache / "base"
    if not base.exists():
        ws, _ = init_workspace(base)
        branch = ws.roster()[0]
        template = build_workbook(handout_path(cache / "handout", branch), branch, ws.campaign())
        fill_workbook(template, cache / "clean" / NAME, branch, ws.campaign(), SEED, frozenset())
    clean = cache / "clean" / NAME
    data = clean.read_bytes()
    files = dict(hostile_files(cache / "hostile", clean))
    rng = random.Random(SEED)
    made = {f"{k}": (lambda row=row: hostile.far_cell(data, row_xml=row)) for k, row in XFD.items()}
    made["DTD after 6,000 bytes"] = lambda: hostile.late_doctype(data)
    made["40,000 characters in a cell"] = lambda: hostile.long_text(data)
    for keep in (0.1, 0.5, 0.9, 0.99):
        made[f"truncated at {keep:.0%}"] = lambda keep=keep: hostile.truncated(data, keep)
    for i in range(flips):
        made[f"bit flips #{i + 1}"] = lambda seed=rng.randrange(1 << 30): hostile.flip_bytes(data, random.Random(seed))
    for kind, make in made.items():
        path = cache / "mutated" / kind.replace(" ", "_").replace(",", "") / NAME
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(make())
        files[kind] = path
    return base, clean, files


def run_one(base: Path, path: Path | None, scratch: Path) -> dict:
    """`xlflow ingest` over an inbox holding only this file (None: an empty inbox)."""
    ws = fresh_workspace(base, scratch)
    if path is not None:
        shutil.copyfile(path, ws.inbox / path.name)
    try:
        m = measure([*XLFLOW, "ingest", "--root", str(ws.root)])
    except SystemExit as exc:  # a file must never make the command fail
        return {"failed": (str(exc).strip().splitlines() or ["failed"])[-1]}
    got = {"s": m.wall, "mb": max(m.peak_mb, m.tree_mb), "outcome": "-", "code": "-"}
    if path is not None and not ws.ledger.exists():
        got["outcome"] = "waiting"  # an incomplete zip: taken once unchanged for ingest.GRACE_SECONDS
    elif path is not None:
        with closing(sqlite3.connect(ws.ledger)) as conn:
            got["outcome"] = (conn.execute("SELECT outcome FROM files").fetchone() or ["-"])[0]
            got["code"] = "/".join(r[0] for r in conn.execute("SELECT code FROM findings")) or "-"
    shutil.rmtree(ws.root, ignore_errors=True)
    return got


BASELINE, CLEAN = "empty inbox (baseline)", "clean return (accepted, rebuilds)"


def main(runs: int = 3, flips: int = 12) -> int:
    cache = Path(tempfile.gettempdir()) / f"xlflow-faults-bench-{flips}"
    base, clean, files = corpus(cache, flips)
    kinds = {BASELINE: None, CLEAN: clean, **files}
    samples: dict[str, list[dict]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory() as scratch:
        for r in range(runs):
            for kind, path in kinds.items():
                samples[kind].append(run_one(base, path, Path(scratch)))
            print(f"run {r + 1}/{runs} done", flush=True)
    base_s = statistics.median(s["s"] for s in samples[BASELINE])
    base_mb = statistics.median(s["mb"] for s in samples[BASELINE])
    print(f"\n{len(files)} hostile or mutated files, {runs} runs each, each `xlflow ingest` a process of its own; "
          f"baseline ({BASELINE}): {base_s:.2f} s, {base_mb:.0f} MB")
    print(f"  {'file':34s} {'median s (min–max)':>20s} {'+s':>6s} {'peak MB (min–max)':>18s} {'+MB':>5s}  outcome")
    worst_s = worst_mb = 0.0
    failed = []
    for kind, got in samples.items():
        bad = [g["failed"] for g in got if "failed" in g]
        if bad:
            failed.append(kind)
            print(f"  {kind:34s} FAILED: {bad[0]}")
            continue
        secs, mbs = [g["s"] for g in got], [g["mb"] for g in got]
        print(f"  {kind:34s} {spread(secs, '{:.2f}'):>20s} {statistics.median(secs) - base_s:6.2f} "
              f"{spread(mbs, '{:.0f}'):>18s} {statistics.median(mbs) - base_mb:5.0f}  {got[0]['outcome']} {got[0]['code']}")
        if kind not in (BASELINE, CLEAN):
            worst_s, worst_mb = max(worst_s, max(secs) - base_s), max(worst_mb, max(mbs) - base_mb)
    ok = not failed and worst_s < GOAL_S and worst_mb < GOAL_MB
    print(f"\nworst single file above the baseline: +{worst_s:.2f} s (goal < {GOAL_S} s), +{worst_mb:.0f} MB "
          f"(goal < {GOAL_MB} MB){'; FAILED: ' + ', '.join(failed) if failed else ''} → {'OK' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*map(int, sys.argv[1:3])))
