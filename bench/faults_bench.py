"""Benchmark: the worst hostile or mutated return (issue 12): every file of a generated corpus goes
through a whole `run_pass` (intake, read, identify, validate, record, move, feedback) in a fresh
working folder, in a process of its own; printed per file: the median time and RSS growth over the
runs, its worst, and the ratio to a clean return measured in the same run (the baseline).

Goal: the worst single file under 1 s and 150 MB of RSS growth (the audit found 2.33 s and +364 MB,
and one cell at XFD1048576 that asked for 512 GB and aborted the process).

The corpus (cached in the temp folder; delete it to rebuild): the hostile kinds of
bench/ingest_bench.py (zip and entity bombs, a million rows, 100k styles, 1,205 parts, 55 MB, a
45 MB file under the limits, a truncated return), and mutations of a real filled return made by
tests/hostile.py: a cell at XFD1048576 (plain, with r not first, prefixed, without r), a DTD after
a 6,000-byte comment, 40,000 characters in a cell, truncations at several points, random bit flips.

Usage: python bench/faults_bench.py [runs=3] [bit-flip mutations=12]
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]

import hostile  # noqa: E402
from ingest_bench import CHILD, fresh_workspace, hostile_files  # noqa: E402
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
        template = build_workbook(handout_path(cache / "handout", branch), branch, ws.checklist(), ws.settings())
        fill_workbook(template, cache / "clean" / NAME, branch, ws.checklist(), ws.settings(), SEED, frozenset())
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


def measure(base: Path, path: Path, scratch: Path) -> dict:
    ws = fresh_workspace(base, scratch)
    shutil.copyfile(path, ws.inbox / path.name)
    out = subprocess.run([sys.executable, "-c", CHILD, str(ws.inbox / path.name), str(ws.root)],
                         capture_output=True, text=True, check=False, timeout=600)
    shutil.rmtree(ws.root, ignore_errors=True)
    if out.returncode:
        return {"failed": (out.stderr.strip().splitlines() or ["exit %d" % out.returncode])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(runs: int = 3, flips: int = 12) -> int:
    cache = Path(tempfile.gettempdir()) / f"xlflow-faults-bench-{flips}"
    base, clean, files = corpus(cache, flips)
    kinds = {"clean return (baseline)": clean, **files}
    samples: dict[str, list[dict]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory() as scratch:
        for r in range(runs):
            for kind, path in kinds.items():
                samples[kind].append(measure(base, path, Path(scratch)))
            print(f"run {r + 1}/{runs} done", flush=True)
    base_s = statistics.median(s["pass_s"] for s in samples["clean return (baseline)"])
    base_mb = statistics.median(s["pass_mb"] for s in samples["clean return (baseline)"])
    print(f"\n{len(files)} hostile or mutated files, {runs} runs each, each pass in its own process; "
          f"baseline (a clean return): {base_s:.3f} s, +{base_mb:.0f} MB")
    print(f"  {'file':34s} {'median s':>8s} {'worst s':>8s} {'× clean':>7s} {'median MB':>9s} {'worst MB':>8s}  outcome")
    worst_s = worst_mb = 0.0
    failed = []
    for kind, got in samples.items():
        bad = [g["failed"] for g in got if "failed" in g]
        if bad:
            failed.append(kind)
            print(f"  {kind:34s} FAILED: {bad[0]}")
            continue
        secs, mbs = [g["pass_s"] for g in got], [g["pass_mb"] for g in got]
        med = statistics.median(secs)
        print(f"  {kind:34s} {med:8.3f} {max(secs):8.3f} {med / base_s:7.1f} {statistics.median(mbs):9.0f} "
              f"{max(mbs):8.0f}  {got[0]['outcome']} {got[0]['code']}")
        if kind != "clean return (baseline)":
            worst_s, worst_mb = max(worst_s, max(secs)), max(worst_mb, max(mbs))
    ok = not failed and worst_s < GOAL_S and worst_mb < GOAL_MB
    print(f"\nworst single file: {worst_s:.2f} s (goal < {GOAL_S} s), +{worst_mb:.0f} MB (goal < {GOAL_MB} MB)"
          f"{'; FAILED: ' + ', '.join(failed) if failed else ''} → {'OK' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*map(int, sys.argv[1:3])))
