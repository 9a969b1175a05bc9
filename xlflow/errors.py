"""The tiny exception module: raise only when a run cannot continue.

Problems in what a branch returned are findings (see messages.py), never exceptions.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path


class XlflowError(Exception):
    """A run cannot continue; the message is Chinese and meant for the clerk."""


class ChecklistError(XlflowError):
    """checklist.yaml cannot be used as it is."""


class RosterError(XlflowError):
    """The branches roster cannot be used as it is."""


class SettingsError(XlflowError):
    """xlflow.toml cannot be used as it is."""


class TemplateError(XlflowError):
    """A Word template does not match what xlflow fills into it."""


class LedgerError(XlflowError):
    """The ledger cannot be read (damaged) or has gone while archived originals remain."""


def explain(exc: BaseException, root: Path | str | None = None) -> str:
    """What a clerk reads for an error that stopped a run: Chinese, naming the folder and what to
    do, never a traceback (that goes to xlflow.log). The run can simply be repeated afterwards:
    whatever it had not finished is completed then."""
    from xlflow import messages as M

    root = Path(root) if root is not None else Path(".")
    if isinstance(exc, XlflowError):
        return str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return M.LEDGER_BUSY.format(ledger=root / "xlflow.db")
        if "full" in text:
            return M.DISK_FULL.format(folder=root)
        if "readonly" in text or "read-only" in text:
            return M.READ_ONLY.format(folder=root)
        return M.DISK_TROUBLE.format(folder=root, detail=str(exc))
    if isinstance(exc, sqlite3.DatabaseError):
        return M.LEDGER_DAMAGED.format(ledger=root / "xlflow.db", detail=str(exc), root=root,
                                       backups=root / "backups")
    if isinstance(exc, OSError):
        where = Path(exc.filename).parent if exc.filename else root
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
            return M.DISK_FULL.format(folder=where)
        if exc.errno == errno.EROFS:
            return M.READ_ONLY.format(folder=where)
        if isinstance(exc, PermissionError):
            return M.NO_PERMISSION.format(file=exc.filename or where)
        if exc.errno == errno.ENAMETOOLONG:
            return M.NAME_TOO_LONG.format(file=exc.filename or where)
        return M.DISK_TROUBLE.format(folder=where, detail=exc.strerror or type(exc).__name__)
    if isinstance(exc, MemoryError):
        return M.OUT_OF_MEMORY
    return M.UNEXPECTED.format(kind=type(exc).__name__, log=root / "xlflow.log")
