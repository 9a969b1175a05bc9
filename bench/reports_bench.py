"""Benchmark: 1,000 acceptance reports (goals: full run ≤ 20 s on both cores, one changed branch < 1 s).

A small real campaign (handout, filled returns, one ingest pass, load_results) gives a few real
BranchResults; 1,000 are synthesized from them (other codes, names, 总支 and ratings, so scores,
ranks and 样板 vary). Then, medians over several runs:
  baseline     plain docxtpl on one core: DocxTemplate(path).render(context, autoescape=True).save()
               for the same contexts, measured in the same run;
  full         write_reports(..., force=True) for the acceptance reports on every core;
  incremental  one branch's problem text changed, write_reports() again (renders that one report;
               includes the template check, planning and hashing of all 1,000 contexts);
and once, for scale, a full run of every document (reports, certificates, annual reports, decision).

Usage: python bench/reports_bench.py [reports] [runs]
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from docxtpl import DocxTemplate

from xlflow import documents as D
from xlflow import reports as R
from xlflow.ingest import candidates, run_pass
from xlflow.ledger import open_ledger
from xlflow.results import Results, load_results
from xlflow.sample import fill_workbook
from xlflow.scoring import benchmark_generals, rank_all, score_branch
from xlflow.workbook import handout_path, write_handout
from xlflow.workspace import init_workspace

TODAY = dt.date(2019, 12, 20)


def real_campaign(root: Path, returns: int = 6):
    ws, _ = init_workspace(root)
    checklist, settings, roster = ws.checklist(), ws.settings(), ws.roster()
    by_type = {}
    for b in roster:
        by_type.setdefault(b.type, b)
    branches = list(by_type.values())[:returns]
    write_handout(branches, checklist, settings, ws.handout, workers=1)
    for n, b in enumerate(branches):
        fill_workbook(handout_path(ws.handout, b), ws.inbox / f"{b.code}.xlsx", b, checklist, settings, 7 + n)
    run_pass(ws, candidates(ws.inbox), dt.datetime(2019, 12, 5, 9))
    conn = open_ledger(ws.ledger)
    try:
        results = load_results(conn, checklist, settings, branches)
    finally:
        conn.close()
    return ws, checklist, settings, results


def synthesize(base: Results, checklist, n: int, seed: int = 1) -> Results:
    rng = random.Random(seed)
    ratings = [r.name for r in checklist.ratings]
    codes = [i.code for i in checklist.indicators]
    params, out = base.params, []
    for i in range(n):
        src = base.branches[i % len(base.branches)]
        branch = replace(src.branch, code=f"{src.branch.code}-{i:04d}", name=f"{src.branch.name}{i + 1:04d}",
                         general=f"第{i // 40 + 1:02d}党总支")
        self_r = dict(src.self_ratings)
        for code in rng.sample(codes, 3):
            self_r[code] = rng.choice(ratings)
        score = score_branch(branch.code, checklist, params, self_r, src.first.ratings, src.second.ratings)
        out.append(replace(src, branch=branch, self_ratings=self_r, score=score,
                           problems=[dict(p) for p in src.problems]))
    quota = rank_all([r.score for r in out], n, params)
    benchmarks = benchmark_generals([r.score for r in out], {r.branch.code: r.branch.general for r in out}, params)
    return Results(out, [], quota, benchmarks, params)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ws, checklist, settings, base = real_campaign(tmp / "campaign")
        results = synthesize(base, checklist, n)
        only = (D.ACCEPTANCE,)
        template = ws.templates / D.TEMPLATES[D.ACCEPTANCE]
        docs = D.plan(results, checklist, settings, TODAY, only)

        def baseline(k: int) -> float:
            out = tmp / f"baseline{k}"
            out.mkdir()
            start = time.perf_counter()
            for d in docs:
                tpl = DocxTemplate(str(template))
                tpl.render(d.context, autoescape=True)
                tpl.save(str(out / f"{k}-{d.path.rsplit('/', 1)[-1]}"))
            return time.perf_counter() - start

        def full(k: int) -> float:
            start = time.perf_counter()
            run = R.write_reports(results, checklist, settings, ws.templates, tmp / f"full{k}", cores,
                                  today=TODAY, force=True, kinds=only)
            assert len(run.written) == n, len(run.written)
            return time.perf_counter() - start

        base_times = [baseline(k) for k in range(runs)]
        full_times = [full(k) for k in range(runs)]

        steady = tmp / "steady"
        R.write_reports(results, checklist, settings, ws.templates, steady, cores, today=TODAY, kinds=only)
        inc_times = []
        for k in range(max(runs, 5)):
            br = results.branches[(k * 97) % n]
            br.problems = [{**p, "problem": f"{p.get('problem') or ''}（第{k + 1}次修改）"} for p in br.problems] or \
                [{"indicator": "ZS01", "problem": f"修改{k}", "measure": "", "owner": "", "deadline": "", "status": ""}]
            start = time.perf_counter()
            run = R.write_reports(results, checklist, settings, ws.templates, steady, cores, today=TODAY, kinds=only)
            inc_times.append(time.perf_counter() - start)
            assert len(run.written) == 1 and len(run.skipped) == n - 1, (len(run.written), len(run.skipped))

        start = time.perf_counter()
        everything = R.write_reports(results, checklist, settings, ws.templates, tmp / "all", cores, today=TODAY)
        all_time = time.perf_counter() - start

    mb, mf, mi = statistics.median(base_times), statistics.median(full_times), statistics.median(inc_times)
    print(f"acceptance reports: {n}, median of {runs} runs ({len(inc_times)} for incremental), {cores} cores")
    print(f"  baseline, plain docxtpl, 1 core : {mb:6.2f} s  ({mb / n * 1000:.1f} ms per report)")
    print(f"  xlflow full, {cores} cores            : {mf:6.2f} s  ({mf / n * 1000:.1f} ms per report)  "
          f"speed-up {mb / mf:.2f}x   goal ≤ 20 s: {'met' if mf <= 20 else 'NOT met'}")
    print(f"  xlflow incremental, 1 changed   : {mi:6.2f} s   goal < 1 s: {'met' if mi < 1 else 'NOT met'}")
    print(f"  every document ({len(everything.written)}: reports, certificates, annual reports, decision): "
          f"{all_time:.2f} s")


if __name__ == "__main__":
    main()
