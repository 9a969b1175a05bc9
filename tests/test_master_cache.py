"""The master's block cache (sheetcache.py): after a corrected return the master rebuilt from the
cache is the master built from scratch, cell for cell, and LibreOffice recomputes every formula of it
to its cached value; a damaged cache is rebuilt, never trusted."""

import datetime as dt
import zipfile

import openpyxl
import pytest

from xlflow import constants as K
from xlflow.ingest import candidates, run_pass
from xlflow.ledger import open_ledger
from xlflow.checklist import RULE_NAMES
from xlflow.master import DETAIL, EVIDENCE, build, cache_path
from xlflow.outputs import rebuild_master
from xlflow.results import load_results
from xlflow.sample import plan_demo
from xlflow.workbook import handout_path, write_handout
from xlflow.workspace import init_workspace

from helpers import fill_workbook

from test_master_sheets import formulas_agree

NOW = dt.datetime(2019, 11, 28, 10, 0)


@pytest.fixture
def campaign(tmp_path):
    ws, _ = init_workspace(tmp_path / "campaign")
    inputs = ws.campaign()
    write_handout(inputs, ws.handout, workers=2)
    plan = plan_demo(inputs.branches, 7)
    for n, b in enumerate(inputs.branches):
        if b.code in plan and not plan[b.code]:  # the clean returns: all accepted
            fill_workbook(handout_path(ws.handout, b), ws.inbox / f"{b.code}.xlsx", b, inputs, n)
    run_pass(ws, candidates(ws.inbox), NOW)
    return ws


def parts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def sheet_values(path, sheet):
    """A sheet's rows as a reader sees them, trailing empty cells dropped."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        out = []
        for row in wb[sheet].iter_rows(values_only=True):
            row = list(row)
            while row and row[-1] in (None, ""):
                row.pop()
            out.append([None if v == "" else v for v in row])
        return out
    finally:
        wb.close()


def from_scratch(ws, dest):
    """The same master with no cache at all."""
    conn = open_ledger(ws.ledger)
    try:
        build(dest, load_results(conn, ws.campaign(), today=NOW.date()), conn)
    finally:
        conn.close()
    return dest


def correct_first_return(ws, seed: int):
    """The branch whose rows come first on the record sheets sends its return again, other data
    (other members and meetings): every block after its own moves."""
    conn = open_ledger(ws.ledger)
    first = conn.execute("SELECT b.code FROM t_basic b JOIN returns r ON r.id = b.return_id"
                         " WHERE r.current = 1 AND r.kind = 'branch' ORDER BY b.code LIMIT 1").fetchone()[0]
    before = conn.execute(f"SELECT COUNT(*) FROM t_members x JOIN returns r ON r.id = x.return_id"
                          f" WHERE r.current = 1 AND r.branch_code = '{first}'").fetchone()[0]
    conn.close()
    inputs = ws.campaign()
    branch = inputs.by_code[first]
    for attempt in range(20):  # another filling with another number of members
        path = ws.inbox / f"{first}-again.xlsx"
        fill_workbook(handout_path(ws.handout, branch), path, branch, inputs, seed + attempt)
        done = run_pass(ws, candidates(ws.inbox), NOW + dt.timedelta(hours=1 + attempt))
        if done.outcomes[0].outcome != "accepted":
            continue
        conn = open_ledger(ws.ledger)
        after = conn.execute(f"SELECT COUNT(*) FROM t_members x JOIN returns r ON r.id = x.return_id"
                             f" WHERE r.current = 1 AND r.branch_code = '{first}'").fetchone()[0]
        conn.close()
        if after != before:
            return first
    raise AssertionError("no corrected return with another number of members")


def test_a_corrected_return_gives_the_master_built_from_scratch(campaign, libreoffice, tmp_path):
    ws = campaign
    rebuild_master(ws, NOW)  # fills the cache
    assert cache_path(ws.master).is_file()
    code = correct_first_return(ws, 500)
    rebuild_master(ws, NOW)  # from the cache: the corrected branch rendered, every later block moved
    scratch = from_scratch(ws, tmp_path / "scratch.xlsx")
    cached, fresh = parts(ws.master), parts(scratch)
    assert cached.keys() == fresh.keys()
    assert [n for n in cached if cached[n] != fresh[n]] == []
    # what the clerk sees: the corrected ratings in 指标明细, every formula right in LibreOffice
    conn = open_ledger(ws.ledger)
    rid = conn.execute("SELECT id FROM returns WHERE current = 1 AND branch_code = ?", (code,)).fetchone()[0]
    want = dict(conn.execute("SELECT code, rating FROM t_self WHERE return_id = ?", (rid,)).fetchall())
    conn.close()
    wb = openpyxl.load_workbook(ws.master, read_only=True)
    got = {r[DETAIL["indicator"]]: r[DETAIL["self"]] for r in wb[K.MASTER_DETAIL].iter_rows(min_row=3, values_only=True)
           if r[DETAIL["branch_code"]] == code}
    wb.close()
    assert got == {k: v or None for k, v in want.items()}
    judged = libreoffice.recalc(ws.master, tmp_path / "judged.xlsx")
    count, wrong = formulas_agree(ws.master, judged)
    assert count > 44 * 6 and wrong == []
    # the record sheets' rows carry no row numbers (a block that moved is reused as it was): openpyxl
    # and LibreOffice (which writes them with numbers again) read every cell in the same place, and
    # the corrected branch's members are its return's, in order
    conn = open_ledger(ws.ledger)
    rows = [r for (r,) in conn.execute("SELECT row FROM t_members WHERE return_id = ? ORDER BY row", (rid,))]
    conn.close()
    for sheet in (K.MASTER_MEMBERS, K.MASTER_ACTIVITIES, K.MASTER_EVIDENCE, K.MASTER_ROSTER, K.MASTER_LOG):
        ours, theirs = (sheet_values(p, sheet) for p in (ws.master, judged))
        assert len(ours) > 2 and ours == theirs, sheet
    members = sheet_values(ws.master, K.MASTER_MEMBERS)
    mine = [r for r in members if r[0] == code]
    assert members[1][3] == "原表行号" and [r[3] for r in mine] == rows
    # 证据明细: each value in its own column, after an empty cell too (a 说明 left blank)
    conn = open_ledger(ws.ledger)
    res = load_results(conn, ws.campaign(), today=NOW.date())
    conn.close()
    [br] = [r for r in res.branches if r.branch.code == code]
    want = [[code, br.branch.name, br.branch.general, e.indicator, RULE_NAMES.get(e.rule, e.rule), e.requirement,
             e.measured, e.verdict, e.detail or None, "；".join(e.rows) or None] for e in br.evidence]
    got = [r + [None] * (len(EVIDENCE.heads) - len(r)) for r in sheet_values(ws.master, K.MASTER_EVIDENCE) if r[0] == code]
    assert got == want
    assert any(None in row[:-1] and row[-1] is not None for row in want)  # (such a row is there)


def test_a_damaged_cache_is_rebuilt_and_never_trusted(campaign, tmp_path):
    ws = campaign
    rebuild_master(ws, NOW)
    cache = cache_path(ws.master)
    cache.write_bytes(b"not a database" * 1000)  # e.g. torn by a full disk
    for p in cache.parent.glob(cache.name + "-*"):
        p.unlink()
    rebuild_master(ws, NOW)
    assert parts(ws.master) == parts(from_scratch(ws, tmp_path / "scratch.xlsx"))
    rebuild_master(ws, NOW)  # and the rebuilt cache serves the next build
    assert parts(ws.master) == parts(from_scratch(ws, tmp_path / "scratch2.xlsx"))
