"""Benchmark: starting a new year for 1,000 branches (goal: ≤ 1.5× today's 1,000 templates).

A 2019 working folder is made with a real ledger holding one accepted return per branch (20
members, 3 activists, 6 problems of which 4 open: written through ledger.record, as ingest does),
then `start_year` freezes it into a 2020 folder. Timed, median of several runs, on all cores:
  baseline  the 1,000 handed-out workbooks of a first year (write_handout, nothing carried)
  xlflow    the new year's: carry.carried() read from the frozen ledger + write_handout pre-filled
Usage: python bench/newyear_bench.py [branches] [runs]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

from templates_bench import roster

from xlflow import constants as K
from xlflow import ledger
from xlflow.campaign import Campaign
from xlflow.carry import carried
from xlflow.workbook import write_handout
from xlflow.workspace import Workspace, init_workspace
from xlflow.years import start_year


def old_year(root: Path, branches) -> Workspace:
    ws, _ = init_workspace(root)
    with contextlib.closing(ledger.open_ledger(ws.ledger)) as conn, ledger.group_commit(conn):
        for n, b in enumerate(branches):
            rec = ledger.FileRecord(sha256=f"{n:064d}", original_name=f"{b.code}.xlsx", size=1,
                                    arrived_at=dt.datetime(2019, 11, 28, 9), outcome=ledger.ACCEPTED,
                                    stored_as=f"inbox/accepted/{n}.xlsx", branch_code=b.code, kind=K.KIND_BRANCH,
                                    content_hash=f"{n}")
            basic = {"code": b.code, "name": b.name, "general": b.general, "type": b.type, "full_members": 18,
                     "probationary_members": 2, "has_committee": 1, "committee_size": 5, "secretary": b.secretary,
                     "election_date": "2018-06-20", "groups": 3, "phone": "0392-3311000", "filled_on": "2019-11-20"}
            members = [{"_row": 3 + i, "name": f"党员{i}", "category": K.MEMBER_CATEGORIES[i // 18], "group": "第一党小组",
                        "study_hours": 32, "dues_months": 11} for i in range(20)]
            activists = [{"_row": 3 + i, "name": f"积极分子{i}", "designated": "2019-03-01"} for i in range(3)]
            problems = [{"_row": 3 + i, "indicator": "ZS01", "problem": f"第{i}个问题：“三会一课”记录不完整",
                         "measure": "建立台账，按月检查", "owner": b.secretary, "deadline": "2020-03-31",
                         "status": K.PROBLEM_STATUS[i % 3]} for i in range(6)]
            ledger.record(conn, rec, [], basic, {"members": members, "activists": activists, "problems": problems})
    return ws


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    branches = roster(n)
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        old = old_year(base / "2019", branches)
        (old.templates / "branches.xlsx").unlink()  # the bench's roster is passed in, not read
        new = start_year(base / "2020", old.root, dt.datetime(2020, 1, 10)).workspace
        checklist, settings = new.checklist(), new.settings()

        def first_year(k: int):
            write_handout(Campaign(checklist, settings, branches), base / f"first{k}")

        def new_year(k: int):
            write_handout(Campaign(checklist, settings, branches), base / f"new{k}",
                          carried=carried(new.root, [b.code for b in branches]))

        t0 = time.perf_counter()
        held = carried(new.root, [b.code for b in branches])
        read = time.perf_counter() - t0
        assert sum(len(c.problems) for c in held.values()) == 4 * n
        plain = [timed(lambda: first_year(k)) for k in range(runs)]
        carry = [timed(lambda: new_year(k)) for k in range(runs)]
    mp, mc = statistics.median(plain), statistics.median(carry)
    print(f"new year for {n} branches, median of {runs} runs (min–max)")
    print(f"  baseline, first year's templates : {mp:6.2f} s  ({min(plain):.2f}–{max(plain):.2f})")
    print(f"  xlflow, carried + pre-filled     : {mc:6.2f} s  ({min(carry):.2f}–{max(carry):.2f})"
          f"  = {mc / mp:.2f}× the baseline (of which reading the history {read:.2f} s)")
    print(f"  goal ≤ 1.5×: {'met' if mc <= 1.5 * mp else 'NOT met'}")


if __name__ == "__main__":
    main()
