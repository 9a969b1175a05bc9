"""stage: the earlier years' frozen ledgers (history/<year>/xlflow.db) → the 样板 register

The seed's quotas are a stock: 样板 reach 1/10 of all branches in 2020 and 1/5 in 2021, counting the
样板 already named, not a fresh share each year. The register is read from the committee's decisions
as each earlier year froze them (years.py), so it cannot drift from what was decided.
"""

from __future__ import annotations

import json
import sqlite3  # its errors: a year frozen before decisions or the register were recorded
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from xlflow import constants as K
from xlflow import ledger
from xlflow.ledger import read_only

HISTORY = "history"
MARKS = "marks.json"  # history/<year>/marks.json: each branch's score, 等次, stage and 样板 that year
INPUTS = "inputs"  # history/<year>/inputs/: that year's xlflow.toml, checklist and roster, as a working folder


@dataclass(frozen=True)
class ModelEntry:
    code: str
    year: int  # named 校级样板党支部 by the committee that year
    province: str = ""  # 推荐省级: 是 / 否 / ""
    province_result: str = ""  # 已评定 / 未评定 / 待定
    nation: str = ""
    nation_result: str = ""
    revoked: bool = False
    revoked_on: str = ""
    reason: str = ""

    @property
    def level(self) -> str:
        """校级, or 省级 / 国家级 once named at that level."""
        named = K.OUTCOMES[0]
        return K.MODEL_LEVELS[2] if self.nation_result == named else \
            K.MODEL_LEVELS[1] if self.province_result == named else K.MODEL_LEVELS[0]


def history_ledgers(root: Path) -> list[tuple[int, Path]]:
    """(year, frozen ledger) of every earlier year held in a working folder, oldest first."""
    base = Path(root) / HISTORY
    if not base.is_dir():
        return []
    return sorted((int(p.name), p / "xlflow.db") for p in base.iterdir()
                  if p.name.isdigit() and (p / "xlflow.db").is_file())


def model_register(root: Path) -> list[ModelEntry]:
    """Every 样板 named by the committee in the earlier years, in the order named, with what the
    latest 样板名册 workbook records of it (this year's if one was returned, else the latest year's)."""
    out, notes = [], {}
    for year, path in history_ledgers(root):
        with closing(read_only(path)) as conn:
            try:
                _, rows = ledger.current_decision(conn)
                notes = {r["branch_code"]: dict(r) for r in ledger.current_register(conn)} or notes
            except sqlite3.DatabaseError:  # a year frozen before decisions or the register were recorded
                continue
        out += [(r["branch_code"], year) for r in rows
                if r["decision"] == K.DECISION_CHOICES[0] and r["model"] == K.YES_NO[0]]
    here = Path(root) / "xlflow.db"
    if here.is_file():
        with closing(read_only(here, frozen=False)) as conn:
            try:
                notes = {r["branch_code"]: dict(r) for r in ledger.current_register(conn)} or notes
            except sqlite3.DatabaseError:
                pass
    return [_entry(code, year, notes.get(code, {})) for code, year in out]


def _entry(code: str, year: int, note: dict) -> ModelEntry:
    return ModelEntry(code, year, note.get("province") or "", note.get("province_result") or "",
                      note.get("nation") or "", note.get("nation_result") or "", note.get("revoked") == K.YES_NO[0],
                      str(note.get("revoked_on") or "")[:10], note.get("reason") or "")


def held(root: Path, codes) -> dict[str, int]:
    """branch code -> the year it became 样板, for the branches of this year's roster."""
    codes = set(codes)
    return {e.code: e.year for e in model_register(root) if e.code in codes and not e.revoked}


def year_marks(root: Path) -> dict[int, dict[str, dict]]:
    """year -> branch code -> {total, grade, stage, model} for every earlier year frozen with its marks."""
    base = Path(root) / HISTORY
    out = {}
    for p in sorted(base.glob(f"*/{MARKS}")) if base.is_dir() else []:
        if p.parent.name.isdigit():
            out[int(p.parent.name)] = json.loads(p.read_text(encoding="utf-8"))
    return out
