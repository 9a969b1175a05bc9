"""Issue 12, defect 7: a damaged, truncated, emptied or deleted ledger is said plainly in Chinese
(never a traceback, never a new empty ledger without a word), there are rotating backups, and
`xlflow ingest --rebuild-ledger` rebuilds the ledger from the archived originals, in arrival order,
to the same accepted set as the original ledger."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import ledger_problems, save_as_of
from test_ingest import Campaign
from xlflow import ledger
from xlflow.cli import main
from xlflow.messages import LEDGER_DAMAGED, LEDGER_GONE

T1, T2, T3 = dt.datetime(2019, 11, 25, 9, 0), dt.datetime(2019, 11, 28, 14, 30), dt.datetime(2019, 12, 2, 8, 15)


def run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output and not isinstance(result.exception, Exception) or result.exit_code == 2, \
        result.exception
    return result.exit_code, result.output.strip()


def accepted_set(db: Path) -> set[tuple]:
    """What the master and the documents are built from: every accepted file with its branch and
    content, and which return is current, by original name."""
    with contextlib.closing(ledger.open_ledger(db)) as conn:
        return {tuple(r) for r in conn.execute(
            "SELECT f.original_name, f.sha256, f.outcome, r.branch_code, r.kind, r.content_hash, r.current, r.saved_at"
            " FROM files f JOIN returns r ON r.file_id = f.id")}


def all_outcomes(db: Path) -> list[tuple]:
    with contextlib.closing(ledger.open_ledger(db)) as conn:
        return sorted(tuple(r) for r in conn.execute(
            "SELECT original_name, sha256, outcome, branch_code, errors, warnings, arrived_at FROM files"))


@pytest.fixture(scope="module")
def campaign(tmp_path_factory) -> Campaign:
    """Three passes over three days: good and bad returns, a corrected one, an older draft arriving
    later, a byte copy and a re-saved copy, and a file that is not a workbook."""
    camp = Campaign(tmp_path_factory.mktemp("ledger"))
    b = [camp.branch(i) for i in range(4)]
    camp.drop(camp.fill(b[0], "一支部.xlsx", seed=1, modified=dt.datetime(2019, 11, 24, 8, 0)))
    camp.drop(camp.fill(b[1], "二支部.xlsx", seed=2, mistakes=("actual_gt_expected",)))
    camp.drop(camp.desk / "一支部.xlsx", "副本 - 一支部.xlsx")
    (camp.ws.inbox / "材料.xlsx").write_text("<html><table><tr><td>x</td></tr></table></html>", encoding="utf-8")
    camp.run(T1)
    camp.drop(camp.fill(b[1], "二支部（改）.xlsx", seed=2, modified=dt.datetime(2019, 11, 27, 8, 0)))
    camp.drop(camp.fill(b[2], "三支部.xlsx", seed=3, modified=dt.datetime(2019, 11, 27, 9, 0)))
    camp.run(T2)
    camp.drop(camp.fill(b[2], "三支部（初稿）.xlsx", seed=30, modified=dt.datetime(2019, 11, 20, 9, 0)))
    import openpyxl
    save_as_of(openpyxl.load_workbook(camp.desk / "一支部.xlsx"), camp.desk / "一支部（再存）.xlsx", dt.datetime(2019, 11, 30))
    camp.drop(camp.desk / "一支部（再存）.xlsx")
    camp.drop(camp.fill(b[3], "四支部.xlsx", seed=4))
    camp.run(T3)
    assert camp.inbox_top() == set()
    return camp


def fresh(campaign: Campaign, tmp_path: Path) -> Campaign:
    import shutil

    camp = Campaign.__new__(Campaign)
    camp.__dict__.update(campaign.__dict__)
    shutil.copytree(campaign.ws.root, tmp_path / "work")
    from xlflow.workspace import Workspace

    camp.ws = Workspace(tmp_path / "work")
    return camp


def test_every_pass_leaves_a_backup_made_with_the_backup_api_and_ten_are_kept(campaign, tmp_path):
    backups = sorted(campaign.ws.backups.glob("xlflow-*.db"))
    assert [p.name for p in backups] == [f"xlflow-{t:%Y%m%d-%H%M%S}.db" for t in (T1, T2, T3)]
    assert accepted_set(backups[-1]) == accepted_set(campaign.ws.ledger)
    with contextlib.closing(ledger.open_ledger(backups[-1])) as conn:
        assert ledger_problems(conn) == []
    camp = fresh(campaign, tmp_path)
    with contextlib.closing(camp.db()) as conn:
        for day in range(1, 13):
            ledger.backup(conn, camp.ws.backups, f"20191210-0{day:02d}000")
    kept = sorted(p.name for p in camp.ws.backups.glob("xlflow-*.db"))
    assert len(kept) == 10 and kept[-1] == "xlflow-20191210-012000.db" and kept[0] == "xlflow-20191210-003000.db"


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_ledger_is_said_plainly_in_every_command(campaign, tmp_path, damage):
    camp = fresh(campaign, tmp_path)
    db = camp.ws.ledger
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = db.read_bytes()
    db.write_bytes(b"this is not a database " * 200 if damage == "garbage" else data[:len(data) // 3])
    head = LEDGER_DAMAGED.split("（")[0].format(ledger=db)
    for command in ("ingest", "status", "master", "reports"):
        code, out = run(command, "--root", camp.ws.root)
        assert code == 2, (command, out)
        assert out.startswith(f"错误：{head}（") and "xlflow ingest --rebuild-ledger" in out, (command, out)
    if damage == "garbage":
        code, out = run("status", "--root", camp.ws.root)
        assert out == "错误：" + LEDGER_DAMAGED.format(ledger=db, detail="file is not a database", root=camp.ws.root,
                                                      backups=camp.ws.backups)


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_deleted_or_emptied_ledger_is_not_replaced_without_a_word(campaign, tmp_path, how):
    camp = fresh(campaign, tmp_path)
    db = camp.ws.ledger
    for extra in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        extra.unlink(missing_ok=True)
    if how == "emptied":
        db.write_bytes(b"")
    camp.drop(camp.fill(camp.branch(4), "五支部.xlsx", seed=5))
    expected = "错误：" + LEDGER_GONE.format(ledger=db, count=9, root=camp.ws.root, backups=camp.ws.backups)
    for command in ("ingest", "status", "master", "reports"):
        assert run(command, "--root", camp.ws.root) == (2, expected), command
    assert camp.inbox_top() == {"五支部.xlsx"}  # nothing was taken into a new, empty ledger
    assert not db.exists() or db.stat().st_size == 0


@pytest.mark.parametrize("how", ["deleted", "garbage"])
def test_rebuild_from_the_archive_equals_the_original_ledger(campaign, tmp_path, how):
    camp = fresh(campaign, tmp_path)
    want, outcomes = accepted_set(camp.ws.ledger), all_outcomes(camp.ws.ledger)
    assert len(want) == 5 and sum(r[6] for r in want) == 4  # four branches, one superseded return
    db = camp.ws.ledger
    for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        extra.unlink(missing_ok=True)
    if how == "deleted":
        db.unlink()
    else:
        db.write_bytes(b"garbage" * 100)

    code, out = run("ingest", "--rebuild-ledger", "--root", camp.ws.root)

    assert code == 0, out
    first = out.splitlines()[0]
    assert first.startswith(f"已由 9 份归档原件重建台账 {db}（接收 5 份、退回 2 份、重复 2 份）。"), first
    assert accepted_set(db) == want
    assert all_outcomes(db) == outcomes  # the same findings counts and arrival times, too
    with contextlib.closing(camp.db()) as conn:
        assert ledger_problems(conn) == []
        assert conn.execute("SELECT COUNT(*) FROM files WHERE moved != 1 OR feedback_done = 0 AND feedback IS NOT NULL"
                            ).fetchone()[0] == 0
    assert camp.inbox_top() == set() and len(list(camp.ws.accepted.iterdir())) == 5
    assert f"汇总表已更新：{camp.ws.master}" in out
    kept = list(camp.ws.root.glob("xlflow.旧台账-*.db"))
    assert len(kept) == (how == "garbage") and (not kept or kept[0].read_bytes() == b"garbage" * 100)
    assert not (camp.ws.root / ".xlflow-rebuild").exists()
