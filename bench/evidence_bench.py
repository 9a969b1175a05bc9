"""Benchmark: checking a return's evidence (check_return) against reading its workbook (read_workbook).

Goal: checking costs at most a fifth of reading (so the evidence rules never dominate a pass), as
the median over several runs of the per-return times, both measured in the same run on the same
sample returns (4 branch types × 4 seeds, filled with xlflow.sample.fill_workbook). Moved here from
the unit suite (tests/test_evidence.py), where a timing ratio could fail on a busy machine.

Usage: python bench/evidence_bench.py [runs=5] [checks per run=1000]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers import sample_returns  # noqa: E402
from xlflow.campaign import Campaign  # noqa: E402
from xlflow.checklist import load_checklist  # noqa: E402
from xlflow.evidence import check_return, from_checked  # noqa: E402
from xlflow.read import read_workbook  # noqa: E402
from xlflow.settings import Settings  # noqa: E402


def main(runs: int = 5, checks: int = 1000) -> None:
    checklist, settings = load_checklist(ROOT / "templates" / "checklist.yaml"), Settings()
    with tempfile.TemporaryDirectory() as tmp:
        done = sample_returns(Path(tmp), Campaign(checklist, settings))
        paths, data = [p for p, _ in done], [from_checked(c) for _, c in done]
        read_workbook(paths[0])  # warm-up: imports and caches are not the reading
        reads, checks_ = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            for p in paths:
                read_workbook(p)
            reads.append((time.perf_counter() - t0) / len(paths))
            t0 = time.perf_counter()
            for i in range(checks):
                check_return(data[i % len(data)], Campaign(checklist, settings))
            checks_.append((time.perf_counter() - t0) / checks)
    read, check = statistics.median(reads), statistics.median(checks_)
    ok = check < read / 5
    print(f"check_return: {check * 1e3:.3f} ms per return; read_workbook: {read * 1e3:.1f} ms per file; "
          f"ratio 1:{read / check:.0f} (goal at least 1:5) {'OK' if ok else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
