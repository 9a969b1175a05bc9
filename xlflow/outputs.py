"""stage: ledger → every output (master workbook, Word documents), rebuilt as one pure function of
the ledger, the checklist and the settings. Called after every pass that changed something."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import sqlite3
from dataclasses import astuple, dataclass
from pathlib import Path

from xlflow import ledger
from xlflow import evidence, results
from xlflow.evidence import Evidence
from xlflow.files import code_fingerprint, naming
from xlflow.ledger import interned, interned_row, open_ledger
from xlflow.master import cache_path, write_master
from xlflow.messages import master_edit_kept
from xlflow.reports import MANIFEST, ReportRun, _read_manifest, write_reports
from xlflow.results import Results, load_results
from xlflow.campaign import Campaign
from xlflow.workspace import Workspace

log = logging.getLogger("xlflow")


@dataclass
class Rebuilt:
    master: Path
    master_in_place: bool  # False: master.xlsx was open elsewhere, the new one sits beside it
    results: Results
    reports: ReportRun | None = None
    master_kept: Path | None = None  # the clerk's edited master.xlsx, kept under this name
    kept_message: str = ""  # what to tell the clerk about it (console and log)


def rebuild_outputs(ws: Workspace, now: dt.datetime, campaign: Campaign | None = None) -> Rebuilt:
    """After a pass that changed the ledger: the master workbook, then the documents whose
    inputs changed (reports.py keeps a manifest, so unchanged documents are not rewritten).
    campaign: the one the pass judged with, else loaded from ws."""
    generation = _generations(ws)[0]  # read first: a change made meanwhile leaves them stale
    done = rebuild_master(ws, now, campaign)
    done.reports = write_reports(done.results, ws.templates, ws.reports, today=now.date())
    _stamp(ws, generation)  # (a file open elsewhere is not retried: it was written beside, or next time)
    return done


def outputs_stale(ws: Workspace) -> bool:
    """Whether the outputs lag behind the ledger: a run died (or could not write) between recording
    and rebuilding, or master.xlsx or a document has gone. Checked at the start of every ingest and
    watch pass."""
    if not ws.ledger.exists():
        return False
    generation, built = _generations(ws)
    if generation != built:
        return True
    documents = _read_manifest(ws.reports / MANIFEST).get("documents")
    return generation > 0 and (not ws.master.exists() or documents is None
                               or not all((ws.reports / rel).is_file() for rel in documents))


def _generations(ws: Workspace) -> tuple[int, int]:
    conn = open_ledger(ws.ledger)
    try:
        return ledger.generations(conn)
    finally:
        conn.close()


def _stamp(ws: Workspace, generation: int) -> None:
    conn = open_ledger(ws.ledger)
    try:
        ledger.set_built(conn, generation)
    finally:
        conn.close()


def rebuild_master(ws: Workspace, now: dt.datetime, campaign: Campaign | None = None) -> Rebuilt:
    """The master workbook; the campaign is loaded from ws unless the caller has it."""
    campaign = campaign or ws.campaign()
    conn = open_ledger(ws.ledger)
    try:
        results = _results(conn, ws, campaign, now.date())  # the caller's clock
        with naming(ws.master):
            written = write_master(conn, results, ws.master, now)
    finally:
        conn.close()
    done = Rebuilt(written.path, written.in_place, results, master_kept=written.kept)
    if written.kept:
        done.kept_message = master_edit_kept(ws.master.name, written.kept.name)
        log.warning(done.kept_message)
    return done


def current_results(ws: Workspace, today: dt.date) -> Results:
    """The ledger's results as the outputs show them (`xlflow reports`), with each stored return's
    part read from the memo the master's rebuilds keep (at 1,000 branches its evidence checks are
    the bulk of loading the results)."""
    conn = open_ledger(ws.ledger)
    try:
        return _results(conn, ws, ws.campaign(), today)
    finally:
        conn.close()


def _results(conn, ws: Workspace, campaign: Campaign, today: dt.date) -> Results:
    memo = ReturnMemo(cache_path(ws.master), campaign)
    results = load_results(conn, campaign, today=today, memo=memo)
    memo.save()
    return results


class ReturnMemo:
    """load_results' memo, kept in the master's cache file (outbox/.master-cache.db): what each stored
    return gives (its 基本信息, as-of day, self ratings, problems and evidence verdicts), as JSON, keyed
    by the returns row and by what judges it (checklist, settings). Only a cache: one that cannot be
    read or written is simply not used, and the results are the same."""

    VERSION = 1

    def __init__(self, path: Path, campaign: Campaign):
        self.salt = f"{self.VERSION}|{_JUDGES}|{campaign.checklist.fingerprint}|{campaign.settings!r}|"
        self.path, self.used, self.new = path, set(), {}
        self.have: set[str] = set()
        self.reader: sqlite3.Connection | None = None
        try:
            with _cache_db(path) as conn:
                self.have = {k for (k,) in conn.execute("SELECT key FROM parts")}
            # each part is read when asked for, not all at once: 5,000 parts as text are ≈100 MB
            self.reader = sqlite3.connect(str(path), timeout=2)
        except sqlite3.Error:
            self.path = None

    def _key(self, ret) -> str:
        who = (ret["id"], ret["file_id"], ret["content_hash"], ret["received_at"])
        return hashlib.sha1((self.salt + repr(who)).encode("utf-8")).hexdigest()

    def digest(self, ret) -> str:
        """The name of a return's part: equal names, equal parts (the master keys its blocks by it)."""
        return self._key(ret)

    def get(self, ret):
        key = self._key(ret)
        if key not in self.have or self.reader is None:
            return None
        try:
            row = self.reader.execute("SELECT part FROM parts WHERE key = ?", (key,)).fetchone()
            # short texts interned, as ledger.return_rows does: the same results in the same memory
            basic, day, self_r, problems, evidence = json.loads(row[0], object_pairs_hook=interned_row)
            part = (basic, dt.date.fromisoformat(day), self_r, problems,
                    [Evidence(*map(interned, e[:5]), tuple(e[5]), *e[6:]) for e in evidence])
        except (sqlite3.Error, TypeError, ValueError):  # gone meanwhile, or a torn entry: made again
            return None
        self.used.add(key)
        return part

    def __setitem__(self, ret, part) -> None:
        basic, day, self_r, problems, evidence = part
        key = self._key(ret)
        self.used.add(key)
        self.new[key] = json.dumps([basic, day.isoformat(), self_r, problems, [astuple(e) for e in evidence]],
                                   ensure_ascii=False, default=str)

    def save(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        if self.path is None or (not self.new and len(self.used) == len(self.have)):
            return
        try:
            with _cache_db(self.path) as conn:
                conn.executemany("INSERT OR REPLACE INTO parts VALUES (?, ?)", self.new.items())
                conn.executemany("DELETE FROM parts WHERE key = ?", ((k,) for k in self.have if k not in self.used))
        except sqlite3.Error as exc:
            log.debug("结果缓存未能写入：%s", exc)


_JUDGES = code_fingerprint(evidence, results)  # the code that makes a return's part


class _cache_db:
    def __init__(self, path: Path):
        self.conn = sqlite3.connect(str(path), timeout=2)

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("PRAGMA synchronous=OFF")  # as the block cache: a torn entry is made again (get)
        self.conn.execute("CREATE TABLE IF NOT EXISTS parts (key TEXT PRIMARY KEY, part TEXT NOT NULL)")
        return self.conn

    def __exit__(self, *exc) -> None:
        try:
            if exc[0] is None:
                self.conn.commit()
        finally:
            self.conn.close()
