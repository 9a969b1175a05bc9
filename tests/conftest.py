"""Shared pytest fixtures."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from libreoffice import LibreOffice, unavailable_reason

# The suite's one process holds a large heap (pandas, pandera, openpyxl, the session's campaigns),
# and each automatic full collection walks all of it: 39 of them took 5–7.5 s of test_master.py's
# 30 s of CPU. Young objects are collected every 10,000 allocations instead of 700, the older
# generations after 50 collections of the one below instead of 10: the same work took 10% less CPU
# (2.5 s instead of 2.8 s: 14 returns filled, ingested and their master built, three runs each way
# alternating in one process). The commands the tests start as processes keep Python's defaults.
gc.set_threshold(10_000, 50, 50)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def libreoffice():
    """One headless LibreOffice for the whole session (see tests/libreoffice.py).

    Missing LibreOffice skips the tests locally but fails them in CI, where the judge
    must run.
    """
    reason = unavailable_reason()
    if reason is not None:
        message = f"LibreOffice is needed to check formulas for real: {reason}"
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with LibreOffice() as lo:
        yield lo


@pytest.fixture(scope="session")
def reports_campaign(tmp_path_factory) -> dict:
    """test_reports.py's campaign through the whole acceptance chain, built once for the two modules
    that read it (test_reports.py and test_layout.py); neither changes it."""
    from test_reports import build_campaign

    return build_campaign(tmp_path_factory)


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`xlflow demo` run once per session, in a real process as a clerk starts it: (its working folder,
    the finished process). Tests only read what it left."""
    cwd = tmp_path_factory.mktemp("demo")
    root = cwd / "演示"
    done = subprocess.run([sys.executable, "-m", "xlflow", "demo", "--dir", str(root)], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", timeout=600)
    return root, done


@pytest.fixture(scope="session")
def demo_years(demo, tmp_path_factory) -> dict:
    """`xlflow demo --years 3` (2019 达标, 2020 提质, 2021 创优), run once per session in this process:
    its first year is the session's `demo` copied into place (the same seeded demo._first_year, run
    once per suite), the later years are run here from it. {"root", "lines" said after the first
    year, "years": year -> Workspace}."""
    from xlflow import demo as D
    from xlflow.workspace import Workspace

    first, done = demo
    assert done.returncode == 0, done.stderr
    root = tmp_path_factory.mktemp("three") / "演示"

    def first_year(dest: Path, echo) -> Workspace:
        shutil.copytree(first, dest)
        return Workspace(dest)

    lines: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(D, "_first_year", first_year)
        D.run_demo(root, echo=lines.append, years=3)
    years = {y: Workspace(root / D.YEAR_FOLDER.format(year=y)) for y in (2019, 2020, 2021)}
    return {"root": root, "lines": lines, "years": years}
