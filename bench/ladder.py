"""Benchmark: the province ladder, 1,000 → 5,000 → 15,000 branches, as a clerk runs it.

For each size N, in a fresh working folder with a roster of N branches and N returns in inbox/:
  xlflow ingest          the whole command (a real pass over N files, then the master and the
                         documents it rebuilds): wall time, peak memory of the pass (until its
                         "本次处理完毕" log line) and of the whole command;
  xlflow master          the whole command;
  xlflow reports --force every document again, on every core;
each as a process of its own, timed from outside: wall time, the peak resident memory of the
largest process (getrusage of the child, as /usr/bin/time -v reports it) and of the whole
process tree (the report's workers included; sampled from /proc every 0.1 s on Linux).
Floors measured in the same run, as processes too: reading every return with python-calamine
(one core: the ingest pass's floor) and re-zipping every document written (one core: the
documents' floor; the ratio is given per CPU as well, since reports uses every core).
Bounds checked (issue 13): the pass of 15,000 under 600 MB, `reports --force` at 5,000 under 400 MB.

Figures (issue 13's end, 1 run each, 2 cores): 15,000 (load ≈2): the pass 178.8 s, 207 MB, 3.71× the
read floor; the whole `xlflow ingest` 356 s, largest process 1,021 MB. 5,000 (main at 751ab33, load
≈1): `reports --force` 15.8 s, 1.14× the zip floor, largest process 174 MB, tree 384 MB; the whole
`xlflow ingest` 99.1 s, 318 MB largest, the pass 51.0 s and 166 MB.

The returns are cheap copies of real ones: the sample roster's branches (one of each kind) are
handed out and filled once with xlflow.sample; every ladder branch gets a copy of one of them with
its identity rewritten (branch code and name, in every XML part of the zip), so each is a distinct,
real workbook that the pass reads, identifies and validates in full. They are cached (hard links
into each inbox, since a pass moves its files); delete /tmp/xlflow-ladder-* after changing sample.py.

Usage: python bench/ladder.py [sizes=1000,5000,15000] [runs=1] [steps=ingest,master,reports]
  (`xlflow ingest` builds the master and documents too: at 15,000, `ingest` alone is the long
   rung's essential step, the pass's bound its point)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]

from helpers import write_roster  # noqa: E402
from proc import XLFLOW, Measured, measure, spread  # noqa: E402
from templates_bench import roster  # noqa: E402
from xlflow.campaign import Campaign  # noqa: E402
from xlflow.roster import load_roster  # noqa: E402
from xlflow.sample import fill_workbook  # noqa: E402
from xlflow.workbook import handout_path, template_version, write_handout  # noqa: E402
from xlflow.workspace import Workspace, init_workspace  # noqa: E402

PASS_MB, REPORTS_MB = 600, 400  # the pass at 15,000; reports --force at 5,000
STEPS = ("ingest", "master", "reports")  # ingest always runs: the others need its ledger


# ------------------------------------------------------------------ preparation (not timed)
def _rewrite(job) -> None:
    """A copy of a source return with its identity (code, name) rewritten in every XML part."""
    src, dest, pairs = job
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith((".xml", ".rels")):
                for old, new in pairs:
                    data = data.replace(old, new)
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)


def _fill(job) -> None:
    fill_workbook(*job)


def prepare(n: int) -> tuple[Path, Path]:
    """(base working folder with the N-branch roster, folder of N returns); built once, cached."""
    base_ws = Workspace(ROOT)
    key = hashlib.sha256(f"{n}\n{template_version(base_ws.checklist())}\n{base_ws.checklist().fingerprint}\n"
                         f"{base_ws.settings()!r}\n{(ROOT / 'xlflow' / 'sample.py').read_bytes()!r}".encode()
                         ).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"xlflow-ladder-{n}-{key}"
    if (cache / "done").exists():
        return cache / "base", cache / "returns"
    shutil.rmtree(cache, ignore_errors=True)
    print(f"preparing {n} returns in {cache} (once) …", flush=True)
    start = time.perf_counter()
    ws, _ = init_workspace(cache / "base")
    branches = roster(n)
    write_roster(ws.roster_path, branches)
    sample = len(load_roster(ROOT / "templates" / "branches.xlsx"))
    sources = branches[:sample]  # one of each of the sample roster's branches, codes …-000
    handout = cache / "handout"
    write_handout(Campaign(ws.checklist(), ws.settings(), sources), handout)
    filled = cache / "sources"
    filled.mkdir()
    inputs = Campaign(ws.checklist(), ws.settings())  # no roster: each job is sent to a worker
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(_fill, [(handout_path(handout, b), filled / f"{i:03d}.xlsx", b, inputs, 7 + i)
                              for i, b in enumerate(sources)]))
        returns = cache / "returns"
        returns.mkdir()
        jobs = []
        for i, b in enumerate(branches):
            src = sources[i % sample]
            pairs = [] if b.code == src.code else [(src.code.encode(), b.code.encode()),
                                                   (src.name.encode(), b.name.encode())]
            jobs.append((filled / f"{i % sample:03d}.xlsx", returns / f"{b.code}_{b.name}.xlsx", pairs))
        list(pool.map(_rewrite, jobs, chunksize=64))
    shutil.rmtree(handout)
    (cache / "done").write_text(json.dumps({"n": n}), encoding="utf-8")
    print(f"  prepared in {time.perf_counter() - start:.0f} s", flush=True)
    return cache / "base", returns


def fresh(base: Path, returns: Path, parent: Path) -> Path:
    """A new working folder: the roster, an empty ledger, the N returns linked into inbox/."""
    root = Path(tempfile.mkdtemp(prefix="ladder-", dir=parent))
    shutil.copytree(base, root, dirs_exist_ok=True)
    inbox = root / "inbox"
    inbox.mkdir(exist_ok=True)
    for f in returns.iterdir():
        try:
            os.link(f, inbox / f.name)
        except OSError:
            shutil.copyfile(f, inbox / f.name)
    return root


def _logged(root: Path, text: str) -> float | None:
    """Wall-clock time of the first xlflow.log line holding `text`."""
    for line in (root / "xlflow.log").read_text(encoding="utf-8").splitlines():
        if text in line:
            return time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")) + int(line[20:23]) / 1000
    return None


def _pass_end(root: Path) -> float | None:
    """When the pass ended: its "本次处理完毕" line."""
    return _logged(root, "本次处理完毕")


FLOOR_READ = """
import sys, python_calamine
from pathlib import Path
for p in sorted(q for q in Path(sys.argv[1]).iterdir() if q.suffix == ".xlsx"):
    wb = python_calamine.CalamineWorkbook.from_path(str(p))
    for name in wb.sheet_names:
        wb.get_sheet_by_name(name).to_python()
