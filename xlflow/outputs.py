"""stage: ledger → every output (master workbook, Word documents), rebuilt as one pure function of
the ledger, the checklist and the settings. Called after every pass that changed something."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from xlflow.checklist import Checklist
from xlflow import ledger
from xlflow.files import naming
from xlflow.ledger import open_ledger
from xlflow.master import write_master
from xlflow.messages import master_edit_kept
from xlflow.reports import MANIFEST, ReportRun, _read_manifest, write_reports
from xlflow.results import Results, load_results
from xlflow.settings import Settings
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


def rebuild_outputs(ws: Workspace, now: dt.datetime) -> Rebuilt:
    """After a pass that changed the ledger: the master workbook, then the documents whose
    inputs changed (reports.py keeps a manifest, so unchanged documents are not rewritten)."""
    checklist, settings = ws.checklist(), ws.settings()
    generation = _generations(ws)[0]  # read first: a change made meanwhile leaves them stale
    done = rebuild_master(ws, now, checklist, settings)
    done.reports = write_reports(done.results, checklist, settings, ws.templates, ws.reports, today=now.date())
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


def rebuild_master(ws: Workspace, now: dt.datetime, checklist: Checklist | None = None,
                   settings: Settings | None = None) -> Rebuilt:
    """The master workbook; checklist and settings are loaded from ws unless the caller has them."""
    checklist, settings, branches = checklist or ws.checklist(), settings or ws.settings(), ws.roster()
    conn = open_ledger(ws.ledger)
    try:
        results = load_results(conn, checklist, settings, branches, today=now.date())  # the caller's clock
        with naming(ws.master):
            written = write_master(conn, results, checklist, settings, branches, ws.master, now)
    finally:
        conn.close()
    done = Rebuilt(written.path, written.in_place, results, master_kept=written.kept)
    if written.kept:
        done.kept_message = master_edit_kept(ws.master.name, written.kept.name)
        log.warning(done.kept_message)
    return done
