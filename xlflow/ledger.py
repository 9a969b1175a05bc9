"""stage: checked returns → the SQLite ledger (the campaign's memory; outputs are rebuilt from it).

One transaction per arriving file records what happened to it (accepted, rejected, duplicate),
its findings and, when accepted, all its data; the file is moved only after that commit, and
the move is itself recorded, so a crash at any point leaves a state the next pass completes.
The data tables are generated from the workbook layout (constants.TABLES), not written by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from xlflow import constants as K
from xlflow import messages
from xlflow.errors import XlflowError
from xlflow.messages import Finding
from xlflow.workspace import Workspace

ACCEPTED, REJECTED, DUPLICATE = "accepted", "rejected", "duplicate"

# Review workbooks (初验 by a 总支, 复验 by the college) are returns too, of their own kind; their
# `branch_code` in `returns` is the reviewing unit (the 总支's name, or the college's).
REVIEW_FIRST, REVIEW_SECOND = K.KIND_REVIEW_FIRST, K.KIND_REVIEW_SECOND
REVIEW_TABLES = {
    # one row per branch × indicator: the reviewer's rating and comment
    "review": ["branch_code", "indicator", "rating", "comment"],
    # one row per branch: the overall conclusion and opinion of the reviewer (deadline: 整改后再验's)
    "review_conclusion": ["branch_code", "conclusion", "opinion", "reviewer", "reviewed_on", "deadline"],
    # the Party committee's 认定 workbook: one row per branch decided, and the meeting that decided
    "decision": ["branch_code", "decision", "model", "note"],
    "decision_meeting": ["meeting", "decided_on"],
    # the 样板 register: what happened to a 样板 after it was named
    "register": ["branch_code", "province", "province_result", "nation", "nation_result", "revoked", "revoked_on",
                 "reason"],
    # 整顿转化: a 总支's plan for each branch not 认定 last year (rectify.py)
    "rectify": ["branch_code", "plan", "owner", "deadline", "progress"],
}

_DATA_TABLES = {"basic": ["code", "name", "general", *K.BASIC_FIELDS], **{
    k: [c for c in cols if c != "seq"] for k, (_, cols) in K.TABLES.items()}, **REVIEW_TABLES}


def _ddl() -> str:
    tables = []
    for table, cols in _DATA_TABLES.items():
        body = ", ".join(f'"{c}"' for c in cols)
        row = "" if table == "basic" else "row INTEGER NOT NULL, "
        tables.append(f"CREATE TABLE IF NOT EXISTS t_{table} (return_id INTEGER NOT NULL REFERENCES returns(id), "
                      f"{row}{body});\nCREATE INDEX IF NOT EXISTS i_{table} ON t_{table}(return_id);")
    return """
