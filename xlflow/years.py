"""stage: last year's working folder → this year's (the three-year campaign: 2019 达标, 2020 提质, 2021 创优)

`start_year(new, old, now)` lays out the new year's folder from the old one, which it only reads:
the roster, checklist and Word templates are copied; xlflow.toml is carried with the year, phase
and dates advanced (the clerk's own settings and comments kept); and the old year is frozen into
history/<year>/: a snapshot of its ledger (SQLite's backup API, from a read-only connection) and a
manifest of every input and output with its sha256, so the year can be shown later exactly as it
was decided. Earlier years' history comes along, so 2021 holds 2019 and 2020.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass, fields
from pathlib import Path

from dateutil.relativedelta import relativedelta

from xlflow import messages as M
from xlflow.errors import RosterError, XlflowError
from xlflow.files import sha256_of
from xlflow.ledger import read_only
from xlflow.register import HISTORY, INPUTS, MARKS
from xlflow.results import load_results
from xlflow.roster import lineage, load_roster
from xlflow.settings import SETTINGS_FILE, Settings, load_settings
from xlflow.workspace import LEDGER_FILE, Workspace, init_workspace

PHASE_ORDER = ("达标", "提质", "创优")
MANIFEST = "manifest.json"
# what a year's manifest covers, relative to its folder (the ledger is hashed as snapshotted)
_COVERED = (SETTINGS_FILE, "templates", "inbox/accepted", "inbox/rejected", "inbox/duplicates", "outbox")
_RESET = {"decision_number": 1, "reminder_number": 1}  # document numbers start again each year


@dataclass(frozen=True)
class Started:
    workspace: Workspace
    previous: Settings
    settings: Settings
    history: Path  # history/<previous year>/ in the new folder
    files: int  # entries in the frozen manifest


def history_dir(root: Path | str) -> Path:
    return Path(root) / HISTORY


def years_held(root: Path | str) -> list[int]:
    """The earlier years frozen into a working folder's history/, oldest first."""
    base = history_dir(root)
    return sorted(int(p.name) for p in base.iterdir() if p.name.isdigit()) if base.is_dir() else []


def next_settings(old: Settings) -> Settings:
    """The next year's settings: year + 1, the next phase (创优 stays 创优), every date a year on,
    document numbers from 1; everything else as the clerk set it."""
    values = {}
    for f in fields(Settings):
        v = getattr(old, f.name)
        if isinstance(v, dt.date):
            values[f.name] = v + relativedelta(years=1)
    phase = PHASE_ORDER[min(PHASE_ORDER.index(old.phase) + 1, len(PHASE_ORDER) - 1)] if old.phase in PHASE_ORDER \
        else old.phase
    return Settings(**{**{f.name: getattr(old, f.name) for f in fields(Settings)}, **values, **_RESET,
                       "year": old.year + 1, "phase": phase})


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return json.dumps(v, ensure_ascii=False)


def carried_toml(text: str, old: Settings, new: Settings) -> str:
    """The old xlflow.toml with the changed values rewritten in place (comments and layout kept);
    a changed key the file does not name is appended."""
    out = text
    missing = []
    for f in fields(Settings):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a == b:
            continue
        pattern = re.compile(rf"^(\s*{f.name}\s*=\s*)(\"[^\"]*\"|[^#\n]*?)(\s*(?:#.*)?)$", re.M)
        out, n = pattern.subn(lambda m: m.group(1) + _toml_value(b) + m.group(3), out, count=1)
        if not n:
            missing.append(f"{f.name} = {_toml_value(b)}")
    if missing:
        out = out.rstrip("\n") + "\n\n# 新年度由 xlflow init --from 设置\n" + "\n".join(missing) + "\n"
    return out


def _snapshot(ledger: Path, dest: Path) -> None:
    """A consistent copy of a ledger, the old folder untouched: SQLite opens even a read-only WAL
    database by writing its -shm beside it, so the file and its WAL are copied to a scratch folder
    first and read there; the backup API then writes one self-contained file."""
    with tempfile.TemporaryDirectory(dir=dest.parent) as scratch:
        copy = Path(scratch) / LEDGER_FILE
        shutil.copyfile(ledger, copy)
        wal = ledger.with_name(ledger.name + "-wal")
        if wal.is_file():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        tmp = dest.with_name(f".{dest.name}.tmp")
        try:
            src, target = sqlite3.connect(copy), sqlite3.connect(tmp)
            try:
                src.backup(target)
            finally:
                src.close()
                target.close()
        except sqlite3.DatabaseError as exc:
            tmp.unlink(missing_ok=True)
            raise XlflowError(M.YEAR_LEDGER_UNREADABLE.format(ledger=ledger, detail=exc)) from None
        tmp.replace(dest)


