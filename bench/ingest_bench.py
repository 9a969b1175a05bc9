"""Benchmark: intake + read + validate + store over returned branch workbooks.

Goal (per workbook, median of several runs): the whole `run_pass` at most 3× the floor
(python-calamine reading every sheet of the same files) and at least 5× faster than the naive
baseline (`pandas.read_excel(path, sheet_name=None, engine="openpyxl")`), both measured in the same
run; every hostile file rejected within 2 s and 300 MB.

The returned workbooks are built once, untimed (a few minutes for 1,000): templates for N
synthetic branches (the sample roster extended as in templates_bench.py, written as the working
folder's branches.xlsx so that identify knows them), filled with xlflow.sample.fill_workbook: a
clean return for every branch (5% with full-width digits, which are accepted), and a faulty variant
(one or two typical mistakes) for 15% of them. They are cached in the temp folder, keyed by the
template version, checklist and settings; delete the folder to rebuild after changing sample.py.
Each run times run_pass over a fresh working folder and inbox twice: all valid (the N clean
returns) and the realistic mix (15% replaced by their faulty variant: rejected, with feedback
copies, whose writing is timed apart); the floor is measured on both sides of the first.
Hostile files (generators of tests/test_intake.py) each run in a process of their own.

Usage: python bench/ingest_bench.py [workbooks=1000] [runs=5] [naive sample=100]
  (the naive baseline reads every k-th file only, `naive sample` of them per run: it costs tens of
   ms a workbook, and its per-workbook figure is all the comparison needs)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]

import openpyxl  # noqa: E402
import pandas as pd  # noqa: E402
import python_calamine  # noqa: E402

from templates_bench import roster  # noqa: E402
from xlflow import constants as K  # noqa: E402
from xlflow import ingest  # noqa: E402
from xlflow.ingest import candidates, run_pass  # noqa: E402
from xlflow.sample import MISTAKES, fill_workbook  # noqa: E402
from xlflow.workbook import handout_path, template_version, write_handout  # noqa: E402
from xlflow.workspace import Workspace, init_workspace  # noqa: E402

SEED = 2019
FAULTY_SHARE = 0.15
NOW = dt.datetime(2019, 12, 20, 10, 0, 0)
FLOOR_RATIO, NAIVE_SPEEDUP, HOSTILE_SECONDS, HOSTILE_MB = 3.0, 5.0, 2.0, 300


# ------------------------------------------------------------------ preparation (not timed)
def write_roster(path: Path, branches) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = K.ROSTER_SHEET
    keys = list(K.ROSTER_COLUMNS)
    ws.append([K.ROSTER_COLUMNS[k] for k in keys])
    for b in branches:
        ws.append([getattr(b, k) for k in keys])
    wb.save(path)


def cache_dir(n: int) -> Path:
    """Keyed by what the returned files depend on: template layout, checklist, settings, sample data."""
    base = Workspace(ROOT)
    parts = [str(n), str(SEED), template_version(base.checklist()), base.checklist().fingerprint,
             repr(base.settings())]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"xlflow-ingest-bench-{n}-{key}"


def _fill(job) -> None:
    template, dest, branch, checklist, settings, seed, mistakes = job
    fill_workbook(template, dest, branch, checklist, settings, seed, mistakes)


def prepare(n: int) -> tuple[Path, list[Path], list[Path]]:
    """(base working folder, clean returns, mix returns); built once and cached."""
    cache = cache_dir(n)
    done = cache / "done.json"
    if done.exists():
        meta = json.loads(done.read_text(encoding="utf-8"))
        return cache / "base", [cache / p for p in meta["clean"]], [cache / p for p in meta["mix"]]
    if cache.exists():
        shutil.rmtree(cache)
    print(f"preparing {n} returned workbooks in {cache} (once) …", flush=True)
    start = time.perf_counter()
    ws, _ = init_workspace(cache / "base")
    branches = roster(n)
    write_roster(ws.roster_path, branches)
    checklist, settings = ws.checklist(), ws.settings()
    assert len(ws.roster()) == n
    handout = cache / "handout"
    write_handout(branches, checklist, settings, handout)
    r = random.Random(SEED)
    faulty_idx = set(r.sample(range(n), round(n * FAULTY_SHARE)))
    fullwidth = set(r.sample(sorted(set(range(n)) - faulty_idx), max(1, round(n * 0.05))))
    typical = [m for m in MISTAKES if m != "fullwidth"]
    jobs, clean, mix = [], [], []
    for i, b in enumerate(branches):
        name = f"{b.name}（{b.secretary or '书记'}填报）.xlsx"
        good = cache / "clean" / name
        jobs.append((handout_path(handout, b), good, b, checklist, settings, SEED + i,
                     frozenset({"fullwidth"}) if i in fullwidth else frozenset()))
        clean.append(good)
        if i in faulty_idx:
            bad = cache / "faulty" / name
            mistakes = frozenset(r.sample(typical, r.choice((1, 1, 2))))
            jobs.append((handout_path(handout, b), bad, b, checklist, settings, SEED + i, mistakes))
            mix.append(bad)
        else:
            mix.append(good)
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(_fill, jobs, chunksize=8))
        # A few random clean fillings break a rule by chance (sample data, not a mistake): fill
        # those branches again with another seed, so that the all-valid inbox is all valid.
        for attempt in range(1, 6):
            with tempfile.TemporaryDirectory() as scratch:
                *_, counts, rejected = _pass(cache / "base", clean, Path(scratch))
            if not rejected:
                break
            redo = {c.name for c in clean} & set(rejected)
            list(pool.map(_fill, [(*j[:5], j[5] + 100_003 * attempt, j[6]) for j in jobs if j[1].name in redo]))
        else:
            raise SystemExit(f"sample data: {len(rejected)} clean returns still rejected: {rejected[:3]}")
    shutil.rmtree(handout)
    done.write_text(json.dumps({"clean": [p.relative_to(cache).as_posix() for p in clean],
                                "mix": [p.relative_to(cache).as_posix() for p in mix]}, ensure_ascii=False),
                    encoding="utf-8")
    print(f"  prepared in {time.perf_counter() - start:.0f} s", flush=True)
    return cache / "base", clean, mix


def fresh_workspace(base: Path, parent: Path) -> Workspace:
    """A new working folder with the bench roster and an empty ledger."""
    root = Path(tempfile.mkdtemp(prefix="ws-", dir=parent))
    shutil.copytree(base / "templates", root / "templates")
    for f in base.iterdir():
        if f.is_file():
            shutil.copyfile(f, root / f.name)
    ws = Workspace(root)
    ws.make_dirs()
    return ws


# ------------------------------------------------------------------ timed work
class FeedbackTimer:
    """Wraps the feedback writers that ingest calls, to report their time apart."""

    def __init__(self):
        self.seconds, self.count = 0.0, 0
        self.originals = ingest.write_feedback, ingest.write_unreadable_note

    def _wrap(self, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.count += 1
        return timed

    def __enter__(self):
        ingest.write_feedback, ingest.write_unreadable_note = map(self._wrap, self.originals)
        return self

    def __exit__(self, *exc):
        ingest.write_feedback, ingest.write_unreadable_note = self.originals


def time_pass(base: Path, files: list[Path], scratch: Path) -> tuple[float, float, float, int, dict[str, int]]:
    """(seconds for run_pass, CPU seconds, of which feedback, feedback count, outcome counts)."""
    return _pass(base, files, scratch)[:5]


def _pass(base: Path, files: list[Path], scratch: Path):
    ws = fresh_workspace(base, scratch)
    for f in files:
        shutil.copyfile(f, ws.inbox / f.name)
    ready = candidates(ws.inbox)
    assert len(ready) == len(files)
    with FeedbackTimer() as fb:
        start, cpu = time.perf_counter(), time.process_time()
        result = run_pass(ws, ready, NOW)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    counts = {k: sum(1 for o in result.outcomes if o.outcome == k) for k in ("accepted", "rejected", "duplicate")}
    shutil.rmtree(ws.root)
    return elapsed, cpu, fb.seconds, fb.count, counts, [o.name for o in result.outcomes if o.outcome != "accepted"]


def time_floor(files: list[Path]) -> tuple[float, float]:
    """(seconds, CPU seconds) for python-calamine reading every sheet of the files."""
    start, cpu = time.perf_counter(), time.process_time()
    for f in files:
        wb = python_calamine.CalamineWorkbook.from_path(str(f))
        for name in wb.sheet_names:
            wb.get_sheet_by_name(name).to_python()
        wb.close()
    return time.perf_counter() - start, time.process_time() - cpu


def time_naive(files: list[Path]) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    for f in files:
        pd.read_excel(f, sheet_name=None, engine="openpyxl")
    return time.perf_counter() - start, time.process_time() - cpu


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


# ------------------------------------------------------------------ hostile files
def hostile_files(folder: Path, some_return: Path) -> dict[str, Path]:
    """The hostile kinds, built with the generators of tests/test_intake.py (cached)."""
    import zipfile

    from test_intake import BILLION_LAUGHS, raw_xlsx

    from xlflow import intake

    folder.mkdir(parents=True, exist_ok=True)
    name = "第一党支部.xlsx"

    def build(kind: str, make) -> Path:
        path = folder / kind / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            make(path)
        return path

    def zip_bomb(path):
        tmp = raw_xlsx(path.with_suffix(".tmp"))
        with zipfile.ZipFile(tmp, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            with zf.open("xl/media/image1.png", "w") as w:
                zeros = bytes(1 << 20)
                for _ in range(1024):
                    w.write(zeros)
        tmp.rename(path)

    def styles(path):
        xfs = "".join(f'<xf numFmtId="{i % 50}" fontId="{i % 997}" fillId="{i % 37}" borderId="{i % 91}" '
                      f'xfId="0" applyFont="1" applyFill="1" applyBorder="1"/>' for i in range(100_000))
        raw_xlsx(path, **{"xl/styles.xml": '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://'
                          'schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs count="100000">'
                          f'{xfs}</cellXfs></styleSheet>'})

    def too_large(path):
        with path.open("wb") as f:
            f.truncate(intake.MAX_FILE_BYTES + 5 * 2**20)

    def big_picture(path):  # just under every limit: read, then rejected as not a branch workbook
        data = bytearray(random.Random(1).randbytes(45 * 2**20))
        raw_xlsx(path, **{"xl/media/image1.png": bytes(data)})

    def truncated(path):
        data = some_return.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    hidden = BILLION_LAUGHS.replace("\n<!DOCTYPE", "\n<!--" + "x" * 8000 + "-->\n<!DOCTYPE")
    return {
        "zip bomb (1 GB of zeros)": build("zipbomb", zip_bomb),
        "zip bomb (ratio)": build("ratio", lambda p: raw_xlsx(p, **{"xl/media/image1.png": bytes(100 * 2**20)})),
        "entity bomb (billion laughs)": build("entities", lambda p: raw_xlsx(p, **{"xl/workbook.xml": BILLION_LAUGHS})),
        "entity bomb past the head": build("entities2", lambda p: raw_xlsx(p, **{"xl/workbook.xml": hidden})),
        "a million rows": build("rows", lambda p: raw_xlsx(p, sheet_rows=1_000_000, dimension="A1:C2")),
        "100k styles": build("styles", styles),
        "1,205 parts": build("parts", lambda p: raw_xlsx(p, **{f"xl/media/image{i}.png": b"x" for i in range(1200)})),
        "huge file (55 MB)": build("huge", too_large),
        "45 MB, under the limits": build("big", big_picture),
        "truncated return": build("truncated", truncated),
    }


CHILD = r"""
import datetime as dt, json, resource, sys, time
from pathlib import Path
from xlflow.ingest import candidates, run_pass
from xlflow.intake import inspect
from xlflow.workspace import Workspace
path, ws = Path(sys.argv[1]), Workspace(Path(sys.argv[2]))
def status(field):  # MB, from Linux's /proc; None elsewhere
    try:
        return int(Path("/proc/self/status").read_text().split(field + ":")[1].split()[0]) / 1024
    except (OSError, IndexError):
        return None
