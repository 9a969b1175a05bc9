"""stage: templates/branches.xlsx → list[Branch]

The roster is the organisation department's list of Party branches: who gets a workbook, under
which 党总支. A roster that cannot be trusted stops the run (RosterError), and the error lists
every problem at once, one Chinese line per problem naming the Excel row, so the clerk fixes
the file in one sitting instead of one problem per run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import python_calamine

from . import messages as M
from .constants import BRANCH_TYPES, ROSTER_COLUMNS, ROSTER_NEW, ROSTER_SHEET
from .errors import RosterError

REQUIRED = ("code", "name", "general", "type")  # secretary and phone may be left blank
HEADER_ROW = 1


@dataclass(frozen=True)
class Branch:
    code: str  # e.g. JD-T01; unique (ignoring case) across the roster
    name: str  # e.g. 机电工程学院第一教师党支部
    general: str  # the 党总支 it belongs to, e.g. 机电工程学院党总支
    type: str  # one of constants.BRANCH_TYPES
    secretary: str = ""
    phone: str = ""
    origin: tuple[str, ...] = ()  # split or merged from these codes (a later year), or ("新建",)


def _text(value: object) -> str:
    """A cell as trimmed text; numbers typed into Excel (a phone, a code) lose the '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()  # also strips full-width spaces (U+3000) and NBSP


def load_roster(path: str | Path) -> list[Branch]:
    """Read and check the roster; raise RosterError listing every problem found."""
    path = Path(path)
    if not path.is_file():
        raise RosterError(M.ROSTER_NOT_FOUND.format(path=path))
    # python-calamine: every command reads the roster, and at 5,000 branches openpyxl took a second
    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # locked by Excel, not an xlsx, damaged zip...
        raise RosterError(M.ROSTER_UNOPENABLE.format(path=path, detail=exc)) from exc
    try:
        if ROSTER_SHEET not in wb.sheet_names:
            raise RosterError(M.ROSTER_NO_SHEET.format(file=path.name, sheet=ROSTER_SHEET, sheets="、".join(wb.sheet_names)))
        try:
            cells = wb.get_sheet_by_name(ROSTER_SHEET).to_python(skip_empty_area=False)
        except Exception as exc:
            raise RosterError(M.ROSTER_UNOPENABLE.format(path=path, detail=exc)) from exc
        rows = [[_text(None if v == "" else v) for v in row] for row in cells]
    finally:
        wb.close()  # the file stays open (and locked on Windows) until closed
    return _parse(rows)


def _parse(rows: list[list[str]]) -> list[Branch]:
    header = rows[0] if rows else []
    # Columns are found by header name, so the clerk may reorder or add columns freely.
    col: dict[str, int] = {}
    for key, title in ROSTER_COLUMNS.items():
        if title in header:
            col[key] = header.index(title)
    missing = [ROSTER_COLUMNS[k] for k in REQUIRED if k not in col]
    if missing:
        present = "、".join(h for h in header if h) or M.ROSTER_EMPTY_HEADER
        raise RosterError("\n".join(
            M.ROSTER_NO_COLUMN.format(sheet=ROSTER_SHEET, row=HEADER_ROW, column=title, present=present) for title in missing
        ))

    def cell(row: list[str], key: str) -> str:
        i = col.get(key)
        return row[i] if i is not None and i < len(row) else ""

    label = ROSTER_COLUMNS
    allowed = "、".join(BRANCH_TYPES)
    problems: list[str] = []
    seen: dict[str, int] = {}  # code (case-folded) -> first Excel row
    branches: list[Branch] = []
    for excel_row, row in enumerate(rows[HEADER_ROW:], start=HEADER_ROW + 1):
        if not any(row):
            continue  # blank lines between groups are harmless
        b = Branch(*(cell(row, k) for k in ("code", "name", "general", "type", "secretary", "phone")),
                   tuple(c.strip() for c in re.split(r"[、，,;；\s]+", cell(row, "origin")) if c.strip()))
        where = M.ROSTER_AT_ROW.format(sheet=ROSTER_SHEET, row=excel_row)
        if not b.code:
            problems.append(M.ROSTER_BLANK.format(where=where, label=label["code"]))
        else:
            # Case-insensitive: codes become file names, and Windows does not tell JD-T01 from jd-t01.
            key = b.code.casefold()
            if key in seen:
                problems.append(M.ROSTER_TWICE.format(where=where, label=label["code"], value=b.code, first=seen[key]))
            else:
                seen[key] = excel_row
        if not b.name:
            problems.append(M.ROSTER_BLANK.format(where=where, label=label["name"]))
        if not b.general:
            problems.append(M.ROSTER_BLANK.format(where=where, label=label["general"]))
        if not b.type:
            problems.append(M.ROSTER_TYPE_BLANK.format(where=where, label=label["type"], allowed=allowed))
        elif b.type not in BRANCH_TYPES:
            problems.append(M.ROSTER_TYPE_UNKNOWN.format(where=where, label=label["type"], value=b.type, allowed=allowed))
        branches.append(b)
    if not branches and not problems:
        problems.append(M.ROSTER_NO_BRANCH.format(sheet=ROSTER_SHEET, row=HEADER_ROW + 1))
    if problems:
        raise RosterError("\n".join(problems))
    return branches


def generals(branches: list[Branch]) -> list[str]:
    """The 党总支 names in roster order, each once."""
    return list(dict.fromkeys(b.general for b in branches))


def by_code(branches: list[Branch]) -> dict[str, Branch]:
    """Branches keyed by their code."""
    return {b.code: b for b in branches}


def lineage(branches: list[Branch], previous: list[Branch], year: int) -> tuple[list[str], list[str]]:
    """A later year's roster against last year's: (problems, notices). A branch keeps its history
    through its code, so a new code must say in 原支部编码 where it came from (the codes it was split
    or merged from, or 新建): else it is a problem. A code that is gone without being anyone's 原支部编码
    is a notice (it may have been dissolved). One Chinese line each, saying what to do."""
    before = {b.code: b for b in previous}
    now = {b.code for b in branches}
    named = {c for b in branches for c in b.origin}
    label = ROSTER_COLUMNS["origin"]
    problems, notices = [], []
    for b in branches:
        if b.code in before or b.origin == (ROSTER_NEW,):
            continue
        unknown = [c for c in b.origin if c not in before]
        if not b.origin:
            problems.append(M.ROSTER_NEW_CODE.format(code=b.code, name=b.name, year=year, label=label, new=ROSTER_NEW))
        elif unknown:
            problems.append(M.ROSTER_UNKNOWN_ORIGIN.format(code=b.code, name=b.name, label=label, unknown="、".join(unknown),
                                                           last=year - 1))
    for code, b in before.items():
        if code not in now and code not in named:
            notices.append(M.ROSTER_GONE.format(last=year - 1, code=code, name=b.name, year=year, label=label))
    return problems, notices