def _write_marks(dest: Path, inputs: Workspace) -> None:
    """history/<year>/marks.json: each branch's score, 等次, stage and 样板 as the year was decided,
    computed once when the year is frozen, so later years show the road without recomputing it."""
    campaign = inputs.campaign()
    settings = campaign.settings
    with closing(read_only(dest / LEDGER_FILE)) as conn:
        res = load_results(conn, campaign, today=settings.period_end)
    full = res.params.factors[0][0]  # 达标
    scored = {r.branch.code: {"total": r.score.total, "grade": r.score.grade, "used": r.score.used,
                              # not 达标 (不适用 aside): the 整顿 list says what failed; trajectory the 改进/退步
                              "failed": [c for c, x in r.score.used.items() if x and x != full
                                         and res.params.factor(x) is not None],
                              "problems": sorted({p["indicator"] for p in r.problems if p.get("indicator")})}
              for r in res.branches}
    marks = {c: {"stage": st.stage, "model": bool(st.model or st.model_since), **scored.get(c, {})}
             for c, st in res.standings.items()}
    tmp = dest / f".{MARKS}.tmp"
    tmp.write_text(json.dumps(marks, ensure_ascii=False), encoding="utf-8")
    tmp.replace(dest / MARKS)


def freeze(old: Workspace, dest: Path, now: dt.datetime, year: int) -> int:
    """Snapshot old's ledger into dest/xlflow.db and write dest/manifest.json of every input and
    output of old (path, size, sha256); old is only read. Returns the number of files listed."""
    dest.mkdir(parents=True, exist_ok=True)
    entries = []
    if old.ledger.is_file():
        _snapshot(old.ledger, dest / LEDGER_FILE)
    # the inputs the year was decided with, so its results can be computed again as they were
    inputs = Workspace(dest / INPUTS)
    inputs.templates.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(old.root / SETTINGS_FILE, inputs.root / SETTINGS_FILE)
    for src in (old.checklist_path, old.roster_path):
        if src.is_file():
            shutil.copyfile(src, inputs.templates / src.name)
    if (dest / LEDGER_FILE).is_file() and inputs.roster_path.is_file() and inputs.checklist_path.is_file():
        _write_marks(dest, inputs)
    for part in _COVERED:
        base = old.root / part
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []
        for p in files:
            entries.append({"path": p.relative_to(old.root).as_posix(), "size": p.stat().st_size, "sha256": sha256_of(p)})
    if (dest / LEDGER_FILE).is_file():
        entries.append({"path": LEDGER_FILE, "size": (dest / LEDGER_FILE).stat().st_size,
                        "sha256": sha256_of(dest / LEDGER_FILE), "note": "台账快照（上一年度结束时）"})
    manifest = {"year": year, "folder": str(old.root.resolve()), "frozen_at": now.isoformat(timespec="seconds"),
                "note": "xlflow 年度归档：上一年度全部输入和输出的清单及 sha256，用于日后按原样查看该年度。请勿编辑。",
                "files": entries}
    tmp = dest / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(dest / MANIFEST)
    return len(entries)


def start_year(new_root: Path | str, old_root: Path | str, now: dt.datetime) -> Started:
    """Lay out the new year's working folder from the old one (read, never written)."""
    old, new = Workspace(Path(old_root)), Workspace(Path(new_root))
    if not (old.root / SETTINGS_FILE).is_file() or not old.templates.is_dir():
        raise XlflowError(M.YEAR_NOT_A_FOLDER.format(root=old.root, settings=SETTINGS_FILE))
    if new.root.resolve() == old.root.resolve():
        raise XlflowError(M.YEAR_SAME_FOLDER)
    if (new.root / SETTINGS_FILE).exists() or new.ledger.exists():
        raise XlflowError(M.YEAR_ALREADY_STARTED.format(root=new.root, settings=SETTINGS_FILE))
    previous = load_settings(old.root)
    settings = next_settings(previous)
    fresh = not new.root.exists()
    try:
        new.root.mkdir(parents=True, exist_ok=True)
        history = history_dir(new.root) / str(previous.year)
        count = freeze(old, history, now, previous.year)  # first: a damaged old ledger stops everything
        for year in years_held(old.root):  # earlier years come along, frozen as they were
            shutil.copytree(history_dir(old.root) / str(year), history_dir(new.root) / str(year), dirs_exist_ok=True)
        new.templates.mkdir(parents=True, exist_ok=True)
        for src in sorted(old.templates.iterdir()):
            if src.is_file():
                shutil.copyfile(src, new.templates / src.name)
        text = (old.root / SETTINGS_FILE).read_text(encoding="utf-8-sig")
        (new.root / SETTINGS_FILE).write_text(carried_toml(text, previous, settings), encoding="utf-8")
    except BaseException:
        if fresh:  # leave nothing half made
            shutil.rmtree(new.root, ignore_errors=True)
        raise
    init_workspace(new.root)  # the folders, and any template the old folder lacked
    return Started(new, previous, load_settings(new.root), history, count)


def previous_roster(root: Path | str, year: int):
    """The roster the year before `year` was decided with (history/<year-1>/inputs), or None."""
    path = history_dir(root) / str(year - 1) / INPUTS / "templates" / "branches.xlsx"
    return load_roster(path) if path.is_file() else None


def check_lineage(ws: Workspace) -> list[str]:
    """The new year's roster against last year's; raises RosterError listing what to fix, returns the
    notices (codes gone, perhaps dissolved)."""
    branches, year = ws.roster(), ws.settings().year
    before = previous_roster(ws.root, year)
    if before is None:
        return []
    problems, notices = lineage(branches, before, year)
    if problems:
        raise RosterError(M.YEAR_ROSTER_LINEAGE.format(last=year - 1) + "\n".join(problems))
    return notices