# The peak so far. ru_maxrss survives exec (a child forked from a big parent starts with the
# parent's peak), so VmHWM, which exec resets, comes first; elsewhere ru_maxrss (KiB on Linux).
rss = lambda: status("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = status("VmRSS") or rss()  # the resident set now, after the imports
t = time.perf_counter(); found = inspect(path); t_inspect = time.perf_counter() - t
after_inspect = rss()
t = time.perf_counter(); result = run_pass(ws, candidates(ws.inbox), dt.datetime(2019, 12, 20, 10))
t_pass = time.perf_counter() - t
o = result.outcomes[0]
import sqlite3
codes = [r[0] for r in sqlite3.connect(ws.ledger).execute("SELECT code FROM findings")]
print(json.dumps({"inspect_s": t_inspect, "pass_s": t_pass, "inspect_mb": after_inspect - before,
                  "pass_mb": rss() - before, "peak_mb": rss(), "outcome": o.outcome,
                  "code": "/".join(codes) or "-", "message": o.message}))
"""


def hostile(base: Path, cache: Path, scratch: Path, some_return: Path) -> bool:
    print("\nhostile files (each in its own process; RSS growth = peak RSS − RSS after imports)")
    print(f"  {'file':30s} {'inspect':>9s} {'run_pass':>9s} {'RSS +MB':>8s}  outcome")
    worst_s = worst_mb = 0.0
    ok = True
    for kind, path in hostile_files(cache / "hostile", some_return).items():
        ws = fresh_workspace(base, scratch)
        shutil.copyfile(path, ws.inbox / path.name)
        inbox_file = ws.inbox / path.name
        out = subprocess.run([sys.executable, "-c", CHILD, str(inbox_file), str(ws.root)],
                             capture_output=True, text=True, check=False)
        shutil.rmtree(ws.root)
        if out.returncode:
            print(f"  {kind:30s} FAILED\n{out.stderr}")
            ok = False
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rejected = r["outcome"] == "rejected"
        ok &= rejected
        worst_s, worst_mb = max(worst_s, r["pass_s"]), max(worst_mb, r["pass_mb"])
        print(f"  {kind:30s} {r['inspect_s']:8.3f}s {r['pass_s']:8.3f}s {r['pass_mb']:8.1f}  "
              f"{r['outcome']} ({r['code']})")
    met = ok and worst_s <= HOSTILE_SECONDS and worst_mb <= HOSTILE_MB
    print(f"  worst: {worst_s:.2f} s (goal ≤ {HOSTILE_SECONDS:g} s), RSS +{worst_mb:.0f} MB "
          f"(goal ≤ {HOSTILE_MB} MB): {'met' if met else 'NOT met'}")
    return met


# ------------------------------------------------------------------ main
def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    naive_n = min(n, int(sys.argv[3]) if len(sys.argv) > 3 else 100)
    base, clean, mix = prepare(n)
    if hasattr(os, "getloadavg"):
        print(f"load average before the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work on "
              "the machine makes every figure noisier; CPU-time ratios are shown too, they suffer less)")
    naive_files = clean[:: max(1, n // naive_n)][:naive_n]
    rows = []  # per run: floor, valid, mix, feedback, naive (wall, per workbook) and floor, valid (CPU)
    with tempfile.TemporaryDirectory(prefix="xlflow-ingest-bench-") as scratch:
        scratch = Path(scratch)
        for run in range(runs):
            f1, f1_cpu = time_floor(clean)
            secs, cpu, _, _, counts = time_pass(base, clean, scratch)
            assert counts["accepted"] == n, counts
            f2, f2_cpu = time_floor(clean)  # the floor on both sides of the pass, against drifting load
            m_secs, _, fb, fb_count, mix_counts = time_pass(base, mix, scratch)
            nv = time_naive(naive_files)[0] / len(naive_files)
            rows.append(((f1 + f2) / 2 / n, secs / n, m_secs / n, fb / n, nv, (f1_cpu + f2_cpu) / 2 / n, cpu / n))
            r = rows[-1]
            print(f"  run {run + 1}: floor {ms(r[0])}  valid {ms(r[1])} ({r[1] / r[0]:.2f}x)  mix {ms(r[2])} "
                  f"(feedback {ms(r[3])})  naive {ms(r[4])}", flush=True)
        f, v, m, mfb, nv, f_cpu, v_cpu = (statistics.median(col) for col in zip(*rows))
        ratio = statistics.median(r[1] / r[0] for r in rows)
        speedup = statistics.median(r[4] / r[1] for r in rows)
        cpu_ratio = statistics.median(r[6] / r[5] for r in rows)
        print(f"\ningest of {n} returned workbooks, median of {runs} runs, per workbook")
        print(f"  floor: python-calamine, every sheet : {ms(f)}")
        print(f"  naive: pandas.read_excel + openpyxl : {ms(nv)}  (over {len(naive_files)} of the files)")
        print(f"  run_pass, all valid                 : {ms(v)}  = {ratio:5.2f}x floor, "
              f"{speedup:5.1f}x faster than naive")
        print(f"    in CPU time                       : {ms(v_cpu)}  = {cpu_ratio:5.2f}x the floor's "
              f"{ms(f_cpu).strip()}")
        print(f"  run_pass, realistic mix             : {ms(m)}  ({mix_counts['rejected']} rejected, "
              f"{mix_counts['accepted']} accepted)")
        print(f"    of which feedback copies          : {ms(mfb)}  ({mfb * n / max(fb_count, 1) * 1000:.0f} ms "
              f"per rejected workbook, {fb_count} written)")
        print(f"    without feedback                  : {ms(m - mfb)}  = {(m - mfb) / f:5.2f}x floor, "
              f"{nv / (m - mfb):5.1f}x faster than naive")
        met = ratio <= FLOOR_RATIO and speedup >= NAIVE_SPEEDUP
        print(f"  goal ≤ {FLOOR_RATIO:g}x floor and ≥ {NAIVE_SPEEDUP:g}x faster than naive (all valid, median of "
              f"the per-run ratios): {'met' if met else 'NOT met'}")
        hostile(base, cache_dir(n), scratch, mix[0])


if __name__ == "__main__":
    main()
