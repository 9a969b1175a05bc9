"""stage: the earlier years' frozen ledgers (history/<year>/xlflow.db) → the 样板 register

The seed's quotas are a stock: 样板 reach 1/10 of all branches in 2020 and 1/5 in 2021, counting the
样板 already named, not a fresh share each year. The register is read from the committee's decisions
as each earlier year froze them (years.py), so it cannot drift from what was decided.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from xlflow import constants as K
from xlflow import ledger

HISTORY = "history"
INPUTS = "inputs"  # history/<year>/inputs/: that year's xlflow.toml, checklist and roster, as a working folder
LEVEL_SCHOOL = "校级"


@dataclass(frozen=True)
class ModelEntry:
    code: str
    year: int
    level: str = LEVEL_SCHOOL


def history_ledgers(root: Path) -> list[tuple[int, Path]]:
    """(year, frozen ledger) of every earlier year held in a working folder, oldest first."""
    base = Path(root) / HISTORY
    if not base.is_dir():
        return []
    return sorted((int(p.name), p / "xlflow.db") for p in base.iterdir()
                  if p.name.isdigit() and (p / "xlflow.db").is_file())


def read_only(path: Path) -> sqlite3.Connection:
    # history is frozen: immutable=1 reads it without locks or a -shm beside it
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def model_register(root: Path) -> list[ModelEntry]:
    """Every 样板 named by the committee in the earlier years, in the order named."""
    out = []
    for year, path in history_ledgers(root):
        with closing(read_only(path)) as conn:
            try:
                _, rows = ledger.current_decision(conn)
            except sqlite3.DatabaseError:  # a year frozen before decisions were recorded
                continue
        out += [ModelEntry(r["branch_code"], year) for r in rows
                if r["decision"] == K.DECISION_CHOICES[0] and r["model"] == K.YES_NO[0]]
    return out


def held(root: Path, codes) -> dict[str, int]:
    """branch code -> the year it became 样板, for the branches of this year's roster."""
    codes = set(codes)
    return {e.code: e.year for e in model_register(root) if e.code in codes}


def ledger_root(conn) -> Path | None:
    """The working folder of an open ledger (None for an in-memory one)."""
    row = next((r for r in conn.execute("PRAGMA database_list") if r[1] == "main"), None)
    return Path(row[2]).parent if row and row[2] else None
