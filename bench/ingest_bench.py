"""Benchmark: `xlflow ingest` over returned branch workbooks, as the clerk waits for it.

Each run takes a fresh working folder with N returns in inbox/ and runs the whole command as a
process of its own, timed from outside (bench/proc.py: wall time, peak RSS of the largest process
and of the process tree): the pass (up to its "本次处理完毕" log line: intake, read, identify,
validate, record, move, feedback) and the whole command (with the master and documents it
rebuilds). Baselines measured in the same run, as processes too: the floor, python-calamine
reading every sheet of the same files (on both sides of the all-valid pass, against drifting
load), and the naive way, `pandas.read_excel(path, sheet_name=None, engine="openpyxl")` over a
sample of the files (per workbook). Twice per run: all valid (the N clean returns) and the
realistic mix (15% replaced by a faulty variant: rejected, with feedback copies).

Goal (per workbook, median of the per-run ratios): the pass at most 3× the floor and at least 5×
faster than naive. Hostile files: bench/faults_bench.py (each through `xlflow ingest` as well).

The returned workbooks are built once, untimed (a few minutes for 1,000): templates for N
synthetic branches (the sample roster extended as in templates_bench.py, written as the working
folder's branches.xlsx so that identify knows them), filled with xlflow.sample.fill_workbook: a
clean return for every branch (5% with full-width digits, which are accepted), and a faulty variant
(one or two typical mistakes) for 15% of them. They are cached in the temp folder, keyed by the
template version, checklist and settings; delete the folder to rebuild after changing sample.py.

Usage: python bench/ingest_bench.py [workbooks=1000] [runs=3] [naive sample=100]
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]


from helpers import write_roster  # noqa: E402  (tests/helpers.py: the roster as a clerk keeps it)
from ladder import FLOOR_READ, _pass_end  # noqa: E402
from proc import XLFLOW, measure, spread  # noqa: E402
from templates_bench import roster  # noqa: E402
from xlflow import ingest  # noqa: E402
from xlflow.campaign import Campaign  # noqa: E402
from xlflow.ingest import candidates, run_pass  # noqa: E402
from xlflow.sample import MISTAKES, fill_workbook  # noqa: E402
from xlflow.workbook import handout_path, template_version, write_handout  # noqa: E402
from xlflow.workspace import Workspace, init_workspace  # noqa: E402

SEED = 2019
FAULTY_SHARE = 0.15
NOW = dt.datetime(2019, 12, 20, 10, 0, 0)
FLOOR_RATIO, NAIVE_SPEEDUP = 3.0, 5.0


# ------------------------------------------------------------------ preparation (not timed)
def cache_dir(n: int) -> Path:
    """Keyed by what the returned files depend on: template layout, checklist, settings, sample data."""
    base = Workspace(ROOT)
    parts = [str(n), str(SEED), template_version(base.checklist()), base.checklist().fingerprint,
             repr(base.settings())]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"xlflow-ingest-bench-{n}-{key}"


def _fill(job) -> None:
    template, dest, branch, inputs, seed, mistakes = job
    fill_workbook(template, dest, branch, inputs, seed, mistakes)


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
    inputs = Campaign(ws.checklist(), ws.settings())  # no roster: each job is sent to a worker
    assert len(ws.roster()) == n
    handout = cache / "handout"
    write_handout(Campaign(inputs.checklist, inputs.settings, branches), handout)
    r = random.Random(SEED)
    faulty_idx = set(r.sample(range(n), round(n * FAULTY_SHARE)))
    fullwidth = set(r.sample(sorted(set(range(n)) - faulty_idx), max(1, round(n * 0.05))))
    typical = [m for m in MISTAKES if m != "fullwidth"]
    jobs, clean, mix = [], [], []
    for i, b in enumerate(branches):
        name = f"{b.name}（{b.secretary or '书记'}填报）.xlsx"
        good = cache / "clean" / name
        jobs.append((handout_path(handout, b), good, b, inputs, SEED + i,
                     frozenset({"fullwidth"}) if i in fullwidth else frozenset()))
        clean.append(good)
        if i in faulty_idx:
            bad = cache / "faulty" / name
            mistakes = frozenset(r.sample(typical, r.choice((1, 1, 2))))
            jobs.append((handout_path(handout, b), bad, b, inputs, SEED + i, mistakes))
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


NAIVE = """
import sys, pandas as pd
for f in open(sys.argv[1], encoding="utf-8").read().splitlines():
    pd.read_excel(f, sheet_name=None, engine="openpyxl")
