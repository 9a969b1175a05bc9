"""Benchmark: branch workbooks for 1,000 branches (goal: ≤ 20 s on 2 cores).

Prints the median of several runs of `write_handout` with all cores, against a baseline measured
in the same run: the same work on one core. Usage: python bench/templates_bench.py [branches] [runs]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from xlflow.campaign import Campaign
from xlflow.checklist import load_checklist
from xlflow.roster import load_roster
from xlflow.settings import Settings
from xlflow.workbook import write_handout

ROOT = Path(__file__).resolve().parent.parent


def roster(n: int):
    sample = load_roster(ROOT / "templates" / "branches.xlsx")
    return [replace(b, code=f"{b.code}-{i // len(sample):03d}", name=f"{b.name}{i // len(sample) + 1}")
            for i, b in ((i, sample[i % len(sample)]) for i in range(n))]


def timed(branches, checklist, settings, workers: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        write_handout(Campaign(checklist, settings, branches), Path(d), workers=workers)
        return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    checklist, settings, branches = load_checklist(ROOT / "templates" / "checklist.yaml"), Settings(), roster(n)
    cores = os.cpu_count() or 1
    one = [timed(branches, checklist, settings, 1) for _ in range(runs)]
    alls = [timed(branches, checklist, settings, cores) for _ in range(runs)]
    m1, mall = statistics.median(one), statistics.median(alls)
    print(f"templates for {n} branches, median of {runs} runs")
    print(f"  baseline, 1 core : {m1:6.2f} s  ({m1 / n * 1000:.1f} ms per workbook)")
    print(f"  xlflow, {cores} cores : {mall:6.2f} s  ({mall / n * 1000:.1f} ms per workbook)  speed-up {m1 / mall:.2f}x")
    print(f"  goal ≤ 20 s: {'met' if mall <= 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
