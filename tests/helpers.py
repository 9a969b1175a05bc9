"""Helpers the test modules share (one copy each): a roster written as the clerk keeps it, a workbook
saved with a chosen 'last saved' time, the cell of a 基本信息 field, waiting for a condition, the
ledger's invariants, validated sample returns of every kind of branch (bench/evidence_bench.py uses
them too), and sample.fill_workbook remembered for the session."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from xlflow import constants as K
from xlflow import sample
from xlflow.campaign import Campaign
from xlflow.checklist import load_checklist
from xlflow.files import atomic_write_bytes
from xlflow.read import read_workbook
from xlflow.roster import load_roster
from xlflow.settings import Settings
from xlflow.validate import Validator
from xlflow.workbook import build_workbook


_FILLED: dict[tuple, bytes] = {}


def fill_workbook(template: Path, dest: Path, branch, *args, **kwargs) -> None:
    """xlflow.sample.fill_workbook, remembered for the session: a return is fully determined by the
    template's bytes and the arguments (branch, campaign, seed, mistakes), and the suite fills the
    same one again and again (187 of 467 fills were repeats). A repeat is the bytes saved the first
    time, as if the secretary had sent the same file again. tests/test_sample.py tests the filling
    itself and calls xlflow.sample.fill_workbook directly."""
    inputs = [(a.checklist, a.settings) if isinstance(a, Campaign) else a for a in args]  # not the roster
    key = (hashlib.sha256(Path(template).read_bytes()).digest(), repr((branch, inputs, sorted(kwargs.items()))))
    if key not in _FILLED:
        sample.fill_workbook(template, dest, branch, *args, **kwargs)
        _FILLED[key] = Path(dest).read_bytes()
    else:
        atomic_write_bytes(dest, _FILLED[key])


def write_roster(path: Path, branches) -> None:
    """The branches roster (templates/branches.xlsx) holding exactly these branches."""
    wb = Workbook()
    ws = wb.active
    ws.title = K.ROSTER_SHEET
    keys = list(K.ROSTER_COLUMNS)
    ws.append([K.ROSTER_COLUMNS[k] for k in keys])
    for b in branches:
        ws.append(["、".join(v) if isinstance(v := getattr(b, k), tuple) else v for k in keys])  # origin: codes
    wb.save(path)


def save_as_of(wb, dest: Path, modified: dt.datetime) -> Path:
    """Save with a chosen 'last saved' time (docProps/core.xml <dcterms:modified>), as if Excel had
    saved it then. openpyxl's wb.save() always stamps the current time over wb.properties.modified,
    so its writer is called directly with the time set."""
    wb.properties.modified = modified
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    return dest


def basic_cell(ws, label: str) -> str:
    """The coordinate (e.g. "B7") of the value beside a label on the 基本信息 sheet."""
    return next(f"B{r}" for r in range(1, ws.max_row + 1) if ws[f"A{r}"].value == label)


def wait_for(condition, timeout: float = 20, what: str = "") -> None:
    """Poll until condition() holds; the timeout only turns a hang into a failure."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


def ledger_problems(conn) -> list[str]:
    """SQLite's own check plus the ledger's invariants (one current return per branch and kind, every
    accepted file's data stored); an empty list means all is well."""
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
    problems += [f"branch {r[0]} has {r[1]} current returns" for r in conn.execute(
        "SELECT branch_code, COUNT(*) FROM returns WHERE current = 1 GROUP BY kind, branch_code HAVING COUNT(*) > 1")]
    problems += [f"branch {r[0]} has no current return" for r in conn.execute(
        "SELECT branch_code FROM returns GROUP BY kind, branch_code HAVING SUM(current) = 0")]
    problems += [f"file {r[0]} accepted without data" for r in conn.execute(
        "SELECT f.id FROM files f LEFT JOIN returns r ON r.file_id = f.id WHERE f.outcome = 'accepted' AND r.id IS NULL")]
    return problems


def sample_returns(out: Path, campaign, kinds: int = 4, seeds: int = 4) -> list:
    """Filled returns of the sample roster's first `kinds` branch types, `seeds` each, validated:
    [(path, validate.Checked)]."""
    by_type = {}
    for b in load_roster(Path(__file__).resolve().parent.parent / "templates" / "branches.xlsx"):
        by_type.setdefault(b.type, b)
    validator, done = Validator(campaign), []
    for b in list(by_type.values())[:kinds]:
        template = build_workbook(out / f"{b.code}.xlsx", b, campaign)
        for seed in range(1, seeds + 1):
            path = out / f"{b.code}_{seed}.xlsx"
            fill_workbook(template, path, b, campaign, seed)
            done.append((path, validator.validate([(read_workbook(path), b, [])])[0]))
    return done


SHIPPED = Path(__file__).resolve().parent.parent / "templates"


def shipped_campaign() -> Campaign:
    """The campaign of the repository's own inputs: its checklist, the default settings (2019) and
    the sample roster of 60 branches."""
    return Campaign(load_checklist(SHIPPED / "checklist.yaml"), Settings(), load_roster(SHIPPED / "branches.xlsx"))
