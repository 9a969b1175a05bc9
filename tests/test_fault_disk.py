"""Issue 12, defect 8: a read-only or full disk is said in Chinese, naming the folder and what to
do; nothing is lost, and the next run, once the disk is writable again, completes the work.

Where the machine allows (root, mount), the outbox or the whole working folder really is a small
tmpfs or a read-only bind mount and a real `xlflow ingest` runs on it; the same faults are also
injected as the OSError / sqlite3 error the system raises, so they are tested everywhere."""

from __future__ import annotations

import contextlib
import errno
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import ledger_problems
from test_ingest import Campaign
from xlflow import ledger
from xlflow.cli import main
from xlflow.messages import DISK_FULL, READ_ONLY


def can_mount(tmp: Path) -> bool:
    probe = tmp / "probe"
    probe.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True)
    if done.returncode != 0:
        return False
    subprocess.run(["umount", str(probe)], check=True)
    return True


@contextlib.contextmanager
def mounted(target: Path, *options: str):
    subprocess.run(["mount", *options, str(target)], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=True)


def ingest(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xlflow", "ingest", "--root", str(root)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def camp(tmp_path) -> Campaign:
    camp = Campaign(tmp_path)
    camp.drop(camp.fill(camp.branch(0), "一支部.xlsx"))
    camp.drop(camp.fill(camp.branch(1), "二支部.xlsx", mistakes=("actual_gt_expected",)))
    return camp


def completed(camp: Campaign) -> None:
    """What a run to completion leaves: both files recorded and archived, the feedback written,
    master.xlsx and the documents there."""
    files = camp.files()
    assert {n: r["outcome"] for n, r in files.items()} == {"一支部.xlsx": "accepted", "二支部.xlsx": "rejected"}
    assert all(r["moved"] == 1 for r in files.values()) and camp.inbox_top() == set()
    assert (camp.ws.root / files["二支部.xlsx"]["feedback"]).is_file()
    assert camp.ws.master.is_file() and any(camp.ws.reports.rglob("*.docx"))


def said(done: subprocess.CompletedProcess | object, message: str) -> None:
    text = getattr(done, "stderr", None) or getattr(done, "output", "")
    assert "Traceback" not in text and getattr(done, "returncode", getattr(done, "exit_code", None)) == 2, text
    assert text.strip() == f"错误：{message}", text


# ---------------------------------------------------------------- real mounts, where allowed
@pytest.fixture
def mounts(tmp_path):
    if not can_mount(tmp_path):
        pytest.skip("this machine does not let the tests mount a tmpfs (the injected tests below cover it)")


def test_a_full_outbox_is_said_and_the_next_run_completes_the_work(camp, mounts):
    outbox = camp.ws.outbox
    shutil.rmtree(outbox)
    outbox.mkdir()
    with mounted(outbox, "-t", "tmpfs", "-o", "size=120k", "tmpfs"):
        said(ingest(camp.ws.root), DISK_FULL.format(folder=outbox))
        assert camp.inbox_top() == set()  # recorded and archived: nothing lost
        subprocess.run(["mount", "-o", "remount,size=64m", str(outbox)], check=True)
        done = ingest(camp.ws.root)
        assert done.returncode == 0, done.stderr
        completed(camp)


def test_a_read_only_outbox_is_said_and_the_next_run_completes_the_work(camp, mounts):
    outbox = camp.ws.outbox
    with mounted(outbox, "--bind", str(outbox)):
        subprocess.run(["mount", "-o", "remount,ro,bind", str(outbox)], check=True)
        said(ingest(camp.ws.root), READ_ONLY.format(folder=camp.ws.feedback))
    done = ingest(camp.ws.root)
    assert done.returncode == 0, done.stderr
    completed(camp)


def test_a_full_disk_under_the_ledger_is_said_and_nothing_is_recorded_half(tmp_path, mounts):
    """The whole working folder on a disk that fills up while the ledger is written: SQLite's
    "database or disk is full" (before, hidden behind "cannot rollback - no transaction is active")."""
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted(disk, "-t", "tmpfs", "-o", "size=32m", "tmpfs"):
        camp = Campaign(disk)
        camp.drop(camp.fill(camp.branch(0), "一支部.xlsx"))
        camp.drop(camp.fill(camp.branch(1), "二支部.xlsx", mistakes=("actual_gt_expected",)))
        filler = disk / "filler.bin"
        with open(filler, "wb", buffering=0) as f:  # leave the ledger too little room for a record
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * 4096)
        filler.write_bytes(filler.read_bytes()[:-40_000])
        said(ingest(camp.ws.root), DISK_FULL.format(folder=camp.ws.root))
        assert camp.inbox_top() == {"一支部.xlsx", "二支部.xlsx"}  # still there, untouched
        filler.unlink()
        done = ingest(camp.ws.root)
        assert done.returncode == 0, done.stderr
        completed(camp)
        with contextlib.closing(ledger.open_ledger(camp.ws.ledger)) as conn:
            assert ledger_problems(conn) == []


# ---------------------------------------------------------------- injected, everywhere
def cli(root: Path):
    return CliRunner().invoke(main, ["ingest", "--root", str(root)])


@pytest.mark.parametrize("code, message", [(errno.ENOSPC, DISK_FULL), (errno.EROFS, READ_ONLY)])
def test_injected_full_or_read_only_outbox(camp, monkeypatch, code, message):
    import os

    from xlflow import files

    real = files.os.replace

    def refuse(src, dest):
        if "outbox" in str(dest):
            raise OSError(code, os.strerror(code), str(dest))
        return real(src, dest)

    monkeypatch.setattr(files.os, "replace", refuse)
    said(cli(camp.ws.root), message.format(folder=camp.ws.feedback))
    assert camp.inbox_top() == set()
    monkeypatch.undo()
    assert cli(camp.ws.root).exit_code == 0
    completed(camp)


def test_injected_full_disk_in_the_ledger_is_not_hidden_by_a_failed_rollback(camp, monkeypatch):
    """SQLite rolls a transaction back by itself on SQLITE_FULL; the ROLLBACK after it used to fail
    with "cannot rollback - no transaction is active", which hid the real error."""
    real = ledger._store_return

    def full(conn, *args):
        conn.execute("ROLLBACK")  # what SQLite does by itself on a full disk
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(ledger, "_store_return", full)
    said(cli(camp.ws.root), DISK_FULL.format(folder=camp.ws.root))
    assert "一支部.xlsx" in camp.inbox_top()
    monkeypatch.setattr(ledger, "_store_return", real)
    assert cli(camp.ws.root).exit_code == 0
    completed(camp)
