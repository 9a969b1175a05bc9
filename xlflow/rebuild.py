"""stage: the archived originals in inbox/{accepted,rejected,duplicates}/ → a new ledger

The way back when the ledger is damaged or lost: every original is kept, under a name that starts
with when it arrived (`20191128-090000_<sha>_<original name>`). Each pass is taken again, in the
order of arrival, by the same ingest pass, from a staging folder where each file has its original
name again (so findings read as they did); the records point at the archived files, nothing is
moved, and the damaged ledger is renamed and kept, never deleted.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from xlflow import ledger, messages
from xlflow.ingest import run_pass
from xlflow.workspace import Workspace

_STORED = re.compile(r"(\d{8}-\d{6})_([0-9a-f]{8})_(.+)")
STAGING = ".xlflow-rebuild"


@dataclass
class Rebuild:
    counts: Counter = field(default_factory=Counter)
    aside: Path | None = None  # where the old ledger was kept
    skipped: list[Path] = field(default_factory=list)  # archived files without an arrival stamp

    def message(self, ws: Workspace) -> str:
        aside = messages.LEDGER_ASIDE.format(old=self.aside) if self.aside else ""
        return messages.LEDGER_REBUILT.format(count=sum(self.counts.values()), ledger=ws.ledger, aside=aside,
                                              **{k: self.counts[k] for k in ("accepted", "rejected", "duplicate")})


def rebuild_ledger(ws: Workspace, now: dt.datetime) -> Rebuild:
    done = Rebuild()
    passes: dict[str, list[tuple[str, Path]]] = {}
    for path in ws.archived():
        m = _STORED.fullmatch(path.name)
        if m is None:
            done.skipped.append(path)
            continue
        passes.setdefault(m.group(1), []).append((m.group(3), path))
    done.aside = _set_aside(ws, now)
    staging = ws.root / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for stamp in sorted(passes):
            when = dt.datetime.strptime(stamp, "%Y%m%d-%H%M%S")
            folder = staging / stamp
            folder.mkdir(parents=True)
            stored = {}
            for name, path in sorted(passes[stamp]):
                stage = folder / name
                _link(path, stage)
                stored[stage] = path
            result = run_pass(ws, sorted(stored), when, stored=stored)
            done.counts.update(o.outcome for o in result.outcomes)
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if ws.ledger.exists():
        conn = ledger.open_ledger(ws.ledger)
        try:
            ledger.backup(conn, ws.backups, f"{now:%Y%m%d-%H%M%S}")
        finally:
            conn.close()
    return done


def _set_aside(ws: Workspace, now: dt.datetime) -> Path | None:
    """Rename the old ledger (and its WAL) out of the way; never deleted."""
    if not ws.ledger.exists():
        return None
    aside = ws.ledger.with_name(f"{ws.ledger.stem}.旧台账-{now:%Y%m%d-%H%M%S}{ws.ledger.suffix}")
    for suffix in ("-wal", "-shm"):
        extra = ws.ledger.with_name(ws.ledger.name + suffix)
        if extra.exists():
            os.replace(extra, aside.with_name(aside.name + suffix))
    os.replace(ws.ledger, aside)
    return aside


def _link(src: Path, dest: Path) -> None:
    """The archived file under its original name (a copy: returns are small, and it works anywhere)."""
    shutil.copyfile(src, dest)