CREATE TABLE IF NOT EXISTS files (
  id INTEGER PRIMARY KEY,
  sha256 TEXT NOT NULL,
  original_name TEXT NOT NULL,
  size INTEGER NOT NULL,
  arrived_at TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'duplicate')),
  stored_as TEXT NOT NULL,          -- where the original is kept, relative to the working folder
  moved INTEGER NOT NULL DEFAULT 0, -- 1 once the original is there; -1 if it vanished before
  feedback TEXT,                    -- the annotated copy owed to the branch, if any
  feedback_done INTEGER NOT NULL DEFAULT 0,
  branch_code TEXT,
  kind TEXT,
  content_hash TEXT,
  saved_at TEXT,
  errors INTEGER NOT NULL DEFAULT 0,
  warnings INTEGER NOT NULL DEFAULT 0,
  duplicate_of INTEGER REFERENCES files(id),
  note TEXT
);
CREATE INDEX IF NOT EXISTS i_files_sha ON files(sha256);
CREATE TABLE IF NOT EXISTS findings (
  file_id INTEGER NOT NULL REFERENCES files(id),
  code TEXT NOT NULL, severity TEXT NOT NULL, sheet TEXT, cell TEXT, value TEXT, message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS i_findings ON findings(file_id);
CREATE TABLE IF NOT EXISTS returns (
  id INTEGER PRIMARY KEY,
  file_id INTEGER NOT NULL UNIQUE REFERENCES files(id),
  branch_code TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'branch',
  saved_at TEXT,
  received_at TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  current INTEGER NOT NULL DEFAULT 0
);
-- 复验's random spot checks (随机抽查): each draw as made, so it can be shown and re-done from its seed
CREATE TABLE IF NOT EXISTS draws (
  id INTEGER PRIMARY KEY,
  drawn_at TEXT NOT NULL,
  year INTEGER NOT NULL,
  seed TEXT NOT NULL,
  share REAL NOT NULL,
  pool TEXT NOT NULL,   -- JSON list of the branch codes drawn from
  drawn TEXT NOT NULL   -- JSON list of the branch codes drawn
);
CREATE UNIQUE INDEX IF NOT EXISTS i_one_current ON returns(kind, branch_code) WHERE current = 1;
CREATE INDEX IF NOT EXISTS i_returns_branch ON returns(kind, branch_code);  -- choosing the current one
-- generation: bumped with every change the outputs depend on; built: the generation the outputs
-- were last rebuilt from in full. They differ after a run that died (or failed to write) between.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- a file whose name was not valid text (another encoding, from a zip or a USB stick): renamed in
-- the inbox before it is taken in; its name as it came, byte for byte, is kept here
CREATE TABLE IF NOT EXISTS renamed (raw_name BLOB NOT NULL, name TEXT NOT NULL, renamed_at TEXT NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('generation', (SELECT COUNT(*) FROM files WHERE outcome = 'accepted'));
INSERT OR IGNORE INTO meta VALUES ('built', 0);
""" + "\n".join(tables)


def ledger_date(value) -> dt.date | None:
    """A date as the ledger stores it (ISO text, possibly with a time) or as a date; None if it is
    empty or not a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def guard_ledger(ws: Workspace) -> None:
    """A ledger that has gone (deleted, or left empty) while originals sit archived is never
    replaced by a new empty one without a word: the clerk is told and shown the way back. (Here,
    not in ingest: `xlflow master` and `reports` check it without importing the validator's pandas.)"""
    wal = ws.ledger.with_name(ws.ledger.name + "-wal")  # a first pass killed early: all still in the WAL
    if ws.ledger.exists() and (ws.ledger.stat().st_size > 0 or wal.exists() and wal.stat().st_size > 0):
        return
    count = len(ws.archived())
    if count:
        raise XlflowError(messages.LEDGER_GONE.format(ledger=ws.ledger, count=count, root=ws.root,
                                                      backups=ws.backups))


def open_ledger(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")  # readers (status, master) never block the watcher
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript(_ddl())
    _add_new_columns(conn)
    return conn


def read_only(path: Path, frozen: bool = True) -> sqlite3.Connection:
    """A ledger opened for reading only: an earlier year's (history is frozen: immutable=1 reads it
    without locks or a -shm beside it), or this year's beside a command that may write it (frozen=False)."""
    mode = "ro&immutable=1" if frozen else "ro"
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode={mode}", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def ledger_root(conn: sqlite3.Connection) -> Path | None:
    """The working folder of an open ledger (None for an in-memory one)."""
    row = next((r for r in conn.execute("PRAGMA database_list") if r[1] == "main"), None)
    return Path(row[2]).parent if row and row[2] else None


def _add_new_columns(conn: sqlite3.Connection) -> None:
    """A ledger made by an earlier version gains the columns added since (empty for old rows)."""
    for table, cols in _DATA_TABLES.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info(t_{table})")}
        for col in cols:
            if col not in have:
                conn.execute(f'ALTER TABLE t_{table} ADD COLUMN "{col}"')


@contextmanager
def group_commit(conn: sqlite3.Connection):
    """Commits inside stay one transaction each, atomic and in order, but are not flushed to
    disk one by one (WAL with synchronous=NORMAL): an ingest pass pays one flush, in sync(),
    instead of one per file (a few ms each, far more on a Windows laptop). Call sync() before
    acting outside the ledger on what was committed (moving a recorded file): a power cut
    before it loses only the last commits, never one without those before it (the WAL is
    replayed up to its first incomplete commit), and the files they speak of are still in the
    inbox, so the next pass takes them again. Without WAL every commit stays synced."""
    grouped = conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    if grouped:
        conn.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        if grouped:
            conn.execute("PRAGMA synchronous = FULL")


def sync(conn: sqlite3.Connection) -> None:
    """Put every commit so far on disk: one synced commit flushes the whole WAL, which holds the
    commits before it (this process's or a killed one's) in order. Writing user_version back
    unchanged is the smallest write commit there is."""
    mode = conn.execute("PRAGMA synchronous").fetchone()[0]
    if mode >= 2:  # FULL or EXTRA: every commit is on disk already
        return
    conn.execute("PRAGMA synchronous = FULL")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {int(version)}")
    finally:
        conn.execute(f"PRAGMA synchronous = {int(mode)}")


@dataclass
class FileRecord:
    sha256: str
    original_name: str
    size: int
    arrived_at: dt.datetime
    outcome: str
    stored_as: str
    feedback: str | None = None
    branch_code: str | None = None
    kind: str | None = None
    content_hash: str | None = None
    saved_at: dt.datetime | None = None
    duplicate_of: int | None = None
    note: str | None = None


_AS_IS = {str, int, float, type(None)}  # exact types _sql_value returns unchanged (not bool: an int subclass)


def _sql_value(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def record(conn: sqlite3.Connection, rec: FileRecord, findings: list[Finding],
           basic: dict | None = None, tables: dict[str, list[dict]] | None = None) -> int:
    """Record one arriving file in one transaction; returns its file id. An accepted file's data
    goes in with it, and the branch's current return is chosen again (latest saved wins)."""
    errors = sum(f.is_error for f in findings)
    conn.execute("BEGIN IMMEDIATE")
    try:
        cur = conn.execute(
            "INSERT INTO files (sha256, original_name, size, arrived_at, outcome, stored_as, feedback, branch_code,"
            " kind, content_hash, saved_at, errors, warnings, duplicate_of, note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (rec.sha256, rec.original_name, rec.size, rec.arrived_at.isoformat(), rec.outcome, rec.stored_as,
             rec.feedback, rec.branch_code, rec.kind, rec.content_hash, _sql_value(rec.saved_at),
             errors, len(findings) - errors, rec.duplicate_of, rec.note))
        file_id = cur.lastrowid
        conn.executemany("INSERT INTO findings VALUES (?,?,?,?,?,?,?)",
                         [(file_id, f.code, f.severity, f.sheet, f.cell, f.value, f.message) for f in findings])
        if rec.outcome == ACCEPTED:
            _store_return(conn, file_id, rec, basic or {}, tables or {})
            bump_generation(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite has already rolled back after some errors (a full disk):
            conn.execute("ROLLBACK")  # a second ROLLBACK would hide that error behind its own
        raise
    return file_id


def _store_return(conn, file_id: int, rec: FileRecord, basic: dict, tables: dict) -> None:
    kind = rec.kind or K.KIND_BRANCH
    rid = conn.execute(
        "INSERT INTO returns (file_id, branch_code, kind, saved_at, received_at, content_hash) VALUES (?,?,?,?,?,?)",
        (file_id, rec.branch_code, kind, _sql_value(rec.saved_at), rec.arrived_at.isoformat(), rec.content_hash),
    ).lastrowid
    if basic:
        cols = _DATA_TABLES["basic"]
        conn.execute(f"INSERT INTO t_basic VALUES (?, {', '.join('?' * len(cols))})",
                     [rid, *(_sql_value(basic.get(c)) for c in cols)])
    for table, rows in tables.items():
        cols = _DATA_TABLES[table]
        conn.executemany(f"INSERT INTO t_{table} VALUES (?, ?, {', '.join('?' * len(cols))})",
                         [(rid, r["_row"], *[v if type(v) in _AS_IS else _sql_value(v) for v in map(r.get, cols)])
                          for r in rows])
    # The current return is the one saved last (by the workbook's own save time), whatever
    # order the files arrived in; ties go to the one received last.
    conn.execute("UPDATE returns SET current = 0 WHERE kind = ? AND branch_code = ? AND current = 1",
                 (kind, rec.branch_code))
    conn.execute("""UPDATE returns SET current = 1 WHERE id = (SELECT id FROM returns WHERE kind = ? AND
                    branch_code = ? ORDER BY COALESCE(saved_at, received_at) DESC, id DESC LIMIT 1)""",
                 (kind, rec.branch_code))


def record_rename(conn, raw_name: bytes, name: str, at: dt.datetime) -> None:
    conn.execute("INSERT INTO renamed VALUES (?, ?, ?)", (raw_name, name, at.isoformat()))
    sync(conn)  # on disk before the rename it speaks of


def bump_generation(conn) -> None:
    """Inside the transaction that changes what the outputs show (an accepted return or review,
    and any later table the outputs read): the outputs are stale until rebuilt from it."""
    conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")


def generations(conn) -> tuple[int, int]:
    """(the ledger's generation, the generation the outputs were last rebuilt from)."""
    got = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('generation', 'built')").fetchall())
    return got.get("generation", 0), got.get("built", 0)


def set_built(conn, generation: int) -> None:
    conn.execute("UPDATE meta SET value = ? WHERE key = 'built'", (generation,))


def file_by_sha(conn, sha: str):
    return conn.execute("SELECT * FROM files WHERE sha256 = ? ORDER BY id LIMIT 1", (sha,)).fetchone()


def current_return(conn, branch_code: str, kind: str = K.KIND_BRANCH):
    return conn.execute("SELECT * FROM returns WHERE kind = ? AND branch_code = ? AND current = 1",
                        (kind, branch_code)).fetchone()


def rejected_branches(conn) -> set[str]:
    """Codes of the branches that have had a return sent back (whether or not one was accepted since)."""
    return {r[0] for r in conn.execute("SELECT DISTINCT branch_code FROM files WHERE outcome = ? AND kind = ?",
                                       (REJECTED, K.KIND_BRANCH))}


def set_moved(conn, file_id: int, state: int = 1, note: str | None = None) -> None:
    conn.execute("UPDATE files SET moved = ?, note = COALESCE(?, note) WHERE id = ?", (state, note, file_id))


def set_names(conn, file_id: int, **names: str) -> None:
    """New stored_as / feedback paths for a file not yet moved (or its feedback not yet written)."""
    for col, value in names.items():
        assert col in ("stored_as", "feedback")
        conn.execute(f"UPDATE files SET {col} = ? WHERE id = ?", (value, file_id))


def set_feedback_done(conn, file_id: int) -> None:
    conn.execute("UPDATE files SET feedback_done = 1 WHERE id = ?", (file_id,))


def pending_moves(conn) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM files WHERE moved = 0 ORDER BY id").fetchall()


def pending_feedback(conn) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM files WHERE feedback IS NOT NULL AND feedback_done = 0 AND moved = 1"
                        " ORDER BY id").fetchall()


def findings_of(conn, file_id: int) -> list[Finding]:
    return [Finding(r["code"], r["severity"], r["message"], "", r["sheet"] or "", r["cell"] or "", r["value"] or "")
            for r in conn.execute("SELECT * FROM findings WHERE file_id = ? ORDER BY rowid", (file_id,))]


BACKUPS_KEPT = 10


def backup(conn: sqlite3.Connection, folder: Path, stamp: str, keep: int = BACKUPS_KEPT) -> Path:
    """A consistent copy of the ledger (SQLite's online backup API, safe while others read it) as
    folder/xlflow-<stamp>.db, written to a temporary name first; only the newest `keep` are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    dest, tmp = folder / f"xlflow-{stamp}.db", folder / f".xlflow-{stamp}.db.tmp"
    target = sqlite3.connect(str(tmp))
    try:
        conn.backup(target)
    finally:
        target.close()
    os.replace(tmp, dest)
    for old in sorted(folder.glob("xlflow-*.db"))[:-keep]:
        old.unlink(missing_ok=True)
    return dest


# ---- the acceptance chain (chain.py reads these; review.py records the draws) ----

def branch_returns(conn) -> dict[str, dt.datetime]:
    """branch code -> when its current return arrived."""
    return {r[0]: dt.datetime.fromisoformat(r[1]) for r in conn.execute(
        "SELECT branch_code, received_at FROM returns WHERE kind = ? AND current = 1", (K.KIND_BRANCH,))}


def latest_rejected(conn) -> set[str]:
    """Codes of the branches whose latest file was sent back (nothing of theirs accepted since)."""
    return {r[0] for r in conn.execute(
        """SELECT f.branch_code FROM files f WHERE f.kind = ? AND f.outcome = ? AND f.id = (
             SELECT MAX(g.id) FROM files g WHERE g.kind = f.kind AND g.branch_code = f.branch_code
             AND g.outcome != 'duplicate')""", (K.KIND_BRANCH, REJECTED))}


def review_conclusions(conn, kind: str) -> list[sqlite3.Row]:
    """The current review workbook's conclusions of a kind, each with the unit and when it arrived."""
    return conn.execute(
        """SELECT c.*, r.branch_code AS unit, r.received_at FROM t_review_conclusion c
           JOIN returns r ON r.id = c.return_id WHERE r.kind = ? AND r.current = 1""", (kind,)).fetchall()


def review_units(conn, kind: str) -> dict[str, dt.datetime]:
    """Units (总支, or the college) that returned a review workbook of a kind -> when the current one arrived."""
    return {r[0]: dt.datetime.fromisoformat(r[1]) for r in conn.execute(
        "SELECT branch_code, received_at FROM returns WHERE kind = ? AND current = 1", (kind,))}


def current_decision(conn) -> tuple[sqlite3.Row | None, list[sqlite3.Row]]:
    """The committee's current 认定 workbook: (meeting row or None, decision rows)."""
    ret = conn.execute("SELECT id FROM returns WHERE kind = ? AND current = 1", (K.KIND_DECISION,)).fetchone()
    if ret is None:
        return None, []
    meeting = conn.execute("SELECT * FROM t_decision_meeting WHERE return_id = ? ORDER BY row LIMIT 1",
                           (ret[0],)).fetchone()
    return meeting, conn.execute("SELECT * FROM t_decision WHERE return_id = ? ORDER BY row", (ret[0],)).fetchall()


def draws(conn, year: int) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM draws WHERE year = ? ORDER BY id", (year,)).fetchall()


def add_draw(conn, drawn_at: dt.datetime, year: int, seed: str, share: float, pool: list[str],
             drawn: list[str]) -> None:
    conn.execute("INSERT INTO draws (drawn_at, year, seed, share, pool, drawn) VALUES (?,?,?,?,?,?)",
                 (drawn_at.isoformat(), year, seed, share, json.dumps(pool), json.dumps(drawn)))
    bump_generation(conn)  # the documents show the draw: they are stale until rebuilt


def return_rows(conn, return_id: int, table: str) -> list[dict]:
    """One stored return's rows of a data table (t_basic, t_members, …), in sheet order. Short texts
    (a rating, a status, a date, an indicator code) are interned: the results of 5,000 branches hold
    them once each, 220 → 162 MB for `xlflow reports` (measured on bench/corrected_bench.py's folder)."""
    order = "" if table == "basic" else " ORDER BY row"
    cursor = conn.execute(f"SELECT * FROM t_{table} WHERE return_id = ?{order}", (return_id,))
    keys = [c[0] for c in cursor.description]
    return [interned_row(zip(keys, r)) for r in cursor]


_INTERNED = 40  # characters: longer texts (a problem described, a measure) are seldom repeated


def interned(value):
    """A short text as its one shared copy (sys.intern); anything else as it is."""
    return sys.intern(value) if type(value) is str and len(value) <= _INTERNED else value


def interned_row(pairs) -> dict:
    """A row of (column, value) pairs as a dict whose keys and short texts are interned (also
    json.loads' object_pairs_hook for the rows the result memo keeps)."""
    return {sys.intern(k): interned(v) for k, v in pairs}


def current_returns(conn, kind: str = K.KIND_BRANCH) -> dict[str, int]:
    """branch code (or unit) -> id of its current return of a kind."""
    return {r[0]: r[1] for r in conn.execute(
        "SELECT branch_code, id FROM returns WHERE kind = ? AND current = 1", (kind,))}


def current_register(conn) -> list[sqlite3.Row]:
    """The rows of the current 样板名册 workbook (empty if none was returned)."""
    ret = conn.execute("SELECT id FROM returns WHERE kind = ? AND current = 1", (K.KIND_REGISTER,)).fetchone()
    return conn.execute("SELECT * FROM t_register WHERE return_id = ? ORDER BY row", (ret[0],)).fetchall() if ret else []


def review_ratings(conn, kind: str) -> list[sqlite3.Row]:
    """The current review workbook's ratings and comments of a kind, one row per branch × indicator."""
    return conn.execute("""SELECT v.branch_code, v.indicator, v.rating, v.comment FROM t_review v
                           JOIN returns r ON r.id = v.return_id WHERE r.kind = ? AND r.current = 1""", (kind,)).fetchall()


def current_return_rows(conn, kind: str = K.KIND_BRANCH) -> dict[str, sqlite3.Row]:
    """branch code -> its current return (the returns row) of a kind."""
    return {r["branch_code"]: r for r in conn.execute("SELECT * FROM returns WHERE kind = ? AND current = 1", (kind,))}


def unidentified_rejections(conn) -> list[tuple[str, str]]:
    """Rejected files that could not be tied to a branch: (file name, first message)."""
    return [(r[0], r[1] or "") for r in conn.execute(
        """SELECT f.original_name, (SELECT message FROM findings WHERE file_id = f.id ORDER BY rowid LIMIT 1)
           FROM files f WHERE f.outcome = 'rejected' AND f.branch_code IS NULL ORDER BY f.id""")]


# ---- reads for the master workbook (master.py streams them into its sheets) ----

def current_records(conn, table: str, keys: list[str], with_row: bool):
    """Rows of t_<table> (basic, members, activities, activists) of every current branch return:
    (branch code, name, 总支[, the row in the branch's sheet], *keys), by branch code and row. A cursor:
    10,000 branches' records are streamed, never held in memory."""
    cols = ", ".join(f'x."{k}"' for k in keys)
    row_col = "x.row, " if with_row else ""
    return conn.execute(
        f"""SELECT b.code, b.name, b.general, {row_col}{cols} FROM t_{table} x
            JOIN returns r ON r.id = x.return_id AND r.current = 1 AND r.kind = ?
            JOIN t_basic b ON b.return_id = r.id ORDER BY b.code, {'x.row' if with_row else 'b.code'}""",
        (K.KIND_BRANCH,))


def file_log(conn):
    """Every file received, in order: (arrived_at, original name, outcome, branch code, errors,
    warnings, its first finding — errors first —, where the original is kept, the feedback copy)."""
    return conn.execute(
        """SELECT f.arrived_at, f.original_name, f.outcome, f.branch_code, f.errors, f.warnings,
                  (SELECT message FROM findings WHERE file_id = f.id ORDER BY severity = 'error' DESC, rowid LIMIT 1),
                  f.stored_as, f.feedback FROM files f ORDER BY f.id""")


# ---- reads for evidence.py (one stored return, as the evidence rules judge it) ----

def received_at(conn, return_id: int) -> dt.datetime | None:
    """When a stored return's file arrived (None: no such return)."""
    got = conn.execute("SELECT received_at FROM returns WHERE id = ?", (return_id,)).fetchone()
    return dt.datetime.fromisoformat(got[0]) if got else None


# ---- the master's block cache (master.py, sheetcache.py): a return's record rows keyed by its file ----

def current_branch_files(conn):
    """Every current branch return as (return id, its file's sha256, code, name, 总支 as its 基本信息
    gives them), by code: a return's rows never change, so (id, sha256) names them in a cache."""
    return conn.execute(
        """SELECT r.id, f.sha256, b.code, b.name, b.general FROM returns r JOIN files f ON f.id = r.file_id
           JOIN t_basic b ON b.return_id = r.id WHERE r.current = 1 AND r.kind = ? ORDER BY b.code, r.id""",
        (K.KIND_BRANCH,)).fetchall()


def return_records(conn, return_id: int, table: str, keys: list[str], with_row: bool) -> list[tuple]:
    """One return's rows of t_<table>: ([its row in the branch's sheet,] *keys), in sheet order."""
    cols = ", ".join(f'"{k}"' for k in keys)
    return conn.execute(f"SELECT {'row, ' if with_row else ''}{cols} FROM t_{table} WHERE return_id = ?"
                        f"{' ORDER BY row' if with_row else ''}", (return_id,)).fetchall()


# ---- helper "mem": reads for ingest (issue 11 item 5: all SQL in ledger.py) ----

def file_row(conn, file_id: int) -> sqlite3.Row:
    """The files row of one recorded file."""
    return conn.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()


# ---- issue 9 (helper "years"): 整顿转化 plans, from the 总支's current 整顿 workbooks ----

def rectify_plans(conn) -> dict[str, dict]:
    """branch code -> its plan (plan, owner, deadline, progress, unit: the 总支 that returned it, arrived:
    when), from every 总支's current 整顿 workbook."""
    rows = conn.execute(
        """SELECT x.branch_code, x.plan, x.owner, x.deadline, x.progress, r.branch_code AS unit, r.received_at
           FROM t_rectify x JOIN returns r ON r.id = x.return_id WHERE r.kind = ? AND r.current = 1
           ORDER BY r.branch_code, x.row""", (K.KIND_RECTIFY,))
    return {r["branch_code"]: {k: r[k] for k in ("plan", "owner", "deadline", "progress", "unit")}
            | {"arrived": r["received_at"]} for r in rows}