"""

FLOOR_ZIP = """
import sys, zipfile
from pathlib import Path
out = Path(sys.argv[2])
for n, p in enumerate(sorted(Path(sys.argv[1]).rglob("*.docx"))):
    with zipfile.ZipFile(p) as zi, zipfile.ZipFile(out / f"{n}.docx", "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            zo.writestr(info.filename, zi.read(info))
"""


# ------------------------------------------------------------------ the ladder
def rung(n: int, runs: int, scratch: Path, steps: tuple[str, ...] = STEPS) -> dict:
    base, returns = prepare(n)
    got: dict[str, list] = {k: [] for k in ("ingest", "pass", "rebuild", "master", "reports", "read floor",
                                            "zip floor")}
    docs = 0
    for _ in range(runs):
        root = fresh(base, returns, scratch)
        floor = measure([sys.executable, "-c", FLOOR_READ, str(root / "inbox")])
        got["read floor"].append(floor)
        ingest = measure([*XLFLOW, "ingest", "--root", str(root)])
        accepted = len(list((root / "inbox" / "accepted").iterdir()))
        assert accepted == n, f"{accepted} of {n} returns accepted:\n{ingest.out[-2000:]}"
        got["ingest"].append(ingest)
        end = _pass_end(root)
        got["pass"].append((end - ingest.started if end else None, ingest.tree_before(end) if end else 0.0))
        rebuilt = _logged(root, "已更新汇总表")
        got["rebuild"].append(rebuilt - end if rebuilt and end else None)
        if "master" in steps:
            got["master"].append(measure([*XLFLOW, "master", "--root", str(root)]))
        if "reports" in steps:
            got["reports"].append(measure([*XLFLOW, "reports", "--root", str(root), "--force"]))
            zipped = scratch / "zipfloor"
            zipped.mkdir(exist_ok=True)
            docs = sum(1 for _ in (root / "outbox" / "reports").rglob("*.docx"))
            got["zip floor"].append(measure([sys.executable, "-c", FLOOR_ZIP, str(root / "outbox" / "reports"),
                                             str(zipped)]))
            shutil.rmtree(zipped)
        shutil.rmtree(root)
    got["docs"] = docs
    return got


def report(n: int, got: dict, cores: int) -> list[str]:
    lines, problems = [f"{n:,} branches, {len(got['ingest'])} run(s), {cores} cores; median (min–max)"], []

    def row(name: str, ms: list[Measured], extra: str = "") -> None:
        lines.append(f"  {name:<24} {spread([m.wall for m in ms]):>20} s   largest process "
                     f"{spread([m.peak_mb for m in ms], '{:.0f}'):>14} MB   tree {spread([m.tree_mb for m in ms], '{:.0f}'):>14} MB{extra}")

    read, zipf = got["read floor"], got["zip floor"]
    row("floor: calamine read", read)
    row("xlflow ingest (whole)", got["ingest"])
    pass_walls = [w for w, _ in got["pass"] if w]
    pass_mb = [mb for _, mb in got["pass"]]
    if pass_walls:
        ratio = statistics.median(pass_walls) / statistics.median([m.wall for m in read])
        lines.append(f"  {'  of which the pass':<24} {spread(pass_walls):>20} s   tree until its end "
                     f"{spread(pass_mb, '{:.0f}'):>10} MB   {ratio:.2f}× the read floor")
    rebuilds = [w for w in got["rebuild"] if w]
    if rebuilds:
        lines.append(f"  {'  then master + documents':<24} {spread(rebuilds):>20} s")
    if got["master"]:
        row("xlflow master", got["master"])
    if got["reports"]:
        row("floor: re-zip documents", zipf)
        rep = statistics.median([m.wall for m in got["reports"]])
        zw = statistics.median([m.wall for m in zipf])
        row("xlflow reports --force", got["reports"],
            f"   {got['docs']} documents: {rep / zw:.2f}× the zip floor, {rep * cores / zw:.2f}× per CPU")
    if n >= 15_000 and max(pass_mb) >= PASS_MB:
        problems.append(f"the pass at {n:,}: {max(pass_mb):.0f} MB ≥ {PASS_MB} MB")
    if n == 5_000 and got["reports"]:
        peak = max(max(m.peak_mb, m.tree_mb) for m in got["reports"])
        if peak >= REPORTS_MB:
            problems.append(f"reports --force at {n:,}: {peak:.0f} MB ≥ {REPORTS_MB} MB")
    lines += [f"  BOUND NOT MET: {p}" for p in problems] or (
        ["  bounds met"] if n in (5_000, 15_000) else [])
    return lines


def main() -> None:
    sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "1000,5000,15000").split(",")]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    steps = tuple(sys.argv[3].split(",")) if len(sys.argv) > 3 else STEPS
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="xlflow-ladder-run-") as tmp:
        for n in sizes:
            got = rung(n, runs, Path(tmp), steps)
            print("\n".join(report(n, got, cores)), flush=True)


if __name__ == "__main__":
    main()
