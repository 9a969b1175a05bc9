"""Timing a command the way a user waits for it: as a process of its own, from outside.

measure(cmd) runs it and returns its wall time, the peak resident memory of its largest process
(/usr/bin/time's %M where there is one: the child's own rusage would count the pages the
benchmark shared with it before exec) and of its whole process tree (workers included, pages
they share counted once: Pss; sampled from /proc every 0.1 s, Linux only, else 0). spread()
prints a median with its min–max.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

XLFLOW = [sys.executable, "-m", "xlflow"]
TIME = Path("/usr/bin/time")


def _tree_rss(pid: int) -> int:
    """Memory of a process and all its descendants, in bytes (Linux /proc; 0 elsewhere): each
    one's proportional set size (Pss: a page shared by n processes, as forked workers share their
    parent's, counts 1/n in each), or its resident set where the kernel gives no Pss."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            try:
                with open(f"/proc/{p}/smaps_rollup", encoding="ascii", errors="replace") as f:
                    field = "Pss:"
                    lines = f.readlines()
            except OSError:
                with open(f"/proc/{p}/status", encoding="ascii", errors="replace") as f:
                    field = "VmRSS:"
                    lines = f.readlines()
            total += next((int(line.split()[1]) * 1024 for line in lines if line.startswith(field)), 0)
            with open(f"/proc/{p}/task/{p}/children", encoding="ascii") as f:
                todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


class Measured:
    def __init__(self, started: float, wall: float, peak_mb: float, tree_mb: float, samples: list[tuple[float, int]],
                 out: str):
        self.started, self.wall, self.peak_mb, self.tree_mb = started, wall, peak_mb, tree_mb
        self.samples, self.out = samples, out

    def tree_before(self, at: float) -> float:
        """Peak of the process tree before the wall-clock time `at` (MB)."""
        return max((rss for t, rss in self.samples if t <= at), default=0) / 2**20


TIME = Path("/usr/bin/time")


def measure(cmd: list[str], cwd: Path | None = None) -> Measured:
    """Run a command; its wall time, the peak RSS of its largest process and of its process tree.
    It runs in the temp folder unless told otherwise: `python -m xlflow` imports from the current
    folder first, and a checkout there would shadow the xlflow being measured (PYTHONPATH's).
    The largest process is /usr/bin/time's %M where there is one (the child's own rusage would
    count the pages this benchmark's process shared with it before exec)."""
    samples: list[tuple[float, int]] = []
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as t:
        timing = Path(t.name)
    wrapped = [str(TIME), "-f", "%M", "-o", str(timing), *cmd] if TIME.exists() else cmd
    started, start = time.time(), time.perf_counter()
    proc = subprocess.Popen(wrapped, cwd=cwd or tempfile.gettempdir(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    done = threading.Event()

    def sample():
        while not done.wait(0.1):
            samples.append((time.time(), _tree_rss(proc.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{out[-3000:]}")
    kb = int(timing.read_text().split()[-1]) if TIME.exists() else usage.ru_maxrss
    timing.unlink()
    return Measured(started, wall, kb / 1024, max((s for _, s in samples), default=0) / 2**20, samples, out)


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """The median, and (min–max) when there is more than one value."""
    med = statistics.median(values)
    return fmt.format(med) + (f" ({fmt.format(min(values))}–{fmt.format(max(values))})" if len(values) > 1 else "")