"""


def timed_ingest(base: Path, files: list[Path], scratch: Path) -> dict:
    """`xlflow ingest` over an inbox of these files: the pass and the whole command."""
    ws = fresh_workspace(base, scratch)
    for f in files:
        shutil.copyfile(f, ws.inbox / f.name)
    m = measure([*XLFLOW, "ingest", "--root", str(ws.root)])
    end = _pass_end(ws.root)
    got = {"pass": end - m.started, "pass_mb": m.tree_before(end), "whole": m.wall, "whole_mb": m.tree_mb,
           "accepted": sum(1 for _ in ws.accepted.iterdir()), "rejected": sum(1 for _ in ws.rejected.iterdir()),
           "feedback": sum(1 for _ in ws.feedback.glob("*.xlsx"))}
    shutil.rmtree(ws.root)
    return got


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    naive_n = min(n, int(sys.argv[3]) if len(sys.argv) > 3 else 100)
    base, clean, mix = prepare(n)
    if hasattr(os, "getloadavg"):
        print(f"load average before the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work on "
              "the machine makes every figure noisier; the same-run ratios suffer less)")
    naive_files = clean[:: max(1, n // naive_n)][:naive_n]
    floor_cmd = [sys.executable, "-c", FLOOR_READ, str(clean[0].parent)]
    rows = []  # per run, per workbook: floor, naive, valid pass, valid whole, mix pass; and the dicts
    with tempfile.TemporaryDirectory(prefix="xlflow-ingest-bench-") as scratch:
        scratch = Path(scratch)
        listing = scratch / "naive.txt"
        listing.write_text("\n".join(map(str, naive_files)), encoding="utf-8")
        for run in range(runs):
            f1 = measure(floor_cmd).wall
            valid = timed_ingest(base, clean, scratch)
            assert valid["accepted"] == n, valid
            f2 = measure(floor_cmd).wall
            mixed = timed_ingest(base, mix, scratch)
            naive = measure([sys.executable, "-c", NAIVE, str(listing)]).wall / len(naive_files)
            floor = (f1 + f2) / 2 / n
            rows.append((floor, naive, valid["pass"] / n, valid["whole"] / n, mixed["pass"] / n, valid, mixed))
            print(f"  run {run + 1}: floor {floor * 1000:.1f} ms  pass {valid['pass'] / n * 1000:.1f} ms "
                  f"({valid['pass'] / n / floor:.2f}x)  whole command {valid['whole']:.1f} s  mix pass "
                  f"{mixed['pass'] / n * 1000:.1f} ms  naive {naive * 1000:.1f} ms", flush=True)
    per_ms = lambda i: spread([r[i] * 1000 for r in rows])  # noqa: E731
    ratio = statistics.median(r[2] / r[0] for r in rows)
    speedup = statistics.median(r[1] / r[2] for r in rows)
    mixed = rows[-1][6]
    print(f"\n`xlflow ingest` of {n} returned workbooks, {runs} runs, median (min–max), per workbook, each a process")
    print(f"  floor: python-calamine, every sheet : {per_ms(0)} ms")
    print(f"  naive: pandas.read_excel + openpyxl : {per_ms(1)} ms  (over {len(naive_files)} of the files)")
    print(f"  the pass, all valid                 : {per_ms(2)} ms = {ratio:.2f}x floor, {speedup:.1f}x faster than "
          f"naive; peak {spread([r[5]['pass_mb'] for r in rows], '{:.0f}')} MB")
    print(f"  the whole command, all valid        : {spread([r[5]['whole'] for r in rows])} s (with the master and "
          f"documents); peak {spread([r[5]['whole_mb'] for r in rows], '{:.0f}')} MB")
    print(f"  the pass, realistic mix             : {per_ms(4)} ms ({mixed['rejected']} rejected with "
          f"{mixed['feedback']} feedback copies, {mixed['accepted']} accepted)")
    met = ratio <= FLOOR_RATIO and speedup >= NAIVE_SPEEDUP
    print(f"  goal ≤ {FLOOR_RATIO:g}x floor and ≥ {NAIVE_SPEEDUP:g}x faster than naive (all valid, median of "
          f"the per-run ratios): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
